//! The compiler: a typed tree ([`Typed`]) to a flat [`Program`].
//!
//! Logic becomes forward jumps over an accumulator (`and` jumps out on false,
//! `or` on true); `not` is pushed down to the tests (De Morgan) and folded into
//! a flag on each test instruction, so it costs nothing at run time. Right-hand
//! sides become pre-built [matchers](matchers::Pred). Values made by indexing
//! are resolved on read through [`Path`]s; values made by functions and `[*]`
//! live in registers. The only backward jumps close `[*]` loops, one step per
//! element, so every program ends.
//!
//! Most rules (field tests joined by `and`, `or`, `not`) run as their
//! [branch form](branch); unless asked to keep instructions, the compiler
//! builds it straight from the tree (`direct.rs`) and emits none.

pub mod branch;
mod direct;
pub mod disasm;
pub mod fields;
pub mod matchers;
pub mod optimize;

use crate::check::{Compare, Const, Key, Node, Operand, Order, Test, Typed};
use crate::error::Error;
use crate::functions::{Builtin, Callee, eval::Prepared};
use crate::limits::Limits;
use crate::lists::Lists;
use crate::regexes::RegexCache;
use crate::schema::{FieldId, Schema};
use crate::syntax::{CompareOp, Span};
use crate::value::Val;
use matchers::{BytesSet, IpRanges, Pred, Wildcard};
use memchr::memmem;
use std::borrow::Cow;
use std::collections::HashMap;

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
}

/// The bytecode of a program that has none.
static NO_BYTECODE: Bytecode = Bytecode {
    code: Vec::new(),
    consts: Vec::new(),
    paths: Vec::new(),
    calls: Vec::new(),
    compares: Vec::new(),
    regs: 0,
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

/// Compiles a checked expression, keeping its instructions (see
/// [`Compiler::keep_instructions`](crate::Compiler::keep_instructions)).
pub fn compile(
    typed: &Typed,
    schema: &Schema,
    lists: &Lists,
    limits: &Limits,
) -> Result<Program, Error> {
    compile_owned(
        optimize::optimize(typed.root.clone()),
        schema,
        lists,
        limits,
        &RegexCache::default(),
        true,
    )
}

/// Compiles a tree that [`optimize::optimize`] already rewrote, keeping
/// its instructions.
pub fn compile_optimized(
    root: &Node,
    schema: &Schema,
    lists: &Lists,
    limits: &Limits,
    regexes: &RegexCache,
) -> Result<Program, Error> {
    compile_owned(root.clone(), schema, lists, limits, regexes, true)
}

/// [`compile_optimized`] for a tree nobody needs afterwards: the constants
/// and sets of its tests move into the program instead of being copied. A
/// program the VM runs in branch form keeps its instructions only when
/// `keep_instructions`.
pub(crate) fn compile_owned(
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
        simple: false,
        chain: false,
        branch_start: branch::VERDICT_FALSE,
        branches: Vec::new(),
    };
    // The common rule (field tests joined by `and`, `or`, `not`) has a
    // branch form, lowered straight from the tree; the others run as
    // instructions. Asked to keep its instructions, a compiler emits them
    // for every program (a simple one then holds both forms).
    let direct = direct::size(&root, lists).filter(|s| s.instructions <= limits.max_instructions);
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
    Ok(p)
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
            Const::Bool(b) => Val::Bool(*b),
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
                    Callee::Builtin(b) => Prepared::new(*b, args, self.limits, self.regexes)
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
            Const::Bool(_) => {
                return Err(Error::compile(
                    "a Bool cannot be compared with a literal",
                    span,
                ));
            }
        },
        Test::Order(o, k) => match k {
            Const::Bytes(b) => Pred::BytesOrd(*o, std::mem::take(b).into_vec().into_boxed_slice()),
            Const::Int(n) => Pred::IntOrd(*o, *n),
            Const::Ip(ip) => Pred::IpOrd(*o, *ip),
            Const::Bool(_) => return Err(Error::compile("a Bool has no order", span)),
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
    Ok(match regex_literal(re.as_str()) {
        Some((lit, start, end)) => literal_pred(lit, start, end),
        None => match re.regex() {
            Some(re) => Pred::Matches(re.clone()),
            None => return Err(Error::compile("invalid regex", span)),
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

/// Whether `pattern` is a plain literal, optionally anchored (what
/// [`regex_literal`] reads), without building the literal.
pub(crate) fn is_regex_literal(pattern: &str) -> bool {
    let body = pattern.strip_prefix('^').unwrap_or(pattern);
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                // As in `regex_literal`: `\<` and `\>` are word boundaries.
                Some(e) if e.is_ascii_punctuation() && e != '<' && e != '>' => {}
                _ => return false,
            },
            '$' if chars.peek().is_none() => {}
            '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' | '#' => {
                return false;
            }
            c if c.is_whitespace() && c != ' ' => return false,
            _ => {}
        }
    }
    true
}

/// `(literal bytes, anchored at start, anchored at end)` when `pattern` is one.
pub(crate) fn regex_literal(pattern: &str) -> Option<(Vec<u8>, bool, bool)> {
    let (start, body) = match pattern.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let mut out = Vec::new();
    let mut end = false;
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                // An escaped punctuation character is itself.
                // (`\<` and `\>` are word boundaries, not brackets.)
                Some(e) if e.is_ascii_punctuation() && e != '<' && e != '>' => out.push(e as u8),
                _ => return None,
            },
            '$' if chars.peek().is_none() => end = true,
            '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' | '#' => {
                return None;
            }
            c if c.is_whitespace() && c != ' ' => return None,
            c => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Some((out, start, end))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_regexes_become_byte_tests() {
        type Case<'a> = (&'a str, Option<(&'a [u8], bool, bool)>);
        let cases: &[Case] = &[
            ("^/admin", Some((b"/admin", true, false))),
            ("curl", Some((b"curl", false, false))),
            ("\\.php$", Some((b".php", false, true))),
            ("^GET$", Some((b"GET", true, true))),
            ("a.c", None),
            ("^/v[0-9]+", None),
            ("\\d", None),
            ("(?i)abc", None),
            ("a$b", None),
            ("\\<word\\>", None),
        ];
        for (pattern, want) in cases {
            assert_eq!(is_regex_literal(pattern), want.is_some(), "{pattern}");
            let got = regex_literal(pattern);
            assert_eq!(
                got.as_ref().map(|(l, s, e)| (l.as_slice(), *s, *e)),
                *want,
                "{pattern}"
            );
        }
    }

    /// The checker leaves literal patterns uncompiled, on the grounds that
    /// every one compiles well inside its size-limit margin.
    #[test]
    fn every_literal_regex_compiles_within_the_margin() {
        let mut patterns: Vec<String> = Vec::new();
        for b in 0u8..128 {
            let c = b as char;
            patterns.push(format!("^\\{c}x$"));
            patterns.push(format!("a{c}"));
        }
        patterns.extend(["".into(), "é日本\u{10ffff}".into(), "^".into(), "$".into()]);
        patterns.push(format!("^{}$", "\\.é".repeat(1000)));
        for p in &patterns {
            if !is_regex_literal(p) {
                continue;
            }
            let limit = 64 * p.len() + 4096;
            assert!(
                crate::regexes::build(p, limit).is_ok(),
                "{p:?} fails at size limit {limit}"
            );
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
