//! Rule sets and verdicts (LANGUAGE.md §7).
//!
//! A [`RuleSet`] is loaded from JSON (the shape of the public rule-set APIs)
//! or TOML, compiled at once into a [`CompiledRuleSet`] (every bad rule is
//! reported, not only the first), and evaluated per request into a
//! [`Verdict`]. A [`RuleSetHandle`] lets a service swap rule sets while
//! requests are being evaluated.

mod explain;
mod file;
mod index;
mod intern;
mod read_once;
mod shared;

use crate::context::Request;
use crate::error::Error;
use crate::filter::{Compiler, Filter, SourceText};
use crate::swap::Swap;
use crate::types::FieldId;
pub use explain::{Fate, RuleSetExplanation, RuleTrace, Stop};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// What a matching rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Deny the request (terminates).
    Block,
    /// Interactive challenge (terminates).
    Challenge,
    /// JavaScript challenge (terminates).
    JsChallenge,
    /// Managed challenge (terminates).
    ManagedChallenge,
    /// Let the request through, skipping the remaining rules (terminates).
    Allow,
    /// Record the match and go on.
    Log,
    /// Skip the rules named in `action_parameters.rules` and go on.
    Skip,
}

impl Action {
    /// Whether the action ends evaluation.
    pub fn terminates(self) -> bool {
        !matches!(self, Action::Log | Action::Skip)
    }

    /// The action's name, as in rule files.
    pub fn name(self) -> &'static str {
        match self {
            Action::Block => "block",
            Action::Challenge => "challenge",
            Action::JsChallenge => "js_challenge",
            Action::ManagedChallenge => "managed_challenge",
            Action::Allow => "allow",
            Action::Log => "log",
            Action::Skip => "skip",
        }
    }
}

impl fmt::Display for Action {
    /// The action's name, as in rule files (`block`, `js_challenge`...).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parameters of an action: for `skip`, what it skips; any other
/// parameter (a block's custom `response`...) is kept, not acted on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ActionParameters {
    /// Rule ids of this set a `skip` rule skips.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// `Some("current")`: a `skip` rule skips the rest of this set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ruleset: Option<String>,
    /// Phases a `skip` rule skips (recorded in the verdict).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<String>,
    /// Products a `skip` rule skips (recorded in the verdict).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<String>,
    /// Every other parameter, as written.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// One rule: an expression, an action and its metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Unique id within the set.
    pub id: String,
    /// Free text for people.
    pub description: String,
    /// The expression.
    pub expression: String,
    /// What happens on a match.
    pub action: Action,
    /// Action parameters.
    pub action_parameters: ActionParameters,
    /// Disabled rules are not evaluated.
    pub enabled: bool,
    /// Keys of the public APIs the engine keeps without acting on them
    /// (`ref`, `version`, `last_updated`, `logging`), as written.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// An ordered list of rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleSet {
    /// The rules, in evaluation order.
    pub rules: Vec<Rule>,
}

/// Every problem found while reading or compiling a rule set.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
pub struct RuleSetError {
    /// `(rule id, rendered diagnostic)`, in rule order.
    pub problems: Vec<(String, String)>,
    /// The problems as errors, in the same order.
    errors: Vec<Error>,
    /// The rules of a file that was read that have an id, an expression and an action.
    readable: Option<Box<RuleSet>>,
}

impl RuleSetError {
    /// Each problem as an [`Error`] (for its [`kind`](Error::kind)), in the
    /// order of [`problems`](RuleSetError::problems).
    pub fn errors(&self) -> &[Error] {
        &self.errors
    }

    /// When a rule file could be read as a whole, the rules in it that have
    /// an id, an expression and an action: a checker compiles them too, to
    /// report every problem at once.
    pub fn readable(&self) -> Option<&RuleSet> {
        self.readable.as_deref()
    }

    /// Records a problem of rule `id`, rendered against its `source`.
    fn push(&mut self, id: String, error: Error, source: &str) {
        self.problems.push((id, error.render(source)));
        self.errors.push(error);
    }

    /// Records a configuration problem of rule `id`.
    fn config(&mut self, id: String, message: String) {
        self.problems
            .push((id, format!("error[config]: {message}")));
        self.errors.push(Error::config(message));
    }
}

