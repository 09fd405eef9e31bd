//! Rule sets with many regexes on one field: compiling stays bounded in
//! memory, the first request allocates a bounded amount, verdicts are those
//! of the rules one by one, and `max_rule_set_regex_bytes` caps the total.
//! A counting global allocator measures bytes per thread (tests run on
//! several threads at once; each test compiles and evaluates on its own).

use portcullis::{
    Action, ActionParameters, CompiledRuleSet, Compiler, Context, ErrorKind, Limits, Rule, RuleSet,
    Schema, Value,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    /// Bytes this thread allocated (reallocations count their new size).
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
    /// Bytes this thread allocated minus those it freed.
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn on_alloc(size: usize) {
    let _ = ALLOCATED.try_with(|c| c.set(c.get() + size));
    let _ = LIVE.try_with(|c| c.set(c.get() + size as isize));
}

fn on_free(size: usize) {
    let _ = LIVE.try_with(|c| c.set(c.get() - size as isize));
}

// SAFETY: defers to the system allocator; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        on_free(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        on_free(layout.size());
        on_alloc(new_size);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// `f`'s result, the bytes it allocated and the bytes it left live.
fn measured<T>(f: impl FnOnce() -> T) -> (T, usize, isize) {
    let (a, l) = (ALLOCATED.with(Cell::get), LIVE.with(Cell::get));
    let out = f();
    (out, ALLOCATED.with(Cell::get) - a, LIVE.with(Cell::get) - l)
}

const MIB: usize = 1024 * 1024;

/// Rule `r{k}` for each expression, with `action`.
fn rules(exprs: impl Iterator<Item = String>, action: Action) -> RuleSet {
    RuleSet {
        rules: exprs
            .enumerate()
            .map(|(k, expression)| Rule {
                id: format!("r{k}"),
                description: String::new(),
                expression,
                action,
                action_parameters: ActionParameters::default(),
                enabled: true,
                extra: Default::default(),
            })
            .collect(),
    }
}

fn path_request<'s>(schema: &'s Schema, path: &str) -> Context<'s> {
    let mut cx = Context::new(schema);
    cx.set(
        "http.request.uri.path",
        Value::Bytes(path.as_bytes().to_vec()),
    )
    .unwrap();
    cx
}

/// `(action, rule, logged)` of evaluating the rules one by one.
fn one_by_one(set: &RuleSet, compiler: &Compiler<'_>, cx: &Context<'_>) -> Verdict {
    let mut logged = Vec::new();
    for r in &set.rules {
        if compiler.compile(&r.expression).unwrap().matches(cx) {
            if r.action.terminates() {
                return (Some(r.action), Some(r.id.clone()), logged);
            }
            logged.push(r.id.clone());
        }
    }
    (None, None, logged)
}

type Verdict = (Option<Action>, Option<String>, Vec<String>);

fn verdict(set: &CompiledRuleSet, cx: &Context<'_>) -> Verdict {
    let v = set.evaluate(cx);
    (
        v.action,
        v.rule.map(str::to_string),
        v.logged.iter().map(|s| s.to_string()).collect(),
    )
}

/// Heap a compiled set holds per rule of `path matches "^/v[0-9]+/item{k}$"`:
/// measured at ~7.9 KiB, of which ~6.9 KiB is the rule's own filter (its
/// compiled `regex::Regex`, as a filter compiled alone holds it) and ~1 KiB
/// the index (the pattern in a set of 64: its NFA forward and reversed, the
/// set's prefilter, the rule lists). The bounds leave room for allocator and
/// library changes, not for a set whose size grows faster than its patterns.
const LIVE_PER_RULE: usize = 12 * 1024;
/// The index's share of [`LIVE_PER_RULE`].
const INDEX_PER_RULE: usize = 2 * 1024;

