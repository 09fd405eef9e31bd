//! The VM: runs a [`Program`] over a [`Request`].
//!
//! Programs made only of field tests and `and`/`or`/`not` (most rules) run in
//! their branch form ([`crate::program::branch`]): one typed test per step,
//! the next step chosen by its outcome, nothing else dispatched. Everything
//! else runs the bytecode: a plain `loop { match }` with a Bool accumulator.
//! Registers live on the Rust stack for programs that need at most
//! [`STACK_REGS`] of them (every program without `[*]` maps or nested calls),
//! so evaluation without transform functions allocates nothing. Every access
//! is checked: a malformed program yields `false`, never a panic.

use crate::context::Request;
use crate::functions::{Callee, eval};
use crate::matchers::in_ranges;
use crate::program::branch::{
    Branch, Next, TestKind, VERDICT_FALSE, VERDICT_TRUE, eq_inline, in_inline_ranges, prefix_inline,
};
use crate::program::pred::Pred;
use crate::program::{Instr, LoopKind, Program, Src, compare_values};
use crate::types::{Scalar, Seq, Val, Value};
use std::borrow::Cow;

/// Registers kept on the stack; programs needing more use a heap vector.
pub const STACK_REGS: usize = 8;

/// Bits of `xor` nesting the bit stack holds (the depth limit keeps nesting below it).
const BIT_STACK: usize = 256;

/// Evaluates `p` over `req`.
#[inline]
pub fn execute<R: Request + ?Sized>(p: &Program, req: &R) -> bool {
    execute_in(p, req, None)
}

/// [`execute`], with the JSON documents already parsed in this evaluation
/// when there is a cache (a rule set's rules share one, so a body is parsed
/// once per request); a program that needs one and got none makes its own.
/// The common program never touches it, so it costs nothing to pass.
#[inline]
fn execute_in<'a, R: Request + ?Sized>(
    p: &'a Program,
    req: &'a R,
    json: Option<&mut JsonCache<'a>>,
) -> bool {
    // Only a simple program has branches: the first test runs here. It
    // decides most rules on most requests, and the loop (with its larger
    // frame) only starts when it does not.
    let Some(b) = p.branches.first() else {
        return if p.simple {
            p.branch_start == VERDICT_TRUE
        } else {
            match json {
                Some(json) => run_general(p, req, json),
                None => run_general(p, req, &mut JsonCache::default()),
            }
        };
    };
    let next = b.next[usize::from(branch_way(p, req, b))];
    if next >= VERDICT_FALSE {
        return is_true(next);
    }
    if p.chain {
        run_chain(p, req)
    } else {
        run_branches(p, req, next)
    }
}

/// Runs `p`'s instructions, whatever its branch form says (`false` when it
/// kept none): for tests that compare the two forms.
pub(crate) fn execute_instructions<R: Request + ?Sized>(p: &Program, req: &R) -> bool {
    run_general(p, req, &mut JsonCache::default())
}

/// Which verdict `next` (one of the two) is: [`VERDICT_TRUE`] is odd and
/// [`VERDICT_FALSE`] even, so it is the low bit, without a compare.
#[inline(always)]
fn is_true(next: Next) -> bool {
    const _: () = assert!(VERDICT_TRUE & 1 == 1 && VERDICT_FALSE & 1 == 0);
    next & 1 != 0
}

/// Programs with registers, loops, calls or `xor`: kept out of line so the
/// common path above stays a plain call.
#[inline(never)]
fn run_general<'a, R: Request + ?Sized>(
    p: &'a Program,
    req: &'a R,
    json: &mut JsonCache<'a>,
) -> bool {
    // A program that may look lists up twice runs here, never in branch
    // form (see `compile::direct`): one version of each for the evaluation.
    if p.may_read_lists_twice() {
        return crate::lists::pinned(|| run_instructions(p, req, json));
    }
    run_instructions(p, req, json)
}

