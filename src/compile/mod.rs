//! The compiler: a checked tree ([`Typed`]) to a [`Program`] (the format
//! [`crate::program`] owns).
//!
//! Logic becomes forward jumps over an accumulator (`and` jumps out on false,
//! `or` on true); `not` is pushed down to the tests (De Morgan) and folded into
//! a flag on each test instruction, so it costs nothing at run time. Right-hand
//! sides become pre-built [predicates](Pred). Values made by indexing
//! are resolved on read through [`Path`]s; values made by functions and `[*]`
//! live in registers. The only backward jumps close `[*]` loops, one step per
//! element, so every program ends.
//!
//! Most rules (field tests joined by `and`, `or`, `not`) run as their
//! [branch form](crate::program::branch), lowered straight from the tree
//! (`direct.rs`); unless asked to keep instructions, the compiler emits none
//! for them.

mod direct;
pub mod optimize;

use crate::check::{Compare, Const, Node, Operand, Test};
use crate::error::Error;
use crate::functions::{Builtin, Callee, eval::Prepared};
use crate::limits::Limits;
use crate::lists::Lists;
use crate::matchers::{BytesSet, IpRanges, Wildcard};
use crate::program::ValueBudget;
use crate::program::pred::Pred;
use crate::program::{
    Bytecode, CallDef, Instr, LoopKind, MAX_REGS, Path, Program, Src, branch, fields,
};
use crate::regexes::RegexCache;
use crate::schema::Schema;
use crate::syntax::Span;
use crate::types::FieldId;
use crate::types::Val;
use memchr::memmem;
use std::borrow::Cow;
use std::collections::HashMap;

/// Compiles a checked tree that [`optimize`] already rewrote and nobody
/// needs afterwards: the constants and sets of its tests move into the
/// program instead of being copied. A program the VM runs in branch form
/// keeps its instructions only when `keep_instructions`.
pub(crate) fn compile(
    mut root: Node,
    schema: &Schema,
    lists: &Lists,
    limits: &Limits,
    regexes: &RegexCache,
    keep_instructions: bool,
) -> Result<Program, Error> {
    let mut p = Program {
        bytecode: None,
        preds: Vec::new(),
        fields: fields::FieldList::new(),
        field_names: schema.names().clone(),
        list_tests: 0,
        simple: false,
        chain: false,
        branch_start: branch::VERDICT_FALSE,
        branches: Vec::new(),
    };
    // The common rule (field tests joined by `and`, `or`, `not`) has a
    // branch form, lowered straight from the tree; the others run as
    // instructions. Asked to keep its instructions, a compiler emits them
    // for every program (a simple one then holds both forms).
    let direct = direct::size(&root, lists)
        .filter(|s| s.instructions <= limits.max_instructions && s.lists < 2);
    if let Some(size) = direct {
        let mut tree = if keep_instructions {
            Some(root.clone())
        } else {
            None
        };
        let lowered = tree.as_mut().unwrap_or(&mut root);
        let mut preds = Vec::with_capacity(size.pooled);
        let (start, branches) = direct::lower(lowered, size, lists, &mut preds, &mut p.fields);
        p.simple = true;
        p.branch_start = start;
        p.chain = branch::is_chain(start, &branches);
        p.preds = preds;
        p.branches = branches;
        if !keep_instructions {
            p.list_tests = list_tests(&p.preds);
            return Ok(p);
        }
    }
    let tests = top_level_tests(&root, 0);
    // The instructions' predicates follow the branches' ones in the pool.
    let mut g = Gen {
        p,
        b: Bytecode {
            // Most programs are a test (and a jump) per comparison and one
            // predicate and field each: sized once, not grown step by step.
            code: Vec::with_capacity(2 * tests + 1),
            budget: ValueBudget {
                per_value: limits.max_value_bytes,
                per_evaluation: limits.max_evaluation_bytes,
            },
            ..Bytecode::default()
        },
        lists,
        limits,
        regexes,
        loops: Vec::new(),
        const_ids: HashMap::default(),
    };
    g.p.preds.reserve(tests);
    g.node(&mut root, false)?;
    g.emit(Instr::Return)?;
    let Gen {
        mut p,
        b: mut bytecode,
        ..
    } = g;
    optimize::thread_jumps(&mut bytecode.code);
    optimize::fuse_test_jumps(&mut bytecode.code);
    bytecode.code.shrink_to_fit();
    p.preds.shrink_to_fit();
    p.bytecode = Some(Box::new(bytecode));
    p.list_tests = list_tests(&p.preds);
    Ok(p)
}

