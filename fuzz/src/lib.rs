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
//! Inputs of `ruleset` are the same with one expression a line before the NUL.
//! Inputs of `request` are `TARGET \0 HEADERS-AND-BODY`: a request target,
//! then `name: value` header lines, a blank line and a body.

use portcullis::{Action, ActionParameters, CompiledRuleSet, Rule, RuleSet};
use portcullis::{
    Checked, Compiler, Context, Error, ErrorKind, Filter, Limits, Lists, Schema, Type,
};
use std::sync::LazyLock;

/// The names of the targets, as `cargo fuzz` knows them.
pub const TARGETS: &[&str] = &[
    "parse",
    "roundtrip",
    "compile_eval",
    "differential",
    "ruleset",
    "request",
];

/// Runs the check of target `name` on `data`; false for an unknown target.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "parse" => parse(data),
        "roundtrip" => roundtrip(data),
        "compile_eval" => compile_eval(data),
        "differential" => differential(data),
        "ruleset" => ruleset(data),
        "request" => request(data),
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
/// limits), disassembling, evaluating and linting never panic.
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
        let compiler = env.compiler(limits);
        match compiler.compile(text) {
            Ok(filter) => {
                let _ = filter.disassemble();
                let _ = filter.fields();
                let _ = filter.matches(&cx);
                let _ = filter.matches(&empty);
                // Linting what compiles never panics, and every lint renders.
                let lints = portcullis::lint_expression(text, &compiler);
                assert!(lints.is_ok(), "lint refused what compiles: {text:?}");
                for l in lints.unwrap_or_default() {
                    let _ = l.render(text);
                }
            }
            Err(e) => check_error(&e, text),
        }
    }
}

/// One rule of a rule set, as the hand evaluation (LANGUAGE.md §7) sees it.
struct HandRule {
    id: String,
    action: Action,
    enabled: bool,
    skips: Vec<String>,
    expression: String,
}

impl HandRule {
    fn new(id: &str, action: Action, enabled: bool, expression: &str) -> HandRule {
        HandRule {
            id: id.to_string(),
            action,
            enabled,
            skips: Vec::new(),
            expression: expression.to_string(),
        }
    }
}

/// The rule set holding `hand`, in order.
fn rule_set_of(hand: &[HandRule]) -> RuleSet {
    RuleSet {
        rules: hand
            .iter()
            .map(|r| Rule {
                id: r.id.clone(),
                description: String::new(),
                expression: r.expression.clone(),
                action: r.action,
                action_parameters: ActionParameters {
                    rules: r.skips.clone(),
                    ..ActionParameters::default()
                },
                enabled: r.enabled,
                extra: Default::default(),
            })
            .collect(),
    }
}

