//! The reference evaluator: a plain tree-walking interpreter over the typed
//! tree, written independently of the compiler and the VM (naive matching:
//! linear scans, a dynamic-programming wildcard matcher), used as the oracle
//! in differential tests. Slow and simple on purpose.

use crate::check::{Compare, Const, Key, Node, Operand, Order, Test, Typed};
use crate::context::Request;
use crate::functions::{Builtin, Callee, eval};
use crate::limits::Limits;
use crate::lists::Lists;
use crate::syntax::CompareOp;
use crate::types::{Seq, Val};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::net::IpAddr;

/// Evaluates `typed` over `req`, reading named lists from `lists`, with the
/// per-value budget of `limits` (the per-evaluation budget depends on the
/// order the VM runs calls in, which the reference does not model).
pub fn evaluate<'a, R: Request + ?Sized>(
    typed: &'a Typed,
    req: &'a R,
    lists: &'a Lists,
    limits: &Limits,
) -> bool {
    truth(&typed.root, req, lists, limits)
}

/// Evaluates one checked node (a whole rule or a part of one).
pub fn truth<'a, R: Request + ?Sized>(
    node: &'a Node,
    req: &'a R,
    lists: &'a Lists,
    limits: &Limits,
) -> bool {
    let cx = Cx {
        req,
        lists,
        limits: limits.clone(),
    };
    cx.node(node, None)
}

/// The value of one checked operand, owned (`None` when missing).
pub fn value<R: Request + ?Sized>(
    op: &Operand,
    req: &R,
    lists: &Lists,
    limits: &Limits,
) -> Option<crate::types::Value> {
    let cx = Cx {
        req,
        lists,
        limits: limits.clone(),
    };
    cx.value(op, None).to_value()
}

struct Cx<'r, R: ?Sized> {
    req: &'r R,
    lists: &'r Lists,
    limits: Limits,
}

impl<'r, R: Request + ?Sized> Cx<'r, R> {
    fn node(&self, n: &'r Node, elem: Option<&Val<'r>>) -> bool {
        crate::stack::guard(|| self.node_inner(n, elem))
    }

    fn node_inner(&self, n: &'r Node, elem: Option<&Val<'r>>) -> bool {
        match n {
            Node::Const(b) => *b,
            Node::And(ts) => ts.iter().all(|t| self.node(t, elem)),
            Node::Or(ts) => ts.iter().any(|t| self.node(t, elem)),
            Node::Xor(ts) => ts.iter().fold(false, |acc, t| acc ^ self.node(t, elem)),
            Node::Not(t) => !self.node(t, elem),
            Node::Test(op) => self.value(op, elem) == Val::Bool(true),
            Node::Compare(c) => self.compare(c, elem),
        }
    }

