//! The branch form, lowered from the checked tree: a tree of field tests
//! joined by `and`, `or` and `not` needs no instructions in between, since
//! the successors of every test are known while walking it. This is the one
//! lowering to the branch form. Trees with anything else (`xor`, functions,
//! indexes, operand comparisons, a list with no contents registered, a regex
//! that does not compile) run as instructions, whose compilation reports the
//! errors.

use crate::check::{Compare, Const, Node, Operand, Test};
use crate::lists::Lists;
use crate::program::branch::{
    self, Branch, NO_PRED, Next, TestKind, VERDICT_FALSE, VERDICT_TRUE, classify,
};
use crate::program::fields::FieldList;
use crate::program::pred::Pred;

/// Deeper trees take the bytecode path (which guards its stack); rules
/// are shallow, since `and`/`or` chains are n-ary.
const MAX_DEPTH: usize = 48;

/// What [`size`] found in a tree this module lowers.
#[derive(Debug, Clone, Copy)]
pub(super) struct Size {
    /// Instructions the bytecode path would emit, its final `return` included
    /// (so the instruction limit holds the same on both paths).
    pub instructions: usize,
    /// Tests: an upper bound on the branches.
    pub tests: usize,
    /// Tests whose predicate is likely pooled (not held in the branch): the
    /// room the pool is given up front.
    pub pooled: usize,
    /// Tests of named lists: a tree with two or more runs as instructions,
    /// whose interpreter pins the lists' snapshot for the evaluation (the
    /// branch form's hot path has no room for it).
    pub lists: usize,
}

/// The size of `n` when it is made only of what this module lowers, and
/// every test's predicate builds without error; `None` otherwise.
pub(super) fn size(n: &Node, lists: &Lists) -> Option<Size> {
    let mut s = Size {
        instructions: 1,
        tests: 0,
        pooled: 0,
        lists: 0,
    };
    count(n, lists, 0, &mut s)?;
    Some(s)
}

fn count(n: &Node, lists: &Lists, depth: usize, s: &mut Size) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    match n {
        Node::Const(_) => s.instructions += 1,
        Node::Not(inner) => count(inner, lists, depth + 1, s)?,
        Node::And(terms) | Node::Or(terms) => {
            // A jump after each term but the last.
            s.instructions += terms.len().saturating_sub(1);
            for t in terms {
                count(t, lists, depth + 1, s)?;
            }
        }
        Node::Xor(_) => return None,
        Node::Test(Operand::Field(_)) => {
            s.instructions += 1;
            s.tests += 1;
        }
        Node::Test(Operand::Compare(c)) => count_compare(c, lists, s)?,
        Node::Test(Operand::Logic(inner)) => count(inner, lists, depth + 1, s)?,
        Node::Test(_) => return None,
        Node::Compare(c) => count_compare(c, lists, s)?,
    }
    Some(())
}

fn count_compare(c: &Compare, lists: &Lists, s: &mut Size) -> Option<()> {
    if !matches!(c.lhs, Operand::Field(_)) {
        return None;
    }
    // Tests, and how many of them likely keep their predicate in the pool
    // (the rest hold their constant in the branch: see `classify`).
    let fits = |len: usize| len <= branch::INLINE_BYTES;
    let (tests, pooled) = match &c.test {
        Test::Eq(Const::Bytes(b)) | Test::Ne(Const::Bytes(b)) => (1, usize::from(!fits(b.len()))),
        Test::Eq(_) | Test::Ne(_) | Test::Order(..) => (1, 1),
        Test::Matches(re) => match re.alternatives() {
            // One set when every alternative is exact (an empty one when there are none).
            Some(alts) if alts.iter().all(|a| a.1 && a.2) => (1, 1),
            // Each alternative is a byte test, inline when anchored at the start and short.
            Some(alts) => (
                alts.len(),
                alts.iter().filter(|a| !(a.1 && fits(a.0.len()))).count(),
            ),
            None => match re.literal() {
                Some((lit, anchored, _)) => (1, usize::from(!(*anchored && fits(lit.len())))),
                None if re.regex().is_some() => (1, 1),
                None => return None,
            },
        },
        Test::InInts(r) => (1, usize::from(!branch::int_ranges_fit(r))),
        Test::InIps(r) => (1, usize::from(r.len() > 4)),
        Test::Contains(_) | Test::Wildcard { .. } | Test::InBytes(_) | Test::BitAnd(_) => (1, 1),
        Test::InList(name) if lists.handle(name).is_some() => {
            s.lists += 1;
            (1, 1)
        }
        _ => return None,
    };
    // An `or` of several tests has a jump between each two.
    s.instructions += 2 * tests - 1;
    s.tests += tests;
    s.pooled += pooled;
    Some(())
}

