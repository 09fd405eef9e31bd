//! The properties the fuzz targets check, one function per target.
//!
//! Each function takes the raw fuzz input and panics when a property fails;
//! inputs the engine rightly rejects (bad syntax, type errors, bad request
//! JSON) are not failures. The same file is compiled into the main crate's
//! `tests/fuzz_regressions.rs` (with `#[path]`), so a crash input found by
//! `cargo fuzz` is replayed by plain `cargo test` through exactly these checks.
//!
//! Inputs of `compile_eval` and `differential` are `EXPR \0 REQUEST_JSON`: the
//! bytes before the first NUL are the expression, the rest the request (a flat
//! JSON object, as `Context::from_json` takes); no NUL means an empty request.

use portcullis::{Action, ActionParameters, CompiledRuleSet, Rule, RuleSet};
use portcullis::{Compiler, Context, Error, Filter, Limits, Lists, Schema, Type};
use std::sync::LazyLock;

/// The names of the targets, as `cargo fuzz` knows them.
pub const TARGETS: &[&str] = &["parse", "roundtrip", "compile_eval", "differential"];

/// Runs the check of target `name` on `data`; false for an unknown target.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "parse" => parse(data),
        "roundtrip" => roundtrip(data),
        "compile_eval" => compile_eval(data),
        "differential" => differential(data),
        _ => return false,
    }
    true
}

/// Limits raised as far as the engine allows: the deepest nesting every stage
/// accepts, and no practical length cap (the fuzzer's `-max_len` bounds it).
pub fn raised_limits() -> Limits {
    Limits {
        max_length: 1 << 20,
        max_depth: portcullis::HARD_MAX_DEPTH,
        // The reference evaluator models the per-value budget, not the
        // per-evaluation one (which depends on the order calls run in).
        max_evaluation_bytes: usize::MAX,
        ..Limits::default()
    }
}

/// The default HTTP schema plus a few named lists, and their contents.
pub struct Env {
    /// `Schema::default_http()` with `$office`, `$cf.open_proxies` (Ip),
    /// `$bad_hosts` (Bytes) and `$ports` (Int) declared.
    pub schema: Schema,
    /// The lists' contents (shared by every compiler built from [`Env::compiler`]).
    pub lists: Lists,
}

impl Env {
    fn new() -> Env {
        let schema = Schema::default_http()
            .with_list("office", Type::Ip)
            .with_list("cf.open_proxies", Type::Ip)
            .with_list("bad_hosts", Type::Bytes)
            .with_list("ports", Type::Int);
        let lists = Lists::for_schema(&schema);
        lists
            .load_json(
                r#"{
                    "office": ["10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32", "198.51.100.3..198.51.100.7"],
                    "cf.open_proxies": ["203.0.113.9", "2001:db8:dead::1"],
                    "bad_hosts": ["evil.com", "a.com", ""],
                    "ports": [80, 443, "8000..8999"]
                }"#,
            )
            .expect("fuzz lists load");
        Env { schema, lists }
    }

    /// A compiler over the schema and lists with `limits`.
    pub fn compiler(&self, limits: Limits) -> Compiler<'_> {
        Compiler::new(&self.schema)
            .with_limits(limits)
            .with_lists(&self.lists)
    }
}

/// The shared environment (built once per process).
pub fn env() -> &'static Env {
    static ENV: LazyLock<Env> = LazyLock::new(Env::new);
    &ENV
}

/// Splits at the first NUL into expression bytes and request bytes.
pub fn split(data: &[u8]) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|&b| b == 0) {
        Some(k) => (&data[..k], Some(&data[k + 1..])),
        None => (data, None),
    }
}

/// Every error must render without panicking, and its span must lie inside
/// the text (a renderer clamps, but a span past the end is a wrong location).
fn check_error(e: &Error, text: &str) {
    let rendered = e.render(text);
    assert!(!rendered.is_empty(), "empty rendering of {e:?}");
    let _ = e.to_string();
    if let Some(span) = e.span() {
        assert!(
            span.start <= span.end && span.end <= text.len(),
            "error span {}..{} outside the {}-byte text: {e}",
            span.start,
            span.end,
            text.len()
        );
    }
}

/// Target `parse`: any text parses or fails cleanly, under default and raised
/// limits; errors render.
pub fn parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = portcullis::parse(text) {
        check_error(&e, text);
    }
    if let Err(e) = portcullis::parse_with(text, &raised_limits()) {
        check_error(&e, text);
    }
}

