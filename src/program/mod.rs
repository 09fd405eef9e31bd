//! The compiled form, owned here: [`compile`](crate::compile) writes it, the
//! [`vm`](crate::vm) reads it, rule sets use the narrow API at the end.
//!
//! A [`Program`] is its branch form ([`branch`]: one step per field test,
//! with two successors, for rules made of tests joined by `and`, `or` and
//! `not`) or its instructions ([`Instr`], for the others), plus the
//! predicate pool ([`pred`]) both index and the fields it reads.

pub mod branch;
mod disasm;
pub mod fields;
pub mod pred;

use crate::check::{Key, Order};
use crate::functions::{Callee, eval::Prepared};
use crate::syntax::CompareOp;
use crate::types::{FieldId, Val};
use memchr::memmem;
use pred::Pred;

/// Where an instruction reads a value from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Src {
    /// A request field.
    Field(FieldId),
    /// A register written earlier in the program.
    Reg(u16),
    /// An entry of the constant pool.
    Const(u32),
    /// The current element of the `[*]` loop whose iterator is this register.
    Elem(u16),
    /// An entry of the path pool: a value followed by array positions and map keys.
    Path(u32),
}

/// What a `[*]` loop does with each element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopKind {
    /// `any(...)`: stop at the first true body.
    Any,
    /// `all(...)`: stop at the first false body.
    All,
    /// Collect every body value into an array.
    Map,
}

/// One instruction. `acc` is the Bool accumulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instr {
    /// `acc = (present(src) && (pred(src) != invert)) != negate`.
    Test {
        /// The value tested.
        src: Src,
        /// Index into the predicate pool.
        pred: u32,
        /// Bit 0: invert the predicate on a present value (`!=`); bit 1: negate the result (`not`).
        flags: u8,
    },
    /// [`Instr::Test`] on a request field, read through the scalar fast path.
    TestField {
        /// The field tested.
        field: FieldId,
        /// Index into the predicate pool.
        pred: u32,
        /// As in [`Instr::Test`].
        flags: u8,
    },
    /// [`Instr::TestField`] fused with the conditional jump that follows it
    /// (which stays in place, for other jumps that land on it).
    TestJump {
        /// The field tested.
        field: FieldId,
        /// Index into the predicate pool.
        pred: u32,
        /// Bits 0–1 as in [`Instr::Test`]; bit 2: jump when `acc` is true
        /// (else when false).
        flags: u8,
        /// Where to jump.
        target: u32,
    },
    /// [`Instr::Truthy`] on a request field.
    TruthyField {
        /// The field tested.
        field: FieldId,
        /// Negate the result.
        negate: bool,
    },
    /// `acc = (src is Bool(true)) != negate`.
    Truthy {
        /// The value tested.
        src: Src,
        /// Negate the result.
        negate: bool,
    },
    /// `acc = compare(lhs, rhs)` for two operands (field against field).
    CompareSrc {
        /// The left value.
        lhs: Src,
        /// Index into the operand-comparison pool (operator and right value).
        cmp: u32,
        /// Negate the result.
        negate: bool,
    },
    /// `acc = value`.
    Const(bool),
    /// Jump when `acc` is false.
    JumpIfFalse(u32),
    /// Jump when `acc` is true.
    JumpIfTrue(u32),
    /// Push `acc` on the bit stack (for `xor`).
    PushAcc,
    /// `acc ^= pop()`.
    XorPop,
    /// `acc = !acc`.
    Not,
    /// `reg = Bool(acc)`.
    StoreAcc(u16),
    /// `reg = function(args...)`; index into the call pool.
    Call {
        /// Destination register.
        dst: u16,
        /// Index into the call pool.
        call: u32,
    },
    /// Starts a `[*]` loop over the array (or map values) at `src`, with its
    /// state in registers `iter`, `iter + 1` (and `iter + 2` for the collected
    /// array). An empty source jumps to `exit` with `acc` = (kind is `All`).
    LoopStart {
        /// Loop kind.
        kind: LoopKind,
        /// First state register.
        iter: u16,
        /// Where to go when there is nothing to iterate.
        exit: u32,
        /// The array or map.
        src: Src,
    },
    /// Ends one step of an `any`/`all` loop: stop on the deciding `acc`, else
    /// jump back to `body` while elements remain.
    LoopNext {
        /// Loop kind.
        kind: LoopKind,
        /// First state register.
        iter: u16,
        /// The first instruction of the body.
        body: u32,
    },
    /// A whole `any`/`all` loop whose body is one test of the element
    /// (`any(x[*] == "a")`): `acc` = whether any (all) elements of the
    /// array (or map values) at `src` pass the test, as [`Instr::Test`]
    /// with `flags` decides it; false for a missing array, `kind == All`
    /// for an empty one. It runs as a plain loop, without registers.
    LoopTest {
        /// `Any` or `All`.
        kind: LoopKind,
        /// The array or map.
        src: Src,
        /// Index into the predicate pool.
        pred: u32,
        /// As in [`Instr::Test`], applied to each element.
        flags: u8,
    },
    /// Appends `src` to the collected array of a `Map` loop.
    LoopPush {
        /// First state register.
        iter: u16,
        /// The element's result.
        src: Src,
    },
    /// Stop with `acc` as the result.
    Return,
}