impl fmt::Display for RuleSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} rule(s) rejected:", self.problems.len())?;
        for (id, msg) in &self.problems {
            writeln!(f, "rule `{id}`: {}", msg.trim_end())?;
        }
        Ok(())
    }
}

impl RuleSet {
    /// Loads a JSON rule file: `{"rules": [...]}`, a ruleset object
    /// (`name`, `phase`, `rules`...) or an API response (`{"result":
    /// {...}}`). An unknown key is an error suggesting the closest known
    /// one; every problem is reported at once, with its rule's id and its
    /// line and column (`docs/rules.md`).
    pub fn from_json(text: &str) -> Result<RuleSet, RuleSetError> {
        file::from_json(text)
    }

    /// Loads a TOML rule file (`[[rules]]` tables; the same keys and shapes
    /// as JSON). Needs the `toml` feature (on by default).
    #[cfg(feature = "toml")]
    pub fn from_toml(text: &str) -> Result<RuleSet, RuleSetError> {
        file::from_toml(text)
    }

    /// Loads by file name: `.toml` is TOML, anything else JSON.
    pub fn load(path: &str, text: &str) -> Result<RuleSet, RuleSetError> {
        if path.ends_with(".toml") {
            #[cfg(feature = "toml")]
            return RuleSet::from_toml(text);
            #[cfg(not(feature = "toml"))]
            {
                let mut e = RuleSetError::default();
                e.config(
                    String::new(),
                    "rule set TOML: this build has no TOML support (enable the `toml` feature)"
                        .into(),
                );
                return Err(e);
            }
        } else {
            RuleSet::from_json(text)
        }
    }

