//! Predicates several rules of a set hold (the same string, set, ranges or
//! searcher, whatever field each tests), stored once: every program's pool
//! entry for it becomes a [`Pred::Shared`] of one copy.

use crate::hash::FastHash;
use crate::program::Program;
use crate::program::pred::{Pred, PredKey};
use std::collections::HashMap;
use std::sync::Arc;

/// Stores once each predicate with heap data that two or more of
/// `programs` hold (see [`Pred::holds_heap_data`]); returns how many
/// distinct predicates are now shared.
pub fn intern(programs: &mut [&mut Program]) -> usize {
    // Each occurrence (program, pool index) with the number of its distinct
    // predicate, and how often each distinct predicate occurs.
    let pooled: usize = programs.iter().map(|p| p.pool().len()).sum();
    let mut occurrences: Vec<(u32, u32, u32)> = Vec::with_capacity(pooled);
    let mut counts: Vec<u32> = Vec::with_capacity(pooled);
    {
        let mut distinct: HashMap<PredKey<'_>, u32, FastHash> =
            HashMap::with_capacity_and_hasher(pooled, FastHash::default());
        for (k, p) in programs.iter().enumerate() {
            for (j, pred) in p.pool().iter().enumerate() {
                if !pred.holds_heap_data() {
                    continue;
                }
                let next = counts.len() as u32;
                let d = *distinct.entry(pred.key()).or_insert(next);
                if d == next {
                    counts.push(0);
                }
                counts[d as usize] += 1;
                occurrences.push((k as u32, j as u32, d));
            }
        }
    }
    let mut stored: Vec<Option<Arc<Pred>>> = vec![None; counts.len()];
    for (k, j, d) in occurrences {
        if counts[d as usize] < 2 {
            continue;
        }
        let Some(pred) = programs
            .get_mut(k as usize)
            .and_then(|p| p.pool_mut().get_mut(j as usize))
        else {
            continue;
        };
        let one = stored[d as usize]
            .get_or_insert_with(|| Arc::new(pred.take()))
            .clone();
        *pred = Pred::Shared(one);
    }
    stored.iter().flatten().count()
}

#[cfg(test)]
mod tests {
    use crate::program::pred::Pred;
    use crate::rules::RuleSet;
    use crate::rules::tests::block as rule;
    use crate::{Compiler, Schema};
    use std::sync::Arc;

    /// The pooled predicates of rule `k`'s program.
    fn preds(set: &crate::rules::CompiledRuleSet, k: usize) -> &[Pred] {
        set.rules[k].as_ref().unwrap().filter.program().pool()
    }

    #[test]
    fn rules_with_the_same_constant_hold_one_copy() {
        let schema = Schema::default_http();
        let set = RuleSet {
            rules: vec![
                rule("a", r#"http.host in {"a.example" "b.example"} and ssl"#),
                // The same set in another order, on another field.
                rule("b", r#"http.referer in {"b.example" "a.example"}"#),
                rule("c", r#"http.user_agent contains "a long needle, pooled""#),
                rule(
                    "d",
                    r#"not http.user_agent contains "a long needle, pooled""#,
                ),
                rule("e", r#"http.host in {"a.example" "c.example"}"#),
            ],
        }
        .compile(&Compiler::new(&schema))
        .unwrap();
        let one = |a: &Pred, b: &Pred| match (a, b) {
            (Pred::Shared(x), Pred::Shared(y)) => Arc::ptr_eq(x, y),
            _ => false,
        };
        assert!(one(&preds(&set, 0)[0], &preds(&set, 1)[0]), "the set");
        assert!(one(&preds(&set, 2)[0], &preds(&set, 3)[0]), "the needle");
        assert!(
            !matches!(preds(&set, 4)[0], Pred::Shared(_)),
            "a set nobody else has stays the rule's own"
        );
        // Shared predicates still decide as before.
        let mut cx = crate::Context::new(&schema);
        cx.set("http.referer", crate::Value::Bytes(b"a.example".to_vec()))
            .unwrap();
        assert_eq!(set.evaluate(&cx).rule, Some("b"));
    }
}