/// FNV-1a, to pick an action and a layout from the input deterministically.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// A well-mixed hash of `(h, k)` (splitmix64's finaliser), one per rule.
fn mix(h: u64, k: usize) -> u64 {
    let mut z = h ^ (k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
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
    // An explanation reaches the VM's decision by its own walk.
    match filter.explain(&cx) {
        Ok(e) => assert_eq!(
            e.matched, vm,
            "explain and VM disagree\n  expr:    {text:?}\n  request: {request}\n{e}"
        ),
        Err(e) => panic!("a compiled filter failed to explain: {e}\n  expr: {text:?}"),
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
    let mut fuzz_rule = HandRule::new("fuzz", action, true, text);
    if action == Action::Skip {
        fuzz_rule.skips = ["log-ua", "log-fixed", "block-fixed"]
            .map(String::from)
            .to_vec();
    }
    // Fixed rules: one per kind of rule-set index anchor (equality/set on
    // bytes, contains, regex, address ranges), one without an anchor, one
    // disabled, and a terminating one at the end.
    let mut hand: Vec<HandRule> = vec![
        HandRule::new(
            "log-host",
            Action::Log,
            true,
            r#"http.host in {"a.com" "evil.com"} and ssl"#,
        ),
        HandRule::new(
            "log-ua",
            Action::Log,
            true,
            r#"http.user_agent contains "bot" and not ssl"#,
        ),
        HandRule::new(
            "log-path",
            Action::Log,
            true,
            r#"http.request.uri.path matches "^/api/v[0-9]+" and http.request.method ne "GET""#,
        ),
        HandRule::new(
            "log-office",
            Action::Log,
            true,
            "ip.src in {10.0.0.0/8 2001:db8::/32 192.0.2.1}",
        ),
        HandRule::new(
            "log-fixed",
            Action::Log,
            true,
            r#"http.host contains "a" or not ssl"#,
        ),
        HandRule::new("disabled", Action::Block, false, "true"),
        HandRule::new(
            "block-fixed",
            Action::Block,
            true,
            r#"ip.src in $office or http.request.method eq "POST""#,
        ),
    ];
    // The fuzzed rule goes first, in the middle or just before the last rule.
    let at = [0, 3, hand.len() - 1][((h >> 8) % 3) as usize];
    hand.insert(at, fuzz_rule);

    let compiled: CompiledRuleSet = match rule_set_of(&hand).compile(compiler) {
        Ok(c) => c,
        Err(e) => {
            panic!("rule set around an expression that compiles is rejected\n  expr: {text:?}\n{e}")
        }
    };
    assert_eq!(compiled.len(), hand.len());
    let filters = compile_one_by_one(&hand, compiler);
    check_verdict(&compiled, &hand, &filters, compiler, cx, &|| {
        format!(
            "  expr: {text:?} (action {})\n  request: {request}",
            action.name()
        )
    });
}

/// Each enabled rule's expression checked and compiled on its own (`None`
/// for a disabled rule); panics if one does not compile.
fn compile_one_by_one(
    hand: &[HandRule],
    compiler: &Compiler<'_>,
) -> Vec<Option<(Checked, Filter)>> {
    hand.iter()
        .map(|r| {
            r.enabled.then(|| {
                let checked = compiler
                    .check(&r.expression)
                    .unwrap_or_else(|e| panic!("rule `{}` does not check: {e}", r.id));
                let filter = compiler
                    .compile(&r.expression)
                    .unwrap_or_else(|e| panic!("rule `{}` does not compile: {e}", r.id));
                (checked, filter)
            })
        })
        .collect()
}

/// Compares `compiled.evaluate(cx)` with LANGUAGE.md §7 applied by hand to
/// the rules `hand`, each evaluated on its own with `filters` (from
/// [`compile_one_by_one`]) on the VM, cross-checked with the reference
/// evaluator. `describe` says what was fuzzed, for the panic message.
fn check_verdict(
    compiled: &CompiledRuleSet,
    hand: &[HandRule],
    filters: &[Option<(Checked, Filter)>],
    compiler: &Compiler<'_>,
    cx: &Context<'_>,
    describe: &dyn Fn() -> String,
) {
    let matched: Vec<bool> = hand
        .iter()
        .zip(filters)
        .map(|(r, f)| {
            let Some((checked, filter)) = f else {
                return false;
            };
            let m = filter.matches(cx);
            if m != portcullis::test_support::reference_matches(checked, cx, compiler.lists()) {
                panic!(
                    "VM and reference disagree on rule `{}`: {:?}\n{}",
                    r.id,
                    r.expression,
                    describe()
                );
            }
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
        if skipping.contains(&r.id.as_str()) {
            want_skipped.push(r.id.as_str());
            continue;
        }
        if !m {
            continue;
        }
        match r.action {
            Action::Log => want_logged.push(r.id.as_str()),
            Action::Skip => {
                want_logged.push(r.id.as_str());
                skipping.extend(r.skips.iter().map(String::as_str));
            }
            terminal => {
                want_action = Some(terminal);
                want_rule = Some(r.id.as_str());
                break;
            }
        }
    }

    let got = compiled.evaluate(cx);
    // The explanation's verdict, reached without the index, is the same.
    match compiled.explain(cx) {
        Ok(e) => assert_eq!(e.verdict, got, "explain and evaluate disagree\n{e}"),
        Err(e) => panic!("a compiled rule set failed to explain: {e}"),
    }
    let want = (want_action, want_rule, want_logged, want_skipped);
    if (
        got.action,
        got.rule,
        got.logged.clone(),
        got.skipped.clone(),
    ) != want
    {
        let order: Vec<String> = hand
            .iter()
            .zip(&matched)
            .map(|(r, m)| {
                format!(
                    "{}:{}{}{}",
                    r.id,
                    r.action.name(),
                    if r.enabled { "" } else { ":disabled" },
                    if *m { ":matches" } else { "" }
                )
            })
            .collect();
        panic!(
            "rule-set verdict differs from evaluating the rules one by one\n{}\n  rules: {order:?}\n  got:  {got:?}\n  want: (action, rule, logged, skipped) = {want:?}",
            describe()
        );
    }
}

/// Fewest and most rules the `ruleset` target builds from one input.
const RULESET_MIN_RULES: usize = 256;
const RULESET_MAX_RULES: usize = 1000;

/// `text` with `suffix` appended to every string literal (plain `"..."` and
/// raw `r#"..."#`), so copies of one expression test different values: other
/// bytes for the rule-set index to tell apart, other regexes, other
/// replacements. A literal left open is left alone.
pub fn vary_literals(text: &str, suffix: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 8 * suffix.len());
    let (mut i, mut last) = (0, 0);
    while i < b.len() {
        let raw_start = b[i] == b'r'
            && (i == 0
                || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'.'));
        let hashes = if raw_start {
            b[i + 1..].iter().take_while(|&&c| c == b'#').count()
        } else {
            0
        };
        // The position of the closing quote of the literal starting at `i`.
        let close = if raw_start && b.get(i + 1 + hashes) == Some(&b'"') {
            let body = i + 2 + hashes;
            let mut j = body;
            loop {
                match b[j.min(b.len())..].iter().position(|&c| c == b'"') {
                    None => break None,
                    Some(q) => {
                        let q = j + q;
                        if b[q + 1..]
                            .iter()
                            .take(hashes)
                            .filter(|&&c| c == b'#')
                            .count()
                            == hashes
                        {
                            break Some((q, q + 1 + hashes));
                        }
                        j = q + 1;
                    }
                }
            }
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            (j < b.len()).then_some((j, j + 1))
        } else {
            i += 1;
            continue;
        };
        let Some((quote, end)) = close else {
            break;
        };
        out.push_str(&text[last..quote]);
        out.push_str(suffix);
        last = quote;
        i = end;
    }
    out.push_str(&text[last..]);
    out
}

/// The content of the first plain string literal of `text` made of "safe"
/// bytes (letters, digits, `.`, `/`, `-`, `_`), which means the same in
/// JSON and in the expression.
fn first_plain_literal(text: &str) -> Option<&str> {
    let mut parts = text.split('"');
    parts.next()?;
    let lit = parts.next()?;
    parts.next()?;
    lit.bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"./-_".contains(&c))
        .then_some(lit)
}

