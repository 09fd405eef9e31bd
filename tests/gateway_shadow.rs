//! A shadow rule set in the gateway: evaluated beside the live set on every
//! request, it never decides; each request it would decide otherwise is
//! logged (`shadow verdict differs`) and counted
//! (`portcullis_shadow_changes_total`); it reloads with the rules, and a
//! broken candidate keeps the old one.

mod support;

use http_body_util::Full;
use hyper::body::Bytes;
use std::time::Duration;
use support::Pki;
use support::gateway::{Gateway, RULES, Upstream, config, metric, plain_get, send, tempdir};

/// The live rules with the bot challenge turned into a block, and a rule
/// on a field the live set never reads (the method).
fn candidate() -> String {
    RULES
        .replace(
            r#""id": "challenge-bots", "action": "managed_challenge""#,
            r#""id": "challenge-bots", "action": "block""#,
        )
        .replace(
            "\n]}",
            ",\n  {\"id\": \"no-delete\", \"action\": \"block\", \"expression\": \"http.request.method eq \\\"DELETE\\\"\"}\n]}",
        )
}

fn request(method: &str, ua: &str) -> http::Request<Full<Bytes>> {
    http::Request::builder()
        .method(method)
        .uri("/page")
        .header("host", "www.example.com")
        .header("user-agent", ua)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

async fn changes(gw: &Gateway) -> f64 {
    let text = plain_get(gw.addr("admin"), "/metrics").await.body;
    metric(&text, "portcullis_shadow_changes_total").unwrap_or(-1.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_set_is_compared_on_every_request_and_never_decides() {
    let pki = Pki::new();
    let dir = tempdir("shadow");
    pki.write_pem(&dir);
    let upstream = Upstream::start().await;
    std::fs::write(dir.join("candidate.json"), candidate()).unwrap();
    let text = config(&dir, upstream.addr, "").replacen(
        "watch_interval_ms = 100\n",
        "watch_interval_ms = 100\nshadow = \"candidate.json\"\n",
        1,
    );
    let mut gw = Gateway::start(&dir, &text);
    let addr = gw.addr("gateway");
    assert_eq!(changes(&gw).await, 0.0);

    // The live set decides: a challenge, then two passes.
    let r = send(
        &pki,
        addr,
        Some(&pki.valid),
        false,
        request("GET", "evilbot/1"),
    )
    .await;
    assert_eq!(
        r.status, 429,
        "the live challenge answers, not the shadow's block"
    );
    let r = send(
        &pki,
        addr,
        Some(&pki.valid),
        false,
        request("DELETE", "curl/8"),
    )
    .await;
    assert_eq!(
        r.status, 200,
        "the shadow's block on DELETE does not decide"
    );
    let r = send(
        &pki,
        addr,
        Some(&pki.valid),
        false,
        request("GET", "curl/8"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(changes(&gw).await, 2.0);
    gw.wait_log(Duration::from_secs(5), |log| {
        log.iter()
            .filter(|l| l["message"] == "shadow verdict differs")
            .count()
            == 2
    });
    let differs: Vec<(String, String, String, String)> = gw
        .log()
        .iter()
        .filter(|l| l["message"] == "shadow verdict differs")
        .map(|l| {
            let s = |k: &str| l[k].as_str().unwrap_or_default().to_string();
            (s("action"), s("rule"), s("shadow_action"), s("shadow_rule"))
        })
        .collect();
    let want = |a: &str, b: &str, c: &str, d: &str| (a.into(), b.into(), c.into(), d.into());
    assert_eq!(
        differs,
        vec![
            want(
                "managed_challenge",
                "challenge-bots",
                "block",
                "challenge-bots"
            ),
            // The method is built for the shadow, though the live set does not read it.
            want("none", "", "block", "no-delete"),
        ]
    );

    // A broken candidate is rejected: the old one keeps comparing.
    std::fs::write(dir.join("candidate.json"), "{\"rules\": [").unwrap();
    gw.wait_log(Duration::from_secs(5), |log| {
        log.iter().any(|l| l["message"] == "reload rejected")
    });
    send(
        &pki,
        addr,
        Some(&pki.valid),
        false,
        request("DELETE", "curl/8"),
    )
    .await;
    assert_eq!(changes(&gw).await, 3.0);

    // A candidate equal to the live set reloads and changes nothing.
    std::fs::write(dir.join("candidate.json"), RULES).unwrap();
    gw.wait_log(Duration::from_secs(5), |log| {
        log.iter().any(|l| l["message"] == "reloaded")
    });
    for (method, ua) in [("GET", "evilbot/1"), ("DELETE", "curl/8")] {
        send(&pki, addr, Some(&pki.valid), false, request(method, ua)).await;
    }
    assert_eq!(changes(&gw).await, 3.0);
}
