//! Differential property: on well-typed expressions over the default schema
//! and random requests (fields present and missing), the bytecode VM agrees
//! with the tree-walking reference evaluator, and a compiled rule set agrees
//! with evaluating its rules one by one; explanations reach the same
//! decisions.

use portcullis::{Action, Rule, RuleSet};
use portcullis::{Compiler, Context, Schema};
use proptest::prelude::*;

const BYTES_FIELDS: &[&str] = &[
    "http.host",
    "http.user_agent",
    "http.request.uri.path",
    "http.request.method",
    "http.cookie",
];
const INT_FIELDS: &[&str] = &["tcp.dstport", "cf.bot_management.score", "ip.src.asnum"];
const IP_FIELDS: &[&str] = &["ip.src", "ip.dst"];
const BOOL_FIELDS: &[&str] = &["ssl", "cf.tls_client_auth.cert_verified"];
const ARRAY_FIELDS: &[&str] = &["http.request.headers.names", "http.request.uri.args.values"];
const STRINGS: &[&str] = &[
    "",
    "a",
    "A",
    "abc",
    "api.example.com",
    "API.example.com",
    "x*y",
    "GET",
    "/admin/x",
    "/ad/x",
    "/bcx",
    "%41b",
    "a\\\\\\\\b",
    "héllo",
];
const INTS: &[i64] = &[-1, 0, 1, 80, 443, 8080, 9000];
const IPS: &[&str] = &[
    "10.0.0.1",
    "192.0.2.55",
    "::ffff:10.0.0.1",
    "2001:db8::1",
    "10.255.255.255",
];

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> {
    prop::sample::select(items)
}

fn quoted() -> impl Strategy<Value = String> {
    pick(STRINGS).prop_map(|s| format!("\"{s}\""))
}

fn atom() -> impl Strategy<Value = String> {
    let bytes_cmp = (
        pick(BYTES_FIELDS),
        pick(
            &[
                "eq",
                "ne",
                "lt",
                "ge",
                "contains",
                "wildcard",
                "strict wildcard",
            ][..],
        ),
        quoted(),
    )
        .prop_map(|(f, op, s)| format!("{f} {op} {s}"));
    let bytes_misc = (
        pick(BYTES_FIELDS),
        pick(BYTES_FIELDS),
        quoted(),
        quoted(),
        0usize..6,
    )
        .prop_map(|(f, g, s, t, k)| match k {
            0 => format!("{f} in {{{s} {t} \"GET\"}}"),
            1 => format!("{f} matches \"^/ad|b+c\""),
            2 => format!("{f} == {g}"),
            3 => format!("{f} != {g}"),
            4 => format!("{f} contains {g}"),
            _ => format!("{f} wildcard \"*.example.*\""),
        });
    let ints = (pick(INT_FIELDS), pick(INT_FIELDS), pick(INTS), 0usize..7).prop_map(
        |(f, g, n, k)| match k {
            0 => format!("{f} == {n}"),
            1 => format!("{f} != {n}"),
            2 => format!("{f} < {n}"),
            3 => format!("{f} >= {n}"),
            4 => format!("{f} in {{80 443 8000..8999 {n}}}"),
            5 => format!("{f} & 0x{:x}", n.rem_euclid(16)),
            _ => format!("{f} le {g}"),
        },
    );
    let ips = (pick(IP_FIELDS), pick(IPS), 0usize..5).prop_map(|(f, ip, k)| match k {
        0 => format!("{f} == {ip}"),
        1 => format!("{f} != {ip}"),
        2 => format!("{f} in {{10.0.0.0/8 2001:db8::/32 192.0.2.50..192.0.2.60}}"),
        3 => format!("{f} > {ip}"),
        _ => format!("{f} in $bad_ips"),
    });
    let bools = pick(BOOL_FIELDS).prop_map(str::to_string);
    let functions = (
        pick(BYTES_FIELDS),
        pick(ARRAY_FIELDS),
        quoted(),
        0usize..16,
        -4i64..5,
    )
        .prop_map(|(f, a, s, k, n)| match k {
            0 => format!("lower({f}) == {s}"),
            1 => format!("len({f}) > {n}"),
            2 => format!("starts_with({f}, {s})"),
            3 => format!("any({a}[*] == {s})"),
            4 => format!("all(lower({a}[*])[*] contains {s})"),
            5 => format!("{a}[{}] == {s}", n.unsigned_abs()),
            6 => format!("http.request.headers[\"accept\"][0] == {s}"),
            7 => format!("concat({f}, {s}) == \"abcabc\""),
            8 => format!("substring({f}, {n}) == {s}"),
            9 => format!("url_decode({f}) == {s}"),
            10 => format!("coalesce({f}, \"z\") == {s}"),
            11 => "to_string(tcp.dstport) == \"80\"".to_string(),
            12 => format!("has_key(http.request.headers, {s})"),
            13 => "cidr(ip.src, 24, 64) == 10.0.0.0".to_string(),
            14 => format!("not len(http.request.uri.args[\"order\"]) >= {n}"),
            _ => format!("any(starts_with({a}[*], {s}))"),
        });
    prop_oneof![3 => bytes_cmp, 2 => bytes_misc, 2 => ints, 2 => ips, 1 => bools, 3 => functions, 1 => Just("true".to_string())]
}