/// [`run_general`] without the lists pinned.
fn run_instructions<'a, R: Request + ?Sized>(
    p: &'a Program,
    req: &'a R,
    json: &mut JsonCache<'a>,
) -> bool {
    let n = p.bytecode().regs as usize;
    if n == 0 {
        run(p, req, &mut [], json)
    } else if n <= STACK_REGS {
        // As many as the program uses (rounded up): each is set to missing
        // before, and dropped after, the run.
        macro_rules! on_stack {
            ($k:expr) => {{
                let mut regs: [Val<'_>; $k] = [const { Val::Missing }; $k];
                run(p, req, &mut regs, json)
            }};
        }
        match n {
            1 => on_stack!(1),
            2 => on_stack!(2),
            3 | 4 => on_stack!(4),
            _ => on_stack!(STACK_REGS),
        }
    } else {
        let mut regs = vec![Val::Missing; n];
        run(p, req, &mut regs, json)
    }
}

/// Runs the branch form of a simple program (most rules): one typed test
/// per step, no registers, no accumulator. Successors only go forward, so it
/// ends within `branches.len()` steps.
fn run_branches<R: Request + ?Sized>(p: &Program, req: &R, from: Next) -> bool {
    walk_branches(p, from, |_, b| branch_way(p, req, b))
}

/// Runs a chain ([`Program::chain`]) from its second step.
#[inline(always)]
fn run_chain<R: Request + ?Sized>(p: &Program, req: &R) -> bool {
    walk_chain(p, 1, |_, b| branch_way(p, req, b))
}

/// Walks a chain ([`Program::chain`]) from step `from` in order, taking
/// each step's way ([`Branch::next`]) from `way(index, branch)`, to the
/// verdict. Each step leads on to the next or ends, so where the next step
/// is does not wait for the test's outcome: the processor runs ahead into it.
#[inline(always)]
fn walk_chain(p: &Program, from: usize, mut way: impl FnMut(usize, &Branch) -> bool) -> bool {
    let steps = p.branches.get(from..).unwrap_or_default();
    for (k, b) in steps.iter().enumerate() {
        let next = b.next[usize::from(way(from + k, b))];
        if next >= VERDICT_FALSE {
            return is_true(next);
        }
    }
    false
}

/// Walks the branch form from `from`, taking each branch's way
/// ([`Branch::next`]) from `way(index, branch)`, to the verdict. Successors
/// must go forward: a branch that points back (never in a compiled
/// program) ends the walk.
#[inline(always)]
fn walk_branches(p: &Program, from: Next, mut way: impl FnMut(usize, &Branch) -> bool) -> bool {
    let mut at = from;
    loop {
        let Some(b) = p.branches.get(at as usize) else {
            return at == VERDICT_TRUE;
        };
        let next = b.next[usize::from(way(at as usize, b))];
        if next <= at {
            return false;
        }
        at = next;
    }
}

/// A branch whose test only its own rule has (see [`SharedTests`]).
pub const NOT_SHARED: u32 = u32::MAX;

/// The results of the tests several rules of a set have in common, for one
/// request: a test is evaluated for the first rule that needs it and its
/// result reused by the others. Two bits per test: known, and value. The
/// value is the branch's way ([`Branch::next`]): the predicate's own result,
/// `invert` not applied (every branch of one id has the same inversion).
pub struct SharedTests<'m> {
    /// Bit `id`: the test's result is known.
    pub known: &'m mut [u64],
    /// Bit `id`: the test's result, when known.
    pub value: &'m mut [u64],
}

impl SharedTests<'_> {
    /// The outcome of test `id`, if recorded.
    #[inline]
    pub fn outcome(&self, id: u32) -> Option<bool> {
        let (w, bit) = (id as usize / 64, 1u64 << (id % 64));
        match (self.known.get(w), self.value.get(w)) {
            (Some(known), Some(value)) if id != NOT_SHARED && known & bit != 0 => {
                Some(value & bit != 0)
            }
            _ => None,
        }
    }

    /// Records the outcome of test `id` (nothing for [`NOT_SHARED`] or an
    /// id out of range).
    #[inline]
    pub fn record(&mut self, id: u32, hit: bool) {
        let (w, bit) = (id as usize / 64, 1u64 << (id % 64));
        if let (Some(known), Some(value)) = (self.known.get_mut(w), self.value.get_mut(w))
            && id != NOT_SHARED
        {
            *known |= bit;
            if hit {
                *value |= bit;
            } else {
                *value &= !bit;
            }
        }
    }
}

