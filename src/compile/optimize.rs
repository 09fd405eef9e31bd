//! The optimizer: rewrites of the typed tree before code generation, and jump
//! threading after it. Every rewrite keeps the meaning exactly, missing values
//! included (predicates have no side effects, so order within a chain is free).
//!
//! - constant folding and dead-branch removal (`x and false` → `false`, ...);
//! - flattening of nested chains of one operator, and of double negation;
//! - an `or` of equalities (and sets) on one field becomes one set lookup:
//!   `h == "a" or h == "b" or h in {"c"}` → `h in {"a" "b" "c"}`;
//! - the terms of a chain are ordered cheapest first (Bool fields and
//!   equalities before searches and regexes), then by how likely they are
//!   to decide it (an `and` tries a rarely-true equality before a Bool), as
//!   the first deciding term ends it.
//!
//! Passes repeat until nothing changes, at most [`MAX_PASSES`] times.

use crate::check::{Const, Node, Operand, Test};
use crate::matchers::merge_ranges;
use crate::program::Instr;
use std::net::IpAddr;

/// Most rewrite passes over one tree.
pub const MAX_PASSES: usize = 4;

/// Optimizes a tree where it stands.
pub fn optimize_in_place(n: &mut Node) {
    for _ in 0..MAX_PASSES {
        if !pass(n) {
            break;
        }
    }
}

/// One rewrite pass over `n`, in place (nodes are large: they are moved
/// only where the shape changes). Returns whether anything changed.
fn pass(n: &mut Node) -> bool {
    crate::stack::guard(|| pass_inner(n))
}

fn pass_inner(n: &mut Node) -> bool {
    let is_and = matches!(n, Node::And(_));
    match n {
        Node::Not(inner) => {
            let changed = pass(inner);
            match &mut **inner {
                Node::Const(b) => {
                    *n = Node::Const(!*b);
                    true
                }
                Node::Not(x) => {
                    let x = std::mem::replace(&mut **x, Node::Const(false));
                    *n = x;
                    true
                }
                _ => changed,
            }
        }
        Node::And(terms) | Node::Or(terms) => {
            let (changed, single) = chain(terms, is_and);
            if let Some(node) = single {
                *n = node;
            }
            changed
        }
        Node::Xor(terms) => {
            let mut changed = false;
            let mut parity = false;
            let mut out = Vec::with_capacity(terms.len());
            for mut t in std::mem::take(terms) {
                changed |= pass(&mut t);
                match t {
                    Node::Const(b) => {
                        parity ^= b;
                        changed = true;
                    }
                    Node::Xor(inner) => {
                        out.extend(inner);
                        changed = true;
                    }
                    other => out.push(other),
                }
            }
            let core = match out.len() {
                0 => Node::Const(false),
                1 => out.pop().unwrap_or(Node::Const(false)),
                _ => Node::Xor(out),
            };
            *n = if parity {
                Node::Not(Box::new(core))
            } else {
                core
            };
            changed
        }
        _ => false,
    }
}

/// `and` (`is_and`) or `or`, rewritten in place: fold constants, flatten,
/// merge equalities, order the terms. Returns whether anything changed, and
/// the node that replaces the whole chain when it is no longer one.
fn chain(terms: &mut Vec<Node>, is_and: bool) -> (bool, Option<Node>) {
    let mut changed = false;
    // Terms are rewritten where they stand; a new Vec is only built when a
    // constant or a nested chain of the same operator changes the shape.
    let mut reshape = false;
    for t in terms.iter_mut() {
        changed |= pass(t);
        reshape |= match t {
            Node::Const(_) => true,
            Node::And(_) => is_and,
            Node::Or(_) => !is_and,
            _ => false,
        };
    }
    if reshape {
        let mut out: Vec<Node> = Vec::with_capacity(terms.len());
        for t in std::mem::take(terms) {
            match t {
                // The neutral element disappears; the absorbing one decides.
                Node::Const(b) if b == is_and => changed = true,
                Node::Const(b) => return (true, Some(Node::Const(b))),
                Node::And(inner) if is_and => {
                    out.extend(inner);
                    changed = true;
                }
                Node::Or(inner) if !is_and => {
                    out.extend(inner);
                    changed = true;
                }
                other => out.push(other),
            }
        }
        *terms = out;
    }
    if !is_and {
        changed |= merge_equalities(terms);
    }
    // Cheapest first, then most likely to decide: a chain stops at its
    // first deciding term, and terms have no side effects, so the order is
    // free. Stable, so equal keys keep the order the user wrote; a chain
    // already in order is not moved.
    if !terms.is_sorted_by_key(|t| order_key(t, is_and)) {
        terms.sort_by_key(|t| order_key(t, is_and));
    }
    match terms.len() {
        0 => (true, Some(Node::Const(is_and))),
        1 => (true, terms.pop()),
        _ => (changed, None),
    }
}