fn expr() -> impl Strategy<Value = String> {
    atom().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            (
                pick(&["and", "or", "xor", "&&", "||"][..]),
                proptest::collection::vec(inner.clone(), 2..4)
            )
                .prop_map(|(op, ts)| ts.join(&format!(" {op} "))),
            inner.clone().prop_map(|e| format!("not ({e})")),
            inner.prop_map(|e| format!("({e})")),
        ]
    })
}

fn request() -> impl Strategy<Value = serde_json::Value> {
    let bytes = proptest::collection::btree_map(pick(BYTES_FIELDS), pick(STRINGS), 0..5);
    let ints = proptest::collection::btree_map(pick(INT_FIELDS), pick(INTS), 0..3);
    let ips = proptest::collection::btree_map(pick(IP_FIELDS), pick(IPS), 0..2);
    let bools = proptest::collection::btree_map(pick(BOOL_FIELDS), any::<bool>(), 0..2);
    let arrays = proptest::collection::btree_map(
        pick(ARRAY_FIELDS),
        proptest::collection::vec(pick(STRINGS), 0..4),
        0..2,
    );
    let headers = proptest::option::of(proptest::collection::btree_map(
        pick(&["accept", "a", "x-y"][..]),
        proptest::collection::vec(pick(STRINGS), 0..3),
        0..3,
    ));
    (bytes, ints, ips, bools, arrays, headers).prop_map(|(b, i, p, o, a, h)| {
        let mut m = serde_json::Map::new();
        b.into_iter()
            .for_each(|(k, v)| drop(m.insert(k.into(), v.into())));
        i.into_iter()
            .for_each(|(k, v)| drop(m.insert(k.into(), v.into())));
        p.into_iter()
            .for_each(|(k, v)| drop(m.insert(k.into(), v.into())));
        o.into_iter()
            .for_each(|(k, v)| drop(m.insert(k.into(), v.into())));
        a.into_iter()
            .for_each(|(k, v)| drop(m.insert(k.into(), v.into())));
        if let Some(h) = h {
            m.insert(
                "http.request.headers".into(),
                serde_json::to_value(h).unwrap(),
            );
        }
        serde_json::Value::Object(m)
    })
}