    /// Compiles every enabled rule; reports every bad rule, duplicate id and
    /// skip of an unknown rule at once.
    pub fn compile(&self, compiler: &Compiler<'_>) -> Result<CompiledRuleSet, RuleSetError> {
        let mut problems = RuleSetError::default();
        let mut index: HashMap<&str, usize, crate::hash::FastHash> =
            HashMap::with_capacity_and_hasher(self.rules.len(), Default::default());
        for (k, r) in self.rules.iter().enumerate() {
            if r.id.is_empty() {
                problems.config(format!("#{k}"), "a rule needs a non-empty id".into());
            } else if index.insert(&r.id, k).is_some() {
                problems.config(r.id.clone(), "duplicate rule id".into());
            }
        }
        let mut rules = Vec::with_capacity(self.rules.len());
        let mut anchors = index::AnchorOptions::with_capacity(self.rules.len());
        // Every rule's text, in one shared string its filter points into;
        // every rule's id, likewise.
        let mut texts = Joined::new(self.rules.iter().map(|r| r.expression.as_str()));
        let mut ids = Joined::new(self.rules.iter().map(|r| r.id.as_str()));
        for r in &self.rules {
            let text = texts.next(r.expression.len());
            let id = ids.next(r.id.len());
            let params = &r.action_parameters;
            let mut skips = Vec::new();
            for target in &params.rules {
                match index.get(target.as_str()) {
                    Some(&k) => skips.push(k),
                    None => {
                        problems.config(r.id.clone(), format!("skip names unknown rule `{target}`"))
                    }
                }
            }
            if params.ruleset.as_deref() == Some("current") {
                // The rest of this set: every rule after this one.
                let here = index
                    .get(r.id.as_str())
                    .copied()
                    .unwrap_or(self.rules.len());
                skips.extend(here + 1..self.rules.len());
            }
            skips.sort_unstable();
            skips.dedup();
            let names_something = !params.rules.is_empty()
                || params.ruleset.is_some()
                || !params.phases.is_empty()
                || !params.products.is_empty();
            if r.action == Action::Skip && !names_something {
                problems.config(
                    r.id.clone(),
                    "a skip rule must say what it skips in action_parameters: `ruleset`, `rules`, `phases` or `products`".into(),
                );
            }
            if r.action != Action::Skip && names_something {
                problems.config(
                    r.id.clone(),
                    format!(
                        "only skip rules take action_parameters `ruleset`, `rules`, `phases` or `products`; this one is `{}`",
                        r.action.name()
                    ),
                );
            }
            if !r.enabled {
                rules.push(None);
                anchors.push_disabled();
                continue;
            }
            // (A rule that fails leaves the anchors out of step with the
            // rules, but then the set is not built.)
            let mut root = crate::check::Node::Const(false);
            let compiled = compiler
                .check_only(&r.expression, &mut root)
                .and_then(|()| {
                    crate::compile::optimize::optimize_in_place(&mut root);
                    anchors.push_rule(&root);
                    compiler.compile_owned(root, text)
                });
            match compiled {
                Ok(filter) => {
                    rules.push(Some(CompiledRule {
                        id,
                        action: r.action,
                        filter,
                        skips,
                        skips_phases: params.phases.clone().into_boxed_slice(),
                        skips_products: params.products.clone().into_boxed_slice(),
                        shared: 0..0,
                    }));
                }
                Err(e) => {
                    problems.push(r.id.clone(), e, &r.expression);
                    rules.push(None);
                }
            }
        }
        if !problems.problems.is_empty() {
            return Err(problems);
        }
        let mut own: Vec<&mut crate::program::Program> = rules
            .iter_mut()
            .flatten()
            .filter_map(|r| r.filter.program_mut())
            .collect();
        intern::intern(&mut own);
        let programs: Vec<Option<&crate::program::Program>> = rules
            .iter()
            .map(|r| r.as_ref().map(|r| r.filter.program()))
            .collect();
        let budget = compiler.limits().max_rule_set_regex_bytes;
        let (mut index, regex_anchors) = match index::RuleIndex::build(anchors, budget) {
            Ok(built) => built,
            Err(over) => {
                let r = &self.rules[over.rule];
                let error = Error::limit(
                    crate::error::Stage::Compile,
                    format!(
                        "the rule set's regexes compile to more than {budget} bytes: {} with this rule's (raise `max_rule_set_regex_bytes` in the settings)",
                        over.total
                    ),
                    crate::types::Span::new(0, r.expression.len()),
                );
                problems.push(r.id.clone(), error, &r.expression);
                return Err(problems);
            }
        };
        let shared = shared::share(&programs, &regex_anchors);
        index.set_regex_ids(&shared.anchor_ids);
        let slots = read_once::FieldSlots::assign(&programs);
        let mut fields: Vec<FieldId> = programs
            .iter()
            .flatten()
            .flat_map(|p| p.fields().iter().copied())
            .collect();
        fields.sort_unstable();
        fields.dedup();
        let list_tests: usize = programs.iter().flatten().map(|p| p.list_tests).sum();
        let pins_lists =
            list_tests > 1 || programs.iter().flatten().any(|p| p.may_read_lists_twice());
        for (rule, span) in rules.iter_mut().zip(shared.spans) {
            if let Some(rule) = rule {
                rule.shared = span;
            }
        }
        Ok(CompiledRuleSet {
            rules,
            index,
            shared_count: shared.count,
            shared_ids: shared.ids,
            slots,
            pins_lists,
            fields: fields.into_boxed_slice(),
        })
    }
}

/// Strings stored back to back in one shared string, handed out in order.
struct Joined {
    text: Arc<str>,
    at: usize,
}

impl Joined {
    fn new<'a>(parts: impl Iterator<Item = &'a str> + Clone) -> Self {
        let mut text = String::with_capacity(parts.clone().map(str::len).sum());
        parts.for_each(|p| text.push_str(p));
        Joined {
            text: text.into(),
            at: 0,
        }
    }

    /// The next string, `len` bytes long.
    fn next(&mut self, len: usize) -> SourceText {
        let part = SourceText::part(&self.text, self.at..self.at + len);
        self.at += len;
        part
    }
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Its id: a range of one string all the set's ids share.
    id: SourceText,
    /// Its action.
    pub action: Action,
    /// Its compiled expression.
    pub filter: Filter,
    /// Positions (in the set) of the rules it skips.
    pub skips: Vec<usize>,
    /// Phases a skip rule skips (the verdict records them).
    skips_phases: Box<[String]>,
    /// Products a skip rule skips (the verdict records them).
    skips_products: Box<[String]>,
    /// The set-wide id of each branch's test, for tests other rules share.
    shared: std::ops::Range<u32>,
}

impl CompiledRule {
    /// Its id.
    pub fn id(&self) -> &str {
        self.id.as_str()
    }
}

