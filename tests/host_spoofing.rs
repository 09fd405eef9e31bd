//! A rule on `http.host` cannot be passed by spelling the host differently:
//! case, a port, trailing dots, an absolute-form target against a `Host`
//! header. `tests/cases/host_spoof.txt` is the table; each row goes through
//! the builder and the request JSON, and the rule must decide the request
//! as it decides the host it normalises to.

use portcullis::{Compiler, HttpRequest, Schema, Val};

struct Row {
    line: usize,
    how: String,
    given: String,
    want: String,
}

fn rows() -> Vec<Row> {
    let text = include_str!("cases/host_spoof.txt");
    let rows: Vec<Row> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(k, l)| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 3, "line {}: {l:?}", k + 1);
            Row {
                line: k + 1,
                how: cols[0].to_string(),
                given: cols[1].to_string(),
                want: cols[2].to_string(),
            }
        })
        .collect();
    assert!(rows.len() >= 20, "the table lost rows");
    rows
}

/// The request a row describes, built by the builder and from JSON.
fn requests(row: &Row) -> [HttpRequest; 2] {
    let (target, hosts): (&str, Vec<&str>) = match row.how.as_str() {
        "header" => ("/v1/x", vec![row.given.as_str()]),
        "target" => (row.given.as_str(), vec!["www.example.com"]),
        "both" => ("/v1/x", row.given.split(" | ").collect()),
        other => panic!("line {}: unknown form {other}", row.line),
    };
    let mut b = HttpRequest::builder().method("GET").uri(target);
    for h in &hosts {
        b = b.header("Host", h);
    }
    let headers: Vec<[&str; 2]> = hosts.iter().map(|h| ["Host", h]).collect();
    let json = serde_json::json!({"method": "GET", "uri": target, "headers": headers});
    [
        b.build().unwrap(),
        HttpRequest::from_json(&json.to_string()).unwrap(),
    ]
}

#[test]
fn every_spelling_of_a_host_is_that_host() {
    let schema = Schema::default_http();
    let rule = Compiler::new(&schema)
        .compile(r#"http.host in {"api.orangeclouded.com"}"#)
        .unwrap();
    let canonical = |host: &str| {
        HttpRequest::builder()
            .uri("/v1/x")
            .field("http.host", host.into())
            .build()
            .unwrap()
    };
    for row in rows() {
        for (via, req) in ["builder", "json"].into_iter().zip(requests(&row)) {
            let host = match req.get_by_name("http.host") {
                Some(Val::Bytes(b)) => String::from_utf8_lossy(&b).into_owned(),
                other => panic!("line {} via {via}: http.host is {other:?}", row.line),
            };
            assert_eq!(host, row.want, "line {} via {via}: {}", row.line, row.given);
            assert_eq!(
                rule.matches(&req),
                rule.matches(&canonical(&row.want)),
                "line {} via {via}: the rule decided {} unlike {}",
                row.line,
                row.given,
                row.want
            );
        }
    }
}