/// How many of the pool's predicates test a named list.
fn list_tests(preds: &[Pred]) -> usize {
    preds
        .iter()
        .filter(|p| matches!(p.resolved(), Pred::List(_)))
        .count()
}

/// The comparisons and tests of `n` outside function calls, counted down to
/// a few levels (a capacity hint: and/or chains are n-ary, so real rules
/// are shallow; a deeper subtree counts as one).
fn top_level_tests(n: &Node, depth: usize) -> usize {
    const HINT_DEPTH: usize = 8;
    match n {
        Node::And(terms) | Node::Or(terms) | Node::Xor(terms) if depth < HINT_DEPTH => {
            terms.iter().map(|t| top_level_tests(t, depth + 1)).sum()
        }
        Node::Not(inner) if depth < HINT_DEPTH => top_level_tests(inner, depth + 1),
        Node::Const(_) => 0,
        _ => 1,
    }
}

struct Gen<'a> {
    p: Program,
    /// The instructions and pools being built.
    b: Bytecode,
    lists: &'a Lists,
    limits: &'a Limits,
    regexes: &'a RegexCache,
    /// Iterator registers of the `[*]` loops being compiled, innermost last.
    loops: Vec<u16>,
    const_ids: HashMap<Const, u32, crate::hash::FastHash>,
}

