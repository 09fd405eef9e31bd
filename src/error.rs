//! One error type for every stage, with spans and a human renderer.
//!
//! `Display` is one line (`type error at 0..8: unknown field ...`);
//! [`Error::render`] shows the source line with `line:column` and a caret line
//! under the span, the way compilers do.

use crate::types::Span;
use std::fmt::Write as _;

/// Which stage of the pipeline rejected the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Text to AST.
    Parse,
    /// AST against the schema.
    Check,
    /// Typed tree to bytecode.
    Compile,
    /// Request data given to the engine.
    Request,
    /// A schema, list or rule-set definition.
    Config,
}

impl Stage {
    /// The stage's lowercase name, as the CLI reports it.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Parse => "parse",
            Stage::Check => "check",
            Stage::Compile => "compile",
            Stage::Request => "request",
            Stage::Config => "config",
        }
    }
}

/// What kind of problem an error is, for callers and tests to match on
/// instead of message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Not a well-formed expression (`http.host == "abc`).
    Syntax,
    /// A field the schema does not have (`http.hots`).
    UnknownField,
    /// A function nobody defined (`lowr(http.host)`).
    UnknownFunction,
    /// A named list the schema does not declare (`$nope`).
    UnknownList,
    /// Types that do not fit (`tcp.dstport == "a"`), or another semantic error.
    Type,
    /// A regex that does not parse or is too large.
    InvalidRegex,
    /// A checked expression that cannot be compiled.
    Compile,
    /// A configured limit was exceeded.
    Limit,
    /// Request data that does not fit the schema.
    Request,
    /// A malformed schema, list or rule set.
    Config,
}

/// Everything that can go wrong, from parsing to evaluation inputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not a well-formed expression, e.g. `http.host == "abc` (unterminated string).
    #[error("syntax error at {}..{}: {message}", span.start, span.end)]
    Parse {
        /// What kind of problem.
        kind: ErrorKind,
        /// What is wrong, with a suggestion where one helps.
        message: String,
        /// The offending bytes.
        span: Span,
    },
    /// The expression does not type-check against the schema, e.g. `http.hots == "a"`.
    #[error("type error at {}..{}: {message}", span.start, span.end)]
    Check {
        /// What kind of problem.
        kind: ErrorKind,
        /// What is wrong.
        message: String,
        /// The offending bytes.
        span: Span,
    },
    /// The typed expression cannot be compiled, e.g. a regex over the size limit.
    #[error("compile error at {}..{}: {message}", span.start, span.end)]
    Compile {
        /// What kind of problem.
        kind: ErrorKind,
        /// What is wrong.
        message: String,
        /// The offending bytes.
        span: Span,
    },
    /// A configured limit was exceeded, e.g. nesting deeper than `max_depth`.
    #[error("limit exceeded at {}..{}: {message}", span.start, span.end)]
    Limit {
        /// The stage that enforced the limit.
        stage: Stage,
        /// Which limit, its value, and how to raise it.
        message: String,
        /// Where the limit was crossed.
        span: Span,
    },
    /// Request data does not fit the schema, e.g. a string for an `Int` field.
    #[error("request error in field `{field}`: {message}")]
    Request {
        /// The field named in the request.
        field: String,
        /// What is wrong with its value.
        message: String,
    },
    /// A schema, list or rule set is malformed, e.g. an unknown type name `Strng`.
    #[error("configuration error: {message}")]
    Config {
        /// What is wrong.
        message: String,
        /// Where, when the problem is in a file the error was read from
        /// (a rule set's JSON or TOML): a byte range of that file's text.
        span: Option<Span>,
    },
}

impl Error {
    pub(crate) fn parse(message: impl Into<String>, span: Span) -> Self {
        Error::Parse {
            kind: ErrorKind::Syntax,
            message: message.into(),
            span,
        }
    }

    pub(crate) fn check(message: impl Into<String>, span: Span) -> Self {
        Error::Check {
            kind: ErrorKind::Type,
            message: message.into(),
            span,
        }
    }

    pub(crate) fn compile(message: impl Into<String>, span: Span) -> Self {
        Error::Compile {
            kind: ErrorKind::Compile,
            message: message.into(),
            span,
        }
    }

    pub(crate) fn limit(stage: Stage, message: impl Into<String>, span: Span) -> Self {
        Error::Limit {
            stage,
            message: message.into(),
            span,
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
            span: None,
        }
    }

    /// A configuration problem at `span` of the file being read.
    pub(crate) fn config_at(message: impl Into<String>, span: Span) -> Self {
        Error::Config {
            message: message.into(),
            span: Some(span),
        }
    }

