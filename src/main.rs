//! The `portcullis` command-line tool.
//!
//! Exit codes: 0 success (for `eval` and `run`, whatever the result); 1 the
//! expression, rules or tests are invalid, a test fails or a file is not
//! canonical (a diagnostic is printed on stderr); 2 an input file cannot be
//! read or is not valid JSON/TOML.

use clap::{Parser, Subcommand};
use portcullis::{Compiler, Context, Error, HttpRequest, Limits, Lists, Request, Schema};
use portcullis::{RuleSet, Verdict};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::process::ExitCode;

mod cli;

#[derive(Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Check, compile and evaluate firewall rules written in the Wireshark-style rules language",
    after_help = "Exit codes: 0 success (for eval and run, whatever the result); 1 an invalid expression, rule set or test file, a failing test, or a file fmt --check finds not canonical (diagnostic on stderr); 2 an input that cannot be read or parsed."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// What `--help` says of a request JSON (docs/language.md says more).
const REQUEST_JSON: &str = r#"REQUEST JSON
  A JSON object. Over the built-in catalogue (no --schema), its keys are raw
  request parts, from which every field is derived as the library's
  HttpRequestBuilder derives it (the path normalised, headers, cookies,
  arguments, full_uri...):
    "method", "uri" (the request target, origin or absolute form), "scheme",
    "host", "headers" ({"Name": "v" or ["v", ...]} or [["Name", "v"], ...]),
    "client_ip", "body", "body_mime" (default: the Content-Type header's),
    "tls" ({"version", "cipher"}), "client_cert" ({"presented", "verified",
    "revoked", "subject_dn", ...})
  and/or field names ("http.host": "a.com"), which set that field only and
  win over a derived value. Any other key is an error.
    {"method": "GET", "uri": "/a/../admin", "headers": {"Host": "a.com"}}
  With --schema, keys are field names only."#;

#[derive(clap::Args, Clone)]
struct SchemaArgs {
    /// Schema JSON (`{"fields": {"name": "Type"}, "lists": {...}}`); default: the built-in HTTP catalogue.
    #[arg(long)]
    schema: Option<String>,
    /// Longest expression accepted, in bytes.
    #[arg(long)]
    max_length: Option<usize>,
    /// Deepest nesting accepted.
    #[arg(long)]
    max_depth: Option<usize>,
}

#[derive(Subcommand)]
enum Command {
    /// Parse, type-check and compile an expression and print its canonical
    /// form; or check every rule of a rule file, reporting every problem at once.
    Check {
        /// The expression (or use --file / --rules).
        expr: Option<String>,
        /// Read the expression from a file.
        #[arg(long)]
        file: Option<String>,
        /// A rule file (JSON or TOML): every rule read and type-checked; exit 1 on any problem.
        #[arg(long, conflicts_with_all = ["expr", "file"])]
        rules: Option<String>,
        /// Named lists JSON (with --rules): the lists the rules may read.
        #[arg(long, requires = "rules")]
        lists: Option<String>,
        #[command(flatten)]
        schema: SchemaArgs,
    },
    /// Evaluate an expression against a request: prints `true` or `false`.
    #[command(after_help = REQUEST_JSON)]
    Eval {
        /// The expression (not with --batch).
        expr: Option<String>,
        /// Request JSON (see REQUEST JSON below).
        #[arg(long)]
        request: Option<String>,
        /// Named lists JSON: `{"name": [values...]}`.
        #[arg(long)]
        lists: Option<String>,
        /// JSON lines of `{"expr", "request", "lists"}` (`-` for stdin), each
        /// request as for --request; one result line each.
        #[arg(long)]
        batch: Option<String>,
        /// Show why: the expression with each sub-expression's value beneath
        /// it (`◀` marks what decided), then the result.
        #[arg(long, conflicts_with = "batch")]
        explain: bool,
        #[command(flatten)]
        schema: SchemaArgs,
    },
    /// Print the bytecode an expression compiles to.
    Disasm {
        /// The expression (or use --file).
        expr: Option<String>,
        /// Read the expression from a file.
        #[arg(long)]
        file: Option<String>,
        #[command(flatten)]
        schema: SchemaArgs,
    },
    /// Print the canonical form of an expression, or write a rule file's canonical form.
    Fmt {
        /// The expression (or use --file / --rules).
        expr: Option<String>,
        /// Read the expression from a file.
        #[arg(long)]
        file: Option<String>,
        /// A rule file (JSON or TOML), rewritten in place in its canonical
        /// form: the same shape and format, canonical expressions, rule keys
        /// in one order, other keys kept.
        #[arg(long, conflicts_with_all = ["expr", "file"])]
        rules: Option<String>,
        /// With --rules: change nothing, exit 1 if the file is not canonical (for CI).
        #[arg(long, requires = "rules")]
        check: bool,
        #[command(flatten)]
        schema: SchemaArgs,
    },
    /// Evaluate a rule set against a request (or a file of requests) and print the verdict.
    #[command(after_help = REQUEST_JSON)]
    Run {
        /// The rule set, JSON or TOML.
        #[arg(long)]
        rules: String,
        /// One request JSON (see REQUEST JSON below).
        #[arg(long)]
        request: Option<String>,
        /// A file of requests, one JSON object a line as for --request (`-` for stdin).
        #[arg(long)]
        requests: Option<String>,
        /// Named lists JSON.
        #[arg(long)]
        lists: Option<String>,
        /// Show why: each rule's fate (candidate, matched, skipped, not
        /// reached) and trace, and why evaluation stopped; with --requests,
        /// one JSON explanation a line.
        #[arg(long, conflicts_with_all = ["summary", "shadow"])]
        explain: bool,
        /// With --requests: instead of a verdict a line, totals per action
        /// and per rule (requests matched, share), streamed over any length.
        #[arg(long, requires = "requests")]
        summary: bool,
        /// With --requests: a candidate rule set evaluated beside --rules on
        /// every request; reports the requests whose verdict changes,
        /// grouped by (old -> new) action and rule.
        #[arg(long, requires = "requests")]
        shadow: Option<String>,
        #[command(flatten)]
        schema: SchemaArgs,
    },
    /// Warn about rules that compile but cannot do what was meant (the
    /// revoked-certificate trap, hex literals that never match, shadowed and
    /// unreachable rules...; docs/rules.md lists every lint id).
    Lint {
        /// An expression (or use --rules).
        expr: Option<String>,
        /// A rule file (JSON or TOML): every enabled rule that compiles, and the set's order.
        #[arg(long, conflicts_with = "expr")]
        rules: Option<String>,
        /// Named lists JSON: the lists the rules may read.
        #[arg(long)]
        lists: Option<String>,
        /// Exit 1 when there is any warning (for CI).
        #[arg(long)]
        deny: bool,
        /// One JSON array of lints on stdout instead of the text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        schema: SchemaArgs,
    },
    /// Run rule unit tests: each case of TESTS (TOML) is a request and the
    /// verdict expected of RULES; exit 1 if a case fails.
    Test {
        /// The rule set, JSON or TOML.
        rules: String,
        /// The test file, TOML: `[[case]]` tables of `name`, `request`,
        /// optional `lists`, and `expect = { action, rule, logged, skipped }`.
        tests: String,
        /// One JSON report on stdout instead of the text.
        #[arg(long)]
        json: bool,
        /// Also report coverage: per rule, whether some case matched it and
        /// some did not; per clause, whether it was seen true and false.
        #[arg(long)]
        coverage: bool,
        #[command(flatten)]
        schema: SchemaArgs,
    },
    /// Serve: the mTLS gateway and/or the decision service a config file describes (docs/gateway.md).
    #[cfg(feature = "gateway")]
    Serve {
        /// The configuration, TOML (see examples/gateway/gateway.toml).
        #[arg(long)]
        config: String,
    },
    /// List the schema's fields and their types.
    Fields {
        /// Schema JSON (`{"fields": {"name": "Type"}, "lists": {...}}`); default: the built-in HTTP catalogue.
        #[arg(long)]
        schema: Option<String>,
    },
}

/// A failure of the tool itself: what to print and the exit code.
struct Fail(String, u8);

fn read(path: &str) -> Result<String, Fail> {
    if path == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| Fail(format!("error: cannot read stdin: {e}"), 2))?;
        return Ok(s);
    }
    std::fs::read_to_string(path).map_err(|e| Fail(format!("error: cannot read `{path}`: {e}"), 2))
}