/// [`execute`] for a rule of a set: branches with a shared test id
/// (`ids[k]` for branch `k`, [`NOT_SHARED`] otherwise) take their result
/// from `shared` when an earlier rule computed it. Programs that are not
/// simple, or ids that do not fit, run as [`execute`] does.
pub fn execute_shared<'a, R: Request + ?Sized>(
    p: &'a Program,
    req: &'a R,
    ids: &[u32],
    shared: &mut SharedTests<'_>,
    json: &mut JsonCache<'a>,
) -> bool {
    if !p.simple || ids.len() != p.branches.len() {
        return execute_in(p, req, Some(json));
    }
    // Branches that share an id have the same inversion, so their ways
    // agree; a regex the index searched has none (its way is its match).
    let way = |at: usize, b: &Branch| {
        let id = ids.get(at).copied().unwrap_or(NOT_SHARED);
        if let Some(hit) = shared.outcome(id) {
            return hit;
        }
        let hit = branch_way(p, req, b);
        shared.record(id, hit);
        hit
    };
    if p.chain {
        walk_chain(p, 0, way)
    } else {
        walk_branches(p, p.branch_start, way)
    }
}

/// Which way one branch goes ([`Branch::next`]): its predicate's own
/// result on a present value of the tested type, else `invert` (the way a
/// test that does not hold takes). Dispatched once on the kind; a field the
/// request computes (`Scalar::Composite`) is read through `get` on the
/// cold path.
#[inline(always)]
fn branch_way<R: Request + ?Sized>(p: &Program, req: &R, b: &Branch) -> bool {
    use crate::matchers::bytes_eq;
    // `inline!(scalar pattern => test)`: a kind whose constants sit in the
    // branch. `typed!(scalar pattern, predicate pattern => test)`: one that
    // reads its predicate from the pool. A value of another type goes the
    // way of a test that fails, and a computed field through the general path.
    macro_rules! inline {
        ($scalar:pat => $test:expr) => {
            match req.scalar(b.field) {
                $scalar => $test,
                _ => other_type(p, req, b),
            }
        };
    }
    macro_rules! typed {
        ($scalar:pat, $pred:pat => $test:expr) => {
            match (
                req.scalar(b.field),
                p.preds.get(b.pred as usize).map(Pred::resolved),
            ) {
                ($scalar, Some($pred)) => $test,
                (Scalar::Composite, _) => composite_branch(p, req, b),
                _ => b.invert,
            }
        };
    }
    match b.kind {
        // Never inverted: a missing or non-Bool value goes `next[0]`.
        TestKind::Truthy => truthy_field(req, b.field),
        TestKind::BytesEqInline => inline!(Scalar::Bytes(v) => eq_inline(&b.data, b.len, v)),
        TestKind::StartsWithInline => {
            inline!(Scalar::Bytes(v) => prefix_inline(&b.data, b.len, v))
        }
        TestKind::IntRangesInline => {
            // A negative int wraps to a huge u64: in no range.
            inline!(Scalar::Int(n) => in_inline_ranges(&b.data, b.len, n as u64))
        }
        TestKind::Ip4RangesInline => {
            match req.scalar(b.field) {
                Scalar::Ip4(a) => in_inline_ranges(&b.data, b.len, u64::from(a)),
                // An IPv6 address is in no IPv4 range.
                Scalar::Ip6(_) => false,
                _ => other_type(p, req, b),
            }
        }
        TestKind::BytesEq => typed!(Scalar::Bytes(v), Pred::BytesEq(c) => bytes_eq(v, c)),
        TestKind::BytesSet => {
            // A length no entry has answers without touching the set.
            inline!(Scalar::Bytes(v) => (b.data[0] >> v.len().min(63)) & 1 != 0
                && matches!(p.preds.get(b.pred as usize).map(Pred::resolved), Some(Pred::BytesSet(set)) if set.contains(v)))
        }
        TestKind::IntEq => typed!(Scalar::Int(n), Pred::IntEq(c) => n == *c),
        TestKind::IntRanges => typed!(Scalar::Int(n), Pred::IntRanges(r) => in_ranges(r, n)),
        TestKind::IpRanges => {
            typed!(s @ (Scalar::Ip4(_) | Scalar::Ip6(_)), Pred::IpRanges(r) => r.contains_scalar(s))
        }
        TestKind::StartsWith | TestKind::Contains | TestKind::IntOrd | TestKind::Other => {
            match p.preds.get(b.pred as usize) {
                Some(pr) => branch_way_cold(pr.resolved(), req, b),
                None => b.invert,
            }
        }
    }
}

