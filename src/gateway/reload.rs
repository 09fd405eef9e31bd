//! The rules in force, and their reloads: on SIGHUP and when a file's
//! content changes. A bad file is rejected with every error logged, and
//! the rules in force keep serving.
//!
//! Every request is decided by one version: a new rule set is swapped in
//! whole through the [`RuleSetHandle`] (an evaluation keeps the set it
//! loaded), and a change of the lists file alone, with the same lists and
//! element types, replaces their contents through the rule set's [`Lists`]
//! (one snapshot of every list per evaluation). Any other change compiles
//! a new set with a new `Lists` and swaps that.

use super::config::RulesConfig;
use super::metrics::Metrics;
use crate::error::Error;
use crate::filter::{Compiler, declare_lists};
use crate::limits::Limits;
use crate::lists::Lists;
use crate::rules::{CompiledRuleSet, RuleSet, RuleSetError, RuleSetHandle};
use crate::schema::Schema;
use crate::types::{FieldId, Type};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A lists file: name to items.
type ListsFile = BTreeMap<String, Vec<serde_json::Value>>;

/// What a file held when it was last read: its length and a hash.
type Stamp = Option<(usize, u64)>;

/// The version in force, as loaded.
struct Loaded {
    rules_stamp: Stamp,
    lists_stamp: Stamp,
    shadow_stamp: Stamp,
    /// The rule set's source (and the shadow's), for type inference of
    /// lists on a lists-only change.
    source: RuleSet,
    shadow: Option<RuleSet>,
    /// The element type of each list the lists file declared.
    declared: BTreeMap<String, Type>,
    lists: Lists,
}

/// The rules in force and what reloads them.
pub(crate) struct Rules {
    /// The compiled set every request loads.
    pub handle: RuleSetHandle,
    files: RulesConfig,
    loaded: Mutex<Loaded>,
    metrics: Arc<Metrics>,
}

/// The body fields of the default catalogue: when a rule reads one, the
/// gateway reads (a bounded prefix of) the body.
const BODY_FIELDS: [FieldId; 7] = [
    const { crate::catalogue::id("http.request.body.raw") },
    const { crate::catalogue::id("http.request.body.size") },
    const { crate::catalogue::id("http.request.body.truncated") },
    const { crate::catalogue::id("http.request.body.mime") },
    const { crate::catalogue::id("http.request.body.form") },
    const { crate::catalogue::id("http.request.body.form.names") },
    const { crate::catalogue::id("http.request.body.form.values") },
];

/// Whether any rule of `set` reads a body field.
pub(crate) fn reads_body(set: &CompiledRuleSet) -> bool {
    set.fields().iter().any(|f| BODY_FIELDS.contains(f))
}

fn read(path: &Path) -> Result<(String, Stamp), Vec<String>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| vec![format!("{}: {e}", path.display())])?;
    Ok((text.clone(), stamp(&text)))
}

fn stamp(text: &str) -> Stamp {
    let mut h = rustc_hash::FxHasher::default();
    text.hash(&mut h);
    Some((text.len(), h.finish()))
}

/// Every problem of a rule file, one message each: the file, the rule and
/// the rendered diagnostic (as `portcullis run` prints them).
fn problems(path: &Path, e: &RuleSetError) -> Vec<String> {
    let path = path.display().to_string();
    let all: Vec<String> = e
        .problems
        .iter()
        .map(|(id, rendered)| {
            let located = rendered.replacen("--> ", &format!("--> {path}:"), 1);
            match id.as_str() {
                "" => format!("{path}: {}", located.trim_end()),
                id => format!("{path}: rule `{id}`: {}", located.trim_end()),
            }
        })
        .collect();
    if all.is_empty() {
        vec![format!("{path}: {e}")]
    } else {
        all
    }
}

fn parse_lists(path: &Path, text: &str) -> Result<ListsFile, Vec<String>> {
    serde_json::from_str(text).map_err(|e| {
        vec![format!(
            "{}: a lists file is a JSON object of arrays: {e}",
            path.display()
        )]
    })
}

