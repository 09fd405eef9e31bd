//! `PortcullisRuleSet`: a compiled rule set and its verdicts.

use crate::error::{ErrorOut, Fail, PortcullisError, PortcullisStatus, run, run_status};
use crate::filter::compiler;
use crate::lists::PortcullisLists;
use crate::object::{Kind, Out, borrow, free, text};
use crate::out_string;
use crate::request::{PortcullisRequest, RequestObject};
use crate::schema::{PortcullisSchema, mismatch, same_fields};
use portcullis::{Action, CompiledRuleSet, RuleSet, RuleSetError, Schema};
use std::ffi::c_char;
use std::sync::Arc;

/// `format` of `portcullis_ruleset_compile`: `{"rules": [{"id", "expression", "action", ...}]}`.
pub const PORTCULLIS_RULESET_JSON: u32 = 0;
/// `format` of `portcullis_ruleset_compile`: the same rules as TOML `[[rules]]` tables.
pub const PORTCULLIS_RULESET_TOML: u32 = 1;

/// A compiled rule set (opaque). Immutable: any number of threads may
/// evaluate one at once. To reload rules, compile a new set and free the
/// old one once no evaluation in flight uses it.
pub struct PortcullisRuleSet {
    _opaque: [u8; 0],
}

/// What a `PortcullisRuleSet` holds.
pub(crate) struct RuleSetObject {
    pub(crate) set: CompiledRuleSet,
    pub(crate) schema: Arc<Schema>,
}

impl Kind for RuleSetObject {
    const TAG: u64 = 0x7063_5f72_756c_6573; // "pc_rules"
    const NAME: &'static str = "PortcullisRuleSet";
}

/// The terminating action of a verdict.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortcullisAction {
    /// No terminating rule matched.
    None = 0,
    /// `block`.
    Block = 1,
    /// `challenge`.
    Challenge = 2,
    /// `js_challenge`.
    JsChallenge = 3,
    /// `managed_challenge`.
    ManagedChallenge = 4,
    /// `allow`.
    Allow = 5,
}

/// A rule set's verdict, written into the caller's struct (nothing to free).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PortcullisVerdict {
    /// The terminating action that fired, or `PORTCULLIS_ACTION_NONE`.
    pub action: PortcullisAction,
    /// The id of the rule that fired it: borrowed from the rule set (valid
    /// while it lives), `rule_len` bytes, not NUL-terminated; NULL when none
    /// (`printf("%.*s", (int)v.rule_len, v.rule)`).
    pub rule: *const c_char,
    /// The length of `rule` in bytes.
    pub rule_len: usize,
    /// How many non-terminating rules (`log`, `skip`) matched
    /// (`portcullis_ruleset_evaluate_json` names them).
    pub logged: usize,
    /// How many rules a `skip` rule skipped.
    pub skipped: usize,
}

/// Compiles a rule set from `text` in `format` (`PORTCULLIS_RULESET_JSON` or
/// `PORTCULLIS_RULESET_TOML`) against `schema`, reading `lists` (or NULL). Every bad
/// rule is reported: the error's `next` chain has one error per problem,
/// each with its `rule_id` and position in that rule's expression.
///
/// # Safety
/// `schema` and `lists` are NULL or live; `text` points at `text_len`
/// readable bytes (or is NULL with 0); `out_ruleset` and `error` are NULL
/// or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_ruleset_compile(
    schema: *const PortcullisSchema,
    lists: *const PortcullisLists,
    text_: *const c_char,
    text_len: usize,
    format: u32,
    out_ruleset: *mut *mut PortcullisRuleSet,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promises about `out_ruleset` and `error`.
    let (out, error) = unsafe {
        (
            Out::object(out_ruleset, "out_ruleset"),
            ErrorOut::new(error),
        )
    };
    run(error, || {
        out.check()?;
        // SAFETY: the caller's promises about each argument.
        let ((compiler, schema), source) =
            unsafe { (compiler(schema, lists)?, text(text_, text_len, "text")?) };
        let rules = match format {
            PORTCULLIS_RULESET_JSON => RuleSet::from_json(source),
            PORTCULLIS_RULESET_TOML => RuleSet::from_toml(source),
            other => {
                return Err(Fail::new(
                    PortcullisStatus::InvalidArgument,
                    format!(
                        "format {other} is neither PORTCULLIS_RULESET_JSON (0) nor PORTCULLIS_RULESET_TOML (1)"
                    ),
                ));
            }
        }
        // A problem of the file: its span is in the file's text.
        .map_err(|e| problems(&e, |_| source))?;
        // A problem of a rule's expression: its span is in that expression.
        let set = rules.compile(&compiler).map_err(|e| {
            problems(&e, |id| {
                rules
                    .rules
                    .iter()
                    .find(|r| r.id == id)
                    .map_or("", |r| r.expression.as_str())
            })
        })?;
        out.set_object(RuleSetObject {
            set,
            schema: schema.clone(),
        })
    })
}

