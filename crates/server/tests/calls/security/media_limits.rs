//! What requests can make the media engine hold is bounded: DTMF sequences have a cap and are made as they play, a
//! call's media queue has a bound, and prompts are fetched a few at a time within a byte budget.

use serde_json::json;

use crate::{media::call_with_alice, support::Harness};

#[tokio::test]
async fn send_dtmf_tones_is_capped_and_made_as_it_plays() {
    let h = Harness::start().await;
    let (id, alice) = call_with_alice(&h).await;
    let server = h.server.as_ref().unwrap();
    let peak_before = server.memory_kib("VmHWM");
    let send = |body: serde_json::Value| {
        let path = format!("/v1.0/communications/calls/{id}/sendDtmfTones");
        let h = &h;
        async move { h.graph("POST", &path, Some(&body)).await }
    };
    let flood = send(json!({"tones": vec!["tone1"; 100_000]})).await;
    assert_eq!((flood.status, flood.error_code()), (400, "BadRequest"), "{}", flood.body);
    assert!(flood.error_message().contains("'tones' has 100000 entries") && flood.error_message().contains("100"));
    let forever = send(json!({"tones": ["tone1", "tone2"], "delayBetweenTonesMs": 2_000_000_000})).await;
    assert_eq!(forever.status, 400, "{}", forever.body);
    assert!(forever.error_message().contains("delayBetweenTonesMs"));
    let grown = server.memory_kib("VmHWM").saturating_sub(peak_before);
    assert!(grown < 64 * 1024, "refusing them cost {grown} KiB");

    // The most allowed, with the longest gaps: heard key by key, nothing made ahead.
    let tones: Vec<&str> = ["tone1", "tone2", "tone3"].into_iter().cycle().take(100).collect();
    send(json!({"tones": tones, "delayBetweenTonesMs": 10_000})).await.expect(200);
    h.advance(25.0).await;
    assert_eq!(h.heard(&id, &alice).await.keys(), "123", "a key every 10.1 s");
    let grown = server.memory_kib("VmHWM").saturating_sub(peak_before);
    assert!(grown < 64 * 1024, "a 17-minute sequence cost {grown} KiB");
}

#[tokio::test]
async fn a_calls_media_queue_is_bounded() {
    let h = Harness::start().await;
    let (id, _) = call_with_alice(&h).await;
    let path = format!("/v1.0/communications/calls/{id}/sendDtmfTones");
    let body = json!({"tones": ["tone5"], "delayBetweenTonesMs": 10_000});
    for _ in 0..100 {
        h.graph("POST", &path, Some(&body)).await.expect(200);
    }
    let refused = h.graph("POST", &path, Some(&body)).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.error_message().contains("100 media operations waiting"), "{}", refused.body);
}

/// A web server answering every GET with the same `bytes` (a prompt host that a query string makes look new).
async fn prompt_host(bytes: Vec<u8>) -> String {
    let bytes = axum::body::Bytes::from(bytes);
    let app = axum::Router::new().fallback(move || {
        let bytes = bytes.clone();
        async move { ([("content-type", "audio/wav")], bytes) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn prompts_are_fetched_a_few_at_a_time_within_a_byte_budget() {
    let h = Harness::start().await;
    let (id, _) = call_with_alice(&h).await;
    // 10 MiB that is not audio: each is fetched whole, then fails to decode, so only the fetching costs memory.
    let host = prompt_host(vec![0u8; 10 * 1024 * 1024]).await;
    let server = h.server.as_ref().unwrap();
    let peak_before = server.memory_kib("VmHWM");
    for request in 0..5 {
        let prompts: Vec<_> =
            (0..20).map(|n| crate::media::prompt(&format!("{host}/big.wav?n={request}-{n}"))).collect();
        let path = format!("/v1.0/communications/calls/{id}/playPrompt");
        h.graph("POST", &path, Some(&json!({ "prompts": prompts }))).await.expect(200);
    }
    // Fetched as the queue reaches them (a few prompts ahead of the one playing); the virtual clock waits for what
    // is being loaded, and each unplayable prompt fails its operation.
    h.advance(1.0).await;
    let failed = h.receiver.take(5).await;
    assert!(
        failed.iter().all(|n| n.summary() == "deleted operation failed"),
        "unplayable prompts fail their operations"
    );
    let grown = server.memory_kib("VmHWM").saturating_sub(peak_before);
    // Unbounded (100 fetches at once, as before the limits, or with them set that high) the peak rose by 570 MiB.
    assert!(grown < 200 * 1024, "fetching 100 prompts of 10 MiB raised the peak by {grown} KiB");
}