/// A compiled rule set: `Send + Sync`, evaluated per request.
#[derive(Debug, Clone)]
pub struct CompiledRuleSet {
    /// One slot per rule of the source set; `None` for disabled rules.
    rules: Vec<Option<CompiledRule>>,
    /// Which rules can match a request, found per field rather than per rule.
    index: index::RuleIndex,
    /// How many tests rules share (see [`shared`]).
    shared_count: usize,
    /// Each rule's branches' shared ids, rule after rule (`CompiledRule::shared`
    /// says where a rule's are).
    shared_ids: Vec<u32>,
    /// Memo slots of the fields the rules read (see [`read_once`]).
    slots: read_once::FieldSlots,
    /// An evaluation may look lists up more than once: it pins their
    /// snapshot, to read one version of each.
    pins_lists: bool,
    /// Every field a rule reads, sorted, each once.
    fields: Box<[FieldId]>,
}

/// The outcome of evaluating a rule set. Serializes (and displays) as
/// `{"action":"block","rule":"mtls","logged":[],"skipped":[]}`, with a
/// `null` action and rule when no terminating rule matched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verdict<'r> {
    /// The terminating action that fired, if any.
    pub action: Option<Action>,
    /// The id of the rule that fired it.
    pub rule: Option<&'r str>,
    /// Matching non-terminating rules (`log`, `skip`), in order.
    pub logged: Vec<&'r str>,
    /// Rules that were skipped by a `skip` rule.
    pub skipped: Vec<&'r str>,
    /// Phases a matching `skip` rule skips (not in the JSON when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_phases: Vec<&'r str>,
    /// Products a matching `skip` rule skips (not in the JSON when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_products: Vec<&'r str>,
}

impl Verdict<'_> {
    /// `{"action": ..., "rule": ..., "logged": [...], "skipped": [...]}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl fmt::Display for Verdict<'_> {
    /// The verdict as one line of JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&serde_json::to_string(self).map_err(|_| fmt::Error)?)
    }
}

impl CompiledRuleSet {
    /// The shared id of each of `rule`'s branches (empty when it has none).
    fn shared_ids(&self, rule: &CompiledRule) -> &[u32] {
        let span = rule.shared.start as usize..rule.shared.end as usize;
        self.shared_ids.get(span).unwrap_or_default()
    }