/// Target `roundtrip`: the canonical form of any parsed text parses back to the
/// same tree and prints identically; if the original type-checks, so does the
/// canonical form.
pub fn roundtrip(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = raised_limits();
    let Ok(expr) = portcullis::parse_with(text, &limits) else {
        return;
    };
    let printed = expr.to_string();
    let again = match portcullis::parse_with(&printed, &limits) {
        Ok(e) => e,
        Err(e) => panic!(
            "canonical form does not parse\n  source:    {text:?}\n  canonical: {printed:?}\n  error: {e}"
        ),
    };
    assert!(
        expr.same_shape(&again),
        "canonical form parses to another tree\n  source:    {text:?}\n  canonical: {printed:?}\n  first:  {expr:?}\n  second: {again:?}"
    );
    let reprinted = again.to_string();
    assert_eq!(
        printed, reprinted,
        "printing is not idempotent (source {text:?})"
    );
    let compiler = env().compiler(limits);
    if compiler.check(text).is_ok()
        && let Err(e) = compiler.check(&printed)
    {
        panic!(
            "source checks but its canonical form does not\n  source:    {text:?}\n  canonical: {printed:?}\n  error: {e}"
        );
    }
}

/// Target `compile_eval`: `EXPR\0REQUEST`; compiling (default and raised
/// limits), disassembling and evaluating never panic.
pub fn compile_eval(data: &[u8]) {
    let (expr, request) = split(data);
    let Ok(text) = std::str::from_utf8(expr) else {
        return;
    };
    let env = env();
    let request = request
        .and_then(|r| std::str::from_utf8(r).ok())
        .unwrap_or("{}");
    let cx = match Context::from_json(&env.schema, request) {
        Ok(cx) => cx,
        Err(e) => {
            let _ = e.render(request);
            Context::new(&env.schema)
        }
    };
    let empty = Context::new(&env.schema);
    for limits in [Limits::default(), raised_limits()] {
        match env.compiler(limits).compile(text) {
            Ok(filter) => {
                let _ = filter.disassemble();
                let _ = filter.fields();
                let _ = filter.matches(&cx);
                let _ = filter.matches(&empty);
            }
            Err(e) => check_error(&e, text),
        }
    }
}

/// One rule of the set built by [`differential`], as the hand evaluation sees it.
struct HandRule {
    id: &'static str,
    action: Action,
    enabled: bool,
    skips: Vec<&'static str>,
    expression: String,
}

/// FNV-1a, to pick an action and a layout from the input deterministically.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

const ACTIONS: [Action; 7] = [
    Action::Block,
    Action::Challenge,
    Action::JsChallenge,
    Action::ManagedChallenge,
    Action::Allow,
    Action::Log,
    Action::Skip,
];

/// Target `differential`: `EXPR\0REQUEST`; when the expression compiles and the
/// request loads, the VM agrees with the reference evaluator (on the request
/// and on an empty one), the canonical form gives the same answers, and a rule
/// set holding the expression gives the verdict LANGUAGE.md §7 prescribes.
pub fn differential(data: &[u8]) {
    let (expr, request) = split(data);
    let Ok(text) = std::str::from_utf8(expr) else {
        return;
    };
    let request = match request {
        Some(r) => match std::str::from_utf8(r) {
            Ok(r) => r,
            Err(_) => return,
        },
        None => "{}",
    };
    let env = env();
    let compiler = env.compiler(raised_limits());
    let Ok(checked) = compiler.check(text) else {
        return;
    };
    let filter = match compiler.compile(text) {
        Ok(f) => f,
        Err(_) => return,
    };
    let Ok(cx) = Context::from_json(&env.schema, request) else {
        return;
    };
    let empty = Context::new(&env.schema);

    let vm = filter.matches(&cx);
    let oracle = portcullis::test_support::reference_matches(&checked, &cx, compiler.lists());
    assert_eq!(
        vm,
        oracle,
        "VM and reference disagree\n  expr:    {text:?}\n  request: {request}\n  program:\n{}",
        filter.disassemble()
    );
    // The instructions themselves (kept on request), without the branch
    // form most programs run as, say the same.
    if let Ok(kept) = compiler.clone().keep_instructions(true).compile(text) {
        assert_eq!(
            portcullis::test_support::run_instructions(&kept, &cx),
            oracle,
            "instructions and reference disagree\n  expr:    {text:?}\n  request: {request}\n  program:\n{}",
            kept.disassemble()
        );
    }
    let vm_empty = filter.matches(&empty);
    let oracle_empty =
        portcullis::test_support::reference_matches(&checked, &empty, compiler.lists());
    assert_eq!(
        vm_empty,
        oracle_empty,
        "VM and reference disagree on the empty request\n  expr: {text:?}\n  program:\n{}",
        filter.disassemble()
    );

    // The canonical form means the same thing.
    let canonical = checked.syntax().to_string();
    match compiler.compile(&canonical) {
        Ok(f) => {
            assert_eq!(
                f.matches(&cx),
                vm,
                "canonical form evaluates differently\n  expr: {text:?}\n  canonical: {canonical:?}\n  request: {request}"
            );
            assert_eq!(
                f.matches(&empty),
                vm_empty,
                "canonical form evaluates differently on the empty request\n  expr: {text:?}\n  canonical: {canonical:?}"
            );
        }
        Err(e) => panic!(
            "expression compiles but its canonical form does not\n  expr: {text:?}\n  canonical: {canonical:?}\n  error: {e}"
        ),
    }

    check_rule_set(text, data, &compiler, &cx, request);
}