/// Builds the branch form of a tree [`size`] accepted: where evaluation
/// starts and the branches, numbered so that every
/// successor comes after its branch. Pooled predicates go to `preds` (each branch's `pred`
/// indexes it, in branch order; inline ones get [`NO_PRED`]); the fields tested go to
/// `fields`. Constants move out of the tree.
pub(super) fn lower(
    root: &mut Node,
    size: Size,
    lists: &Lists,
    preds: &mut Vec<Pred>,
    fields: &mut FieldList,
) -> (Next, Vec<Branch>) {
    let mut b = Builder {
        built: Vec::with_capacity(size.tests),
        preds,
        fields,
        lists,
    };
    // Built back to front: each term's successors before the term.
    let start = b.node(root, VERDICT_TRUE, VERDICT_FALSE);
    let built = b.built.len();
    let (start, mut branches) = branch::front_to_back(start, b.built);
    if branches.len() == built {
        // Every branch kept, each pooled one with the predicate it pushed:
        // the pool in branch order is the pool reversed.
        preds.reverse();
        let last = preds.len() as u32;
        for br in &mut branches {
            if br.pred != NO_PRED {
                br.pred = last - 1 - br.pred;
            }
        }
    } else {
        *preds = pooled_preds(&mut branches, preds);
    }
    (start, branches)
}

/// The predicates the branches read from the pool, in order, each branch's
/// `pred` renumbered to match; an inline branch's (its constant is in the
/// branch) is left out and its `pred` becomes [`NO_PRED`]. Each
/// test instruction, and so each predicate, is at most one branch.
fn pooled_preds(branches: &mut [Branch], preds: &mut [Pred]) -> Vec<Pred> {
    let pooled = |b: &Branch| b.kind != TestKind::Truthy && !b.kind.is_inline();
    let mut kept = Vec::with_capacity(branches.iter().filter(|b| pooled(b)).count());
    for b in branches.iter_mut() {
        let taken = pooled(b)
            .then(|| preds.get_mut(b.pred as usize))
            .flatten()
            .map(Pred::take);
        b.pred = match taken {
            Some(pr) => {
                kept.push(pr);
                kept.len() as u32 - 1
            }
            None => NO_PRED,
        };
    }
    kept
}

struct Builder<'a> {
    built: Vec<Branch>,
    preds: &'a mut Vec<Pred>,
    fields: &'a mut FieldList,
    lists: &'a Lists,
}

impl Builder<'_> {
    /// Builds `n`, which leads to `on_true` or `on_false`; returns where it starts.
    fn node(&mut self, n: &mut Node, on_true: Next, on_false: Next) -> Next {
        match n {
            Node::Const(b) => {
                if *b {
                    on_true
                } else {
                    on_false
                }
            }
            Node::Not(inner) => self.node(inner, on_false, on_true),
            // Right to left: each term's way on goes to the term after it.
            Node::And(terms) => terms
                .iter_mut()
                .rev()
                .fold(on_true, |next, t| self.node(t, next, on_false)),
            Node::Or(terms) => terms
                .iter_mut()
                .rev()
                .fold(on_false, |next, t| self.node(t, on_true, next)),
            Node::Test(Operand::Field(field)) => {
                let field = *field;
                self.step(field, None, false, on_true, on_false)
            }
            Node::Test(Operand::Compare(c)) => self.compare(c, on_true, on_false),
            Node::Compare(c) => self.compare(c, on_true, on_false),
            Node::Test(Operand::Logic(inner)) => self.node(inner, on_true, on_false),
            // `size` accepted neither.
            Node::Xor(_) | Node::Test(_) => on_false,
        }
    }

    fn compare(&mut self, c: &mut Compare, on_true: Next, on_false: Next) -> Next {
        let Operand::Field(field) = c.lhs else {
            return on_false;
        };
        if let Test::Matches(re) = &c.test
            && let Some(alts) = re.alternatives()
        {
            if let Some(set) = super::exact_alternatives(alts) {
                return self.step(field, Some(set), false, on_true, on_false);
            }
            // An `or` of the alternatives' tests, right to left.
            return alts.iter().rev().fold(on_false, |next, (lit, start, end)| {
                let pred = super::literal_pred(lit.clone(), *start, *end);
                self.step(field, Some(pred), false, on_true, next)
            });
        }
        let invert = matches!(c.test, Test::Ne(_));
        if let Some(test) = branch::classify_inline_test(&c.test) {
            return self.push(field, test, NO_PRED, invert, on_true, on_false);
        }
        match super::test_pred(&mut c.test, self.lists, c.span) {
            Ok(pred) => self.step(field, Some(pred), invert, on_true, on_false),
            // `size` accepted only tests whose predicate builds.
            Err(_) => on_false,
        }
    }

    /// Appends the branch that tests `pred` on `field` (`None`: that the
    /// field is true); returns its index (in build order).
    fn step(
        &mut self,
        field: crate::types::FieldId,
        pred: Option<Pred>,
        invert: bool,
        on_true: Next,
        on_false: Next,
    ) -> Next {
        let (test, at) = match pred {
            Some(p) => {
                let test = classify(&p);
                let at = if test.0.is_inline() {
                    NO_PRED
                } else {
                    self.preds.push(p);
                    self.preds.len() as u32 - 1
                };
                (test, at)
            }
            None => ((TestKind::Truthy, 0, [0; 4]), NO_PRED),
        };
        self.push(field, test, at, invert, on_true, on_false)
    }

    /// Appends the branch that runs `test` (its predicate at `at` in the
    /// pool, or [`NO_PRED`]) on `field`; returns its index (in build order).
    fn push(
        &mut self,
        field: crate::types::FieldId,
        test: (TestKind, u8, [u64; 4]),
        at: u32,
        invert: bool,
        on_true: Next,
        on_false: Next,
    ) -> Next {
        self.fields.insert(field);
        let step = Branch::step(field, test, at, invert, on_true, on_false);
        self.built.push(step);
        (self.built.len() - 1) as Next
    }
}