/// 10,000 rules with one regex each on the path: before the regex sets were
/// split, the first search allocated ~28.6 GB (one set of 10,000 patterns
/// keeps a search slot per pattern per state).
#[test]
fn ten_thousand_path_regexes_compile_and_evaluate_within_bounds() {
    let n = 10_000;
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    let source = rules(
        (0..n).map(|k| format!(r#"http.request.uri.path matches "^/v[0-9]+/item{k}$""#)),
        Action::Block,
    );
    let (set, _, live) = measured(|| source.compile(&compiler).expect("compiles"));
    // Its own compiler: not one whose regex cache holds the set's regexes.
    let alone = Compiler::new(&schema);
    let (filters, _, filters_live) = measured(|| {
        let compile = |r: &Rule| alone.compile(&r.expression).unwrap();
        source.rules.iter().map(compile).collect::<Vec<_>>()
    });
    drop(filters);
    let index = live - filters_live;
    eprintln!("{n} rules: {live} bytes live after compiling, {index} beyond the filters");
    assert!(
        (live as usize) < n * LIVE_PER_RULE,
        "{live} bytes live for {n} rules"
    );
    assert!(
        (index as usize) < n * INDEX_PER_RULE,
        "{index} bytes of index for {n} rules"
    );
    for (k, (path, want)) in [
        ("/v12/item4321", Some("r4321")),
        ("/v1/item0", Some("r0")),
        ("/v987/item9999", Some("r9999")),
        ("/v1/item10000", None),
        ("/v/item12", None),
        ("/v1/item12/", None),
        ("/", None),
    ]
    .into_iter()
    .enumerate()
    {
        let cx = path_request(&schema, path);
        let (got, allocated, _) = measured(|| verdict(&set, &cx));
        if k == 0 {
            // The first search builds every set's search state on this thread.
            eprintln!("{n} rules: first evaluation allocated {allocated} bytes");
            assert!(allocated < 64 * MIB, "first evaluation: {allocated} bytes");
        }
        let want = want.map(|id| (Some(Action::Block), Some(id.to_string()), vec![]));
        assert_eq!(got, want.unwrap_or_default(), "{path}");
    }
}

/// 200 rules whose regexes are large (`[a-z]{300}x` and up): merged into one
/// set they took 2.4 s and 528 MB per request on a 2 KB path.
#[test]
fn large_regexes_evaluate_like_the_rules_one_by_one() {
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    let source = rules(
        (0..200).map(|k| format!(r#"http.request.uri.path matches "[a-z]{{{}}}x""#, 300 + k)),
        Action::Log,
    );
    let set = source.compile(&compiler).expect("compiles");
    // 2 KB paths: rules up to 400 letters before the `x` match.
    let paths = [
        format!("/{}x{}", "a".repeat(400), "b".repeat(1600)),
        "a".repeat(2048),
        format!("{}x", "ab".repeat(1023)),
    ];
    for (k, path) in paths.iter().enumerate() {
        let cx = path_request(&schema, path);
        let (got, allocated, _) = measured(|| verdict(&set, &cx));
        eprintln!("large regexes, path {k}: evaluation allocated {allocated} bytes");
        assert!(allocated < 64 * MIB, "path {k}: {allocated} bytes");
        assert_eq!(got, one_by_one(&source, &compiler, &cx), "path {k}");
    }
    let cx = path_request(&schema, &paths[0]);
    assert_eq!(verdict(&set, &cx).2.len(), 101);
}

/// `max_rule_set_regex_bytes` caps the compiled size of a set's regexes:
/// past it, compiling fails with a limit error naming the rule.
#[test]
fn the_rule_set_regex_budget_is_a_limit_error_naming_the_rule() {
    let schema = Schema::default_http();
    let source = rules(
        (0..100).map(|k| format!(r#"http.request.uri.path matches "^/v[0-9]+/item{k}$""#)),
        Action::Block,
    );
    for (budget, fails) in [
        (0, true),
        (10_000, true),
        (Limits::default().max_rule_set_regex_bytes, false),
    ] {
        let compiler = Compiler::new(&schema).with_limits(Limits {
            max_rule_set_regex_bytes: budget,
            ..Limits::default()
        });
        let Err(e) = source.compile(&compiler) else {
            assert!(!fails, "budget {budget}: compiled");
            continue;
        };
        assert!(fails, "budget {budget}: {e}");
        assert_eq!(e.problems.len(), 1, "{e}");
        assert_eq!(e.errors().len(), 1, "{e}");
        assert_eq!(e.errors()[0].kind(), ErrorKind::Limit, "{e}");
        let (id, text) = &e.problems[0];
        let k: usize = id.trim_start_matches('r').parse().unwrap();
        // Every regex compiles to some hundreds of bytes: the budget runs
        // out at the first rule for 0 bytes, within a few dozen for 10,000.
        assert!(
            if budget == 0 {
                k == 0
            } else {
                (3..50).contains(&k)
            },
            "{id}"
        );
        assert!(text.contains("max_rule_set_regex_bytes"), "{text}");
        assert!(
            text.contains(&format!("more than {budget} bytes")),
            "{text}"
        );
        assert!(e.to_string().contains(&format!("rule `{id}`")), "{e}");
    }
}