/// A value followed by positions and keys (`headers["accept"][0]`).
#[derive(Debug, Clone)]
pub struct Path {
    /// The value the path starts from.
    pub root: Src,
    /// The steps.
    pub keys: Box<[Key]>,
}

/// A call's function, arguments and compile-time preparation (regexes...).
#[derive(Debug, Clone)]
pub struct CallDef {
    /// The function.
    pub callee: Callee,
    /// Where its arguments are.
    pub args: Box<[Src]>,
    /// What was prepared from literal arguments.
    pub prepared: Prepared,
}

/// What only a program run instruction by instruction reads: its
/// instructions and the pools they index besides the predicates.
#[derive(Debug, Clone, Default)]
pub struct Bytecode {
    /// The instructions; the last one is [`Instr::Return`].
    pub code: Vec<Instr>,
    /// Constants, indexed by [`Src::Const`].
    pub consts: Vec<Val<'static>>,
    /// Paths, indexed by [`Src::Path`].
    pub paths: Vec<Path>,
    /// Calls, indexed by [`Instr::Call::call`].
    pub calls: Vec<CallDef>,
    /// Operand comparisons, indexed by [`Instr::CompareSrc::cmp`].
    pub compares: Vec<(CompareOp, Src)>,
    /// Registers the program uses.
    pub regs: u16,
    /// What the values it builds may hold.
    pub budget: ValueBudget,
}

/// The value budgets of a program (from [`Limits`](crate::Limits)).
#[derive(Debug, Clone, Copy, Default)]
pub struct ValueBudget {
    /// Most bytes one built value may hold.
    pub per_value: usize,
    /// Most bytes the values built in one evaluation may hold in all.
    pub per_evaluation: usize,
}

/// The bytecode of a program that has none.
static NO_BYTECODE: Bytecode = Bytecode {
    code: Vec::new(),
    consts: Vec::new(),
    paths: Vec::new(),
    calls: Vec::new(),
    compares: Vec::new(),
    regs: 0,
    budget: ValueBudget {
        per_value: 0,
        per_evaluation: 0,
    },
};

/// A compiled program: its branch form, or its instructions, and the
/// predicates both index.
#[derive(Debug, Clone)]
pub struct Program {
    /// The instructions and their pools. `None` for a simple program (it
    /// runs as `branches`) unless its compiler was asked to keep them, so
    /// the common rule holds only what it runs.
    pub bytecode: Option<Box<Bytecode>>,
    /// Matchers, indexed by [`Instr::Test::pred`] and [`branch::Branch::pred`]
    /// (a constant held inline in a branch has no entry, unless the
    /// instructions are kept).
    pub preds: Vec<Pred>,
    /// Fields the program reads, sorted, each once.
    pub fields: fields::FieldList,
    /// The schema's field names by id, for listings (shared, not copied).
    pub field_names: std::sync::Arc<[Box<str>]>,
    /// How many predicates of the pool test a named list (see
    /// [`Program::may_read_lists_twice`]).
    pub list_tests: usize,
    /// Only field tests, constants and jumps: the VM runs its branch form.
    pub simple: bool,
    /// The branch form is one chain ([`branch::is_chain`]): the VM runs it
    /// in order, without following successors.
    pub chain: bool,
    /// Where the branch form starts: branch 0, or a verdict.
    pub branch_start: branch::Next,
    /// The branch form of a simple program (empty otherwise: the VM runs
    /// the branches whenever there are any).
    pub branches: Vec<branch::Branch>,
}

impl Program {
    /// The instructions and their pools (empty when not kept).
    pub fn bytecode(&self) -> &Bytecode {
        self.bytecode.as_deref().unwrap_or(&NO_BYTECODE)
    }

