//! The implication decider: whether every request one checked expression
//! matches is matched by another, and whether an expression can match at
//! all — decided exactly, or not at all.
//!
//! An expression is read as an `or` of conjunctions ([`Dnf`]); a conjunction
//! as tests on single fields (an [`Atom`]: an equality, a set, an integer or
//! address range, a `starts_with` prefix, a Bool field, or the `not` of one
//! of these) plus whatever else it holds (opaque). Fields are independent
//! variables, each either missing or holding one value, and every atom says
//! exactly which of those it accepts (LANGUAGE.md §6: a comparison with a
//! missing value is false, `ne` included, and `not` of it true). Then:
//!
//! - a conjunction cannot match when the atoms on one of its fields accept
//!   no value together;
//! - conjunction `l` implies conjunction `e` when `e` holds no opaque term
//!   and, for each atom `a` of `e`, `l`'s atoms on `a`'s field together
//!   with `not a` accept no value;
//! - an `or` implies another when each of its conjunctions implies one of
//!   the other's.
//!
//! Dropping an opaque term of `l` only widens it, so both answers stay
//! sound; an opaque term of `e` makes the answer "unknown", unless `l`
//! holds the very same term (its structure, written out, is equal).Whether atoms
//! accept a value is decided by trying a finite set of values that is
//! complete for them ([`candidates`]): the answer is exact, never a guess.

use crate::check::{Compare, Const, Node, Operand, Order, Test};
use crate::functions::{Builtin, Callee};
use crate::types::FieldId;
use std::net::IpAddr;

/// Ordered value families (an integer, a Bool, an IPv4 or IPv6 address), so
/// that one range type serves them all.
const INT: u8 = 0;
const BOOL: u8 = 1;
const V4: u8 = 4;
const V6: u8 = 6;

/// Most conjunctions an expression is read as; a wider one is unknown.
const MAX_CONJUNCTIONS: usize = 64;

/// What one atom accepts, when the field is present.
#[derive(Debug, Clone)]
enum Kind {
    /// A value in one of these inclusive ranges `(family, lo, hi)`.
    Ranges(Vec<(u8, u128, u128)>),
    /// An ordered value other than this one.
    NotPoint(u8, u128),
    /// One of these byte strings.
    BytesIn(Vec<Vec<u8>>),
    /// A byte string other than this one.
    BytesNe(Vec<u8>),
    /// A byte string starting with this one.
    Prefix(Vec<u8>),
}

/// A test on one field, possibly negated.
#[derive(Debug, Clone)]
pub(crate) struct Atom {
    field: FieldId,
    kind: Kind,
    negated: bool,
}

/// A value a field may hold in a request, or none.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sample {
    Missing,
    Ord(u8, u128),
    Bytes(Vec<u8>),
}

impl Atom {
    fn holds(&self, s: &Sample) -> bool {
        let present = match (&self.kind, s) {
            (_, Sample::Missing) => false,
            (Kind::Ranges(r), Sample::Ord(f, v)) => {
                r.iter().any(|(rf, lo, hi)| rf == f && lo <= v && v <= hi)
            }
            (Kind::NotPoint(f, p), Sample::Ord(g, v)) => !(f == g && p == v),
            (Kind::BytesIn(set), Sample::Bytes(b)) => set.iter().any(|x| x == b),
            (Kind::BytesNe(x), Sample::Bytes(b)) => x != b,
            (Kind::Prefix(p), Sample::Bytes(b)) => b.starts_with(p),
            // A sample of another type than the atom's: never tried.
            _ => false,
        };
        present != self.negated
    }

    fn negate(mut self) -> Atom {
        self.negated = !self.negated;
        self
    }
}

/// One term of a conjunction.
#[derive(Debug, Clone)]
enum Term {
    Atom(Atom),
    /// Anything the decider does not read, with its structure written
    /// out (`None` when that is long): an identical term implies it.
    Opaque(Option<String>),
}

/// An expression as an `or` of conjunctions.
#[derive(Debug, Clone)]
pub(crate) struct Dnf {
    conjunctions: Vec<Vec<Term>>,
}