fn load_schema(args: &SchemaArgs) -> Result<(Schema, Limits), Fail> {
    let schema = match &args.schema {
        Some(path) => Schema::from_json(&read(path)?).map_err(|e| {
            // Not JSON at all: 2; JSON that is not a valid schema: 1.
            let code = if e.message().starts_with("schema JSON:") {
                2
            } else {
                1
            };
            Fail(format!("error: schema `{path}`: {}", e.message()), code)
        })?,
        None => Schema::default_http(),
    };
    let mut limits = Limits::default();
    if let Some(n) = args.max_length {
        limits.max_length = n;
    }
    if let Some(n) = args.max_depth {
        limits.max_depth = n;
    }
    Ok((schema, limits))
}

fn expression(expr: Option<String>, file: Option<String>) -> Result<String, Fail> {
    match (expr, file) {
        (Some(e), None) => Ok(e),
        (None, Some(f)) => Ok(read(&f)?.trim_end_matches(['\n', '\r']).to_string()),
        (Some(_), Some(_)) => Err(Fail(
            "error: give either an expression or --file, not both".into(),
            2,
        )),
        (None, None) => Err(Fail("error: give an expression (or --file PATH)".into(), 2)),
    }
}

/// Every problem of rule file `path`, each pointing into the file
/// (`--> path:line:column`); exit code 1 (an invalid rule set), or 2 when
/// the file is not JSON or TOML at all.
fn rule_file_fail(path: &str, e: &portcullis::RuleSetError) -> Fail {
    let text = cli::rulefile::file_problems_of(path, e)
        .collect::<Vec<_>>()
        .join("\n");
    Fail(text, cli::rulefile::exit_code(e))
}

