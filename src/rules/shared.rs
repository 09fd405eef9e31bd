//! Tests several rules have in common, found when the set is compiled so
//! that a request evaluates each of them once (see [`crate::vm::SharedTests`]).
//!
//! Two branches share an id when they test the same field with the same
//! predicate (sets by their members, regexes by their source) and the same
//! inversion. Tests that two or more rules have get an id, and so do the
//! regexes the index searches in one pass (the search answers them, so no
//! rule runs its regex again); at most [`MAX_SHARED`] ids, so the
//! per-request results fit on the stack.

use crate::hash::FastHash;
use crate::program::{Program, TestKey};
use crate::types::FieldId;
use crate::vm::NOT_SHARED;
use std::collections::HashMap;

/// Most shared tests per set (their results take two bits each per request).
pub const MAX_SHARED: usize = 2048;

/// The shared ids of a rule set's tests.
pub struct Shared {
    /// The shared id of each branch ([`NOT_SHARED`] for a test nothing
    /// shares), program after program: one vector for the whole set.
    pub ids: Vec<u32>,
    /// For each program (`None` for a disabled rule), where its branches'
    /// ids are in `ids`; empty for a program that is not simple or shares
    /// nothing.
    pub spans: Vec<std::ops::Range<u32>>,
    /// How many ids were given.
    pub count: usize,
    /// The id of each regex anchor's test (`regex_anchors[k]`), which the
    /// index's regex sets answer: one rule having it is enough for an id.
    pub anchor_ids: Vec<u32>,
}

/// Gives ids to the tests that two or more rules have, and to the tests of
/// the regexes the index searches for (`regex_anchors`: field and source).
pub fn share(programs: &[Option<&Program>], regex_anchors: &[(FieldId, String)]) -> Shared {
    // Each branch's test as an index into the distinct tests (hashed once).
    let branches: usize = programs.iter().flatten().map(|p| p.test_count()).sum();
    let mut distinct: HashMap<TestKey<'_>, u32, FastHash> =
        HashMap::with_capacity_and_hasher(branches, FastHash::default());
    let mut uses: Vec<u32> = Vec::new();
    // Each program's tests, back to back: program `k`'s are `tests[span[k]]`.
    let mut tests: Vec<u32> = Vec::with_capacity(branches);
    let mut span: Vec<std::ops::Range<usize>> = Vec::with_capacity(programs.len());
    for p in programs {
        let start = tests.len();
        if let Some(p) = p {
            tests.extend(p.test_keys().map(|key| match key {
                Some(key) => {
                    let next = distinct.len() as u32;
                    let d = *distinct.entry(key).or_insert(next);
                    if d == next {
                        uses.push(0);
                    }
                    uses[d as usize] += 1;
                    d
                }
                None => u32::MAX,
            }));
        }
        span.push(start..tests.len());
    }
    // The index answers these tests: they need an id even in one rule.
    let anchor_tests: Vec<Option<u32>> = regex_anchors
        .iter()
        .map(|(f, src)| distinct.get(&Program::regex_test_key(*f, src)).copied())
        .collect();
    for &d in anchor_tests.iter().flatten() {
        if let Some(n) = uses.get_mut(d as usize) {
            *n = (*n).max(2);
        }
    }
    // Ids in order of first appearance, for tests that recur.
    let mut id_of = vec![NOT_SHARED; uses.len()];
    let mut given = 0usize;
    let mut ids: Vec<u32> = Vec::new();
    let mut spans = Vec::with_capacity(programs.len());
    for (p, tests) in programs.iter().zip(
        span.into_iter()
            .map(|span| tests.get(span).unwrap_or_default()),
    ) {
        let start = ids.len() as u32;
        // A rule none of whose tests recur needs no ids (nothing to look up).
        if p.is_some_and(|p| p.test_count() > 0)
            && tests.iter().any(|&d| uses.get(d as usize) > Some(&1))
        {
            ids.extend(tests.iter().map(|&d| {
                let Some(&n) = uses.get(d as usize) else {
                    return NOT_SHARED;
                };
                let id = &mut id_of[d as usize];
                if n >= 2 && *id == NOT_SHARED && given < MAX_SHARED {
                    *id = given as u32;
                    given += 1;
                }
                *id
            }));
        }
        spans.push(start..ids.len() as u32);
    }
    let anchor_ids = anchor_tests
        .iter()
        .map(|d| {
            d.and_then(|d| id_of.get(d as usize).copied())
                .unwrap_or(NOT_SHARED)
        })
        .collect();
    Shared {
        ids,
        spans,
        count: given,
        anchor_ids,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Compiler, Schema};

    #[test]
    fn the_same_test_in_two_rules_gets_one_id() {
        let schema = Schema::default_http();
        let c = Compiler::new(&schema);
        let filters: Vec<_> = [
            r#"http.host in {"a" "b"} and not ssl"#,
            r#"http.host in {"b" "a"} and http.request.method == "POST""#,
            r#"http.host != "a" and ssl"#,
            r#"http.request.method == "POST" or tcp.dstport == 80"#,
            r#"any(http.request.headers.names[*] == "x")"#,
        ]
        .iter()
        .map(|e| c.compile(e).unwrap())
        .collect();
        let programs: Vec<_> = filters.iter().map(|f| Some(f.program())).collect();
        let Shared {
            ids, spans, count, ..
        } = share(&programs, &[]);
        let ids_of = |rule: usize| {
            let span = spans[rule].start as usize..spans[rule].end as usize;
            &ids[span]
        };
        let id_of = |rule: usize, field: &str| -> u32 {
            let p = filters[rule].program();
            let k = p
                .test_keys()
                .position(|key| {
                    key.is_some_and(|(f, ..)| {
                        p.field_names.get(f.index()).map(|n| &**n) == Some(field)
                    })
                })
                .unwrap();
            ids_of(rule)[k]
        };
        // The set (members in another order), `ssl` (negated or not: the
        // negation is in the successors) and the method test are shared.
        assert_eq!(id_of(0, "http.host"), id_of(1, "http.host"));
        assert_eq!(id_of(0, "ssl"), id_of(2, "ssl"));
        assert_eq!(
            id_of(1, "http.request.method"),
            id_of(3, "http.request.method")
        );
        // `!= "a"` is nobody else's test; nor is the port.
        assert_eq!(id_of(2, "http.host"), NOT_SHARED);
        assert_eq!(id_of(3, "tcp.dstport"), NOT_SHARED);
        assert_eq!(count, 3);
        // A program that is not simple has no ids.
        assert!(ids_of(4).is_empty());
    }
}