/// A request every kind of index anchor of the fixed rules can match.
const RULESET_FIXED_REQUEST: &str = r#"{"http.host":"a.com","ssl":true,"ip.src":"10.1.2.3","http.request.method":"POST","http.user_agent":"bot","http.request.uri.path":"/api/v2","tcp.dstport":443}"#;

/// Target `ruleset`: `EXPRS\0REQUEST`, the expressions one a line. Every line
/// that checks becomes a rule, replicated (copy `c` has `c` appended to its
/// string literals) to between 256 and 1000 rules, with actions, disabled
/// rules and skips picked from a hash of the input; the copies that compile
/// on their own form the set. The set must compile (unless its regexes pass
/// `max_rule_set_regex_bytes`) and, on the request, an empty one, a fixed
/// one and one built from a literal of the rules, give the verdict of
/// evaluating its rules one by one per LANGUAGE.md §7.
pub fn ruleset(data: &[u8]) {
    ruleset_rules(data);
}

/// [`ruleset`], returning how many rules the set held (0 when none was built).
pub fn ruleset_rules(data: &[u8]) -> usize {
    let (exprs, request) = split(data);
    let Ok(text) = std::str::from_utf8(exprs) else {
        return 0;
    };
    let env = env();
    let compiler = env.compiler(raised_limits());
    let mut fragments: Vec<&str> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for line in text.lines() {
        let line = line.trim();
        if !line.is_empty() && seen.insert(line) && compiler.check(line).is_ok() {
            fragments.push(line);
        }
    }
    if fragments.is_empty() {
        return 0;
    }
    let h = fnv(data);
    let n = (fragments.len() * 4).clamp(RULESET_MIN_RULES, RULESET_MAX_RULES);
    // Rule k is copy k / F of fragment k % F; a copy that fails to compile
    // on its own (a changed regex or replacement can) is left out.
    let mut hand: Vec<HandRule> = Vec::with_capacity(n);
    let mut filters = Vec::with_capacity(n);
    for k in 0..n {
        let (fragment, copy) = (fragments[k % fragments.len()], k / fragments.len());
        let expression = if copy == 0 {
            fragment.to_string()
        } else {
            vary_literals(fragment, &copy.to_string())
        };
        let r = mix(h, k);
        let enabled = (r >> 40) % 17 != 0;
        if enabled {
            let (Ok(checked), Ok(filter)) =
                (compiler.check(&expression), compiler.compile(&expression))
            else {
                continue;
            };
            filters.push(Some((checked, filter)));
        } else if compiler.check(&expression).is_err() {
            continue;
        } else {
            filters.push(None);
        }
        // Mostly `log` rules, so evaluation goes deep into the set.
        let action = match r % 32 {
            0..=23 => Action::Log,
            24..=29 => Action::Skip,
            _ => ACTIONS[((r >> 5) % 5) as usize],
        };
        hand.push(HandRule {
            id: format!(
                "r{}-{fragment_no}.{copy}",
                hand.len(),
                fragment_no = k % fragments.len()
            ),
            action,
            enabled,
            skips: Vec::new(),
            expression,
        });
    }
    if hand.is_empty() {
        return 0;
    }
    // Skips: a near and a far later rule, sometimes an earlier one (ignored
    // per §7) or the rule itself.
    let len = hand.len();
    for k in 0..len {
        if hand[k].action != Action::Skip {
            continue;
        }
        let r = mix(h ^ 0x5eed, k);
        let mut targets = vec![k + 1 + (r % 4) as usize, k + 1 + ((r >> 8) % 128) as usize];
        match (r >> 16) % 8 {
            0 => targets.push(((r >> 24) as usize) % len),
            1 => targets.push(k),
            _ => {}
        }
        targets.retain(|&t| t < len);
        if targets.is_empty() {
            targets.push(0);
        }
        hand[k].skips = targets.iter().map(|&t| hand[t].id.clone()).collect();
    }

    let compiled = match rule_set_of(&hand).compile(&compiler) {
        Ok(c) => c,
        Err(e) => {
            let over_budget = e.errors().iter().all(|e| {
                e.kind() == ErrorKind::Limit && e.to_string().contains("max_rule_set_regex_bytes")
            });
            assert!(
                over_budget,
                "a rule set of {len} rules that each compile is rejected:\n{e}"
            );
            return 0;
        }
    };
    assert_eq!(compiled.len(), len);

    let mut requests: Vec<String> = vec!["{}".into(), RULESET_FIXED_REQUEST.into()];
    if let Some(r) = request.and_then(|r| std::str::from_utf8(r).ok()) {
        requests.push(r.to_string());
    }
    // A literal of one rule, with the suffix of one of its copies, in the
    // fields rules anchor on most.
    let pick = (h >> 32) as usize % len;
    if let Some(lit) = first_plain_literal(&hand[pick].expression) {
        requests.push(format!(
            r#"{{"http.host":"{lit}","http.user_agent":"{lit}","http.request.uri.path":"{lit}","http.cookie":"{lit}","http.request.method":"{lit}","ssl":true}}"#
        ));
    }
    for request in &requests {
        let Ok(cx) = Context::from_json(&env.schema, request) else {
            continue;
        };
        check_verdict(&compiled, &hand, &filters, &compiler, &cx, &|| {
            format!("  input: {text:?}\n  request: {request}")
        });
    }
    len
}