fn diagnostic(e: &Error, source: &str) -> Fail {
    Fail(e.render(source).trim_end().to_string(), 1)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(msg, code)) => {
            eprintln!("{msg}");
            ExitCode::from(code)
        }
    }
}

fn run(cmd: Command) -> Result<(), Fail> {
    match cmd {
        Command::Check {
            expr,
            file,
            rules,
            lists,
            schema,
        } => {
            let (schema, limits) = load_schema(&schema)?;
            if let Some(path) = rules {
                let lists = match &lists {
                    Some(l) => lists_file(l)?,
                    None => BTreeMap::new(),
                };
                // Each list's type from its contents.
                let schema = declare_lists_for(&schema, &lists, std::iter::empty(), &limits);
                let compiler = Compiler::new(&schema).with_limits(limits);
                let n = cli::rulefile::check(&path, &compiler)?;
                println!(
                    "{path}: {n} rule{} checked, no problems",
                    if n == 1 { "" } else { "s" }
                );
                return Ok(());
            }
            let text = expression(expr, file)?;
            let compiler = Compiler::new(&schema).with_limits(limits);
            let checked = compiler.check(&text).map_err(|e| diagnostic(&e, &text))?;
            compiler.compile(&text).map_err(|e| diagnostic(&e, &text))?;
            println!("{}", checked.syntax());
            Ok(())
        }
        Command::Disasm { expr, file, schema } => {
            let (schema, limits) = load_schema(&schema)?;
            let text = expression(expr, file)?;
            let filter = Compiler::new(&schema)
                .with_limits(limits)
                .keep_instructions(true)
                .compile(&text)
                .map_err(|e| diagnostic(&e, &text))?;
            print!("{}", filter.disassemble());
            Ok(())
        }
        Command::Fmt {
            expr,
            file,
            rules,
            check,
            schema,
        } => {
            let (_, limits) = load_schema(&schema)?;
            if let Some(path) = rules {
                let text = read(&path)?;
                let canonical = cli::rulefile::canonical(&path, &text, &limits)?;
                if check {
                    return if canonical == text {
                        Ok(())
                    } else {
                        Err(Fail(
                            format!(
                                "`{path}` is not in canonical form: run `portcullis fmt --rules {path}`"
                            ),
                            1,
                        ))
                    };
                }
                if canonical != text {
                    std::fs::write(&path, canonical)
                        .map_err(|e| Fail(format!("error: cannot write `{path}`: {e}"), 2))?;
                }
                return Ok(());
            }
            let text = expression(expr, file)?;
            let ast = portcullis::parse_with(&text, &limits).map_err(|e| diagnostic(&e, &text))?;
            println!("{ast}");
            Ok(())
        }
        #[cfg(feature = "gateway")]
        Command::Serve { config } => {
            let config = portcullis::gateway::Config::load(config.as_ref())
                .map_err(|e| Fail(format!("error: {}", e.message()), 2))?;
            portcullis::gateway::run(config).map_err(|e| Fail(format!("error: {}", e.message()), 1))
        }
        Command::Fields { schema } => {
            let (schema, _) = load_schema(&SchemaArgs {
                schema,
                max_length: None,
                max_depth: None,
            })?;
            let mut out = std::io::stdout().lock();
            for (_, f) in schema.fields() {
                let _ = match f.doc {
                    "" => writeln!(out, "{}\t{}", f.name, f.ty),
                    doc => writeln!(out, "{}\t{}\t{doc}", f.name, f.ty),
                };
            }
            for (alias, id) in schema.aliases() {
                if let Some(f) = schema.field(id) {
                    let _ = writeln!(out, "{alias}\t{} (alias of {})", f.ty, f.name);
                }
            }
            for (name, ty) in schema.lists() {
                let _ = writeln!(
                    out,
                    "${name}\tList<{ty}>\ta named list: empty until its contents are given (--lists)"
                );
            }
            Ok(())
        }
        Command::Eval {
            expr,
            request,
            lists,
            batch,
            explain,
            schema,
        } => {
            let derive = schema.schema.is_none();
            let (schema, limits) = load_schema(&schema)?;
            if let Some(path) = batch {
                if expr.is_some() {
                    return Err(Fail(
                        "error: --batch takes its expressions from the file, not the command line"
                            .into(),
                        2,
                    ));
                }
                return eval_batch(&path, &schema, derive, &limits);
            }
            let text = expression(expr, None)?;
            let request = match request {
                Some(path) => {
                    serde_json::from_str::<serde_json::Value>(&read(&path)?).map_err(|e| {
                        Fail(format!("error: request `{path}` is not valid JSON: {e}"), 2)
                    })?
                }
                None => {
                    return Err(Fail(
                        "error: eval needs a request to evaluate against: --request FILE (`-` for stdin; a file holding `{}` for an empty request)".into(),
                        2,
                    ));
                }
            };
            let lists =
                match lists {
                    Some(path) => serde_json::from_str::<BTreeMap<String, Vec<serde_json::Value>>>(
                        &read(&path)?,
                    )
                    .map_err(|e| {
                        Fail(
                            format!("error: lists `{path}` must be a JSON object of arrays: {e}"),
                            2,
                        )
                    })?,
                    None => BTreeMap::new(),
                };
            match eval_one(&text, &request, &lists, &schema, derive, &limits, explain) {
                Ok(out) => {
                    println!("{out}");
                    Ok(())
                }
                Err(e) => Err(match e.span() {
                    Some(_) => diagnostic(&e, &text),
                    None => Fail(format!("error: {e}"), 1),
                }),
            }
        }
        Command::Lint {
            expr,
            rules,
            lists,
            deny,
            json,
            schema,
        } => {
            let (schema, limits) = load_schema(&schema)?;
            let lists = match &lists {
                Some(l) => lists_file(l)?,
                None => BTreeMap::new(),
            };
            let (set, sources): (Option<RuleSet>, Vec<(String, String)>) = match (&rules, expr) {
                (Some(path), None) => {
                    let set =
                        RuleSet::load(path, &read(path)?).map_err(|e| rule_file_fail(path, &e))?;
                    let sources = set
                        .rules
                        .iter()
                        .map(|r| (r.id.clone(), r.expression.clone()))
                        .collect();
                    (Some(set), sources)
                }
                (None, Some(e)) => (None, vec![(String::new(), e)]),
                _ => return Err(Fail("error: give an expression or --rules FILE".into(), 2)),
            };
            let schema = declare_lists_for(
                &schema,
                &lists,
                sources.iter().map(|(_, e)| e.as_str()),
                &limits,
            );
            let store = Lists::for_schema(&schema);
            store
                .load_map(&lists)
                .map_err(|e| Fail(format!("error: {}", e.message()), 2))?;
            let compiler = Compiler::new(&schema)
                .with_limits(limits)
                .with_lists(&store);
            let found = match &set {
                Some(set) => portcullis::lint(set, &compiler),
                None => {
                    let text = &sources[0].1;
                    portcullis::lint_expression(text, &compiler)
                        .map_err(|e| diagnostic(&e, text))?
                }
            };
            if json {
                println!("{}", serde_json::to_string(&found).unwrap_or_default());
            } else {
                let mut out = std::io::stdout().lock();
                for l in &found {
                    let source = sources
                        .iter()
                        .find(|(id, _)| l.rule.as_deref().unwrap_or_default() == id)
                        .map_or("", |(_, e)| e.as_str());
                    let _ = writeln!(out, "{}", l.render(source));
                }
                let _ = writeln!(
                    out,
                    "{} warning{}",
                    found.len(),
                    if found.len() == 1 { "" } else { "s" }
                );
            }
            if deny && !found.is_empty() {
                return Err(Fail(String::new(), 1));
            }
            Ok(())
        }
        Command::Test {
            rules,
            tests,
            json,
            coverage,
            schema,
        } => {
            let derive = schema.schema.is_none();
            let (schema, limits) = load_schema(&schema)?;
            let suite = cli::suite::load(&tests)?;
            let (set, compiled, schema, store) =
                compile_rules(&rules, &suite.all_lists(), &schema, &limits)?;
            let subject = cli::suite::Subject {
                rules: &set,
                compiled: &compiled,
                store: &store,
                schema: &schema,
                derive,
            };
            if cli::suite::run(&suite, &subject, json, coverage)? {
                Ok(())
            } else {
                Err(Fail(String::new(), 1))
            }
        }
        Command::Run {
            rules,
            request: request_file,
            requests,
            lists,
            explain,
            summary,
            shadow,
            schema,
        } => {
            let derive = schema.schema.is_none();
            let (schema, limits) = load_schema(&schema)?;
            let lists_json = match &lists {
                Some(path) => lists_file(path)?,
                None => BTreeMap::new(),
            };
            let (set, compiled, schema, _) = compile_rules(&rules, &lists_json, &schema, &limits)?;
            if summary || shadow.is_some() {
                let candidate = match &shadow {
                    Some(path) => Some(compile_rules(path, &lists_json, &schema, &limits)?.1),
                    None => None,
                };
                let path = requests.as_deref().unwrap_or("-");
                let report =
                    cli::stream::run(lines(path)?, &compiled, candidate.as_ref(), &schema, derive)?;
                print!("{}", report.render(&set, summary, candidate.is_some()));
                return Ok(());
            }
            let verdict_line = |req: &serde_json::Value| -> String {
                match request(&schema, derive, req, Some(compiled.fields())) {
                    Ok(cx) if explain => match compiled.explain(&*cx) {
                        Ok(e) => serde_json::to_string(&e).unwrap_or_default(),
                        Err(e) => serde_json::json!({"error": {"stage": e.stage().name(), "message": e.message()}}).to_string(),
                    },
                    Ok(cx) => compiled.evaluate(&*cx).to_json().to_string(),
                    Err(e) => {
                        serde_json::json!({"error": {"stage": "request", "message": e.message()}})
                            .to_string()
                    }
                }
            };
            let mut out = std::io::stdout().lock();
            match (request_file, requests) {
                (Some(path), None) => {
                    let req =
                        serde_json::from_str::<serde_json::Value>(&read(&path)?).map_err(|e| {
                            Fail(format!("error: request `{path}` is not valid JSON: {e}"), 2)
                        })?;
                    let cx = request(&schema, derive, &req, Some(compiled.fields()))
                        .map_err(|e| Fail(format!("error: {e}"), 1))?;
                    if explain {
                        let e = compiled
                            .explain(&*cx)
                            .map_err(|e| Fail(format!("error: {e}"), 1))?;
                        let _ = write!(out, "{}", e.render(true));
                    } else {
                        let v: Verdict = compiled.evaluate(&*cx);
                        let _ = writeln!(out, "{}", v.to_json());
                    }
                }
                (None, Some(path)) => {
                    answer_lines(&path, |line| {
                        match serde_json::from_str::<serde_json::Value>(line) {
                            Ok(req) => verdict_line(&req),
                            Err(e) => serde_json::json!({"error": {"stage": "request", "message": format!("not valid JSON: {e}")}}).to_string(),
                        }
                    })?;
                }
                _ => {
                    return Err(Fail(
                        "error: give exactly one of --request FILE or --requests FILE".into(),
                        2,
                    ));
                }
            }
            Ok(())
        }
    }
}