/// How likely a term is to hold, roughly: equalities, set lookups and
/// searches rarely do; Bool fields and orderings are even; their negations
/// usually do.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Likely {
    Rarely,
    Evenly,
    Mostly,
}

/// A rough cost class of evaluating a term, and how likely it is to hold.
/// Cost: a Bool field or a word compare or lookup, then list lookups and
/// prefix/suffix tests, substring and wildcard searches, regexes, and last
/// anything that calls functions, iterates or nests.
fn estimate(n: &Node) -> (u8, Likely) {
    match n {
        Node::Const(_) => (0, Likely::Evenly),
        Node::Test(Operand::Field(_)) => (1, Likely::Evenly),
        Node::Not(inner) => {
            let (cost, likely) = estimate(inner);
            let flipped = match likely {
                Likely::Rarely => Likely::Mostly,
                Likely::Evenly => Likely::Evenly,
                Likely::Mostly => Likely::Rarely,
            };
            (cost, flipped)
        }
        Node::Compare(c) if matches!(c.lhs, Operand::Field(_)) => match &c.test {
            Test::Eq(_) | Test::InBytes(_) | Test::InInts(_) | Test::InIps(_) => {
                (1, Likely::Rarely)
            }
            Test::Ne(_) => (1, Likely::Mostly),
            Test::Order(..) | Test::BitAnd(_) => (1, Likely::Evenly),
            Test::InList(_) => (2, Likely::Rarely),
            Test::Matches(re) => match re.literal() {
                Some((_, true, _) | (_, _, true)) => (2, Likely::Rarely),
                Some(_) => (3, Likely::Rarely),
                None => (5, Likely::Rarely),
            },
            Test::Contains(_) | Test::Wildcard { .. } => (3, Likely::Rarely),
            Test::Operand(..) => (4, Likely::Evenly),
        },
        _ => (6, Likely::Evenly),
    }
}

/// The order of a term in an `and` (`is_and`) or `or` chain: cheapest
/// first, and among equal costs the term most likely to decide the chain
/// (false for `and`, true for `or`).
fn order_key(n: &Node, is_and: bool) -> (u8, Likely) {
    let (cost, likely) = estimate(n);
    let deciding = if is_and {
        likely
    } else {
        match likely {
            Likely::Rarely => Likely::Mostly,
            Likely::Evenly => Likely::Evenly,
            Likely::Mostly => Likely::Rarely,
        }
    };
    (cost, deciding)
}

/// The members of a set test on a field, by kind.
enum Members {
    Bytes(Vec<Vec<u8>>),
    Ints(Vec<(i64, i64)>),
    Ips(Vec<(IpAddr, IpAddr)>),
}

impl Members {
    /// The kind (0 bytes, 1 ints, 2 addresses) and field of a test that can
    /// merge into a set, if it is one.
    fn key(n: &Node) -> Option<(u32, u8)> {
        let Node::Compare(c) = n else {
            return None;
        };
        let Operand::Field(id) = c.lhs else {
            return None;
        };
        let kind = match &c.test {
            Test::Eq(Const::Bytes(_)) | Test::InBytes(_) => 0,
            Test::Eq(Const::Int(_)) | Test::InInts(_) => 1,
            Test::Eq(Const::Ip(_)) | Test::InIps(_) => 2,
            _ => return None,
        };
        Some((id.0, kind))
    }

    /// The members of a test [`Members::key`] accepted (moved out, not copied).
    fn of(test: Test) -> Members {
        match test {
            Test::Eq(Const::Bytes(b)) => Members::Bytes(vec![b.into_vec()]),
            Test::InBytes(items) => Members::Bytes(items),
            Test::Eq(Const::Int(n)) => Members::Ints(vec![(n, n)]),
            Test::InInts(r) => Members::Ints(r),
            Test::Eq(Const::Ip(ip)) => Members::Ips(vec![(ip, ip)]),
            Test::InIps(r) => Members::Ips(r),
            // Not reached: only tests `key` accepts get here.
            _ => Members::Bytes(Vec::new()),
        }
    }