fn schema() -> Schema {
    Schema::default_http().with_list("bad_ips", portcullis::Type::Ip)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn vm_agrees_with_the_reference_evaluator(text in expr(), req in request()) {
        let schema = schema();
        let compiler = Compiler::new(&schema);
        compiler.lists().set_json("bad_ips", &[serde_json::json!("10.0.0.0/24"), serde_json::json!("2001:db8::1")]).unwrap();
        let checked = compiler.check(&text).map_err(|e| TestCaseError::fail(format!("`{text}`: {e}")))?;
        let filter = compiler.compile(&text).unwrap();
        let cx = Context::from_json_value(&schema, &req).unwrap();
        let vm = filter.matches(&cx);
        let oracle = portcullis::test_support::reference_matches(&checked, &cx, compiler.lists());
        prop_assert_eq!(vm, oracle, "`{}` on {}\n{}", text, req, filter.disassemble());
        // An explanation reaches the same decision, from its own walk.
        let explained = filter.explain(&cx).map_err(|e| TestCaseError::fail(format!("explain `{text}`: {e}")))?;
        prop_assert_eq!(explained.matched, vm, "explain of `{}` on {}\n{}", text, req, explained);
        // The instructions themselves, without the branch form most
        // programs run as: both must say the same.
        let kept = compiler.clone().keep_instructions(true).compile(&text).unwrap();
        let by_instructions = portcullis::test_support::run_instructions(&kept, &cx);
        prop_assert_eq!(by_instructions, oracle, "instructions of `{}` on {}\n{}", text, req, kept.disassemble());
        // Keeping the instructions does not change the branch form.
        let as_branches = portcullis::test_support::runs_as_branches(&filter);
        prop_assert_eq!(as_branches, portcullis::test_support::runs_as_branches(&kept), "`{}`", text);
        if as_branches {
            let full = kept.disassemble();
            let at = full.find("; branch form").unwrap_or_default();
            prop_assert_eq!(filter.disassemble(), &full[at..], "`{}`", text);
        }
    }

    #[test]
    fn rule_set_agrees_with_rules_one_by_one(exprs in proptest::collection::vec(expr(), 1..6), actions in proptest::collection::vec(0usize..4, 6), req in request()) {
        check_rule_set(&exprs, &actions, &req)?;
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn indexed_rule_set_agrees_with_rules_one_by_one(exprs in proptest::collection::vec(anchored(), 1..40), actions in proptest::collection::vec(0usize..4, 40), req in request()) {
        check_rule_set(&exprs, &actions, &req)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Rules built from a few common tests, so most tests recur across rules
    /// and the set evaluates them once per request (`rules::shared`).
    #[test]
    fn rule_set_sharing_tests_agrees_with_rules_one_by_one(
        pool in proptest::collection::vec(atom(), 1..6),
        shapes in proptest::collection::vec((0usize..6, 0usize..6, 0usize..4), 1..30),
        actions in proptest::collection::vec(0usize..4, 30),
        req in request(),
    ) {
        let exprs: Vec<String> = shapes
            .iter()
            .map(|&(a, b, k)| {
                let (a, b) = (&pool[a % pool.len()], &pool[b % pool.len()]);
                match k {
                    0 => format!("({a}) and ({b})"),
                    1 => format!("({a}) or not ({b})"),
                    2 => format!("not ({a}) and ({b})"),
                    _ => a.clone(),
                }
            })
            .collect();
        check_rule_set(&exprs, &actions, &req)?;
    }
}

/// Rules the rule-set index can anchor: equality, set, substring, regex and
/// address anchors, alone or with another conjunct.
fn anchored() -> impl Strategy<Value = String> {
    let anchor = (
        pick(BYTES_FIELDS),
        pick(STRINGS),
        pick(STRINGS),
        pick(IPS),
        0usize..11,
    )
        .prop_map(|(f, s, t, ip, k)| match k {
            0 => format!("{f} == \"{s}\""),
            6 => format!("{f} matches \"^/ad(/|$)\""),
            7 => format!("{f} matches \"^(/ad|/bc)x\""),
            // Literal patterns: a prefix, a substring, a whole value (each
            // a literal only when the strings escape to nothing).
            8 => format!("{f} matches \"^/{}\"", regex_escape(s)),
            9 => format!("{f} matches \"{}{}\"", regex_escape(s), regex_escape(t)),
            10 => format!("{f} matches \"^{}$\"", regex_escape(s)),
            1 => format!("{f} in {{\"{s}\" \"{t}\"}}"),
            2 => format!("{f} contains \"{s}{t}\""),
            3 => format!("{f} matches \"^/ad|b+c|{}\"", regex_escape(s)),
            4 => format!("ip.src in {{10.0.0.0/8 {ip}}}"),
            _ => format!("ip.dst == {ip}"),
        });
    (anchor, proptest::option::of(atom())).prop_map(|(a, extra)| match extra {
        Some(e) => format!("{a} and ({e})"),
        None => a,
    })
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_string()
            } else {
                format!("\\\\x{:02x}", c as u32 & 0xff)
            }
        })
        .collect()
}