/// One line of a stream: its text, or why it has none (a line that is not
/// UTF-8 gets its own error, and the stream goes on).
type Line = Result<String, String>;

/// The lines of `path` (`-` for stdin), numbered from 1; an I/O error ends
/// the stream.
fn lines(path: &str) -> Result<Box<dyn Iterator<Item = Result<Line, Fail>>>, Fail> {
    let reader: Box<dyn BufRead> = if path == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        let f = std::fs::File::open(path)
            .map_err(|e| Fail(format!("error: cannot read `{path}`: {e}"), 2))?;
        Box::new(std::io::BufReader::new(f))
    };
    Ok(Box::new(reader.split(b'\n').enumerate().map(|(k, l)| {
        let mut bytes = l.map_err(|e| Fail(format!("error: cannot read input: {e}"), 2))?;
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        Ok(String::from_utf8(bytes).map_err(|e| {
            format!(
                "line {} is not valid UTF-8 (byte {})",
                k + 1,
                e.utf8_error().valid_up_to() + 1
            )
        }))
    })))
}

/// A lists file: `{"name": [values...]}`.
fn lists_file(path: &str) -> Result<BTreeMap<String, Vec<serde_json::Value>>, Fail> {
    serde_json::from_str(&read(path)?).map_err(|e| {
        Fail(
            format!("error: lists `{path}` must be a JSON object of arrays: {e}"),
            2,
        )
    })
}