    /// Adds the members of `test` (of the same kind).
    fn extend(&mut self, test: Test) {
        match (self, test) {
            (Members::Bytes(a), Test::Eq(Const::Bytes(b))) => a.push(b.into_vec()),
            (Members::Bytes(a), Test::InBytes(b)) => a.extend(b),
            (Members::Ints(a), Test::Eq(Const::Int(n))) => a.push((n, n)),
            (Members::Ints(a), Test::InInts(b)) => a.extend(b),
            (Members::Ips(a), Test::Eq(Const::Ip(ip))) => a.push((ip, ip)),
            (Members::Ips(a), Test::InIps(b)) => a.extend(b),
            _ => {}
        }
    }

    /// The set test of the merged members.
    fn into_test(self) -> Test {
        match self {
            Members::Bytes(mut v) => {
                v.sort();
                v.dedup();
                Test::InBytes(v)
            }
            Members::Ints(v) => Test::InInts(merge_ranges(v, |n| n.checked_add(1))),
            Members::Ips(v) => Test::InIps(merge_ranges(v, crate::types::next_ip)),
        }
    }
}

/// Merges, in an `or`, every group of equality/set tests on one field into
/// the first of them. Returns whether anything merged.
fn merge_equalities(terms: &mut Vec<Node>) -> bool {
    // Which terms merge: the first of each (field, kind) stays, later ones join it.
    let mut firsts: Vec<(u32, u8)> = Vec::new();
    let mut any = false;
    for t in terms.iter() {
        if let Some(key) = Members::key(t) {
            if firsts.contains(&key) {
                any = true;
            } else {
                firsts.push(key);
            }
        }
    }
    if !any {
        return false;
    }
    // Per group: where its first term is, and the members so far (taken
    // from the first term once a second one joins). The terms that join
    // are rewritten where they stand, then removed in one sweep, so the
    // (large) nodes that stay are not moved.
    let mut groups: Vec<((u32, u8), usize, Option<Members>)> = Vec::with_capacity(firsts.len());
    for at in 0..terms.len() {
        let Some(key) = Members::key(&terms[at]) else {
            continue;
        };
        let Some(group) = groups.iter_mut().find(|g| g.0 == key) else {
            groups.push((key, at, None));
            continue;
        };
        // A chain holds no constants by now (`chain` folded them), so a
        // constant marks a term that joined its group.
        let Node::Compare(c) = std::mem::replace(&mut terms[at], Node::Const(false)) else {
            continue;
        };
        let acc = group.2.get_or_insert_with(|| match &mut terms[group.1] {
            Node::Compare(first) => {
                Members::of(std::mem::replace(&mut first.test, Test::BitAnd(0)))
            }
            _ => Members::Bytes(Vec::new()),
        });
        acc.extend(c.test);
    }
    for (_, at, acc) in groups {
        if let (Some(acc), Node::Compare(c)) = (acc, &mut terms[at]) {
            c.test = acc.into_test();
        }
    }
    terms.retain(|t| !matches!(t, Node::Const(_)));
    true
}

/// Jump threading: a jump that lands on another jump goes straight to where
/// that one would take it (the accumulator does not change in between).
/// Targets only move forward, so this ends.
pub fn thread_jumps(code: &mut [Instr]) {
    for k in 0..code.len() {
        let (mut target, on_true) = match code[k] {
            Instr::JumpIfTrue(t) => (t as usize, true),
            Instr::JumpIfFalse(t) => (t as usize, false),
            _ => continue,
        };
        // Each step moves forward, so at most code.len() steps.
        for _ in 0..code.len() {
            match code.get(target) {
                Some(Instr::JumpIfTrue(t)) if on_true => target = *t as usize,
                Some(Instr::JumpIfFalse(t)) if !on_true => target = *t as usize,
                // The opposite jump cannot be taken: fall through it.
                Some(Instr::JumpIfTrue(_)) | Some(Instr::JumpIfFalse(_)) => target += 1,
                _ => break,
            }
        }
        let t = target as u32;
        code[k] = if on_true {
            Instr::JumpIfTrue(t)
        } else {
            Instr::JumpIfFalse(t)
        };
    }
}

/// Fuses each field test with the conditional jump right after it into one
/// [`Instr::TestJump`], halving the dispatches of `and`/`or` chains. The jump
/// stays where it was, so jumps that land on it keep working.
pub fn fuse_test_jumps(code: &mut [Instr]) {
    for k in 0..code.len().saturating_sub(1) {
        let Instr::TestField { field, pred, flags } = code[k] else {
            continue;
        };
        let (target, on_true) = match code[k + 1] {
            Instr::JumpIfTrue(t) => (t, true),
            Instr::JumpIfFalse(t) => (t, false),
            _ => continue,
        };
        code[k] = Instr::TestJump {
            field,
            pred,
            flags: flags | if on_true { 4 } else { 0 },
            target,
        };
    }
}