/// Whether a set of atoms accepts some value: `None` when that cannot be
/// decided (it never happens for the atoms read here, save a pathological
/// set of 256 prefixes).
fn satisfiable(atoms: &[&Atom]) -> Option<bool> {
    let candidates = candidates(atoms)?;
    Some(candidates.iter().any(|s| atoms.iter().all(|a| a.holds(s))))
}

/// Values complete for `atoms`: if some value satisfies them all, one of
/// these does. For ordered values, what atoms accept is a union of
/// intervals bounded by their constants (plus or minus one) or by a
/// family's ends; for byte strings, a string that is no constant is decided
/// by the longest prefix atom it starts with, and one string per such
/// prefix (it, one byte no longer prefix leads along, and padding past
/// every constant) stands for all of them.
fn candidates(atoms: &[&Atom]) -> Option<Vec<Sample>> {
    let mut out = vec![Sample::Missing];
    let mut families: Vec<u8> = Vec::new();
    let mut strings: Vec<&[u8]> = Vec::new();
    let mut prefixes: Vec<&[u8]> = vec![b""];
    let point = |f: u8, v: u128, out: &mut Vec<Sample>| {
        out.push(Sample::Ord(f, v));
        if v > 0 {
            out.push(Sample::Ord(f, v - 1));
        }
        if v < family_max(f) {
            out.push(Sample::Ord(f, v + 1));
        }
    };
    for a in atoms {
        match &a.kind {
            Kind::Ranges(r) => {
                for &(f, lo, hi) in r {
                    families.push(f);
                    point(f, lo, &mut out);
                    point(f, hi, &mut out);
                }
            }
            Kind::NotPoint(f, v) => {
                families.push(*f);
                point(*f, *v, &mut out);
            }
            Kind::BytesIn(set) => strings.extend(set.iter().map(Vec::as_slice)),
            Kind::BytesNe(b) => strings.push(b),
            Kind::Prefix(p) => {
                strings.push(p);
                prefixes.push(p);
            }
        }
    }
    // An address atom accepts or refuses the other family whole.
    if families.iter().any(|&f| f == V4 || f == V6) {
        families.extend([V4, V6]);
    }
    families.sort_unstable();
    families.dedup();
    for f in families {
        out.push(Sample::Ord(f, 0));
        out.push(Sample::Ord(f, family_max(f)));
    }
    let has_bytes = atoms.iter().any(|a| {
        matches!(
            a.kind,
            Kind::BytesIn(_) | Kind::BytesNe(_) | Kind::Prefix(_)
        )
    });
    if has_bytes {
        let longest = strings.iter().map(|s| s.len()).max().unwrap_or(0);
        for p in &prefixes {
            // A next byte no longer prefix continues with.
            let used: Vec<u8> = prefixes
                .iter()
                .filter(|q| q.len() > p.len() && q.starts_with(p))
                .map(|q| q[p.len()])
                .collect();
            let free = (0..=u8::MAX).find(|b| !used.contains(b))?;
            let mut w = p.to_vec();
            w.push(free);
            w.resize(longest + 1, free);
            out.push(Sample::Bytes(w));
        }
        out.extend(strings.iter().map(|s| Sample::Bytes(s.to_vec())));
    }
    Some(out)
}

fn family_max(f: u8) -> u128 {
    match f {
        INT => u64::MAX as u128,
        BOOL => 1,
        V4 => u32::MAX as u128,
        _ => u128::MAX,
    }
}

/// An integer, order kept, as an unsigned value of family [`INT`].
fn int(i: i64) -> u128 {
    (i as i128 - i64::MIN as i128) as u128
}

fn ip(a: IpAddr) -> (u8, u128) {
    match crate::types::canonical_ip(a) {
        IpAddr::V4(v) => (V4, u32::from(v) as u128),
        IpAddr::V6(v) => (V6, u128::from(v)),
    }
}

fn ordered(c: &Const) -> Option<(u8, u128)> {
    match c {
        Const::Int(i) => Some((INT, int(*i))),
        Const::Ip(a) => Some(ip(*a)),
        Const::Bytes(_) => None,
    }
}

/// The atom a node is, if it is one.
fn atom(n: &Node) -> Option<Atom> {
    crate::stack::guard(|| atom_inner(n))
}

