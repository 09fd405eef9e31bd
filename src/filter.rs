//! The embedding API: compile expression text once into a [`Filter`], then
//! evaluate it on every request.

use crate::check::{self, Typed};
use crate::context::Request;
use crate::error::Error;
use crate::limits::Limits;
use crate::lists::Lists;
use crate::program::Program;
use crate::regexes::RegexCache;
use crate::schema::Schema;
use crate::syntax::{self, Expr};
use crate::types::FieldId;
use std::fmt;
use std::sync::Arc;

/// A compiled expression. Cheap to clone (shared program), `Send + Sync`.
#[derive(Clone)]
pub struct Filter {
    program: Arc<Program>,
    source: SourceText,
    /// What it was compiled against (shared by every filter of a compiler),
    /// so it can explain itself.
    origin: Arc<Origin>,
}

/// The schema, lists and limits a compiler compiles against.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub(crate) schema: Schema,
    pub(crate) lists: Lists,
    pub(crate) limits: Limits,
    /// The regexes its filters use, each compiled once (explanations reuse
    /// them too).
    pub(crate) regexes: RegexCache,
}

/// A filter's expression text: a range of a shared string, so the rules of a
/// set keep their texts in one allocation.
#[derive(Clone)]
pub(crate) struct SourceText {
    text: Arc<str>,
    range: std::ops::Range<usize>,
}

impl SourceText {
    /// All of `text`.
    pub(crate) fn whole(text: &str) -> Self {
        SourceText {
            range: 0..text.len(),
            text: text.into(),
        }
    }

    /// `range` of `text` (a range that is not one reads as "").
    pub(crate) fn part(text: &Arc<str>, range: std::ops::Range<usize>) -> Self {
        SourceText {
            text: text.clone(),
            range,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        self.text.get(self.range.clone()).unwrap_or_default()
    }
}

impl fmt::Debug for SourceText {
    /// Its own range only, not the whole shared string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("source", &self.source())
            .field("instructions", &self.program.code().len())
            .field("fields", &self.program.fields)
            .finish()
    }
}

impl Filter {
    /// Whether `request` matches. Never panics; evaluation without transform
    /// functions does not allocate.
    #[inline]
    pub fn matches<R: Request + ?Sized>(&self, request: &R) -> bool {
        crate::vm::execute(&self.program, request)
    }

    /// The fields the filter reads (sorted, each once): a host may skip computing others.
    pub fn fields(&self) -> &[FieldId] {
        &self.program.fields
    }

    /// The compiled program.
    pub(crate) fn program(&self) -> &Program {
        &self.program
    }

    /// The schema, lists and limits it was compiled against.
    pub(crate) fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The program, to change, while no clone of this filter shares it.
    pub(crate) fn program_mut(&mut self) -> Option<&mut Program> {
        Arc::get_mut(&mut self.program)
    }

    /// The expression text the filter was compiled from.
    pub fn source(&self) -> &str {
        self.source.as_str()
    }

    /// The program listing, one instruction or branch a line: the branch
    /// form the VM runs for most rules, and the instructions of the others
    /// (of every program when compiled with [`Compiler::keep_instructions`]).
    pub fn disassemble(&self) -> String {
        self.program.to_string()
    }
}

/// Compiles expressions against one schema, with limits and named lists.
#[derive(Debug, Clone)]
pub struct Compiler<'s> {
    schema: &'s Schema,
    origin: Arc<Origin>,
    keep_instructions: bool,
}

impl<'s> Compiler<'s> {
    /// A compiler with default limits and empty lists for every list the schema declares.
    pub fn new(schema: &'s Schema) -> Self {
        Compiler {
            schema,
            origin: Arc::new(Origin {
                schema: schema.clone(),
                lists: Lists::for_schema(schema),
                limits: Limits::default(),
                regexes: RegexCache::default(),
            }),
            keep_instructions: false,
        }
    }

    /// Whether filters keep their instructions even when the VM runs their
    /// branch form (most rules): for instruction listings and for testing
    /// the instruction interpreter. Off by default, so that a program holds
    /// each constant once and no instructions it never runs.
    pub fn keep_instructions(mut self, keep: bool) -> Self {
        self.keep_instructions = keep;
        self
    }