/// Compiles `source` (and the `shadow` candidate, against the same lists)
/// with `lists`: the sets, their lists store and the declared element
/// types; or every error.
fn compile(
    rules_path: &Path,
    source: &RuleSet,
    shadow: Option<(&Path, &RuleSet)>,
    lists: &ListsFile,
) -> Result<Compiled, Vec<String>> {
    let limits = Limits::default();
    let schema = declare_lists(
        &Schema::default_http(),
        lists,
        expressions(source, shadow.map(|(_, s)| s)),
        &limits,
    );
    let store = Lists::for_schema(&schema);
    store.load_map(lists).map_err(|e| vec![e.message()])?;
    let compiler = Compiler::new(&schema).with_lists(&store);
    let set = source
        .compile(&compiler)
        .map_err(|e| problems(rules_path, &e))?;
    let shadow = match shadow {
        Some((path, s)) => Some(s.compile(&compiler).map_err(|e| problems(path, &e))?),
        None => None,
    };
    let declared = schema
        .lists()
        .map(|(n, t)| (n.to_string(), t.clone()))
        .collect();
    Ok((set, shadow, store, declared))
}

/// What [`compile`] gives: the set, the shadow set, the lists, their types.
type Compiled = (
    CompiledRuleSet,
    Option<CompiledRuleSet>,
    Lists,
    BTreeMap<String, Type>,
);

/// Every expression of the set and of the shadow.
fn expressions<'a>(
    source: &'a RuleSet,
    shadow: Option<&'a RuleSet>,
) -> impl Iterator<Item = &'a str> + Clone {
    source
        .rules
        .iter()
        .chain(shadow.into_iter().flat_map(|s| s.rules.iter()))
        .map(|r| r.expression.as_str())
}

/// Reads the shadow rule file, if one is configured.
fn read_shadow(path: Option<&Path>) -> Result<(Option<RuleSet>, Stamp), Vec<String>> {
    let Some(path) = path else {
        return Ok((None, None));
    };
    let (text, stamp) = read(path)?;
    let set = RuleSet::load(&path.to_string_lossy(), &text).map_err(|e| problems(path, &e))?;
    Ok((Some(set), stamp))
}

impl Rules {
    /// Loads the files: the rules in force, or every error in them.
    pub(crate) fn load(files: &RulesConfig, metrics: Arc<Metrics>) -> Result<Rules, Error> {
        let all = |errors: Vec<String>| Error::config(errors.join("\n"));
        let (rules_text, rules_stamp) = read(&files.file).map_err(all)?;
        let source = RuleSet::load(&files.file.to_string_lossy(), &rules_text)
            .map_err(|e| all(problems(&files.file, &e)))?;
        let (lists_file, lists_stamp) = match &files.lists {
            Some(p) => {
                let (text, st) = read(p).map_err(all)?;
                (parse_lists(p, &text).map_err(all)?, st)
            }
            None => (ListsFile::new(), None),
        };
        let shadow_path = files.shadow.as_deref();
        let (shadow_source, shadow_stamp) = read_shadow(shadow_path).map_err(all)?;
        let shadow = shadow_path.zip(shadow_source.as_ref());
        let (set, shadow_set, lists, declared) =
            compile(&files.file, &source, shadow, &lists_file).map_err(all)?;
        metrics.loaded(set.len());
        let handle = RuleSetHandle::new(set);
        handle.store_shadow(shadow_set);
        Ok(Rules {
            handle,
            files: files.clone(),
            loaded: Mutex::new(Loaded {
                rules_stamp,
                lists_stamp,
                shadow_stamp,
                source,
                shadow: shadow_source,
                declared,
                lists,
            }),
            metrics,
        })
    }