/// An inline branch over a value not of the tested type: the way of a
/// failed test, unless the request computes the field (then `get` reads
/// it). It reads the field again rather than taking the value: the hot
/// path then only tests the value's tag, without building a value to hand
/// over.
#[cold]
#[inline(never)]
fn other_type<R: Request + ?Sized>(p: &Program, req: &R, b: &Branch) -> bool {
    match req.scalar(b.field) {
        Scalar::Composite => composite_branch(p, req, b),
        _ => b.invert,
    }
}

/// The way of a branch over a field the request computes: read it with `get`.
#[cold]
#[inline(never)]
fn composite_branch<R: Request + ?Sized>(p: &Program, req: &R, b: &Branch) -> bool {
    let holds = if b.kind.is_inline() {
        let v = req.get(b.field);
        !v.is_missing() && crate::program::branch::inline_holds(b, v.scalar()) != b.invert
    } else {
        match p.preds.get(b.pred as usize) {
            Some(pr) => test_composite(pr, req, b.field, u8::from(b.invert)),
            None => false,
        }
    };
    // The test's outcome, back to the way: a test that holds goes
    // `next[!invert]`, one that does not `next[invert]`.
    holds != b.invert
}

/// The kinds that cost more than their dispatch (searches, orderings, the
/// general predicate): out of line, so the hot loop keeps a small frame.
#[inline(never)]
fn branch_way_cold<R: Request + ?Sized>(pr: &Pred, req: &R, b: &Branch) -> bool {
    match (b.kind, req.scalar(b.field), pr) {
        (_, Scalar::Missing, _) => b.invert,
        (_, Scalar::Composite, _) => {
            test_composite(pr, req, b.field, u8::from(b.invert)) != b.invert
        }
        (TestKind::StartsWith, Scalar::Bytes(v), Pred::StartsWith(c)) => v.starts_with(c),
        (TestKind::Contains, Scalar::Bytes(v), Pred::Contains(f)) => {
            crate::matchers::contains(f, v)
        }
        (TestKind::IntOrd, Scalar::Int(n), Pred::IntOrd(o, c)) => o.holds(n.cmp(c)),
        (TestKind::Other, s, pr) => pr.test_scalar(s),
        _ => b.invert,
    }
}

/// `TestField`: the predicate on the field's scalar, with the flags applied.
#[inline(always)]
fn test_field<R: Request + ?Sized>(
    p: &Program,
    req: &R,
    field: crate::types::FieldId,
    pred: u32,
    flags: u8,
) -> bool {
    let hit = match p.preds.get(pred as usize) {
        Some(pr) => match req.scalar(field) {
            Scalar::Missing => false,
            Scalar::Composite => test_composite(pr, req, field, flags),
            s => pr.test_scalar(s) != (flags & 1 != 0),
        },
        None => false,
    };
    hit != (flags & 2 != 0)
}

/// A field the request computes rather than stores: read it with `get`.
#[cold]
#[inline(never)]
fn test_composite<R: Request + ?Sized>(
    pr: &crate::program::pred::Pred,
    req: &R,
    field: crate::types::FieldId,
    flags: u8,
) -> bool {
    let v = req.get(field);
    !v.is_missing() && pr.test(&v) != (flags & 1 != 0)
}

/// `TruthyField`: the field is `true`.
#[inline(always)]
fn truthy_field<R: Request + ?Sized>(req: &R, field: crate::types::FieldId) -> bool {
    match req.scalar(field) {
        Scalar::Bool(b) => b,
        Scalar::Composite => truthy_composite(req, field),
        _ => false,
    }
}

#[cold]
#[inline(never)]
fn truthy_composite<R: Request + ?Sized>(req: &R, field: crate::types::FieldId) -> bool {
    matches!(req.get(field), Val::Bool(true))
}