    /// Uses `limits`.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        Arc::make_mut(&mut self.origin).limits = limits;
        self
    }

    /// Uses these lists (shared: replacing their contents updates every filter).
    pub fn with_lists(mut self, lists: &Lists) -> Self {
        Arc::make_mut(&mut self.origin).lists = lists.clone();
        self
    }

    /// The lists filters from this compiler read.
    pub fn lists(&self) -> &Lists {
        &self.origin.lists
    }

    /// How many distinct regexes this compiler holds compiled (each
    /// pattern once, shared by every filter that uses it).
    pub fn regex_count(&self) -> usize {
        self.origin.regexes.len()
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.origin.limits
    }

    /// The schema expressions are checked against.
    pub(crate) fn schema(&self) -> &'s Schema {
        self.schema
    }

    /// Parses and type-checks `text` without compiling it: what a tool
    /// needs to validate a rule and to show its syntax tree.
    pub fn check(&self, text: &str) -> Result<Checked, Error> {
        let expr = syntax::parse_with(text, &self.origin.limits)?;
        let mut root = check::Node::Const(false);
        let lists = check::check(
            &mut expr.clone(),
            self.schema,
            &self.origin.limits,
            &self.origin.regexes,
            &mut root,
        )?;
        Ok(Checked {
            expr,
            typed: Typed { root, lists },
            limits: self.origin.limits.clone(),
        })
    }

    /// Parses and type-checks into `root`, keeping only the checked tree
    /// (the syntax tree's strings move into it).
    pub(crate) fn check_only(&self, text: &str, root: &mut check::Node) -> Result<(), Error> {
        let mut expr = syntax::parse_with(text, &self.origin.limits)?;
        check::check(
            &mut expr,
            self.schema,
            &self.origin.limits,
            &self.origin.regexes,
            root,
        )?;
        Ok(())
    }

    /// Parses, checks and compiles `text`.
    pub fn compile(&self, text: &str) -> Result<Filter, Error> {
        let mut root = check::Node::Const(false);
        self.check_only(text, &mut root)?;
        crate::compile::optimize::optimize_in_place(&mut root);
        self.compile_owned(root, SourceText::whole(text))
    }

    /// Compiles a checked tree the optimizer already rewrote, which nobody
    /// needs afterwards (its constants and sets move into the program).
    pub(crate) fn compile_owned(
        &self,
        root: crate::check::Node,
        source: SourceText,
    ) -> Result<Filter, Error> {
        let program = crate::compile::compile(
            root,
            self.schema,
            &self.origin.lists,
            &self.origin.limits,
            &self.origin.regexes,
            self.keep_instructions,
        )?;
        Ok(Filter {
            program: Arc::new(program),
            source,
            origin: self.origin.clone(),
        })
    }
}

/// An expression that parsed and type-checked: its syntax tree, and the
/// checked tree (crate-private) that test support evaluates.
#[derive(Debug, Clone)]
pub struct Checked {
    expr: Expr,
    pub(crate) typed: Typed,
    /// The limits it was checked under (and the VM would run it under).
    pub(crate) limits: Limits,
}

impl Checked {
    /// The syntax tree.
    pub fn syntax(&self) -> &Expr {
        &self.expr
    }

    /// The named lists the expression reads, in order of first use.
    pub fn lists(&self) -> &[String] {
        &self.typed.lists
    }
}

/// `schema` with every list of `lists` (a lists file: name to items)
/// that it does not declare yet declared, each with the element type its
/// use in `exprs` needs: the type its items look like (numbers Int,
/// addresses Ip, else String), else the first of Ip, Int and String under
/// which no expression has a type error at the list's name. The command
/// line and `portcullis serve` load lists files this way.
pub fn declare_lists<'e>(
    schema: &Schema,
    lists: &std::collections::BTreeMap<String, Vec<serde_json::Value>>,
    exprs: impl Iterator<Item = &'e str> + Clone,
    limits: &Limits,
) -> Schema {
    use crate::error::ErrorKind;
    use crate::types::Type;
    let mut s = schema.clone();
    for (name, values) in lists {
        if schema.list_type(name).is_some() {
            continue;
        }
        let mut candidates = vec![crate::lists::infer_type(values)];
        for t in [Type::Ip, Type::Int, Type::Bytes] {
            if !candidates.contains(&t) {
                candidates.push(t);
            }
        }
        let fits = |t: &Type| {
            let trial = schema.with_list(name, t.clone());
            let checker = Compiler::new(&trial).with_limits(limits.clone());
            // A list of the wrong type makes a type error at its name.
            exprs.clone().all(|e| match checker.check(e) {
                Err(err) if err.kind() == ErrorKind::Type => {
                    let at = err.span().and_then(|s| e.get(s.start..s.end));
                    !at.is_some_and(|t| t.contains(&format!("${name}")))
                }
                _ => true,
            })
        };
        let pick = candidates
            .iter()
            .find(|t| fits(t))
            .unwrap_or(&candidates[0]);
        s = s.with_list(name, pick.clone());
    }
    s
}