    /// The same error, of a more specific kind (for a syntax, type or
    /// compile error; others keep theirs).
    pub(crate) fn with_kind(mut self, new: ErrorKind) -> Self {
        if let Error::Parse { kind, .. } | Error::Check { kind, .. } | Error::Compile { kind, .. } =
            &mut self
        {
            *kind = new;
        }
        self
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Parse { kind, .. } | Error::Check { kind, .. } | Error::Compile { kind, .. } => {
                *kind
            }
            Error::Limit { .. } => ErrorKind::Limit,
            Error::Request { .. } => ErrorKind::Request,
            Error::Config { .. } => ErrorKind::Config,
        }
    }

    /// The stage that produced the error.
    pub fn stage(&self) -> Stage {
        match self {
            Error::Parse { .. } => Stage::Parse,
            Error::Check { .. } => Stage::Check,
            Error::Compile { .. } => Stage::Compile,
            Error::Limit { stage, .. } => *stage,
            Error::Request { .. } => Stage::Request,
            Error::Config { .. } => Stage::Config,
        }
    }

    /// The byte span the error points at, when it points into expression
    /// text (or, for a configuration error, into the file it was read from).
    pub fn span(&self) -> Option<Span> {
        match self {
            Error::Parse { span, .. }
            | Error::Check { span, .. }
            | Error::Compile { span, .. }
            | Error::Limit { span, .. } => Some(*span),
            Error::Config { span, .. } => *span,
            Error::Request { .. } => None,
        }
    }

    /// The message without the location prefix.
    pub fn message(&self) -> String {
        match self {
            Error::Parse { message, .. }
            | Error::Check { message, .. }
            | Error::Compile { message, .. }
            | Error::Limit { message, .. }
            | Error::Config { message, .. } => message.clone(),
            Error::Request { field, message } => format!("field `{field}`: {message}"),
        }
    }

    /// Renders the error for a person: the message, `line:column`, the source
    /// line and a caret line under the span. Long lines are cut to a window
    /// around the span, so the output stays readable at any column.
    pub fn render(&self, source: &str) -> String {
        let kind = match self {
            Error::Limit { .. } => "limit",
            _ => self.stage().name(),
        };
        let mut out = format!("error[{kind}]: {}\n", self.message());
        if let Some(span) = self.span() {
            out.push_str(&render_span(source, span));
        }
        out
    }
}

/// A 1-based line and column (in characters) of a byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCol {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

/// Finds the line and column of byte `offset` in `source` (clamped to its length).
pub fn line_col(source: &str, offset: usize) -> LineCol {
    let offset = floor_char_boundary(source, offset);
    let before = &source[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = source[line_start..offset].chars().count() + 1;
    LineCol { line, column }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// How many characters of a long line are shown on each side of the caret.
const WINDOW: usize = 60;

/// The `--> line:column` header, the source line and a caret line under
/// `span` (what [`Error::render`] and the lints print under their message).
pub(crate) fn render_span(source: &str, span: Span) -> String {
    let start = floor_char_boundary(source, span.start);
    let end = floor_char_boundary(source, span.end.max(span.start));
    let LineCol { line, column } = line_col(source, start);
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[start..]
        .find('\n')
        .map_or(source.len(), |i| start + i);
    let text = &source[line_start..line_end];
    // Characters before the caret and under it (the span stops at the line end).
    let col0 = column - 1;
    let caret_len = source[start..end.min(line_end).max(start)]
        .chars()
        .count()
        .max(1);
    let chars: Vec<char> = text
        .chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .collect();
    let (from, prefix) = if col0 > WINDOW {
        (col0 - WINDOW, "…")
    } else {
        (0, "")
    };
    let to = (col0 + caret_len.min(WINDOW) + WINDOW).min(chars.len());
    let suffix = if to < chars.len() { "…" } else { "" };
    let shown: String = chars[from.min(to)..to].iter().collect();
    let gutter = line.to_string().len();
    let mut out = String::new();
    let _ = writeln!(out, "{:gutter$}--> {line}:{column}", "");
    let _ = writeln!(out, "{:gutter$} |", "");
    let _ = writeln!(out, "{line} | {prefix}{shown}{suffix}");
    let pad = col0 - from + prefix.chars().count();
    let carets = caret_len.min(to.saturating_sub(col0)).max(1);
    let _ = writeln!(out, "{:gutter$} | {:pad$}{}", "", "", "^".repeat(carets));
    out
}