/// Rules over the derived request fields, for [`request`].
static REQUEST_RULES: LazyLock<CompiledRuleSet> = LazyLock::new(|| {
    let schema = Schema::default_http();
    let rules = [
        r#"starts_with(http.request.uri.path, "/admin")"#,
        r#"http.request.uri.path.extension eq "php" or http.host eq "api.example.com""#,
        r#"any(http.request.uri.args.names[*] == "id") or http.request.full_uri contains "%""#,
        r#"any(http.request.headers.names[*] == "X-A") and http.request.cookies["a"][0] == "1""#,
        r#"http.request.body.form["x"][0] == "1" or lookup_json_string(http.request.body.raw, "x") == "1""#,
        r#"raw.http.request.uri.path contains ".." and http.request.uri contains "?""#,
    ];
    RuleSet {
        rules: rules
            .iter()
            .enumerate()
            .map(|(k, e)| Rule {
                id: format!("r{k}"),
                description: String::new(),
                expression: e.to_string(),
                action: Action::Log,
                action_parameters: ActionParameters::default(),
                enabled: true,
                extra: Default::default(),
            })
            .collect(),
    }
    .compile(&Compiler::new(&schema))
    .expect("the request rules compile")
});

/// Target `request`: any request target, headers and body build a request
/// without panicking; its normalised path is normal (normalising it again
/// changes nothing, and it holds no `//`, `/./`, `/../` or `\`); a request
/// built only for the fields a rule set reads is decided as the whole one;
/// the same bytes as request JSON and as a DER certificate are errors or
/// requests, never panics.
pub fn request(data: &[u8]) {
    use portcullis::{ClientCert, HttpRequest, Val};
    let (target, rest) = split(data);
    let rest = rest.unwrap_or_default();
    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(k) => (&rest[..k], Some(&rest[k + 2..])),
        None => (rest, None),
    };
    let parts = |mut b: portcullis::HttpRequestBuilder| {
        b = b.method("POST").scheme("https").uri(target);
        for line in head.split(|&c| c == b'\n') {
            if let Some(k) = line.iter().position(|&c| c == b':') {
                let name = String::from_utf8_lossy(&line[..k]);
                b = b.header(&name, line[k + 1..].trim_ascii());
            }
        }
        if let Some(body) = body {
            b = b.body(body, "");
        }
        b
    };
    let full = parts(HttpRequest::builder())
        .build()
        .expect("raw parts always build");
    if let Some(Val::Bytes(path)) = full.get_by_name("http.request.uri.path") {
        let path = path.into_owned();
        if path.first() == Some(&b'/') {
            for bad in [&b"//"[..], b"/./", b"/../", b"\\"] {
                assert!(
                    !path.windows(bad.len()).any(|w| w == bad),
                    "the normalised path {:?} holds {:?}",
                    String::from_utf8_lossy(&path),
                    String::from_utf8_lossy(bad)
                );
            }
            let again = HttpRequest::builder()
                .uri(&path)
                .build()
                .expect("a path builds");
            assert_eq!(
                again.get_by_name("http.request.uri.path"),
                Some(Val::Bytes(path.as_slice().into())),
                "normalising twice changed the path"
            );
        }
    }
    let set = &*REQUEST_RULES;
    let only = parts(HttpRequest::builder().only(set.fields()))
        .build()
        .expect("raw parts always build");
    assert_eq!(
        set.evaluate(&full),
        set.evaluate(&only),
        "only() changed a verdict"
    );
    let _ = HttpRequest::from_json(&String::from_utf8_lossy(data));
    let _ = ClientCert::from_der_chain(&[data], &[]);
}