fn run<'a, R: Request + ?Sized>(
    p: &'a Program,
    req: &'a R,
    regs: &mut [Val<'a>],
    json: &mut JsonCache<'a>,
) -> bool {
    // The hot instructions (field tests, jumps) stay in this small loop; the
    // rest go through `step_slow`, so the common path keeps a small stack
    // frame. Programs made only of these run in their branch form instead.
    let mut acc = false;
    let mut pc = 0usize;
    let mut xor = SlowState::default();
    let code = p.code();
    while let Some(ins) = code.get(pc) {
        pc += 1;
        match *ins {
            Instr::TestField { field, pred, flags } => acc = test_field(p, req, field, pred, flags),
            Instr::TestJump {
                field,
                pred,
                flags,
                target,
            } => {
                acc = test_field(p, req, field, pred, flags & 3);
                pc = if acc == (flags & 4 != 0) {
                    forward(pc, target)
                } else {
                    pc + 1
                };
            }
            Instr::TruthyField { field, negate } => acc = truthy_field(req, field) != negate,
            Instr::Const(b) => acc = b,
            Instr::JumpIfFalse(t) => {
                if !acc {
                    pc = forward(pc, t);
                }
            }
            Instr::JumpIfTrue(t) => {
                if acc {
                    pc = forward(pc, t);
                }
            }
            Instr::Not => acc = !acc,
            Instr::Return => return acc,
            other => step_slow(p, req, regs, other, &mut acc, &mut pc, &mut xor, json),
        }
    }
    acc
}

/// What the slower instructions keep across steps: the bit stack of `xor`
/// chains, and the bytes the values built so far hold (against the
/// evaluation's budget, [`Limits::max_evaluation_bytes`](crate::Limits)).
#[derive(Default)]
struct SlowState {
    bits: [u64; BIT_STACK / 64],
    depth: usize,
    spent: usize,
}

#[cfg(test)]
thread_local! {
    /// How many JSON documents this thread parsed (for tests of the cache).
    pub(crate) static JSON_PARSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The JSON document the evaluation parsed last, so that many
/// `lookup_json_*` calls over one body parse it once.
///
/// A document is kept only when it is borrowed from the request: its bytes
/// then live as long as the evaluation, so the same address and length are
/// the same document. (A document a function built may be freed, and its
/// address reused by another, so those are parsed each time.)
#[derive(Default)]
pub(crate) struct JsonCache<'a> {
    doc: Option<(&'a [u8], Option<serde_json::Value>)>,
}

impl<'a> JsonCache<'a> {
    /// The parsed form of `doc` (`None` when it is not JSON), parsing it
    /// unless it is the one parsed last; `None` too when parsing would take
    /// more than `room` bytes of budget, which it then spends from `spent`.
    fn parsed(
        &mut self,
        doc: &Val<'a>,
        spent: &mut usize,
        room: usize,
    ) -> Option<std::borrow::Cow<'_, serde_json::Value>> {
        let Val::Bytes(bytes) = doc else {
            return None;
        };
        if let (std::borrow::Cow::Borrowed(b), Some((cached, _))) = (bytes, &self.doc) {
            if std::ptr::eq(*b, *cached) {
                return self
                    .doc
                    .as_ref()?
                    .1
                    .as_ref()
                    .map(std::borrow::Cow::Borrowed);
            }
        }
        if bytes.len() > room {
            return None;
        }
        *spent += bytes.len();
        #[cfg(test)]
        JSON_PARSES.with(|n| n.set(n.get() + 1));
        // serde_json refuses nesting deeper than 128 levels: deep input is
        // not JSON, not a crash.
        let value = serde_json::from_slice::<serde_json::Value>(bytes).ok();
        match bytes {
            std::borrow::Cow::Borrowed(b) => {
                self.doc = Some((b, value));
                self.doc
                    .as_ref()?
                    .1
                    .as_ref()
                    .map(std::borrow::Cow::Borrowed)
            }
            std::borrow::Cow::Owned(_) => value.map(std::borrow::Cow::Owned),
        }
    }
}

