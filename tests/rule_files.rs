//! Rule files as people write them: every file under
//! `tests/cases/rule_files/` (JSON or TOML) is loaded, and its `.expect`
//! file says what must happen. `error TEXT` lines: loading fails and every
//! TEXT appears in the rendered problems (all of them are reported at
//! once). `verdict REQUEST VERDICT` lines: the set loads and compiles, and
//! the request (JSON) gets the verdict (JSON).

use portcullis::{Compiler, HttpRequest, RuleSet, Schema};
use std::path::Path;

#[test]
fn every_rule_file_loads_or_fails_as_expected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/rule_files");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json" || e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the corpus lost files");
    let schema = Schema::default_http();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let expect = std::fs::read_to_string(dir.join(format!("{name}.expect")))
            .unwrap_or_else(|_| panic!("{name} has no .expect file"));
        let loaded = RuleSet::load(&name, &text);
        for line in expect.lines().filter(|l| !l.trim().is_empty()) {
            let (kind, rest) = line.split_once(' ').unwrap();
            match kind {
                "error" => {
                    let e = loaded.as_ref().expect_err(&format!("{name} loaded"));
                    let rendered: String = e.problems.iter().map(|(_, r)| r.as_str()).collect();
                    assert!(
                        rendered.contains(rest),
                        "{name}: no `{rest}` in\n{rendered}"
                    );
                }
                "verdict" => {
                    let set = loaded
                        .as_ref()
                        .unwrap_or_else(|e| panic!("{name}: {e}"))
                        .compile(&Compiler::new(&schema))
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                    let (request, verdict) = split_json(rest);
                    let request = HttpRequest::from_json(request).unwrap();
                    assert_eq!(
                        set.evaluate(&request).to_string(),
                        verdict,
                        "{name}: {request:?}"
                    );
                }
                other => panic!("{name}: unknown expectation `{other}`"),
            }
        }
    }
}

/// Two JSON objects side by side: `{...} {...}`.
fn split_json(s: &str) -> (&str, &str) {
    let mut depth = 0;
    for (k, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return (&s[..=k], s[k + 1..].trim());
                }
            }
            _ => {}
        }
    }
    panic!("not two JSON objects: {s}")
}