    /// Evaluates the rules in order against `request`: the index names the
    /// candidates, which are evaluated in rule order; a test several rules
    /// share is evaluated once, and a request that computes its fields on
    /// demand (not [`Request::precomputed`]) has each field read once, through
    /// a memo on the stack. No allocation unless a
    /// rule logs or skips (the verdict lists them) or the set has more than
    /// 2,048 rules.
    pub fn evaluate<R: Request + ?Sized>(&self, request: &R) -> Verdict<'_> {
        if self.pins_lists {
            return self.evaluate_pinned(request);
        }
        self.evaluate_any(request)
    }

    /// [`CompiledRuleSet::evaluate`] with one version of every list for the
    /// whole set: out of line, off the common path.
    #[inline(never)]
    fn evaluate_pinned<R: Request + ?Sized>(&self, request: &R) -> Verdict<'_> {
        crate::lists::pinned(|| self.evaluate_any(request))
    }

    fn evaluate_any<R: Request + ?Sized>(&self, request: &R) -> Verdict<'_> {
        if request.precomputed() {
            self.evaluate_reading(request)
        } else {
            // Each field computed once, however many rules read it.
            self.evaluate_reading(&read_once::ReadOnce::new(request, &self.slots))
        }
    }

    fn evaluate_reading<R: Request + ?Sized>(&self, request: &R) -> Verdict<'_> {
        const STACK_WORDS: usize = 32;
        let words = self.index.len().div_ceil(64);
        let (mut cand_stack, mut skip_stack) = ([0u64; STACK_WORDS], [0u64; STACK_WORDS]);
        let (mut cand_heap, mut skip_heap);
        let (cand, skip): (&mut [u64], &mut [u64]) = if words <= STACK_WORDS {
            (&mut cand_stack[..words], &mut skip_stack[..words])
        } else {
            cand_heap = vec![0u64; words];
            skip_heap = vec![0u64; words];
            (&mut cand_heap, &mut skip_heap)
        };
        const SHARED_WORDS: usize = shared::MAX_SHARED / 64;
        let shared_words = self.shared_count.div_ceil(64).min(SHARED_WORDS);
        let (mut known, mut value) = ([0u64; SHARED_WORDS], [0u64; SHARED_WORDS]);
        let mut tests = crate::vm::SharedTests {
            known: &mut known[..shared_words],
            value: &mut value[..shared_words],
        };
        self.index.candidates(request, cand, &mut tests);
        // A JSON body is parsed once for the whole set, however many rules
        // look into it.
        let mut json = crate::vm::JsonCache::default();
        let mut verdict = Verdict::default();
        for w in 0..words {
            // Bits set while scanning this word (by a skip) are seen too.
            while cand[w] != 0 {
                let bit = cand[w].trailing_zeros() as usize;
                cand[w] &= cand[w] - 1;
                let k = w * 64 + bit;
                let Some(Some(rule)) = self.rules.get(k) else {
                    continue;
                };
                if skip[w] & (1 << bit) != 0 {
                    verdict.skipped.push(rule.id());
                    continue;
                }
                let program = rule.filter.program();
                if !crate::vm::execute_shared(
                    program,
                    request,
                    self.shared_ids(rule),
                    &mut tests,
                    &mut json,
                ) {
                    continue;
                }
                match rule.action {
                    Action::Log => verdict.logged.push(rule.id()),
                    Action::Skip => {
                        verdict.record_skip(rule);
                        // Skipped rules are visited (to be reported) even when
                        // the index did not name them; earlier ones are past.
                        for &t in &rule.skips {
                            if t > k && t / 64 < words {
                                skip[t / 64] |= 1 << (t % 64);
                                cand[t / 64] |= 1 << (t % 64);
                            }
                        }
                    }
                    terminal => {
                        verdict.action = Some(terminal);
                        verdict.rule = Some(rule.id());
                        return verdict;
                    }
                }
            }
        }
        verdict
    }

    /// The index's candidates for `request`, one bit per rule (for explanations).
    fn candidate_bits<R: Request + ?Sized>(&self, request: &R) -> Vec<u64> {
        let mut cand = vec![0u64; self.index.len().div_ceil(64)];
        const SHARED_WORDS: usize = shared::MAX_SHARED / 64;
        let shared_words = self.shared_count.div_ceil(64).min(SHARED_WORDS);
        let (mut known, mut value) = ([0u64; SHARED_WORDS], [0u64; SHARED_WORDS]);
        let mut tests = crate::vm::SharedTests {
            known: &mut known[..shared_words],
            value: &mut value[..shared_words],
        };
        self.index.candidates(request, &mut cand, &mut tests);
        cand
    }

    /// Number of rules (enabled or not).
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when the set has no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Every field the enabled rules read (sorted, each once): a host may
    /// compute only these ([`HttpRequestBuilder::only`](crate::HttpRequestBuilder::only)).
    pub fn fields(&self) -> &[FieldId] {
        &self.fields
    }
}

/// A shared, swappable compiled rule set: readers take the current one,
/// writers replace it whole; a reader never sees a half-built set. It may
/// also hold a shadow set, a candidate evaluated beside the live one on
/// every request ([`RuleSetHandle::evaluate_shadowed`]) so a service can log
/// where the two disagree before switching.
#[derive(Debug, Clone)]
pub struct RuleSetHandle {
    current: Swap<CompiledRuleSet>,
    shadow: Swap<Option<Arc<CompiledRuleSet>>>,
}

impl RuleSetHandle {
    /// A handle holding `set`, with no shadow.
    pub fn new(set: CompiledRuleSet) -> Self {
        RuleSetHandle {
            current: Swap::new(set),
            shadow: Swap::new(None),
        }
    }

    /// The current rule set (an `Arc`, so a reload does not disturb evaluations in flight).
    pub fn load(&self) -> Arc<CompiledRuleSet> {
        self.current.load()
    }

    /// Replaces the rule set. Evaluations in flight finish on the old one;
    /// this call frees it once they have (waiting at most 200 ms), so that
    /// no request pays for freeing a large set.
    pub fn store(&self, set: CompiledRuleSet) {
        self.current.store(set)
    }

    /// Sets (or, with `None`, removes) the shadow set.
    pub fn store_shadow(&self, set: Option<CompiledRuleSet>) {
        self.shadow.store(set.map(Arc::new))
    }