    /// Reloads when a file changed (or always, when `forced`): `None`
    /// when nothing changed, else whether the new version took effect.
    /// Blocking (reads files, compiles, and waits for readers of the old
    /// set): run it off the async workers.
    pub(crate) fn reload(&self, forced: bool) -> Option<bool> {
        let Ok(mut loaded) = self.loaded.lock() else {
            return Some(false);
        };
        let outcome = self.try_reload(&mut loaded, forced);
        match outcome {
            Ok(None) => None,
            Ok(Some(what)) => {
                let n = self.handle.load().len();
                self.metrics.reloaded(true, n);
                tracing::info!(rules = n, what, "reloaded");
                Some(true)
            }
            Err(errors) => {
                self.metrics.reloaded(false, 0);
                for e in &errors {
                    tracing::error!(error = %e, "reload rejected");
                }
                tracing::warn!(
                    errors = errors.len(),
                    "kept the rules in force: the new files have errors"
                );
                Some(false)
            }
        }
    }

    fn try_reload(
        &self,
        loaded: &mut Loaded,
        forced: bool,
    ) -> Result<Option<&'static str>, Vec<String>> {
        let (rules_text, rules_stamp) = read(&self.files.file)?;
        let lists_read = match &self.files.lists {
            Some(p) => Some((p, read(p)?)),
            None => None,
        };
        let lists_stamp = lists_read.as_ref().and_then(|(_, (_, s))| *s);
        let shadow_path = self.files.shadow.as_deref();
        let shadow_stamp = match shadow_path {
            Some(p) => read(p)?.1,
            None => None,
        };
        let rules_changed =
            rules_stamp != loaded.rules_stamp || shadow_stamp != loaded.shadow_stamp;
        let lists_changed = lists_stamp != loaded.lists_stamp;
        if !forced && !rules_changed && !lists_changed {
            return Ok(None);
        }
        let lists_file = match &lists_read {
            Some((p, (text, _))) => parse_lists(p, text)?,
            None => ListsFile::new(),
        };
        if !rules_changed {
            // Same rules: if the lists keep their names and types, only
            // their contents change, in one snapshot.
            let schema = declare_lists(
                &Schema::default_http(),
                &lists_file,
                expressions(&loaded.source, loaded.shadow.as_ref()),
                &Limits::default(),
            );
            let declared: BTreeMap<String, Type> = schema
                .lists()
                .map(|(n, t)| (n.to_string(), t.clone()))
                .collect();
            if declared == loaded.declared {
                loaded
                    .lists
                    .load_map(&lists_file)
                    .map_err(|e| vec![e.message()])?;
                loaded.lists_stamp = lists_stamp;
                return Ok(Some("lists"));
            }
        }
        let source = RuleSet::load(&self.files.file.to_string_lossy(), &rules_text)
            .map_err(|e| problems(&self.files.file, &e))?;
        let (shadow_source, shadow_stamp) = read_shadow(shadow_path)?;
        let shadow = shadow_path.zip(shadow_source.as_ref());
        let (set, shadow_set, lists, declared) =
            compile(&self.files.file, &source, shadow, &lists_file)?;
        // The shadow first: a request that sees the new set sees its candidate.
        self.handle.store_shadow(shadow_set);
        self.handle.store(set);
        *loaded = Loaded {
            rules_stamp,
            lists_stamp,
            shadow_stamp,
            source,
            shadow: shadow_source,
            declared,
            lists,
        };
        Ok(Some("rules"))
    }
}

/// Reloads on SIGHUP, and when a file changes (checked every
/// `watch_interval_ms`), until `shutdown`.
pub(crate) async fn watch(
    rules: Arc<Rules>,
    interval_ms: u64,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; reloads follow file changes only");
            None
        }
    };
    let interval = Duration::from_millis(interval_ms.max(10));
    loop {
        let hangup = async {
            match hup.as_mut() {
                Some(s) => s.recv().await.is_some(),
                None => std::future::pending().await,
            }
        };
        let forced = tokio::select! {
            _ = tokio::time::sleep(interval), if interval_ms > 0 => false,
            got = hangup => got,
            _ = shutdown.changed() => return,
        };
        if forced {
            tracing::info!("SIGHUP: reloading");
        }
        let r = rules.clone();
        let _ = tokio::task::spawn_blocking(move || r.reload(forced)).await;
    }
}