impl Gen<'_> {
    fn here(&self) -> u32 {
        self.b.code.len() as u32
    }

    fn emit(&mut self, i: Instr) -> Result<u32, Error> {
        if self.b.code.len() >= self.limits.max_instructions {
            return Err(Error::limit(
                crate::error::Stage::Compile,
                format!(
                    "the program needs more than {} instructions (raise `max_instructions` in the settings)",
                    self.limits.max_instructions
                ),
                Span::default(),
            ));
        }
        self.b.code.push(i);
        Ok(self.here() - 1)
    }

    fn patch(&mut self, at: u32, target: u32) {
        if let Some(i) = self.b.code.get_mut(at as usize) {
            match i {
                Instr::JumpIfFalse(t) | Instr::JumpIfTrue(t) => *t = target,
                Instr::LoopStart { exit, .. } => *exit = target,
                _ => {}
            }
        }
    }

    fn regs(&mut self, n: u16) -> Result<u16, Error> {
        let r = self.b.regs;
        if r as usize + n as usize > MAX_REGS {
            return Err(Error::limit(
                crate::error::Stage::Compile,
                "the program needs too many registers",
                Span::default(),
            ));
        }
        self.b.regs += n;
        Ok(r)
    }

    fn pred(&mut self, p: Pred) -> u32 {
        self.p.preds.push(p);
        self.p.preds.len() as u32 - 1
    }

    fn field(&mut self, id: FieldId) -> Src {
        self.p.fields.insert(id);
        Src::Field(id)
    }

    fn konst(&mut self, c: &Const) -> Src {
        if let Some(&id) = self.const_ids.get(c) {
            return Src::Const(id);
        }
        let v = match c {
            Const::Int(n) => Val::Int(*n),
            Const::Bytes(b) => Val::Bytes(Cow::Owned(b.to_vec())),
            Const::Ip(ip) => Val::Ip(*ip),
        };
        self.b.consts.push(v);
        let id = self.b.consts.len() as u32 - 1;
        self.const_ids.insert(c.clone(), id);
        Src::Const(id)
    }

    /// Emits code leaving `acc = value(n) != negate`.
    fn node(&mut self, n: &mut Node, negate: bool) -> Result<(), Error> {
        crate::stack::guard(|| self.node_inner(n, negate))
    }

    fn node_inner(&mut self, n: &mut Node, negate: bool) -> Result<(), Error> {
        match n {
            Node::Const(b) => {
                self.emit(Instr::Const(*b != negate))?;
            }
            Node::Not(inner) => self.node(inner, !negate)?,
            // De Morgan: not (a and b) = (not a) or (not b).
            Node::And(terms) => self.chain(terms, !negate, negate)?,
            Node::Or(terms) => self.chain(terms, negate, negate)?,
            Node::Xor(terms) => {
                for (k, t) in terms.iter_mut().enumerate() {
                    if k == 0 {
                        // not (a xor b) = (not a) xor b.
                        self.node(t, negate)?;
                    } else {
                        self.emit(Instr::PushAcc)?;
                        self.node(t, false)?;
                        self.emit(Instr::XorPop)?;
                    }
                }
            }
            Node::Test(op) => self.truthy(op, negate)?,
            Node::Compare(c) => self.compare(c, negate)?,
        }
        Ok(())
    }

    /// `and` (jump out on false) when `is_and`, else `or` (jump out on true).
    fn chain(&mut self, terms: &mut [Node], is_and: bool, negate: bool) -> Result<(), Error> {
        self.short_circuit(terms.len(), !is_and, |g, k| match terms.get_mut(k) {
            Some(t) => g.node(t, negate),
            None => Ok(()),
        })
    }

    /// `count` terms, each emitted by `term(self, k)`, with a jump to the
    /// end after each but the last: taken when `acc` is true (`exit_on_true`,
    /// an `or`) or false (an `and`).
    fn short_circuit(
        &mut self,
        count: usize,
        exit_on_true: bool,
        mut term: impl FnMut(&mut Self, usize) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut exits = Vec::with_capacity(count.saturating_sub(1));
        for k in 0..count {
            term(self, k)?;
            if k + 1 < count {
                let j = if exit_on_true {
                    Instr::JumpIfTrue(0)
                } else {
                    Instr::JumpIfFalse(0)
                };
                exits.push(self.emit(j)?);
            }
        }
        let end = self.here();
        for e in exits {
            self.patch(e, end);
        }
        Ok(())
    }

    /// A Bool operand as a test.
    fn truthy(&mut self, op: &mut Operand, negate: bool) -> Result<(), Error> {
        if let Operand::Call(Callee::Builtin(b @ (Builtin::Any | Builtin::All)), args) = op
            && let [Operand::Each { source, body }] = args.as_mut_slice()
        {
            let kind = if *b == Builtin::Any {
                LoopKind::Any
            } else {
                LoopKind::All
            };
            self.bool_loop(kind, source, body)?;
            if negate {
                self.emit(Instr::Not)?;
            }
            return Ok(());
        }
        if let Operand::Compare(c) = op {
            return self.compare(c, negate);
        }
        // `starts_with(x, "a")` / `ends_with(x, "a")` tested for truth: the
        // byte test itself, as `x matches "^a"` is (a missing `x` is false
        // either way), so that it needs no register and fuses into a loop.
        if let Operand::Call(Callee::Builtin(b @ (Builtin::StartsWith | Builtin::EndsWith)), args) =
            op
            && let [subject, affix] = args.as_mut_slice()
            && let Some(affix) = affix.literal_bytes()
        {
            let affix: Box<[u8]> = affix.into();
            let pred = self.pred(if *b == Builtin::StartsWith {
                Pred::StartsWith(affix)
            } else {
                Pred::EndsWith(affix)
            });
            let flags = u8::from(negate) << 1;
            match self.operand(subject)? {
                Src::Field(field) => self.emit(Instr::TestField { field, pred, flags })?,
                src => self.emit(Instr::Test { src, pred, flags })?,
            };
            return Ok(());
        }
        if let Operand::Logic(n) = op {
            return self.node(n, negate);
        }
        match self.operand(op)? {
            Src::Field(field) => self.emit(Instr::TruthyField { field, negate })?,
            src => self.emit(Instr::Truthy { src, negate })?,
        };
        Ok(())
    }

    fn bool_loop(
        &mut self,
        kind: LoopKind,
        source: &mut Operand,
        body: &mut Operand,
    ) -> Result<(), Error> {
        let src = self.operand(source)?;
        let iter = self.regs(2)?;
        let start = self.emit(Instr::LoopStart {
            kind,
            iter,
            exit: 0,
            src,
        })?;
        let body_at = self.here();
        self.loops.push(iter);
        self.truthy(body, false)?;
        self.loops.pop();
        // A body that is one test of the element: the whole loop is one
        // instruction, a plain loop in the VM, and needs no registers.
        if self.here() == body_at + 1
            && let Some(&Instr::Test {
                src: Src::Elem(r),
                pred,
                flags,
            }) = self.b.code.last()
            && r == iter
            && self.b.regs == iter + 2
        {
            self.b.code.truncate(start as usize);
            self.b.regs = iter;
            self.emit(Instr::LoopTest {
                kind,
                src,
                pred,
                flags,
            })?;
            return Ok(());
        }
        self.emit(Instr::LoopNext {
            kind,
            iter,
            body: body_at,
        })?;
        let end = self.here();
        self.patch(start, end);
        Ok(())
    }

    fn compare(&mut self, c: &mut Compare, negate: bool) -> Result<(), Error> {
        let src = self.operand(&mut c.lhs)?;
        if let Test::Matches(re) = &c.test
            && let Some(alts) = re.alternatives()
        {
            return self.literal_alternatives(src, alts, negate);
        }
        let neg = u8::from(negate) << 1;
        let (pred, invert) = match &mut c.test {
            Test::Operand(op, rhs) => {
                let rhs = self.operand(rhs)?;
                self.b.compares.push((*op, rhs));
                let cmp = self.b.compares.len() as u32 - 1;
                self.emit(Instr::CompareSrc {
                    lhs: src,
                    cmp,
                    negate,
                })?;
                return Ok(());
            }
            test => {
                let invert = matches!(test, Test::Ne(_));
                (test_pred(test, self.lists, c.span)?, invert)
            }
        };
        let pred = self.pred(pred);
        let flags = u8::from(invert) | neg;
        match src {
            Src::Field(field) => self.emit(Instr::TestField { field, pred, flags })?,
            src => self.emit(Instr::Test { src, pred, flags })?,
        };
        Ok(())
    }

    /// A pattern that is a few anchored literals, as byte tests: one set
    /// lookup when every alternative is exact, else an `or` of tests (an
    /// `and` of negated ones under `not`), each false on a missing value as
    /// the regex test is.
    fn literal_alternatives(
        &mut self,
        src: Src,
        alts: &[crate::regexes::LiteralAlt],
        negate: bool,
    ) -> Result<(), Error> {
        let flags = u8::from(negate) << 1;
        let test = |pred| match src {
            Src::Field(field) => Instr::TestField { field, pred, flags },
            src => Instr::Test { src, pred, flags },
        };
        if let Some(set) = exact_alternatives(alts) {
            let pred = self.pred(set);
            self.emit(test(pred))?;
            return Ok(());
        }
        // An `or` of the tests; under `not`, an `and` of the negated ones.
        self.short_circuit(alts.len(), !negate, |g, k| {
            if let Some((lit, start, end)) = alts.get(k) {
                let pred = g.pred(literal_pred(lit.clone(), *start, *end));
                g.emit(test(pred))?;
            }
            Ok(())
        })
    }

    fn operand(&mut self, op: &mut Operand) -> Result<Src, Error> {
        crate::stack::guard(|| self.operand_inner(op))
    }

    fn operand_inner(&mut self, op: &mut Operand) -> Result<Src, Error> {
        // `any(x[*] ...)` / `all(...)` as a value: the loop, then its result.
        if let Operand::Call(Callee::Builtin(Builtin::Any | Builtin::All), args) = &*op
            && let [Operand::Each { .. }] = args.as_slice()
        {
            self.truthy(op, false)?;
            let r = self.regs(1)?;
            self.emit(Instr::StoreAcc(r))?;
            return Ok(Src::Reg(r));
        }
        Ok(match op {
            Operand::Field(id) => self.field(*id),
            Operand::Const(c) => self.konst(c),
            Operand::Elem => match self.loops.last() {
                Some(&r) => Src::Elem(r),
                None => {
                    return Err(Error::compile(
                        "`[*]` element used outside a loop",
                        Span::default(),
                    ));
                }
            },
            Operand::Index(..) => {
                let mut keys = Vec::new();
                let mut cur = op;
                while let Operand::Index(base, key) = cur {
                    keys.push(key.clone());
                    cur = base;
                }
                keys.reverse();
                let root = self.operand(cur)?;
                self.b.paths.push(Path {
                    root,
                    keys: keys.into_boxed_slice(),
                });
                Src::Path(self.b.paths.len() as u32 - 1)
            }
            Operand::Call(callee, args) => {
                let mut srcs = Vec::with_capacity(args.len());
                for a in args.iter_mut() {
                    srcs.push(self.operand(a)?);
                }
                let prepared = match callee {
                    Callee::Builtin(b) => Prepared::new(
                        *b,
                        |k| args.get(k)?.literal_bytes(),
                        self.limits,
                        self.regexes,
                    )
                    .map_err(|m| Error::compile(m, Span::default()))?,
                    Callee::User(_) => Prepared::None,
                };
                self.b.calls.push(CallDef {
                    callee: callee.clone(),
                    args: srcs.into_boxed_slice(),
                    prepared,
                });
                let call = self.b.calls.len() as u32 - 1;
                let dst = self.regs(1)?;
                self.emit(Instr::Call { dst, call })?;
                Src::Reg(dst)
            }
            Operand::Each { source, body } => {
                let src = self.operand(source)?;
                let iter = self.regs(3)?;
                let start = self.emit(Instr::LoopStart {
                    kind: LoopKind::Map,
                    iter,
                    exit: 0,
                    src,
                })?;
                let body_at = self.here();
                self.loops.push(iter);
                let v = self.operand(body)?;
                self.loops.pop();
                self.emit(Instr::LoopPush { iter, src: v })?;
                self.emit(Instr::LoopNext {
                    kind: LoopKind::Map,
                    iter,
                    body: body_at,
                })?;
                let end = self.here();
                self.patch(start, end);
                Src::Reg(iter + 2)
            }
            Operand::Compare(c) => {
                self.compare(c, false)?;
                let r = self.regs(1)?;
                self.emit(Instr::StoreAcc(r))?;
                Src::Reg(r)
            }
            Operand::Logic(n) => {
                self.node(n, false)?;
                let r = self.regs(1)?;
                self.emit(Instr::StoreAcc(r))?;
                Src::Reg(r)
            }
        })
    }
}