/// Every instruction but the hot ones of [`run`].
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn step_slow<'a, R: Request + ?Sized>(
    p: &'a Program,
    req: &'a R,
    regs: &mut [Val<'a>],
    ins: Instr,
    acc: &mut bool,
    pc: &mut usize,
    xor: &mut SlowState,
    json: &mut JsonCache<'a>,
) {
    let SlowState {
        bits, depth, spent, ..
    } = xor;
    match ins {
        Instr::Test { src, pred, flags } => {
            let v = load(p, req, regs, src);
            let hit = match p.preds.get(pred as usize) {
                Some(pr) if !v.is_missing() => pr.test(&v) != (flags & 1 != 0),
                _ => false,
            };
            *acc = hit != (flags & 2 != 0);
        }
        Instr::Truthy { src, negate } => {
            *acc = matches!(*load(p, req, regs, src), Val::Bool(true)) != negate;
        }
        Instr::CompareSrc { lhs, cmp, negate } => {
            let hit = match p.bytecode().compares.get(cmp as usize) {
                Some(&(op, rhs)) => {
                    let a = load(p, req, regs, lhs);
                    let b = load(p, req, regs, rhs);
                    !a.is_missing() && !b.is_missing() && compare_values(op, &a, &b)
                }
                None => false,
            };
            *acc = hit != negate;
        }
        Instr::PushAcc => {
            if *depth < BIT_STACK {
                let (w, b) = (*depth / 64, *depth % 64);
                bits[w] = (bits[w] & !(1 << b)) | (u64::from(*acc) << b);
            }
            *depth += 1;
        }
        Instr::XorPop => {
            *depth = depth.saturating_sub(1);
            if *depth < BIT_STACK {
                *acc ^= bits[*depth / 64] >> (*depth % 64) & 1 == 1;
            }
        }
        Instr::StoreAcc(r) => set(regs, r as usize, Val::Bool(*acc)),
        Instr::Call { dst, call } => {
            let v = call_function(p, req, regs, call as usize, spent, json);
            set(regs, dst as usize, v);
        }
        Instr::LoopStart {
            kind,
            iter,
            exit,
            src,
        } => {
            let i = iter as usize;
            let seq = match take(p, req, regs, src) {
                Val::Array(seq) => seq,
                Val::Map(m) => Seq::Vals(m.values().map(|v| v.as_val()).collect()),
                // A missing array: `any`/`all` of it is missing (false), a map over it is missing.
                _ => {
                    set(regs, i + 2, Val::Missing);
                    *acc = false;
                    *pc = forward(*pc, exit);
                    return;
                }
            };
            let empty = seq.is_empty();
            if kind == LoopKind::Map {
                set(
                    regs,
                    i + 2,
                    Val::Array(Seq::Vals(Vec::with_capacity(seq.len()))),
                );
            }
            set(regs, i, Val::Array(seq));
            set(regs, i + 1, Val::Int(0));
            if empty {
                *acc = kind == LoopKind::All;
                *pc = forward(*pc, exit);
            }
        }
        Instr::LoopNext { kind, iter, body } => {
            let decided = match kind {
                LoopKind::Any => *acc,
                LoopKind::All => !*acc,
                LoopKind::Map => false,
            };
            if decided {
                return;
            }
            let i = iter as usize;
            let len = match regs.get(i) {
                Some(Val::Array(s)) => s.len(),
                _ => 0,
            };
            let next = match regs.get(i + 1) {
                Some(Val::Int(k)) => *k as usize + 1,
                _ => usize::MAX,
            };
            // Each backward jump consumes one element: loops end.
            if next < len && (body as usize) < *pc {
                set(regs, i + 1, Val::Int(next as i64));
                *pc = body as usize;
            }
        }
        Instr::LoopTest {
            kind,
            src,
            pred,
            flags,
        } => *acc = loop_test(p, req, regs, kind, src, pred, flags),
        Instr::LoopPush { iter, src } => {
            let v = take(p, req, regs, src);
            if let Some(Val::Array(Seq::Vals(out))) = regs.get_mut(iter as usize + 2) {
                out.push(v);
            }
        }
        _ => {}
    }
}

/// [`Instr::LoopTest`]: the elements' scalars through one predicate, in
/// a plain loop that stops at the deciding element.
fn loop_test<'a, R: Request + ?Sized>(
    p: &'a Program,
    req: &'a R,
    regs: &[Val<'a>],
    kind: LoopKind,
    src: Src,
    pred: u32,
    flags: u8,
) -> bool {
    let pr = p.preds.get(pred as usize).map(Pred::resolved);
    let (invert, negate) = (flags & 1 != 0, flags & 2 != 0);
    let all = kind == LoopKind::All;
    let v = load(p, req, regs, src);
    match &*v {
        Val::Array(Seq::Values(vs)) => any_all(all, vs.iter(), |v| {
            elem_test(pr, v.scalar(), invert, negate)
        }),
        Val::Array(Seq::Vals(vs)) => any_all(all, vs.iter(), |v| {
            elem_test(pr, v.scalar(), invert, negate)
        }),
        Val::Map(m) => any_all(all, m.values(), |v| {
            elem_test(pr, v.scalar(), invert, negate)
        }),
        // A missing array: `any`/`all` of it is missing (false).
        _ => false,
    }
}