    fn value(&self, op: &'r Operand, elem: Option<&Val<'r>>) -> Val<'r> {
        crate::stack::guard(|| self.value_inner(op, elem))
    }

    fn value_inner(&self, op: &'r Operand, elem: Option<&Val<'r>>) -> Val<'r> {
        match op {
            Operand::Field(id) => self.req.get(*id),
            Operand::Const(c) => match c {
                Const::Int(n) => Val::Int(*n),
                Const::Bytes(b) => Val::Bytes(Cow::Borrowed(b.as_slice())),
                Const::Ip(ip) => Val::Ip(*ip),
            },
            Operand::Elem => elem.cloned().unwrap_or(Val::Missing),
            Operand::Index(base, key) => {
                let v = self.value(base, elem);
                match (v, key) {
                    (Val::Array(seq), Key::Position(n)) => {
                        let n = *n as usize;
                        if n < seq.len() {
                            seq.get(n)
                        } else {
                            Val::Missing
                        }
                    }
                    (Val::Map(m), Key::Name(k)) => {
                        m.get(k.as_slice()).map_or(Val::Missing, |v| v.as_val())
                    }
                    _ => Val::Missing,
                }
            }
            Operand::Each { source, body } => {
                let items: Vec<Val<'r>> = match self.value(source, elem) {
                    Val::Array(seq) => (0..seq.len()).map(|k| seq.get(k)).collect(),
                    Val::Map(m) => m.values().map(|v| v.as_val()).collect(),
                    _ => return Val::Missing,
                };
                Val::Array(Seq::Vals(
                    items.iter().map(|e| self.value(body, Some(e))).collect(),
                ))
            }
            Operand::Call(callee, args) => {
                let vals: Vec<Val<'r>> = args.iter().map(|a| self.value(a, elem)).collect();
                match callee {
                    Callee::Builtin(b @ (Builtin::Any | Builtin::All)) => match vals.first() {
                        Some(Val::Array(seq)) => {
                            let items: Vec<Val<'r>> = (0..seq.len()).map(|k| seq.get(k)).collect();
                            let truth = |v: &Val<'_>| *v == Val::Bool(true);
                            Val::Bool(if *b == Builtin::Any {
                                items.iter().any(truth)
                            } else {
                                items.iter().all(truth)
                            })
                        }
                        _ => Val::Missing,
                    },
                    Callee::Builtin(b) => match eval::Prepared::new(
                        *b,
                        |k| args.get(k)?.literal_bytes(),
                        &self.limits,
                        &crate::regexes::RegexCache::default(),
                    ) {
                        Ok(prepared) => {
                            eval::call(*b, &vals, &prepared, self.limits.max_value_bytes)
                        }
                        Err(_) => Val::Missing,
                    },
                    Callee::User(u) => {
                        if vals.iter().any(Val::is_missing) {
                            Val::Missing
                        } else {
                            let v = (u.implementation)(&vals);
                            if eval::held_bytes(&v) > self.limits.max_value_bytes {
                                Val::Missing
                            } else {
                                v
                            }
                        }
                    }
                }
            }
            Operand::Compare(c) => Val::Bool(self.compare(c, elem)),
            Operand::Logic(n) => Val::Bool(self.node(n, elem)),
        }
    }

    fn compare(&self, c: &'r Compare, elem: Option<&Val<'r>>) -> bool {
        let v = self.value(&c.lhs, elem);
        if v.is_missing() {
            return false;
        }
        match &c.test {
            Test::Eq(k) => const_cmp(&v, k) == Some(Ordering::Equal),
            Test::Ne(k) => match (&v, k) {
                (Val::Ip(_), Const::Ip(_)) => const_cmp(&v, k) != Some(Ordering::Equal),
                _ => const_cmp(&v, k).is_some_and(|o| o != Ordering::Equal),
            },
            Test::Order(o, k) => const_cmp(&v, k).is_some_and(|ord| o.holds(ord)),
            Test::Contains(needle) => match &v {
                Val::Bytes(h) => {
                    needle.is_empty() || h.windows(needle.len()).any(|w| w == needle.as_slice())
                }
                _ => false,
            },
            Test::Matches(re) => matches!(&v, Val::Bytes(h) if re.is_match(h)),
            Test::Wildcard { pattern, strict } => {
                matches!(&v, Val::Bytes(h) if wildcard_dp(pattern, h, *strict))
            }
            Test::InBytes(items) => {
                matches!(&v, Val::Bytes(h) if items.iter().any(|i| i.as_slice() == &**h))
            }
            Test::InInts(ranges) => {
                matches!(&v, Val::Int(n) if ranges.iter().any(|(a, b)| a <= n && n <= b))
            }
            Test::InIps(ranges) => match &v {
                Val::Ip(ip) => {
                    let ip = ip.to_canonical();
                    ranges
                        .iter()
                        .any(|(a, b)| same_family(&ip, a) && *a <= ip && ip <= *b)
                }
                _ => false,
            },
            Test::InList(name) => self.lists.handle(name).is_some_and(|h| h.contains(&v)),
            Test::BitAnd(m) => matches!(&v, Val::Int(n) if n & m != 0),
            Test::Operand(op, rhs) => {
                let r = self.value(rhs, elem);
                if r.is_missing() {
                    return false;
                }
                operand_cmp(*op, &v, &r)
            }
        }
    }
}

