//! Outside dev mode notifications go to https URLs at public addresses, and to special-purpose networks only where
//! the operator allowed them — the callback URL and every redirect on the way, checked before the POST (and its
//! token) leaves.

use serde_json::Value;

use crate::support::{Harness, Planned, Receiver, TestCertificate, answers_after, user_identity};

/// A production server whose bot listens on `https://127.0.0.1:…` with a certificate of a CA the server trusts;
/// `extra` goes into the `[notifications]` section. The directory holds the CA file.
async fn production_with_bot_on_loopback(extra: &str) -> (Harness, tempfile::TempDir) {
    let certificate = TestCertificate::issue();
    let ca = tempfile::tempdir().unwrap();
    let ca_file = ca.path().join("ca.pem");
    std::fs::write(&ca_file, &certificate.ca_pem).unwrap();
    let receiver = Receiver::start_tls(&certificate).await;
    let config = format!("[notifications]\ntrust = [\"{}\"]\n{extra}\n", ca_file.display());
    (Harness::start_production(&config, receiver).await, ca)
}

/// Places a call to a simulated user; returns its id.
async fn place_call(h: &Harness, callback: &str) -> String {
    let alice = h.user("Alice", answers_after(0)).await;
    let mut body = h.call_body(vec![user_identity(&alice)]);
    body["callbackUri"] = callback.into();
    h.place("v1.0", &body).await
}

fn last_error(entry: &Value) -> &str {
    entry["lastError"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn loopback_callbacks_are_refused_outside_dev_mode_before_anything_is_sent() {
    let (h, _ca) = production_with_bot_on_loopback("").await;
    let port = h.receiver.url.rsplit(':').next().unwrap().to_owned();
    for callback in [
        format!("{}/callback", h.receiver.url),
        format!("https://localhost:{port}/callback"),
        format!("https://[::ffff:127.0.0.1]:{port}/callback"),
    ] {
        let id = place_call(&h, &callback).await;
        let journal = h.settled_journal(&id).await;
        assert_eq!(journal[0]["status"], "deadLettered", "{callback}: {}", journal[0]);
        assert!(last_error(&journal[0]).contains("127.0.0.0/8"), "{callback}: {}", last_error(&journal[0]));
        assert_eq!(journal[0]["attempts"], 1, "not retried: trying again would not help");
    }
    assert!(h.receiver.drain().await.is_empty(), "nothing reached the bot");
}

#[tokio::test]
async fn an_allowed_network_is_delivered_to_but_a_redirect_out_of_it_or_to_plain_http_is_not() {
    let (h, _ca) = production_with_bot_on_loopback("allowed_networks = [\"127.0.0.1/32\"]").await;
    let id = place_call(&h, &h.callback()).await;
    assert_eq!(h.receiver.next().await.summary(), "updated establishing", "127.0.0.1 is allowed");
    // The bot's webhook now answers with redirects: to plain http on the same machine, and to ::1 (not allowed).
    let elsewhere = Receiver::start().await;
    let plain = format!("{}/stolen", elsewhere.url);
    let v6 = format!("https://[::1]:{}/callback", h.receiver.url.rsplit(':').next().unwrap());
    h.receiver.plan([Planned::with_header(302, "location", &plain), Planned::with_header(307, "location", &v6)]);
    h.advance(0.0).await;
    let redirected = h.receiver.take(2).await;
    assert!(redirected.iter().all(|r| r.path == "/callback"), "the bot's own URL got both");
    let journal = h.journal_until(&id, |j| j.len() >= 3 && j[1..3].iter().all(|n| n["status"] != "pending")).await;
    assert_eq!(journal[1]["status"], "deadLettered");
    assert!(last_error(&journal[1]).contains("plain http"), "{}", journal[1]);
    assert_eq!(journal[2]["status"], "deadLettered");
    assert!(last_error(&journal[2]).contains("::1/128"), "{}", journal[2]);
    assert!(elsewhere.drain().await.is_empty(), "the notification and its token never went to plain http");
}