/// Whether any (`all`: every) item passes `test`, stopping at the first
/// that decides.
#[inline(always)]
fn any_all<T>(all: bool, items: impl Iterator<Item = T>, mut test: impl FnMut(T) -> bool) -> bool {
    for item in items {
        if test(item) != all {
            return !all;
        }
    }
    all
}

/// What [`Instr::Test`] leaves in `acc` for one element.
#[inline(always)]
fn elem_test(pr: Option<&Pred>, s: Scalar<'_>, invert: bool, negate: bool) -> bool {
    let hit = match pr {
        Some(pr) if s != Scalar::Missing => pr.test_scalar(s) != invert,
        _ => false,
    };
    hit != negate
}

/// Jumps only go forward; anything else ends the program.
#[inline]
fn forward(pc: usize, target: u32) -> usize {
    let t = target as usize;
    if t >= pc { t } else { usize::MAX }
}

#[inline]
fn set<'a>(regs: &mut [Val<'a>], r: usize, v: Val<'a>) {
    if let Some(slot) = regs.get_mut(r) {
        *slot = v;
    }
}

/// Reads a value, borrowing where it can.
#[inline]
fn load<'r, 'a, R: Request + ?Sized>(
    p: &'r Program,
    req: &'a R,
    regs: &'r [Val<'a>],
    src: Src,
) -> Cow<'r, Val<'a>> {
    match src {
        Src::Field(id) => Cow::Owned(req.get(id)),
        Src::Reg(r) => regs
            .get(r as usize)
            .map_or(Cow::Owned(Val::Missing), Cow::Borrowed),
        Src::Const(c) => p
            .bytecode()
            .consts
            .get(c as usize)
            .map_or(Cow::Owned(Val::Missing), Cow::Borrowed),
        Src::Elem(r) => element(regs, r as usize),
        Src::Path(k) => {
            let Some(path) = p.bytecode().paths.get(k as usize) else {
                return Cow::Owned(Val::Missing);
            };
            // A path from a request field borrows from the request all
            // the way: each step is a slice or map lookup.
            if let Src::Field(id) = path.root {
                return Cow::Owned(walk(req.get(id), &path.keys));
            }
            let mut cur = load(p, req, regs, path.root);
            for key in path.keys.iter() {
                cur = step(cur, key);
                if cur.is_missing() {
                    break;
                }
            }
            cur
        }
    }
}

/// Reads a value to own it: registers are moved out (each is read once) and
/// constants are borrowed from the program, so neither is copied.
fn take<'a, R: Request + ?Sized>(
    p: &'a Program,
    req: &'a R,
    regs: &mut [Val<'a>],
    src: Src,
) -> Val<'a> {
    match src {
        Src::Reg(r) => regs
            .get_mut(r as usize)
            .map_or(Val::Missing, |v| std::mem::replace(v, Val::Missing)),
        Src::Const(c) => match p.bytecode().consts.get(c as usize) {
            Some(Val::Bytes(b)) => Val::Bytes(Cow::Borrowed(b)),
            Some(other) => other.clone(),
            None => Val::Missing,
        },
        _ => load(p, req, regs, src).into_owned(),
    }
}

#[inline(always)]
fn element<'r, 'a>(regs: &'r [Val<'a>], iter: usize) -> Cow<'r, Val<'a>> {
    match (regs.get(iter), regs.get(iter + 1)) {
        (Some(Val::Array(seq)), Some(Val::Int(k))) => match seq {
            Seq::Values(vs) => Cow::Owned(vs.get(*k as usize).map_or(Val::Missing, |v| v.as_val())),
            Seq::Vals(vs) => vs
                .get(*k as usize)
                .map_or(Cow::Owned(Val::Missing), Cow::Borrowed),
        },
        _ => Cow::Owned(Val::Missing),
    }
}