fn atom_inner(n: &Node) -> Option<Atom> {
    let positive = |field, kind| {
        Some(Atom {
            field,
            kind,
            negated: false,
        })
    };
    match n {
        Node::Not(inner) => atom(inner).map(Atom::negate),
        Node::Test(Operand::Field(id)) => positive(*id, Kind::Ranges(vec![(BOOL, 1, 1)])),
        Node::Test(Operand::Call(Callee::Builtin(Builtin::StartsWith), args)) => match &args[..] {
            [Operand::Field(id), Operand::Const(Const::Bytes(p))] => {
                positive(*id, Kind::Prefix(p.to_vec()))
            }
            _ => None,
        },
        Node::Compare(Compare {
            lhs: Operand::Field(id),
            test,
            ..
        }) => positive(*id, test_kind(test)?),
        _ => None,
    }
}

fn test_kind(test: &Test) -> Option<Kind> {
    Some(match test {
        Test::Eq(Const::Bytes(b)) => Kind::BytesIn(vec![b.to_vec()]),
        Test::Eq(c) => {
            let (f, v) = ordered(c)?;
            Kind::Ranges(vec![(f, v, v)])
        }
        Test::Ne(Const::Bytes(b)) => Kind::BytesNe(b.to_vec()),
        Test::Ne(c) => {
            let (f, v) = ordered(c)?;
            Kind::NotPoint(f, v)
        }
        Test::Order(op, c) => {
            let (f, v) = ordered(c)?;
            let max = family_max(f);
            let range = match op {
                Order::Lt if v == 0 => None,
                Order::Lt => Some((0, v - 1)),
                Order::Le => Some((0, v)),
                Order::Gt if v == max => None,
                Order::Gt => Some((v + 1, max)),
                Order::Ge => Some((v, max)),
            };
            Kind::Ranges(range.map(|(lo, hi)| (f, lo, hi)).into_iter().collect())
        }
        Test::InBytes(set) => Kind::BytesIn(set.clone()),
        Test::InInts(r) => Kind::Ranges(r.iter().map(|&(a, b)| (INT, int(a), int(b))).collect()),
        Test::InIps(r) => Kind::Ranges(
            r.iter()
                .filter_map(|&(a, b)| {
                    let ((f, lo), (g, hi)) = (ip(a), ip(b));
                    (f == g).then_some((f, lo, hi))
                })
                .collect(),
        ),
        _ => return None,
    })
}

/// Most bytes of a term's written-out structure that are kept.
const MAX_STRUCTURE: usize = 4096;

/// `n` written out, every part of it included (field ids, constants,
/// patterns, functions), so that equal text is an equal test: tests have
/// no side effects, so an equal test has an equal value.
fn structure(n: &Node) -> Option<String> {
    // `Debug` recurses without the stack guard: ample room for the
    // deepest tree the checker lets through (`HARD_MAX_DEPTH`).
    let text = stacker::maybe_grow(1024 * 1024, 8 * 1024 * 1024, || format!("{n:?}"));
    (text.len() <= MAX_STRUCTURE * 2).then_some(())?;
    let text = without_spans(&text);
    (text.len() <= MAX_STRUCTURE).then_some(text)
}