/// Reads and compiles rule file `path` over `schema` with the lists
/// `lists` names (declared, and loaded into the returned store).
fn compile_rules(
    path: &str,
    lists: &BTreeMap<String, Vec<serde_json::Value>>,
    schema: &Schema,
    limits: &Limits,
) -> Result<(RuleSet, portcullis::CompiledRuleSet, Schema, Lists), Fail> {
    let set = match RuleSet::load(path, &read(path)?) {
        Ok(set) => set,
        Err(e) => {
            // Every problem at once: the file's, and the type errors of the
            // rules that could be read.
            let schema = declare_lists_for(schema, lists, std::iter::empty(), limits);
            let compiler = Compiler::new(&schema).with_limits(limits.clone());
            return Err(match cli::rulefile::check(path, &compiler) {
                Err(all) => all,
                Ok(_) => rule_file_fail(path, &e),
            });
        }
    };
    let schema = declare_lists_for(
        schema,
        lists,
        set.rules.iter().map(|r| r.expression.as_str()),
        limits,
    );
    let store = Lists::for_schema(&schema);
    store
        .load_map(lists)
        .map_err(|e| Fail(format!("error: {}", e.message()), 2))?;
    let compiler = Compiler::new(&schema)
        .with_limits(limits.clone())
        .with_lists(&store);
    let compiled = set.compile(&compiler).map_err(|e| Fail(e.to_string(), 1))?;
    Ok((set, compiled, schema, store))
}