/// Builds a rule set from `exprs` (actions by index; rule 4 disabled; skip
/// rules skip the next rule) and checks its verdict against evaluating the
/// rules one by one as LANGUAGE.md §7 says.
fn check_rule_set(
    exprs: &[String],
    actions: &[usize],
    req: &serde_json::Value,
) -> Result<(), TestCaseError> {
    let schema = schema();
    let compiler = Compiler::new(&schema);
    let kinds = [Action::Log, Action::Block, Action::Allow, Action::Skip];
    let rules: Vec<Rule> = exprs
        .iter()
        .enumerate()
        .map(|(k, e)| {
            let action = kinds[actions[k % actions.len()]];
            let skip = if action == Action::Skip {
                vec![format!("r{}", (k + 1) % exprs.len())]
            } else {
                vec![]
            };
            Rule {
                id: format!("r{k}"),
                description: String::new(),
                expression: e.clone(),
                action,
                action_parameters: portcullis::ActionParameters {
                    rules: skip,
                    ..Default::default()
                },
                enabled: k != 4,
                extra: Default::default(),
            }
        })
        .collect();
    let set = RuleSet {
        rules: rules.clone(),
    }
    .compile(&compiler)
    .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let cx = Context::from_json_value(&schema, req).unwrap();
    let verdict = set.evaluate(&cx);
    // The explanation, which explains every rule rather than the index's
    // candidates, reaches the same verdict.
    let explained = set
        .explain(&cx)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(
        &explained.verdict,
        &verdict,
        "explain of {:?}\n{}",
        exprs,
        explained
    );
    // A request that computes its fields on demand is read through the
    // set's memo: the same verdict, and no field computed twice.
    for with_scalar in [true, false] {
        let counting = Counting {
            inner: &cx,
            with_scalar,
            reads: Default::default(),
        };
        prop_assert_eq!(&set.evaluate(&counting), &verdict, "{:?}", exprs);
        let reads = counting.reads.borrow();
        for (field, n) in reads.iter() {
            prop_assert!(
                n.0 <= 1 && n.1 <= 1,
                "field {} read {:?} times: {:?}",
                field,
                n,
                exprs
            );
        }
    }
    let mut skipped_ids: Vec<String> = Vec::new();
    let (mut action, mut rule, mut logged, mut skipped) = (None, None, Vec::new(), Vec::new());
    for r in rules.iter().filter(|r| r.enabled) {
        if skipped_ids.contains(&r.id) {
            skipped.push(r.id.clone());
            continue;
        }
        if !compiler.compile(&r.expression).unwrap().matches(&cx) {
            continue;
        }
        match r.action {
            Action::Log => logged.push(r.id.clone()),
            Action::Skip => {
                logged.push(r.id.clone());
                skipped_ids.extend(r.action_parameters.rules.iter().cloned());
            }
            a => {
                action = Some(a);
                rule = Some(r.id.clone());
                break;
            }
        }
    }
    prop_assert_eq!(verdict.action, action, "{:?}", exprs);
    prop_assert_eq!(verdict.rule.map(str::to_string), rule);
    prop_assert_eq!(
        verdict
            .logged
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
        logged
    );
    prop_assert_eq!(
        verdict
            .skipped
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
        skipped
    );
    Ok(())
}

/// A request that computes fields on demand (not [`Request::precomputed`]),
/// counting the `scalar` and `get` calls per field. Without `with_scalar`
/// it only has `get`, as the simplest embedder's request does.
struct Counting<'c> {
    inner: &'c Context<'c>,
    with_scalar: bool,
    reads: std::cell::RefCell<std::collections::BTreeMap<u32, (usize, usize)>>,
}

impl portcullis::Request for Counting<'_> {
    fn get(&self, id: portcullis::FieldId) -> portcullis::Val<'_> {
        self.reads.borrow_mut().entry(id.0).or_default().1 += 1;
        self.inner.get(id)
    }

    fn scalar(&self, id: portcullis::FieldId) -> portcullis::Scalar<'_> {
        if !self.with_scalar {
            return portcullis::Scalar::Composite;
        }
        self.reads.borrow_mut().entry(id.0).or_default().0 += 1;
        self.inner.scalar(id)
    }
}