/// Debug text without its `span: Span { .. }` fields (where a test stands
/// is no part of what it tests), outside quoted strings only, so that the
/// text of a pattern or a name stays whole.
fn without_spans(text: &str) -> String {
    const SPAN: &str = "span: Span { ";
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if !quoted && rest.starts_with(SPAN) {
            match rest.find('}') {
                Some(end) => {
                    rest = &rest[end + 1..];
                    continue;
                }
                None => break,
            }
        }
        if quoted && c == '\\' {
            // An escape: it and the character it escapes.
            let mut two = rest.chars();
            two.next();
            out.push(c);
            if let Some(n) = two.next() {
                out.push(n);
            }
            rest = two.as_str();
            continue;
        }
        if c == '"' {
            quoted = !quoted;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The terms of a conjunction (an `and` flattened, or one term).
fn conjunction(n: &Node, out: &mut Vec<Term>) {
    let mut stack = vec![n];
    while let Some(n) = stack.pop() {
        match n {
            Node::And(terms) => stack.extend(terms.iter().rev()),
            Node::Const(true) => {}
            other => out.push(match atom(other) {
                Some(a) => Term::Atom(a),
                None => Term::Opaque(structure(other)),
            }),
        }
    }
}

impl Dnf {
    /// `root` (optimized, so constants are folded and chains flat) as an
    /// `or` of conjunctions; a nested `or` is an opaque term.
    pub(crate) fn of(root: &Node) -> Dnf {
        let mut conjunctions = Vec::new();
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            match n {
                Node::Or(terms) => stack.extend(terms.iter().rev()),
                Node::Const(false) => {}
                other => {
                    let mut c = Vec::new();
                    conjunction(other, &mut c);
                    conjunctions.push(c);
                }
            }
            if conjunctions.len() > MAX_CONJUNCTIONS {
                conjunctions = vec![vec![Term::Opaque(None)]];
                break;
            }
        }
        Dnf { conjunctions }
    }

    /// Whether no request can match: `Some(true)` only when proved.
    pub(crate) fn never(&self) -> bool {
        self.conjunctions.iter().all(|c| conjunction_never(c))
    }

    /// The requests with a revoked certificate that the mTLS trap lets
    /// past a rule reading `self`: when `blocking`, those its conjunctions
    /// with `not verified` would stop were the certificate unverified
    /// (`not verified` read as `verified and revoked`); else (an allow
    /// rule) those its conjunctions with `verified` let in, when revoked.
    /// Conjunctions without that test are left out.
    pub(crate) fn revoked_through(
        &self,
        verified: FieldId,
        revoked: FieldId,
        blocking: bool,
    ) -> Dnf {
        let bool_atom = |field, negated| {
            Term::Atom(Atom {
                field,
                kind: Kind::Ranges(vec![(BOOL, 1, 1)]),
                negated,
            })
        };
        let is_verified = |t: &Term, negated: bool| {
            matches!(t, Term::Atom(a) if a.field == verified && a.negated == negated
                && matches!(&a.kind, Kind::Ranges(r) if r[..] == [(BOOL, 1, 1)]))
        };
        let mut conjunctions = Vec::new();
        for c in &self.conjunctions {
            if !c.iter().any(|t| is_verified(t, blocking)) {
                continue;
            }
            let mut out: Vec<Term> = c
                .iter()
                .filter(|t| !(blocking && is_verified(t, true)))
                .cloned()
                .collect();
            if blocking {
                out.push(bool_atom(verified, false));
            }
            out.push(bool_atom(revoked, false));
            conjunctions.push(out);
        }
        Dnf { conjunctions }
    }

    /// Whether the expression has no conjunction at all (always false).
    pub(crate) fn is_empty(&self) -> bool {
        self.conjunctions.is_empty()
    }

    /// Whether every request `self` matches, `earlier` matches: true only
    /// when proved.
    pub(crate) fn implies(&self, earlier: &Dnf) -> bool {
        !earlier.conjunctions.is_empty()
            && self.conjunctions.iter().all(|l| {
                conjunction_never(l)
                    || earlier
                        .conjunctions
                        .iter()
                        .any(|e| conjunction_implies(l, e))
            })
    }
}

fn atoms(c: &[Term]) -> impl Iterator<Item = &Atom> {
    c.iter().filter_map(|t| match t {
        Term::Atom(a) => Some(a),
        Term::Opaque(_) => None,
    })
}

/// Whether the atoms on one field of `c` accept no value together.
fn conjunction_never(c: &[Term]) -> bool {
    let mut fields: Vec<FieldId> = atoms(c).map(|a| a.field).collect();
    fields.sort_unstable();
    fields.dedup();
    fields.iter().any(|f| {
        let on: Vec<&Atom> = atoms(c).filter(|a| a.field == *f).collect();
        satisfiable(&on) == Some(false)
    })
}

fn conjunction_implies(l: &[Term], e: &[Term]) -> bool {
    e.iter().all(|t| match t {
        Term::Opaque(None) => false,
        Term::Opaque(Some(key)) => l
            .iter()
            .any(|x| matches!(x, Term::Opaque(Some(k)) if k == key)),
        Term::Atom(a) => {
            let mut on: Vec<&Atom> = atoms(l).filter(|x| x.field == a.field).collect();
            // Nothing of `l` on this field: `l` implies `a` only if `a` is
            // always true, which an atom of a real rule never is (not
            // claiming it is sound).
            if on.is_empty() {
                return false;
            }
            let not_a = a.clone().negate();
            on.push(&not_a);
            satisfiable(&on) == Some(false)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Compiler, Schema};

    fn dnf(text: &str) -> Dnf {
        let schema = Schema::default_http();
        let checked = Compiler::new(&schema).check(text).expect("checks");
        let mut root = checked.typed.root.clone();
        crate::compile::optimize::optimize_in_place(&mut root);
        Dnf::of(&root)
    }

    #[test]
    fn implications() {
        let yes = [
            (r#"http.host == "a" and ssl"#, r#"http.host == "a""#),
            (r#"http.host == "a""#, r#"http.host in {"a" "b"}"#),
            ("tcp.dstport == 443", "tcp.dstport in {80 400..500}"),
            ("tcp.dstport > 10 and tcp.dstport < 20", "tcp.dstport ge 11"),
            ("ip.src == 10.1.2.3", "ip.src in {10.0.0.0/8}"),
            (
                r#"starts_with(http.request.uri.path, "/admin/x")"#,
                r#"starts_with(http.request.uri.path, "/admin")"#,
            ),
            (
                r#"http.request.uri.path == "/admin""#,
                r#"starts_with(http.request.uri.path, "/ad")"#,
            ),
            (
                r#"http.host == "a" or http.host == "b""#,
                r#"http.host in {"a" "b" "c"}"#,
            ),
            (r#"http.host == "b""#, r#"http.host ne "a""#),
            (
                r#"not http.host == "a""#,
                r#"not http.host == "a" and not ssl or not ssl or true"#,
            ),
            ("ip.src == ::1", "not ip.src in {10.0.0.0/8}"),
            (r#"http.host ne "a""#, r#"not http.host == "a""#),
        ];
        for (l, e) in yes {
            assert!(dnf(l).implies(&dnf(e)), "{l} => {e}");
        }
        let unknown_or_no = [
            (r#"http.host == "a""#, r#"http.host == "a" and ssl"#),
            (r#"not http.host == "a""#, r#"http.host ne "a""#),
            ("tcp.dstport >= 10", "tcp.dstport > 10"),
            (r#"http.host contains "a""#, r#"http.host contains "b""#),
            (r#"http.host contains "ab""#, r#"http.host contains "a""#),
            (
                r#"starts_with(http.request.uri.path, "/ad")"#,
                r#"starts_with(http.request.uri.path, "/admin")"#,
            ),
            ("ip.src in {10.0.0.0/8}", "ip.src == 10.1.2.3"),
            ("not ip.src in {10.0.0.0/8}", "ip.src in {0.0.0.0/0}"),
        ];
        for (l, e) in unknown_or_no {
            assert!(!dnf(l).implies(&dnf(e)), "not {l} => {e}");
        }
    }

    #[test]
    fn spans_are_no_part_of_a_structure() {
        assert_eq!(
            without_spans(
                r#"Compare { lhs: Field(1), test: Matches(Pattern("span: Span { \"a\" }")), span: Span { start: 3, end: 9 } }"#
            ),
            r#"Compare { lhs: Field(1), test: Matches(Pattern("span: Span { \"a\" }")),  }"#
        );
    }

    #[test]
    fn contradictions() {
        for text in [
            r#"http.host == "a" and http.host == "b""#,
            "tcp.dstport > 10 and tcp.dstport < 5",
            "ssl and not ssl",
            r#"starts_with(http.host, "a") and http.host == "ba""#,
            r#"http.host in {"a" "b"} and not http.host in {"a" "b" "c"}"#,
            "tcp.dstport == 1 and tcp.dstport ne 1",
        ] {
            assert!(dnf(text).never(), "{text}");
        }
        for text in [
            r#"http.host == "a" and ssl"#,
            r#"not http.host == "a" and http.host ne "b""#,
            "tcp.dstport ne 1 and tcp.dstport ne 2",
            r#"starts_with(http.host, "a") and not http.host == "a""#,
            r#"not starts_with(http.host, "") "#,
            "not ip.src in {0.0.0.0/0}",
        ] {
            assert!(!dnf(text).never(), "{text}");
        }
    }
}