/// Builds a small rule set around the fuzzed expression and compares
/// `CompiledRuleSet::evaluate` with a hand evaluation of §7.
fn check_rule_set(
    text: &str,
    data: &[u8],
    compiler: &Compiler<'_>,
    cx: &Context<'_>,
    request: &str,
) {
    let h = fnv(data);
    let action = ACTIONS[(h % ACTIONS.len() as u64) as usize];
    let fuzz_rule = HandRule {
        id: "fuzz",
        action,
        enabled: true,
        skips: if action == Action::Skip {
            vec!["log-ua", "log-fixed", "block-fixed"]
        } else {
            Vec::new()
        },
        expression: text.to_string(),
    };
    // Fixed rules: one per kind of rule-set index anchor (equality/set on
    // bytes, contains, regex, address ranges), one without an anchor, one
    // disabled, and a terminating one at the end.
    let fixed = |id: &'static str, action: Action, enabled: bool, expression: &str| HandRule {
        id,
        action,
        enabled,
        skips: Vec::new(),
        expression: expression.to_string(),
    };
    let mut hand: Vec<HandRule> = vec![
        fixed(
            "log-host",
            Action::Log,
            true,
            r#"http.host in {"a.com" "evil.com"} and ssl"#,
        ),
        fixed(
            "log-ua",
            Action::Log,
            true,
            r#"http.user_agent contains "bot" and not ssl"#,
        ),
        fixed(
            "log-path",
            Action::Log,
            true,
            r#"http.request.uri.path matches "^/api/v[0-9]+" and http.request.method ne "GET""#,
        ),
        fixed(
            "log-office",
            Action::Log,
            true,
            "ip.src in {10.0.0.0/8 2001:db8::/32 192.0.2.1}",
        ),
        fixed(
            "log-fixed",
            Action::Log,
            true,
            r#"http.host contains "a" or not ssl"#,
        ),
        fixed("disabled", Action::Block, false, "true"),
        fixed(
            "block-fixed",
            Action::Block,
            true,
            r#"ip.src in $office or http.request.method eq "POST""#,
        ),
    ];
    // The fuzzed rule goes first, in the middle or just before the last rule.
    let at = [0, 3, hand.len() - 1][((h >> 8) % 3) as usize];
    hand.insert(at, fuzz_rule);

    let set = RuleSet {
        rules: hand
            .iter()
            .map(|r| Rule {
                id: r.id.to_string(),
                description: String::new(),
                expression: r.expression.clone(),
                action: r.action,
                action_parameters: ActionParameters {
                    rules: r.skips.iter().map(|s| s.to_string()).collect(),
                },
                enabled: r.enabled,
            })
            .collect(),
    };
    let compiled: CompiledRuleSet = match set.compile(compiler) {
        Ok(c) => c,
        Err(e) => {
            panic!("rule set around an expression that compiles is rejected\n  expr: {text:?}\n{e}")
        }
    };
    assert_eq!(compiled.len(), hand.len());

    // Each rule's filter on its own, on the VM, cross-checked with the reference.
    let matched: Vec<bool> = hand
        .iter()
        .map(|r| {
            let checked = compiler
                .check(&r.expression)
                .expect("rule expression checks");
            let f: Filter = compiler
                .compile(&r.expression)
                .expect("rule expression compiles");
            let m = f.matches(cx);
            assert_eq!(
                m,
                portcullis::test_support::reference_matches(&checked, cx, compiler.lists()),
                "VM and reference disagree on rule `{}`",
                r.id
            );
            m
        })
        .collect();

    // LANGUAGE.md §7 by hand.
    let mut want_action = None;
    let mut want_rule = None;
    let mut want_logged = Vec::new();
    let mut want_skipped = Vec::new();
    let mut skipping: Vec<&str> = Vec::new();
    for (r, &m) in hand.iter().zip(&matched) {
        if !r.enabled {
            continue;
        }
        if skipping.contains(&r.id) {
            want_skipped.push(r.id);
            continue;
        }
        if !m {
            continue;
        }
        match r.action {
            Action::Log => want_logged.push(r.id),
            Action::Skip => {
                want_logged.push(r.id);
                skipping.extend(r.skips.iter().copied());
            }
            terminal => {
                want_action = Some(terminal);
                want_rule = Some(r.id);
                break;
            }
        }
    }

    let got = compiled.evaluate(cx);
    let want = (want_action, want_rule, want_logged, want_skipped);
    if (
        got.action,
        got.rule,
        got.logged.clone(),
        got.skipped.clone(),
    ) != want
    {
        let order: Vec<&str> = hand.iter().map(|r| r.id).collect();
        panic!(
            "rule-set verdict differs from evaluating the rules one by one\n  expr: {text:?} (action {})\n  request: {request}\n  rules: {order:?}\n  matched: {matched:?}\n  got:  {got:?}\n  want: (action, rule, logged, skipped) = {want:?}",
            action.name()
        );
    }
}