/// The value at `keys` from `v`, a value borrowed from the request.
#[inline]
fn walk<'a>(mut v: Val<'a>, keys: &[crate::check::Key]) -> Val<'a> {
    use crate::check::Key;
    for key in keys {
        v = match (v, key) {
            (Val::Array(Seq::Values(vs)), Key::Position(n)) => {
                vs.get(*n as usize).map_or(Val::Missing, Value::as_val)
            }
            (Val::Array(Seq::Vals(vs)), Key::Position(n)) => {
                vs.into_iter().nth(*n as usize).unwrap_or(Val::Missing)
            }
            (Val::Map(m), Key::Name(k)) => m.get(k.as_slice()).map_or(Val::Missing, Value::as_val),
            _ => return Val::Missing,
        };
    }
    v
}

/// One index step: an array position or a map key.
#[inline(always)]
fn step<'r, 'a>(v: Cow<'r, Val<'a>>, key: &crate::check::Key) -> Cow<'r, Val<'a>> {
    use crate::check::Key;
    match (v, key) {
        (Cow::Borrowed(Val::Array(Seq::Vals(vs))), Key::Position(n)) => vs
            .get(*n as usize)
            .map_or(Cow::Owned(Val::Missing), Cow::Borrowed),
        (Cow::Borrowed(Val::Array(Seq::Values(vs))), Key::Position(n)) => {
            Cow::Owned(vs.get(*n as usize).map_or(Val::Missing, |v| v.as_val()))
        }
        (Cow::Owned(Val::Array(seq)), Key::Position(n)) => Cow::Owned(match seq {
            Seq::Values(vs) => vs.get(*n as usize).map_or(Val::Missing, |v| v.as_val()),
            Seq::Vals(vs) => vs.into_iter().nth(*n as usize).unwrap_or(Val::Missing),
        }),
        (v, Key::Name(k)) => match &*v {
            Val::Map(m) => Cow::Owned(m.get(k.as_slice()).map_or(Val::Missing, |x| x.as_val())),
            _ => Cow::Owned(Val::Missing),
        },
        _ => Cow::Owned(Val::Missing),
    }
}

/// Argument counts that stay on the stack.
const STACK_ARGS: usize = 4;

fn call_function<'a, R: Request + ?Sized>(
    p: &'a Program,
    req: &'a R,
    regs: &mut [Val<'a>],
    call: usize,
    spent: &mut usize,
    json: &mut JsonCache<'a>,
) -> Val<'a> {
    let bytecode = p.bytecode();
    let Some(def) = bytecode.calls.get(call) else {
        return Val::Missing;
    };
    let budget = bytecode.budget;
    let n = def.args.len();
    let mut stack: [Val<'a>; STACK_ARGS] = [const { Val::Missing }; STACK_ARGS];
    let mut heap: Vec<Val<'a>>;
    let args: &mut [Val<'a>] = if n <= STACK_ARGS {
        &mut stack[..n]
    } else {
        heap = vec![Val::Missing; n];
        &mut heap
    };
    for (slot, src) in args.iter_mut().zip(def.args.iter()) {
        *slot = take(p, req, regs, *src);
    }
    // A JSON document is parsed once per evaluation (see `JsonCache`), and
    // parsing costs its length against the evaluation's budget, so many
    // lookups in one large body cannot multiply the work.
    if let Callee::Builtin(
        b @ (crate::functions::Builtin::LookupJsonString
        | crate::functions::Builtin::LookupJsonInteger),
    ) = &def.callee
    {
        if args.iter().any(Val::is_missing) {
            return Val::Missing;
        }
        let room = budget.per_evaluation.saturating_sub(*spent);
        let Some((doc, path)) = args.split_first() else {
            return Val::Missing;
        };
        return match json.parsed(doc, spent, room) {
            Some(root) => eval::lookup_json(
                *b == crate::functions::Builtin::LookupJsonString,
                &root,
                path,
            ),
            None => Val::Missing,
        };
    }
    // What this value may hold: the per-value budget, and what is left of
    // the evaluation's.
    let room = budget
        .per_value
        .min(budget.per_evaluation.saturating_sub(*spent));
    let v = match &def.callee {
        Callee::Builtin(b) => eval::call(*b, args, &def.prepared, room),
        Callee::User(_) if args.iter().any(Val::is_missing) => Val::Missing,
        Callee::User(u) => (u.implementation)(args),
    };
    let held = eval::held_bytes(&v);
    if held > room {
        return Val::Missing;
    }
    *spent += held;
    v
}