/// The predicate of a comparison against constants, its constant moved
/// out of `test` (`!=` is `==` inverted by the caller). Not for the tests
/// that become something else: an operand comparison, or a regex made of
/// literal alternatives.
fn test_pred(test: &mut Test, lists: &Lists, span: Span) -> Result<Pred, Error> {
    Ok(match test {
        Test::Eq(k) | Test::Ne(k) => match k {
            Const::Bytes(b) => Pred::BytesEq(std::mem::take(b).into_vec().into_boxed_slice()),
            Const::Int(n) => Pred::IntEq(*n),
            Const::Ip(ip) => Pred::IpEq(*ip),
        },
        Test::Order(o, k) => match k {
            Const::Bytes(b) => Pred::BytesOrd(*o, std::mem::take(b).into_vec().into_boxed_slice()),
            Const::Int(n) => Pred::IntOrd(*o, *n),
            Const::Ip(ip) => Pred::IpOrd(*o, *ip),
        },
        Test::Contains(b) => Pred::Contains(Box::new(memmem::Finder::new(b).into_owned())),
        Test::Matches(re) => regex_pred(re, span)?,
        Test::Wildcard { pattern, strict } => {
            Pred::Wildcard(Box::new(Wildcard::new(pattern, *strict)))
        }
        Test::InBytes(items) => Pred::BytesSet(BytesSet::new(std::mem::take(items))),
        Test::InInts(r) => Pred::IntRanges(std::mem::take(r).into_boxed_slice()),
        Test::InIps(r) => Pred::IpRanges(IpRanges::new(r)),
        Test::InList(name) => match lists.handle(name) {
            Some(h) => Pred::List(h.clone()),
            None => {
                return Err(Error::compile(
                    format!("list `${name}` has no contents registered"),
                    span,
                ));
            }
        },
        Test::BitAnd(m) => Pred::BitAnd(*m),
        Test::Operand(..) => {
            return Err(Error::compile(
                "an operand comparison has no constant predicate",
                span,
            ));
        }
    })
}