#[cfg(test)]
mod index_tests {
    use crate::rules::RuleSet;
    use crate::rules::tests::block as rule;
    use crate::{Compiler, Context, Schema};

    /// Regexes the index searches in one pass get ids even in one rule,
    /// and one search records every one's outcome, matched or not: the
    /// rules take their regex test from there instead of running it again.
    #[test]
    fn the_index_answers_the_regex_tests_it_searches() {
        let schema = Schema::default_http();
        let compiler = Compiler::new(&schema);
        let set = RuleSet {
            rules: vec![
                rule("a", r#"http.request.uri.path matches "^/a+b""#),
                rule("b", r#"http.request.uri.path matches "x+y$" and ssl"#),
            ],
        }
        .compile(&compiler)
        .unwrap();
        let mut cx = Context::new(&schema);
        cx.set(
            "http.request.uri.path",
            crate::Value::Bytes(b"/aab".to_vec()),
        )
        .unwrap();
        let (mut known, mut value) = ([0u64; 1], [0u64; 1]);
        let mut tests = crate::vm::SharedTests {
            known: &mut known,
            value: &mut value,
        };
        let mut cand = [0u64; 1];
        set.index.candidates(&cx, &mut cand, &mut tests);
        assert_eq!(set.shared_count, 2);
        assert_eq!(cand[0], 0b01, "only rule a can match");
        assert_eq!((known[0], value[0]), (0b11, 0b01));
        // Each rule's regex branch carries its test's id.
        for (k, rule) in set.rules.iter().flatten().enumerate() {
            assert!(set.shared_ids(rule).contains(&(k as u32)), "{}", rule.id());
        }
        assert_eq!(set.evaluate(&cx).rule, Some("a"));
    }
}