/// Adds the lists named in `lists` to `schema` ([`portcullis::declare_lists`]).
fn declare_lists_for<'e>(
    schema: &Schema,
    lists: &BTreeMap<String, Vec<serde_json::Value>>,
    exprs: impl Iterator<Item = &'e str> + Clone,
    limits: &Limits,
) -> Schema {
    portcullis::declare_lists(schema, lists, exprs, limits)
}

/// A request from its JSON: with `derive` (the built-in catalogue), raw
/// parts and field names through the library's one derivation
/// (`HttpRequest::from_json_value`); over a custom schema, field names only.
fn request<'s>(
    schema: &'s Schema,
    derive: bool,
    json: &serde_json::Value,
    only: Option<&[portcullis::FieldId]>,
) -> Result<Box<dyn Request + 's>, Error> {
    Ok(if derive {
        Box::new(match only {
            Some(fields) => HttpRequest::from_json_value_only(json, fields)?,
            None => HttpRequest::from_json_value(json)?,
        })
    } else {
        Box::new(Context::from_json_value(schema, json)?)
    })
}

fn eval_one(
    text: &str,
    json: &serde_json::Value,
    lists: &BTreeMap<String, Vec<serde_json::Value>>,
    schema: &Schema,
    derive: bool,
    limits: &Limits,
    explain: bool,
) -> Result<String, Error> {
    let schema = declare_lists_for(schema, lists, std::iter::once(text), limits);
    let store = Lists::for_schema(&schema);
    let compiler = Compiler::new(&schema)
        .with_limits(limits.clone())
        .with_lists(&store);
    let filter = compiler.compile(text)?;
    store.load_map(lists)?;
    // Only the fields the expression reads are built.
    let cx = request(&schema, derive, json, Some(filter.fields()))?;
    Ok(if explain {
        filter.explain(&*cx)?.render().trim_end().to_string()
    } else {
        filter.matches(&*cx).to_string()
    })
}