fn same_family(a: &IpAddr, b: &IpAddr) -> bool {
    a.is_ipv4() == b.is_ipv4()
}

fn const_cmp(v: &Val<'_>, k: &Const) -> Option<Ordering> {
    match (v, k) {
        (Val::Int(a), Const::Int(b)) => Some(a.cmp(b)),
        (Val::Bytes(a), Const::Bytes(b)) => Some(a.as_ref().cmp(b.as_slice())),
        (Val::Ip(a), Const::Ip(b)) => {
            let a = a.to_canonical();
            if same_family(&a, b) {
                Some(a.cmp(b))
            } else {
                None
            }
        }
        _ => None,
    }
}

fn operand_cmp(op: CompareOp, a: &Val<'_>, b: &Val<'_>) -> bool {
    let ord = match (a, b) {
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(y)),
        (Val::Bytes(x), Val::Bytes(y)) => Some(x.as_ref().cmp(y.as_ref())),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        (Val::Ip(x), Val::Ip(y)) => {
            let (x, y) = (x.to_canonical(), y.to_canonical());
            if same_family(&x, &y) {
                Some(x.cmp(&y))
            } else {
                None
            }
        }
        _ => None,
    };
    match op {
        CompareOp::Eq => ord == Some(Ordering::Equal),
        CompareOp::Ne => {
            matches!((a, b), (Val::Ip(_), Val::Ip(_))) && ord.is_none()
                || ord.is_some_and(|o| o != Ordering::Equal)
        }
        CompareOp::Lt => ord.is_some_and(|o| Order::Lt.holds(o)),
        CompareOp::Le => ord.is_some_and(|o| Order::Le.holds(o)),
        CompareOp::Gt => ord.is_some_and(|o| Order::Gt.holds(o)),
        CompareOp::Ge => ord.is_some_and(|o| Order::Ge.holds(o)),
        CompareOp::Contains => match (a, b) {
            (Val::Bytes(h), Val::Bytes(n)) => {
                n.is_empty() || h.windows(n.len()).any(|w| w == n.as_ref())
            }
            _ => false,
        },
        CompareOp::BitwiseAnd => matches!((a, b), (Val::Int(x), Val::Int(y)) if x & y != 0),
        _ => false,
    }
}

/// Wildcard matching by dynamic programming over (pattern token, value byte).
fn wildcard_dp(pattern: &[u8], value: &[u8], strict: bool) -> bool {
    // Tokens: Some(byte) for a literal byte, None for a star.
    let mut tokens: Vec<Option<u8>> = Vec::new();
    let mut k = 0;
    while k < pattern.len() {
        match pattern[k] {
            b'\\' if k + 1 < pattern.len() => {
                tokens.push(Some(pattern[k + 1]));
                k += 2;
            }
            b'*' => {
                tokens.push(None);
                k += 1;
            }
            c => {
                tokens.push(Some(c));
                k += 1;
            }
        }
    }
    let eq = |a: u8, b: u8| {
        if strict {
            a == b
        } else {
            a.eq_ignore_ascii_case(&b)
        }
    };
    // can[j] = tokens[..i] matches value[..j]
    let mut can = vec![false; value.len() + 1];
    can[0] = true;
    for t in &tokens {
        let mut next = vec![false; value.len() + 1];
        match t {
            None => {
                let mut seen = false;
                for j in 0..=value.len() {
                    seen |= can[j];
                    next[j] = seen;
                }
            }
            Some(c) => {
                for j in 1..=value.len() {
                    next[j] = can[j - 1] && eq(value[j - 1], *c);
                }
            }
        }
        can = next;
    }
    can[value.len()]
}