    /// The shadow set, if one is held (an `Arc`, as [`RuleSetHandle::load`]).
    pub fn load_shadow(&self) -> Option<Arc<CompiledRuleSet>> {
        self.shadow.with(Option::clone)
    }

    /// Whether a shadow set is held.
    pub fn has_shadow(&self) -> bool {
        self.shadow.with(Option::is_some)
    }

    /// Evaluates the live set, and the shadow set when there is one, on
    /// `request`, and hands both verdicts to `f` (the live one decides; the
    /// shadow's is for comparing, e.g. with [`Verdict::same_decision`]).
    /// Each set is one version for the whole call.
    pub fn evaluate_shadowed<R: Request + ?Sized, T>(
        &self,
        request: &R,
        f: impl FnOnce(&Verdict<'_>, Option<&Verdict<'_>>) -> T,
    ) -> T {
        let live = self.current.load();
        let verdict = live.evaluate(request);
        self.shadow.with(|shadow| match shadow {
            Some(candidate) => f(&verdict, Some(&candidate.evaluate(request))),
            None => f(&verdict, None),
        })
    }
}

impl<'r> Verdict<'r> {
    /// Records a matching `skip` rule: logged, with the phases and products
    /// it skips (the rules it skips are the caller's to mark).
    fn record_skip(&mut self, rule: &'r CompiledRule) {
        self.logged.push(rule.id());
        self.skipped_phases
            .extend(rule.skips_phases.iter().map(String::as_str));
        self.skipped_products
            .extend(rule.skips_products.iter().map(String::as_str));
    }

    /// Whether `other` decides the same: the same action by the same rule
    /// (what a shadow comparison counts as a change).
    pub fn same_decision(&self, other: &Verdict<'_>) -> bool {
        self.action == other.action && self.rule == other.rule
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Schema;

    /// An enabled `block` rule, for the tests of this module and its stages.
    pub(crate) fn block(id: &str, expression: &str) -> Rule {
        Rule {
            id: id.into(),
            description: String::new(),
            expression: expression.into(),
            action: Action::Block,
            action_parameters: ActionParameters::default(),
            enabled: true,
            extra: Default::default(),
        }
    }

    /// However many rules look into a JSON body, a request parses it once.
    #[test]
    fn a_json_body_is_parsed_once_per_rule_set_evaluation() {
        let rules: Vec<Rule> = (0..20)
            .map(|k| {
                block(
                    &format!("r{k}"),
                    &format!(
                        r#"lookup_json_string(http.request.body.raw, "user", "name") == "n{k}" or lookup_json_integer(http.request.body.raw, "n") == {k}"#
                    ),
                )
            })
            .collect();
        let schema = Schema::default_http();
        let set = RuleSet { rules }
            .compile(&Compiler::new(&schema))
            .expect("compiles");
        let req = crate::HttpRequest::builder()
            .method("POST")
            .body(br#"{"user": {"name": "n17"}, "n": 99}"#, "application/json")
            .build()
            .expect("request");
        let before = crate::vm::JSON_PARSES.with(|n| n.get());
        let verdict = set.evaluate(&req);
        let parses = crate::vm::JSON_PARSES.with(|n| n.get()) - before;
        assert_eq!(verdict.rule, Some("r17"));
        assert_eq!(parses, 1, "rules 0..=17 all read the body");
    }

    /// The rules' texts share one string, and so do their ids: each rule
    /// still reads back exactly its own, past disabled rules and multi-byte
    /// text.
    #[test]
    fn every_rule_reads_back_its_own_text_and_id() {
        let set = RuleSet {
            rules: vec![
                block("a", r#"http.host == "é.example""#),
                Rule {
                    enabled: false,
                    ..block("b-ß", r#"http.host == "skipped""#)
                },
                block("c-日本", "ip.src in {10.0.0.0/8}"),
                block("d", r#"http.user_agent contains "ü""#),
            ],
        };
        let schema = Schema::default_http();
        let compiled = set.compile(&Compiler::new(&schema)).expect("compiles");
        for (source, compiled) in set.rules.iter().zip(&compiled.rules) {
            match compiled {
                Some(c) => {
                    assert_eq!(c.filter.source(), source.expression);
                    assert_eq!(c.id(), source.id);
                }
                None => assert!(!source.enabled),
            }
        }
    }
}