/// One set lookup for a pattern whose literal alternatives are all exact
/// (`^(GET|HEAD)$`); `None` when some alternative is not.
fn exact_alternatives(alts: &[crate::regexes::LiteralAlt]) -> Option<Pred> {
    if !alts.iter().all(|a| a.1 && a.2) {
        return None;
    }
    let mut items: Vec<Vec<u8>> = alts.iter().map(|a| a.0.clone()).collect();
    items.sort();
    items.dedup();
    Some(Pred::BytesSet(BytesSet::new(items)))
}

/// A regex that is a plain literal, optionally anchored (`^/admin`,
/// `\.php$`, `curl`), becomes a byte comparison; anything else stays a regex.
/// (Byte mode, case-sensitive, and `$` only at the very end, as the regex
/// crate has it, make the two exactly equivalent.)
fn regex_pred(re: &crate::regexes::Pattern, span: Span) -> Result<Pred, Error> {
    Ok(match re.literal().cloned() {
        Some((lit, start, end)) => literal_pred(lit, start, end),
        None => match re.regex() {
            Some(re) => Pred::Matches(re.clone()),
            None => {
                return Err(Error::compile("invalid regex", span)
                    .with_kind(crate::error::ErrorKind::InvalidRegex));
            }
        },
    })
}

/// The byte test for a literal anchored at the start and/or end (else found anywhere).
fn literal_pred(lit: Vec<u8>, start: bool, end: bool) -> Pred {
    match (start, end) {
        (true, true) => Pred::BytesEq(lit.into_boxed_slice()),
        (true, false) => Pred::StartsWith(lit.into_boxed_slice()),
        (false, true) => Pred::EndsWith(lit.into_boxed_slice()),
        (false, false) => Pred::Contains(Box::new(memmem::Finder::new(&lit).into_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checked test of the kinds a branch may hold inline: byte
    /// equalities around the inline length, int ranges in and out of
    /// `0..=u32::MAX`, address ranges of either family (and mixed pairs).
    fn inline_candidate() -> impl proptest::strategy::Strategy<Value = Test> {
        use proptest::prelude::*;
        let bytes = proptest::collection::vec(any::<u8>(), 0..=branch::INLINE_BYTES + 4);
        let int = prop_oneof![0i64..70_000, any::<i64>(), Just(i64::from(u32::MAX))];
        let ints = proptest::collection::vec((int.clone(), int), 0..=6)
            .prop_map(|r| r.into_iter().map(|(a, b)| (a.min(b), a.max(b))).collect());
        // Ordered pairs of one family, as the checker merges them (and the
        // odd mixed pair, which no predicate keeps).
        let v4 = |a: u32| std::net::IpAddr::from(std::net::Ipv4Addr::from(a));
        let v6 = |a: u128| std::net::IpAddr::from(std::net::Ipv6Addr::from(a));
        let pair = prop_oneof![
            4 => any::<(u32, u32)>().prop_map(move |(a, b)| (v4(a.min(b)), v4(a.max(b)))),
            2 => any::<(u128, u128)>().prop_map(move |(a, b)| (v6(a.min(b)), v6(a.max(b)))),
            1 => any::<(u32, u128)>().prop_map(move |(a, b)| (v4(a), v6(b))),
        ];
        let ips = proptest::collection::vec(pair, 0..=6);
        prop_oneof![
            bytes.clone().prop_map(|b| Test::Eq(Const::Bytes(b.into()))),
            bytes.prop_map(|b| Test::Ne(Const::Bytes(b.into()))),
            ints.prop_map(Test::InInts),
            ips.prop_map(Test::InIps),
            any::<i64>().prop_map(|n| Test::Eq(Const::Int(n))),
        ]
    }

    proptest::proptest! {
        /// Reading a test's inline form from the checked test gives exactly
        /// what building its predicate and classifying that gives, and
        /// nothing for a test whose predicate is pooled.
        #[test]
        fn inline_form_of_a_test_matches_its_predicate(test in inline_candidate()) {
            let direct = branch::classify_inline_test(&test);
            let lists = crate::lists::Lists::default();
            let pred = test_pred(&mut test.clone(), &lists, Default::default());
            let via_pred = pred.ok().map(|p| branch::classify(&p)).filter(|c| c.0.is_inline());
            proptest::prop_assert_eq!(direct, via_pred);
        }
    }

    /// Patterns lowered to literal alternatives evaluate as the regex does,
    /// under `not`, on a missing field, and on array elements.
    #[test]
    fn literal_alternative_patterns_evaluate_as_the_regex() {
        use crate::{Compiler, Context, Schema, Value};
        let schema = Schema::default_http();
        let compiler = Compiler::new(&schema);
        let patterns = [
            "^/api/v3/item42(/|$)",
            "^(GET|HEAD)$",
            "\\.(php|asp)$",
            "(ad|min)",
            "^(a|)$",
            "(^x|y$)",
        ];
        let values = [
            "",
            "/api/v3/item42",
            "/api/v3/item42/",
            "/api/v3/item42x",
            "GET",
            "HEAD",
            "GETS",
            "a.php",
            "a.phpx",
            "admin",
            "x",
            "xy",
            "y",
            "a",
        ];
        for p in patterns {
            assert!(crate::regexes::literal_alternatives(p).is_some(), "{p}");
            let re = crate::regexes::build(p, 1 << 20).unwrap();
            for shape in [
                "{f} matches \"{p}\"",
                "not {f} matches \"{p}\"",
                "any({a}[*] matches \"{p}\")",
            ] {
                let text = shape
                    .replace("{f}", "http.request.uri.path")
                    .replace("{a}", "http.request.headers.names")
                    .replace("{p}", p);
                let filter = compiler.compile(&text).unwrap();
                let negated = shape.starts_with("not");
                let mut cx = Context::new(&schema);
                assert_eq!(filter.matches(&cx), negated, "{text} on a missing field");
                for v in values {
                    cx.set("http.request.uri.path", Value::Bytes(v.into()))
                        .unwrap();
                    cx.set(
                        "http.request.headers.names",
                        Value::Array(vec![Value::Bytes(b"zz".to_vec()), Value::Bytes(v.into())]),
                    )
                    .unwrap();
                    let want = re.is_match(v.as_bytes()) != negated;
                    assert_eq!(filter.matches(&cx), want, "{text} on {v:?}");
                }
            }
        }
    }

    #[test]
    fn instructions_stay_small() {
        assert!(
            std::mem::size_of::<Instr>() <= 16,
            "Instr is {} bytes",
            std::mem::size_of::<Instr>()
        );
        assert_eq!(std::mem::size_of::<Src>(), 8);
    }
}