/// Every problem of `e`, each located in the text `source_of` its rule id
/// names (the file, or the rule's expression).
fn problems<'a>(e: &'a RuleSetError, source_of: impl Fn(&str) -> &'a str) -> Fail {
    Fail::rules(
        e.problems
            .iter()
            .zip(e.errors())
            .map(|((id, _), err)| (id.as_str(), err, source_of(id))),
    )
}

/// Borrows the rule set and request and checks they fit together.
///
/// # Safety
/// `ruleset` and `request` are NULL or live.
unsafe fn pair<'a>(
    ruleset: *const PortcullisRuleSet,
    request: *const PortcullisRequest,
) -> Result<(&'a RuleSetObject, &'a RequestObject), Fail> {
    // SAFETY: the caller's promises.
    let (s, r) = unsafe {
        (
            borrow::<RuleSetObject, _>(ruleset, "ruleset")?,
            borrow::<RequestObject, _>(request, "request")?,
        )
    };
    if !same_fields(&s.schema, r.schema()) {
        return Err(mismatch("the rule set and the request"));
    }
    Ok((s, r))
}

/// Evaluates `ruleset` on `request` into `*out_verdict`. No allocation
/// unless a rule logs or skips.
///
/// # Safety
/// `ruleset` and `request` are NULL or live; `out_verdict` is NULL or
/// writable for a `PortcullisVerdict`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_ruleset_evaluate(
    ruleset: *const PortcullisRuleSet,
    request: *const PortcullisRequest,
    out_verdict: *mut PortcullisVerdict,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `out_verdict`.
    let out = unsafe { Out::new(out_verdict, "out_verdict") };
    run_status(|| {
        // SAFETY: the caller's promises about `ruleset` and `request`.
        let (s, r) = unsafe { pair(ruleset, request) }?;
        let v = r.evaluate(&s.set);
        let action = match v.action {
            None | Some(Action::Log | Action::Skip) => PortcullisAction::None,
            Some(Action::Block) => PortcullisAction::Block,
            Some(Action::Challenge) => PortcullisAction::Challenge,
            Some(Action::JsChallenge) => PortcullisAction::JsChallenge,
            Some(Action::ManagedChallenge) => PortcullisAction::ManagedChallenge,
            Some(Action::Allow) => PortcullisAction::Allow,
        };
        out.set(PortcullisVerdict {
            action,
            rule: v.rule.map_or(std::ptr::null(), |r| r.as_ptr().cast()),
            rule_len: v.rule.map_or(0, str::len),
            logged: v.logged.len(),
            skipped: v.skipped.len(),
        })
    })
}

/// Evaluates `ruleset` on `request` into a JSON line in `*out_json`
/// (`{"action":"block","rule":"mtls","logged":["log-api"],"skipped":[]}`,
/// with `null` action and rule when no terminating rule matched), freed
/// with `portcullis_string_free`.
///
/// # Safety
/// `ruleset` and `request` are NULL or live; `out_json` is NULL or
/// writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_ruleset_evaluate_json(
    ruleset: *const PortcullisRuleSet,
    request: *const PortcullisRequest,
    out_json: *mut *mut c_char,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `out_json`.
    let out = unsafe { Out::object(out_json, "out_json") };
    run_status(|| {
        out.check()?;
        // SAFETY: the caller's promises about `ruleset` and `request`.
        let (s, r) = unsafe { pair(ruleset, request) }?;
        out.set(out_string(r.evaluate(&s.set).to_string()))
    })
}

/// The number of rules in `ruleset` (enabled or not), in `*out_len`.
///
/// # Safety
/// `ruleset` is NULL or live; `out_len` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_ruleset_len(
    ruleset: *const PortcullisRuleSet,
    out_len: *mut usize,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `out_len`.
    let out = unsafe { Out::new(out_len, "out_len") };
    run_status(|| {
        // SAFETY: the caller's promise about `ruleset`.
        let s = unsafe { borrow::<RuleSetObject, _>(ruleset, "ruleset") }?;
        out.set(s.set.len())
    })
}

/// Frees a rule set (NULL is a no-op); rule ids borrowed from its verdicts
/// become invalid.
///
/// # Safety
/// `ruleset` is NULL or live, and no call in flight uses it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_ruleset_free(ruleset: *mut PortcullisRuleSet) {
    // SAFETY: the caller's promise.
    unsafe { free::<RuleSetObject, _>(ruleset) }
}