    /// The instructions (empty when not kept).
    pub fn code(&self) -> &[Instr] {
        &self.bytecode().code
    }
}

/// The most registers one program may use.
pub const MAX_REGS: usize = u16::MAX as usize - 3;

/// Compares two present values with an operator (field against field).
pub(crate) fn compare_values(op: CompareOp, a: &Val<'_>, b: &Val<'_>) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (a, b) {
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(y)),
        (Val::Bytes(x), Val::Bytes(y)) => Some((**x).cmp(&**y)),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        (Val::Ip(x), Val::Ip(y)) => {
            let (x, y) = (x.to_canonical(), y.to_canonical());
            if x.is_ipv4() == y.is_ipv4() {
                Some(x.cmp(&y))
            } else {
                None
            }
        }
        _ => None,
    };
    match op {
        CompareOp::Eq => ord == Some(Ordering::Equal),
        // v4 against v6: present and different.
        CompareOp::Ne => match (a, b) {
            (Val::Ip(_), Val::Ip(_)) => ord != Some(Ordering::Equal),
            _ => ord.is_some_and(|o| o != Ordering::Equal),
        },
        CompareOp::Lt => ord.is_some_and(|o| Order::Lt.holds(o)),
        CompareOp::Le => ord.is_some_and(|o| Order::Le.holds(o)),
        CompareOp::Gt => ord.is_some_and(|o| Order::Gt.holds(o)),
        CompareOp::Ge => ord.is_some_and(|o| Order::Ge.holds(o)),
        CompareOp::Contains => match (a, b) {
            (Val::Bytes(h), Val::Bytes(n)) => memmem::find(h, n).is_some(),
            _ => false,
        },
        CompareOp::BitwiseAnd => matches!((a, b), (Val::Int(x), Val::Int(y)) if x & y != 0),
        _ => false,
    }
}

/// What one branch tests, as a rule set compares tests across its
/// programs: the field, the inversion and the constant.
pub(crate) type TestKey<'p> = (FieldId, bool, TestConstant<'p>);

/// A branch's constant, by what it holds.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) enum TestConstant<'p> {
    /// A Bool field's truth.
    Truth,
    /// A constant the branch holds inline (the same constant is always
    /// held the same way, so equal constants have equal keys).
    Inline(branch::TestKind, u8, [u64; 4]),
    /// A predicate in the program's pool.
    Pooled(pred::PredKey<'p>),
}

/// The narrow API rule sets use: they share tests and predicates across
/// programs without knowing how branches are laid out.
impl Program {
    /// The tests of the branch form: none for a program that runs as
    /// instructions.
    pub(crate) fn test_count(&self) -> usize {
        if self.simple { self.branches.len() } else { 0 }
    }

    /// The key of each test of the branch form, in branch order (`None`
    /// for a branch whose predicate is missing from the pool).
    pub(crate) fn test_keys(&self) -> impl Iterator<Item = Option<TestKey<'_>>> + '_ {
        let branches = if self.simple { &self.branches[..] } else { &[] };
        branches.iter().map(|b| {
            if b.kind == branch::TestKind::Truthy {
                return Some((b.field, false, TestConstant::Truth));
            }
            let constant = if b.kind.is_inline() {
                TestConstant::Inline(b.kind, b.len, b.data)
            } else {
                TestConstant::Pooled(self.preds.get(b.pred as usize)?.key())
            };
            Some((b.field, b.invert, constant))
        })
    }

    /// The key of the test `field matches source` (a regex kept as one).
    pub(crate) fn regex_test_key(field: FieldId, source: &str) -> TestKey<'_> {
        (
            field,
            false,
            TestConstant::Pooled(pred::PredKey::Regex(source)),
        )
    }

    /// The predicate pool.
    pub(crate) fn pool(&self) -> &[Pred] {
        &self.preds
    }

    /// The predicate pool, to store predicates other programs share once.
    pub(crate) fn pool_mut(&mut self) -> &mut [Pred] {
        &mut self.preds
    }

    /// Whether an evaluation may look lists up more than once (two list
    /// tests, or one the instructions may run in a `[*]` loop), and so
    /// must pin their snapshot ([`crate::lists::pinned`]) to see one
    /// version of each.
    pub(crate) fn may_read_lists_twice(&self) -> bool {
        self.list_tests > 1 || (self.list_tests == 1 && !self.simple)
    }

    /// The fields the program reads, sorted, each once.
    pub(crate) fn fields(&self) -> &[FieldId] {
        &self.fields
    }
}
