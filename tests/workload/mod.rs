//! The benchmark workload, shared by `benches/peers.rs` (speed) and
//! `tests/alloc.rs` (zero allocations): the E-cases, the R1000 rule set and
//! its 1,000 requests, all deterministic.

#![allow(dead_code)]

use portcullis::{Action, ActionParameters, Rule, RuleSet};
use portcullis::{ClientCert, HttpRequestBuilder};
use portcullis::{HttpRequest, Value};
use std::net::{IpAddr, Ipv4Addr};

/// E5: fifty `http.host ==` terms joined by `or`.
pub fn e5() -> String {
    (0..50)
        .map(|k| format!("http.host == \"host{k:02}.example.com\""))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The single-expression cases, by name.
pub fn cases() -> Vec<(&'static str, String)> {
    vec![
        ("E1", r#"http.host == "api.example.com""#.to_string()),
        ("E2", r#"(http.host in {"orangeclouded.com" "api.orangeclouded.com"} and not cf.tls_client_auth.cert_verified)"#.to_string()),
        ("E3", r#"ip.src in {10.0.0.0/8 192.0.2.0/24} and tcp.dstport in {80 443 8000..8999}"#.to_string()),
        ("E4", r#"http.user_agent contains "curl" or http.request.uri.path matches "^/admin" or http.request.method eq "POST""#.to_string()),
        ("E5", e5()),
    ]
}

/// One request, as plain data the engines' request types are built from.
#[derive(Clone)]
pub struct Req {
    pub host: String,
    pub path: String,
    pub method: String,
    pub ua: String,
    pub referer: String,
    pub cookie: String,
    pub ip: Ipv4Addr,
    pub country: String,
    pub port: i64,
    pub verified: bool,
    pub bot_score: i64,
    pub verified_bot: bool,
}

impl Req {
    /// The request of the E-cases.
    pub fn bench_request() -> Req {
        Req {
            host: "api.example.com".into(),
            path: "/v1/users/42".into(),
            method: "GET".into(),
            ua: "Mozilla/5.0 (X11; Linux x86_64)".into(),
            referer: "https://www.example.com/".into(),
            cookie: "sid=abc".into(),
            ip: Ipv4Addr::new(192, 0, 2, 55),
            country: "US".into(),
            port: 443,
            verified: false,
            bot_score: 80,
            verified_bot: false,
        }
    }

    /// As portcullis's typed request.
    pub fn portcullis(&self) -> HttpRequest {
        self.builder().build().expect("request")
    }

    /// As a line of request JSON (`portcullis run --requests`): raw parts,
    /// and the fields no part carries by name.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "method": self.method,
            "uri": self.path,
            "headers": {
                "Host": self.host,
                "User-Agent": self.ua,
                "Referer": self.referer,
                "Cookie": self.cookie,
            },
            "client_ip": self.ip.to_string(),
            "client_cert": { "presented": self.verified, "verified": self.verified },
            "ip.src.country": self.country,
            "tcp.dstport": self.port,
            "cf.bot_management.score": self.bot_score,
            "cf.bot_management.verified_bot": self.verified_bot,
        })
    }

    fn builder(&self) -> HttpRequestBuilder {
        HttpRequest::builder()
            .method(&self.method)
            .uri(&self.path)
            .header("Host", &self.host)
            .header("User-Agent", &self.ua)
            .header("Referer", &self.referer)
            .header("Cookie", &self.cookie)
            .client_ip(IpAddr::V4(self.ip))
            .country(&self.country)
            .bot_score(self.bot_score)
            .client_cert(&ClientCert {
                presented: self.verified,
                verified: self.verified,
                ..ClientCert::default()
            })
            .field("tcp.dstport", Value::Int(self.port))
            .field(
                "cf.bot_management.verified_bot",
                Value::Bool(self.verified_bot),
            )
    }
}

/// A small deterministic generator (an LCG).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub const COUNTRIES: &[&str] = &[
    "US", "GB", "DE", "FR", "CN", "RU", "BR", "IN", "JP", "KR", "NL", "SE", "PL", "TR", "IR", "KP",
];

/// The R1000 rule templates: rule `k` of the set, with its random number `n`.
pub fn rule_expr(k: usize, n: usize) -> String {
    match k % 9 {
        0 => format!("http.host == \"h{n}.example.com\""),
        1 => format!(
            "http.host in {{\"api{n}.example.com\" \"app{n}.example.com\"}} and not cf.tls_client_auth.cert_verified"
        ),
        2 => format!(
            "http.request.uri.path matches \"^/api/v{}/item{n}(/|$)\"",
            n % 9
        ),
        3 => format!(
            "ip.src in {{10.{}.0.0/16 198.51.{}.0/24}}",
            n % 256,
            n / 8 % 256
        ),
        4 => format!(
            "ip.src.country in {{\"{}\" \"{}\"}} and http.request.uri.path == \"/geo/{n}\"",
            COUNTRIES[n % COUNTRIES.len()],
            COUNTRIES[(n / 7) % COUNTRIES.len()]
        ),
        5 => format!("http.user_agent contains \"scanner{n}\""),
        6 => format!(
            "cf.bot_management.score lt {} and not cf.bot_management.verified_bot and http.host eq \"shop{n}.example.com\"",
            n % 30
        ),
        7 => format!("http.referer contains \"spam{n}.example\""),
        _ => format!("http.request.method == \"POST\" and http.request.uri.path == \"/login{n}\""),
    }
}

/// The random number of each of the 1,000 rules, in order.
pub fn r1000_numbers() -> Vec<usize> {
    let mut rng = Lcg(7);
    (0..1000).map(|_| rng.below(2000) as usize).collect()
}

/// The R1000 expressions.
pub fn r1000() -> Vec<String> {
    r1000_numbers()
        .into_iter()
        .enumerate()
        .map(|(k, n)| rule_expr(k, n))
        .collect()
}

/// The 1,000 varied requests R1000 is evaluated against.
pub fn r1000_requests() -> Vec<Req> {
    let mut rng = Lcg(11);
    (0..1000)
        .map(|_| {
            let n = rng.below(2000);
            let mut r = Req::bench_request();
            r.host = match rng.below(4) {
                0 => format!("h{n}.example.com"),
                1 => format!("api{n}.example.com"),
                2 => format!("shop{n}.example.com"),
                _ => "www.example.org".into(),
            };
            r.path = match rng.below(4) {
                0 => format!("/api/v{}/item{n}", n % 9),
                1 => format!("/login{n}"),
                2 => format!("/geo/{n}"),
                _ => "/index.html".into(),
            };
            r.method = if rng.below(3) == 0 {
                "POST".into()
            } else {
                "GET".into()
            };
            r.ip = Ipv4Addr::new(
                if rng.below(2) == 0 { 10 } else { 203 },
                rng.below(256) as u8,
                rng.below(256) as u8,
                7,
            );
            r.country = COUNTRIES[rng.below(COUNTRIES.len() as u64) as usize].into();
            r.ua = if rng.below(8) == 0 {
                format!("scanner{}", rng.below(2000))
            } else {
                "Mozilla/5.0".into()
            };
            r.referer = if rng.below(8) == 0 {
                format!("https://spam{}.example/", rng.below(2000))
            } else {
                "https://www.example.com/".into()
            };
            r.verified = rng.below(2) == 0;
            r.bot_score = rng.below(100) as i64;
            r
        })
        .collect()
}

/// A rule set blocking on each expression, ids `r0`, `r1`, ...
pub fn rule_set(exprs: &[String]) -> RuleSet {
    RuleSet {
        rules: exprs
            .iter()
            .enumerate()
            .map(|(k, e)| Rule {
                id: format!("r{k}"),
                description: String::new(),
                expression: e.clone(),
                action: Action::Block,
                action_parameters: ActionParameters::default(),
                enabled: true,
                extra: Default::default(),
            })
            .collect(),
    }
}

/// The same request computing its fields on demand (not
/// `Request::precomputed`): rule sets read it through their per-request memo.
pub struct OnDemand<'r>(pub &'r HttpRequest);

impl portcullis::Request for OnDemand<'_> {
    fn get(&self, id: portcullis::FieldId) -> portcullis::Val<'_> {
        self.0.get(id)
    }

    fn scalar(&self, id: portcullis::FieldId) -> portcullis::Scalar<'_> {
        self.0.scalar(id)
    }
}
