//! What unauthenticated clients can make the server hold: requests without credentials are answered before their
//! bodies are read (they take no Graph request slot, are not kept in the activity feed, cost no memory), and sockets
//! that only wait — dripping header bytes, or idle — neither exhaust the file descriptors nor keep anyone out.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::{
    process::{Running, launch},
    support::{DEV_APP, DEV_SECRET, DEV_TENANT, Harness},
};

/// The address (`127.0.0.1:port`) of a server's base URL.
fn address(base: &str) -> String {
    base.trim_start_matches("http://").to_owned()
}

/// Writes `request` on a new connection and reads the answer's status line, if one comes within 10 s.
fn raw_status(address: &str, request: &[u8]) -> Option<String> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(request).ok()?;
    let mut answer = [0u8; 64];
    let n = stream.read(&mut answer).ok()?;
    String::from_utf8_lossy(&answer[..n]).lines().next().map(str::to_owned)
}

#[tokio::test]
async fn a_flood_of_large_bodies_without_credentials_costs_no_memory_and_is_not_recorded() {
    let h = Harness::start().await;
    let server = h.server.as_ref().unwrap();
    let before = server.memory_kib("VmRSS");
    let target = address(&h.base);
    let nul_bytes = vec![0u8; 256 * 1024];
    let answers = tokio::task::spawn_blocking(move || {
        let mut answers = Vec::new();
        for _ in 0..600 {
            let mut request =
                format!("POST /v1.0/communications/calls HTTP/1.1\r\nHost: {target}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", nul_bytes.len())
                    .into_bytes();
            request.extend_from_slice(&nul_bytes);
            answers.push(raw_status(&target, &request));
        }
        answers
    })
    .await
    .unwrap();
    let unauthorized = answers.iter().filter(|a| a.as_deref().is_some_and(|l| l.contains(" 401 "))).count();
    assert_eq!(unauthorized, 600, "each is answered 401: {:?}", &answers[..3]);
    let grown = server.memory_kib("VmRSS").saturating_sub(before);
    assert!(grown < 64 * 1024, "600 bodies of 256 KiB without credentials grew the server by {grown} KiB");
    let feed = h.sim("GET", "/activity?limit=10000", None).await.expect(200).body;
    let recorded = feed["value"].as_array().unwrap().iter().filter(|e| e["kind"] == "request").count();
    assert_eq!(recorded, 0, "unauthenticated requests are not in the activity feed");
}

#[tokio::test]
async fn the_activity_feed_keeps_a_bounded_number_of_bytes() {
    let h = Harness::start().await;
    // Authenticated, JSON, 256 KiB each (refused as a call, and recorded all the same).
    let body = json!({"filler": "x".repeat(255 * 1024)});
    for _ in 0..300 {
        h.graph("POST", "/v1.0/communications/calls", Some(&body)).await.expect(400);
    }
    let feed = h.sim("GET", "/activity?limit=10000", None).await.expect(200).body;
    let bodies: usize = feed["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "request")
        .map(|e| e["requestBody"].to_string().len())
        .sum();
    assert!(bodies <= 32 * 1024 * 1024, "the feed keeps {bodies} bytes of 77 MiB of bodies");
    assert!(bodies >= 16 * 1024 * 1024, "and the newest of them: {bodies}");
}

#[tokio::test]
async fn slow_bodies_without_credentials_take_no_graph_request_slot() {
    let h = Harness::start_with_config("max_requests_in_flight = 5\n").await;
    let target = address(&h.base);
    // Headers sent, the body announced and never sent: each is answered at once, without being read.
    let mut held = Vec::new();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(&target).unwrap();
        let headers = format!(
            "POST /v1.0/communications/calls HTTP/1.1\r\nHost: {target}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{"
        );
        stream.write_all(headers.as_bytes()).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut answer = [0u8; 64];
        let n = stream.read(&mut answer).unwrap();
        assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 401"), "answered before the body");
        held.push(stream);
    }
    for _ in 0..10 {
        let reply = h.graph("GET", "/v1.0/communications/calls/no-such-call", None).await;
        assert_eq!(reply.status, 404, "a slot for the authenticated request: {}", reply.body);
    }
}

#[tokio::test]
async fn an_authenticated_body_that_does_not_arrive_in_time_is_answered_408() {
    let h = Harness::start_with_config("body_read_timeout = \"1s\"\n").await;
    let target = address(&h.base);
    let token = h.token.clone();
    let status = tokio::task::spawn_blocking(move || {
        let request = format!(
            "POST /v1.0/communications/calls HTTP/1.1\r\nHost: {target}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
        );
        raw_status(&target, request.as_bytes())
    })
    .await
    .unwrap();
    assert_eq!(status.as_deref(), Some("HTTP/1.1 408 Request Timeout"));
}

/// A server whose process may open 1024 files, closing a connection that has not sent its headers after 2 s.
fn server_with_few_descriptors(cwd: &std::path::Path) -> Running {
    let launcher = ["prlimit", "--nofile=1024:1024", "--"].map(str::to_owned);
    let data = cwd.join("data");
    let args = ["--data-dir", data.to_str().unwrap(), "--clock", "virtual", "--header-read-timeout", "2s"];
    launch(&launcher, &args, &[], cwd).unwrap_or_else(|(_, stderr)| panic!("{stderr}"))
}

async fn dev_token(base: &str) -> String {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", DEV_APP),
        ("client_secret", DEV_SECRET),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let response = reqwest::Client::new().post(format!("{base}/{DEV_TENANT}/oauth2/v2.0/token")).form(&form).send();
    response.await.unwrap().json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn sockets_that_only_wait_neither_exhaust_descriptors_nor_keep_anyone_out() {
    rlimit::increase_nofile_limit(4096).unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let server = server_with_few_descriptors(cwd.path());
    let token = dev_token(&server.base).await;
    let target = address(&server.base);
    // 1,100 sockets — more than the server may open: half drip a header byte a second, half say nothing.
    let mut waiting: Vec<TcpStream> = (0..1100).map(|_| TcpStream::connect(&target).unwrap()).collect();
    for (n, stream) in waiting.iter_mut().enumerate() {
        stream.set_nonblocking(true).unwrap();
        if n % 2 == 0 {
            let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHo");
        }
    }
    // Meanwhile bots are served: each new connection takes the place of the oldest that only waits.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    for _ in 0..20 {
        let reply = client
            .get(format!("{}/v1.0/communications/calls/no-such-call", server.base))
            .bearer_auth(&token)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .expect("served while 1,100 sockets wait");
        assert_eq!(reply.status(), 404);
        for stream in waiting.iter_mut().step_by(2) {
            let _ = stream.write_all(b"s");
        }
    }
    // And every waiting socket is closed by the server, the dripping ones too, once their headers are overdue.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut open = waiting.len();
    while open > 0 && Instant::now() < deadline {
        open = 0;
        for stream in &mut waiting {
            let _ = stream.write_all(b"t");
            let mut byte = [0u8; 256];
            match stream.read(&mut byte) {
                Ok(0) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => open += 1,
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(open, 0, "sockets the server still holds after 30 s");
    let descriptors = std::fs::read_dir(format!("/proc/{}/fd", server.pid())).unwrap().count();
    assert!(descriptors < 100, "the server holds {descriptors} descriptors once they are gone");
}