fn eval_batch(path: &str, schema: &Schema, derive: bool, limits: &Limits) -> Result<(), Fail> {
    answer_lines(path, |line| {
        batch_line(line, schema, derive, limits).to_string()
    })
}

/// Answers each line of `path` with one output line, `answer(line)`; a
/// line that is not UTF-8 gets an error line, and blank lines none.
fn answer_lines(path: &str, mut answer: impl FnMut(&str) -> String) -> Result<(), Fail> {
    let mut out = std::io::stdout().lock();
    for line in lines(path)? {
        let text = match line? {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => answer(&line),
            Err(message) => {
                serde_json::json!({"error": {"stage": "request", "message": message}}).to_string()
            }
        };
        let _ = writeln!(out, "{text}");
    }
    Ok(())
}

fn batch_line(line: &str, schema: &Schema, derive: bool, limits: &Limits) -> serde_json::Value {
    use serde_json::json;
    let error = |stage: &str, message: String, span: Option<portcullis::Span>| {
        let mut e = json!({"stage": stage, "message": message});
        if let Some(s) = span {
            e["span"] = json!([s.start, s.end]);
        }
        json!({ "error": e })
    };
    let obj: serde_json::Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            return error(
                "request",
                format!("input line is not valid JSON: {e}"),
                None,
            );
        }
    };
    let Some(expr) = obj.get("expr").and_then(|e| e.as_str()) else {
        return error("parse", "input line has no string `expr`".into(), None);
    };
    let request = obj.get("request").cloned().unwrap_or_else(|| json!({}));
    let lists: BTreeMap<String, Vec<serde_json::Value>> = match obj.get("lists") {
        None | Some(serde_json::Value::Null) => BTreeMap::new(),
        Some(l) => match serde_json::from_value(l.clone()) {
            Ok(l) => l,
            Err(e) => {
                return error(
                    "request",
                    format!("`lists` must be an object of arrays: {e}"),
                    None,
                );
            }
        },
    };
    match eval_one(expr, &request, &lists, schema, derive, limits, false) {
        Ok(b) => json!({ "result": b == "true" }),
        Err(e) => {
            let stage = match e.stage() {
                portcullis::Stage::Config => "request",
                s => s.name(),
            };
            error(stage, e.message(), e.span())
        }
    }
}
