//! Notification delivery benchmark: a `switchboard serve` (release build, SQLite file in a temporary directory,
//! virtual clock so no timer adds notifications) and a webhook receiver on loopback that answers 202 at once.
//! Simulated users call the dev app through `/_sim/calls`; each call commits one `created` notification. The
//! benchmark reports how fast they are delivered and how long each took from the commit that queued it (the
//! journal's `queuedAt`, wall clock) to its arrival at the receiver.
//!
//! `scripts/bench-delivery` builds and runs it; BENCHMARKS.md has the numbers.
//!
//! Usage: delivery_bench [--calls N] [--rate PER_SECOND] [--requesters N] [--backlog]
//!   --rate 0 (the default) places calls as fast as the requesters can.
//!   --backlog keeps the receiver down until every call is placed (its notifications wait, retried every 50 to
//!   250 ms), then starts it: the drain rate of that backlog is the dispatcher's throughput, unmixed with the cost
//!   of placing calls.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, extract::State, http::HeaderMap, http::StatusCode};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

const DEV_APP: &str = "5b1ed0c5-0000-4000-8000-0000000000a1";

struct Options {
    calls: usize,
    rate: f64,
    requesters: usize,
    backlog: bool,
}

fn options() -> Options {
    let mut options = Options { calls: 5000, rate: 0.0, requesters: 16, backlog: false };
    let mut args = std::env::args().skip(1);
    while let Some(name) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{name} needs a value"));
        match name.as_str() {
            "--calls" => options.calls = value().parse().expect("--calls N"),
            "--rate" => options.rate = value().parse().expect("--rate PER_SECOND"),
            "--requesters" => options.requesters = value().parse().expect("--requesters N"),
            "--backlog" => options.backlog = true,
            other => panic!("unknown option {other}"),
        }
    }
    options
}

type Arrivals = Arc<Mutex<Vec<(String, DateTime<Utc>)>>>;

async fn receive(State(arrivals): State<Arrivals>, headers: HeaderMap) -> StatusCode {
    let at = Utc::now();
    let id = headers.get("x-microsoft-skype-message-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    arrivals.lock().unwrap().push((id.to_owned(), at));
    StatusCode::ACCEPTED
}

async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

async fn serve_receiver(address: std::net::SocketAddr, app: Option<Router>) {
    if let Some(app) = app {
        let listener = tokio::net::TcpListener::bind(address).await.unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

#[tokio::main]
async fn main() {
    let options = options();
    let arrivals: Arrivals = Arc::default();
    let address = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let webhook = format!("http://{address}/incoming");
    let app = Router::new().fallback(receive).with_state(arrivals.clone());
    let mut receiver = Some(app);
    if !options.backlog {
        serve_receiver(address, receiver.take()).await;
    }

    let binary = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("switchboard");
    let data = tempfile::tempdir().unwrap();
    let config = data.path().join("switchboard.toml");
    std::fs::write(
        &config,
        "[notifications]\ninitial_backoff = \"50ms\"\nmax_backoff = \"250ms\"\nmax_attempts = 100000\n",
    )
    .unwrap();
    let mut server = Command::new(&binary)
        .args(["serve", "--listen", "127.0.0.1:0", "--clock", "virtual", "--log", "error", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(data.path().join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e} (build it with --release first)", binary.display()));
    let base = BufReader::new(server.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("Switchboard listening on ").map(str::to_owned))
        .expect("the server's banner");

    let http = reqwest::Client::new();
    let patch = http.patch(format!("{base}/_admin/apps/{DEV_APP}")).json(&json!({"callingWebhook": webhook}));
    assert!(patch.send().await.unwrap().status().is_success());
    let caller = json!({"displayName": "Caller", "behaviour": {"response": {"kind": "ring"}}});
    let user = json_of(http.post(format!("{base}/_sim/users")).json(&caller)).await;
    let call = json!({"from": {"user": {"id": user["id"]}}, "appId": DEV_APP});

    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut requesters = Vec::new();
    for _ in 0..options.requesters {
        let (http, base, call, next) = (http.clone(), base.clone(), call.clone(), next.clone());
        let (total, rate) = (options.calls, options.rate);
        requesters.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= total {
                    return;
                }
                if rate > 0.0 {
                    let due = started + Duration::from_secs_f64(n as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                let placed = http.post(format!("{base}/_sim/calls")).json(&call).send().await.unwrap();
                assert_eq!(placed.status(), 201);
            }
        }));
    }
    for requester in requesters {
        requester.await.unwrap();
    }
    let placed_in = started.elapsed();
    let receiver_up = Utc::now();
    serve_receiver(address, receiver.take()).await;
    let deadline = Instant::now() + Duration::from_secs(300);
    while arrivals.lock().unwrap().len() < options.calls {
        assert!(Instant::now() < deadline, "not everything arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut queued: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut after = 0;
    loop {
        let page = json_of(http.get(format!("{base}/_sim/notifications?after={after}&limit=5000"))).await;
        let entries = page["value"].as_array().unwrap();
        if entries.is_empty() {
            break;
        }
        for entry in entries {
            let at = entry["queuedAt"].as_str().unwrap().parse().unwrap();
            queued.insert(entry["messageId"].as_str().unwrap().to_owned(), at);
        }
        after = page["next"].as_i64().unwrap();
    }
    let arrivals = arrivals.lock().unwrap().clone();
    let mut latencies: Vec<f64> =
        arrivals.iter().map(|(id, at)| (*at - queued[id]).num_microseconds().unwrap() as f64 / 1000.0).collect();
    latencies.sort_by(f64::total_cmp);
    let first = if options.backlog { receiver_up } else { *queued.values().min().unwrap() };
    let last = arrivals.iter().map(|(_, at)| at).max().unwrap();
    let span = (*last - first).num_microseconds().unwrap() as f64 / 1e6;
    let _ = server.kill();
    let _ = server.wait();

    let load = if options.rate > 0.0 { format!("{} calls/s", options.rate) } else { "as fast as possible".to_owned() };
    println!(
        "load: {} calls, one notification each ({load}, {} requesters; placed in {:.2} s)",
        options.calls,
        options.requesters,
        placed_in.as_secs_f64()
    );
    if options.backlog {
        let rate = options.calls as f64 / span;
        println!("backlog drained at {rate:.0} notifications/s ({span:.2} s from the receiver's start)");
        return;
    }
    println!(
        "delivered: {:.0} notifications/s (first queued to last received: {span:.2} s)",
        options.calls as f64 / span
    );
    println!(
        "queued -> received: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
}
