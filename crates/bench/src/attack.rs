//! The attacks of issue 14 at full size, against a server this starts itself (as users run it, under the common
//! 1,024 file-descriptor limit), each on a fresh server: what the server answered and how much memory it took.
//! BENCHMARKS.md's "Under attack" section quotes this output.
//!
//! * `flood` — 600 POSTs of 256 KiB of NUL bytes without credentials;
//! * `slowloris` — 3,000 connections dripping a header byte a second, while a bot makes a request a second;
//! * `idle` — 1,100 connections that say nothing, while a bot makes requests;
//! * `slow-bodies` — 60 requests without credentials whose bodies never come, at `--max-requests-in-flight 50`;
//! * `big-request` — one `sendDtmfTones` with 100,000 tones;
//! * `prompts` — 5 `playPrompt` of 20 distinct 10-minute WAV prompts (19 MiB each) from a local host;
//! * `tokens` — 2,000 token requests with a wrong secret as fast as they go.

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use crate::{
    bot::{DEV_APP, DEV_TENANT, Fleet},
    process::{Server, memory_kib},
};

#[derive(Args)]
pub(crate) struct AttackArgs {
    /// The switchboard binary (a release build)
    #[arg(long, default_value = "target/release/switchboard")]
    binary: PathBuf,
    /// The file-descriptor limit the server runs under
    #[arg(long, default_value_t = 1024)]
    nofile: u64,
    /// How long the slowloris sockets drip
    #[arg(long, default_value = "75s", value_parser = humantime::parse_duration)]
    slowloris_for: Duration,
    /// The cases to run, comma-separated [default: all]
    #[arg(long, value_delimiter = ',')]
    cases: Vec<Case>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Case {
    Flood,
    Slowloris,
    Idle,
    SlowBodies,
    BigRequest,
    Prompts,
    Tokens,
}

const ALL: [Case; 7] =
    [Case::Flood, Case::Slowloris, Case::Idle, Case::SlowBodies, Case::BigRequest, Case::Prompts, Case::Tokens];

pub(crate) async fn run(args: AttackArgs) -> Result<(), String> {
    // The attacker's side needs more descriptors than the server may have.
    rlimit::increase_nofile_limit(8192).map_err(|e| format!("cannot raise this process's file limit: {e}"))?;
    let cases = if args.cases.is_empty() { ALL.to_vec() } else { args.cases.clone() };
    for case in cases {
        let extra: &[&str] = if case == Case::SlowBodies { &["--max-requests-in-flight", "50"] } else { &[] };
        let server = Server::start_limited(&args.binary, args.nofile, extra)?;
        let line = match case {
            Case::Flood => flood(&server).await,
            Case::Slowloris => slowloris(&server, args.slowloris_for).await,
            Case::Idle => idle(&server).await,
            Case::SlowBodies => slow_bodies(&server).await,
            Case::BigRequest => big_request(&server).await,
            Case::Prompts => prompts(&server).await,
            Case::Tokens => tokens(&server).await,
        }?;
        println!("{line}");
    }
    Ok(())
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

/// "RSS a → b MiB (peak c MiB)", from `before` (VmRSS) to now.
fn memory(server: &Server, before: u64) -> String {
    let (now, peak) = (memory_kib(server.pid(), "VmRSS"), memory_kib(server.pid(), "VmHWM"));
    format!("RSS {} → {} (peak {})", mib(before), mib(now), mib(peak))
}

fn address(base: &str) -> String {
    base.trim_start_matches("http://").to_owned()
}

/// The status line of the answer to `request` on a new connection, if one comes within 10 s.
fn status_line(address: &str, request: &[u8]) -> Option<String> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    stream.write_all(request).ok()?;
    let mut answer = [0u8; 64];
    let n = stream.read(&mut answer).ok()?;
    String::from_utf8_lossy(&answer[..n]).lines().next().map(str::to_owned)
}

async fn flood(server: &Server) -> Result<String, String> {
    let before = memory_kib(server.pid(), "VmRSS");
    let target = address(&server.base);
    let answered = Arc::new(AtomicUsize::new(0));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (target, answered) = (target.clone(), answered.clone());
        senders.spawn_blocking(move || {
            let body = vec![0u8; 256 * 1024];
            for _ in 0..75 {
                let mut request = format!(
                    "POST /v1.0/communications/calls HTTP/1.1\r\nHost: {target}\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                request.extend_from_slice(&body);
                if status_line(&target, &request).is_some_and(|line| line.contains(" 401 ")) {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while senders.join_next().await.is_some() {}
    let feed: Value = reqwest::get(format!("{}/_sim/activity?limit=10000", server.base))
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let kept = feed["value"].as_array().map_or(0, |v| v.iter().filter(|e| e["kind"] == "request").count());
    Ok(format!(
        "flood: 600 POSTs of 256 KiB of NUL bytes without credentials: {} answered 401; {}; {kept} kept in the activity \
         feed",
        answered.load(Ordering::Relaxed),
        memory(server, before)
    ))
}

/// `n` connections to `target`, each after sending `first` (nothing, or the start of a request).
fn connections(target: &str, n: usize, first: &[u8]) -> Vec<TcpStream> {
    (0..n)
        .filter_map(|_| {
            let mut stream = TcpStream::connect(target).ok()?;
            stream.set_nonblocking(true).ok()?;
            let _ = stream.write_all(first);
            Some(stream)
        })
        .collect()
}

/// How many of `streams` the server still holds open (a read neither ends nor fails).
fn still_open(streams: &mut [TcpStream]) -> usize {
    let mut open = 0;
    for stream in streams {
        let mut buffer = [0u8; 512];
        if matches!(stream.read(&mut buffer), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock) {
            open += 1;
        }
    }
    open
}

/// A bot's request every half second for `duration`: (answered, failed, slowest).
async fn bot_requests(fleet: &Fleet, duration: Duration) -> (usize, usize, Duration) {
    let (mut answered, mut failed, mut slowest) = (0, 0, Duration::ZERO);
    let until = Instant::now() + duration;
    while Instant::now() < until {
        let started = Instant::now();
        match tokio::time::timeout(Duration::from_secs(10), fleet.status("/v1.0/communications/calls/none")).await {
            Ok(Ok(404)) => answered += 1,
            _ => failed += 1,
        }
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    (answered, failed, slowest)
}

async fn slowloris(server: &Server, duration: Duration) -> Result<String, String> {
    let fleet = Fleet::start(&server.base).await?;
    let before = memory_kib(server.pid(), "VmRSS");
    let target = address(&server.base);
    let mut sockets = connections(&target, 3000, b"GET /healthz HTTP/1.1\r\nX-");
    let opened = sockets.len();
    let dripping = async {
        let until = Instant::now() + duration;
        while Instant::now() < until {
            for socket in &mut sockets {
                let _ = socket.write_all(b"a");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    let ((answered, failed, slowest), ()) = tokio::join!(bot_requests(&fleet, duration), dripping);
    let held = still_open(&mut sockets);
    let descriptors = std::fs::read_dir(format!("/proc/{}/fd", server.pid())).map(|d| d.count()).unwrap_or(0);
    Ok(format!(
        "slowloris: {opened} connections dripping a header byte a second for {} s: {held} still held at the end; a bot's \
         {} requests: {answered} answered, {failed} failed, slowest {} ms; {descriptors} descriptors open; {}",
        duration.as_secs(),
        answered + failed,
        slowest.as_millis(),
        memory(server, before)
    ))
}

async fn idle(server: &Server) -> Result<String, String> {
    let fleet = Fleet::start(&server.base).await?;
    let before = memory_kib(server.pid(), "VmRSS");
    let mut sockets = connections(&address(&server.base), 1100, b"");
    let opened = sockets.len();
    let (answered, failed, slowest) = bot_requests(&fleet, Duration::from_secs(10)).await;
    let held = still_open(&mut sockets);
    Ok(format!(
        "idle: {opened} connections that say nothing: a bot's {} requests meanwhile: {answered} answered, {failed} \
         failed, slowest {} ms; {held} idle connections still open after 10 s; {}",
        answered + failed,
        slowest.as_millis(),
        memory(server, before)
    ))
}

async fn slow_bodies(server: &Server) -> Result<String, String> {
    let fleet = Fleet::start(&server.base).await?;
    let target = address(&server.base);
    let request = format!(
        "POST /v1.0/communications/calls HTTP/1.1\r\nHost: {target}\r\nContent-Type: application/json\r\n\
         Content-Length: 100000\r\n\r\n{{"
    );
    let mut held = connections(&target, 60, request.as_bytes());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let refused_at_once = held.len() - still_open(&mut held);
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for _ in 0..20 {
        let status = fleet.status("/v1.0/communications/calls/none").await.unwrap_or(0);
        *statuses.entry(status).or_default() += 1;
    }
    Ok(format!(
        "slow bodies: 60 requests without credentials whose bodies never come, at --max-requests-in-flight 50: {refused_at_once} \
         answered (401) without waiting for their bodies; 20 authenticated requests meanwhile: {statuses:?}"
    ))
}

/// The server with one established call to a simulated user; the fleet and the call.
async fn established_call(server: &Server) -> Result<(Fleet, String), String> {
    let fleet = Fleet::start(&server.base).await?;
    let user = fleet.users()[0].clone();
    let call = fleet.establish(&[&user]).await?;
    Ok((fleet, call))
}

async fn big_request(server: &Server) -> Result<String, String> {
    let (fleet, call) = established_call(server).await?;
    let before = memory_kib(server.pid(), "VmRSS");
    let body = json!({"tones": vec!["tone1"; 100_000]});
    let path = format!("/v1.0/communications/calls/{call}/sendDtmfTones");
    let (status, answer) = fleet.request(reqwest::Method::POST, &path, Some(body)).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let message = answer["error"]["message"].as_str().unwrap_or_default().to_owned();
    Ok(format!(
        "big request: sendDtmfTones with 100,000 tones (0.9 MB): {status} \"{message}\"; {}",
        memory(server, before)
    ))
}

/// A host serving the same bytes for every URL, counting the requests.
async fn prompt_host(bytes: Vec<u8>) -> Result<(String, Arc<AtomicUsize>), String> {
    let served = Arc::new(AtomicUsize::new(0));
    let (bytes, counter) = (axum::body::Bytes::from(bytes), served.clone());
    let app = axum::Router::new().fallback(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        let bytes = bytes.clone();
        async move { ([("content-type", "audio/wav")], bytes) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, served))
}

/// A 16 kHz mono 16-bit WAV of `seconds` of a quiet tone.
fn wav(seconds: u32) -> Vec<u8> {
    let samples = 16_000 * seconds;
    let mut bytes = Vec::with_capacity(44 + samples as usize * 2);
    let data = samples * 2;
    for part in [
        &b"RIFF"[..],
        &(36 + data).to_le_bytes(),
        b"WAVEfmt ",
        &16u32.to_le_bytes(),
        &1u16.to_le_bytes(),
        &1u16.to_le_bytes(),
        &16_000u32.to_le_bytes(),
        &32_000u32.to_le_bytes(),
        &2u16.to_le_bytes(),
        &16u16.to_le_bytes(),
        b"data",
        &data.to_le_bytes(),
    ] {
        bytes.extend_from_slice(part);
    }
    for n in 0..samples {
        let value = ((n as f64 * 440.0 * std::f64::consts::TAU / 16_000.0).sin() * 3000.0) as i16;
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes
}

async fn prompts(server: &Server) -> Result<String, String> {
    let (fleet, call) = established_call(server).await?;
    let (host, served) = prompt_host(wav(599)).await?;
    let before = memory_kib(server.pid(), "VmRSS");
    let started = Instant::now();
    for request in 0..5 {
        let prompts: Vec<Value> = (0..20)
            .map(|n| {
                json!({"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": {"@odata.type": "#microsoft.graph.mediaInfo",
                    "uri": format!("{host}/prompt.wav?n={request}-{n}"), "resourceId": uuid::Uuid::new_v4()}})
            })
            .collect();
        let path = format!("/v1.0/communications/calls/{call}/playPrompt");
        fleet.request(reqwest::Method::POST, &path, Some(json!({ "prompts": prompts }))).await?;
    }
    // Fetched one after another as the queue asks for them (and all of them by preFetch-like planning): wait for
    // the fetches to stop coming.
    let mut last = (0, Instant::now());
    while last.1.elapsed() < Duration::from_secs(5) && started.elapsed() < Duration::from_secs(120) {
        let now = served.load(Ordering::Relaxed);
        if now != last.0 {
            last = (now, Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(format!(
        "prompts: 5 playPrompt × 20 distinct 10-minute WAV prompts (19 MiB each): {} fetched in {} s; {}",
        served.load(Ordering::Relaxed),
        (last.1 - started).as_secs(),
        memory(server, before)
    ))
}

async fn tokens(server: &Server) -> Result<String, String> {
    let http = reqwest::Client::new();
    let url = format!("{}/{DEV_TENANT}/oauth2/v2.0/token", server.base);
    let started = Instant::now();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for n in 0..2000 {
        let secret = format!("wrong-{n}");
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", DEV_APP),
            ("client_secret", secret.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
        ];
        let status = http.post(&url).form(&form).send().await.map_err(|e| e.to_string())?.status().as_u16();
        *statuses.entry(status).or_default() += 1;
    }
    let rate = 2000.0 / started.elapsed().as_secs_f64();
    Ok(format!("tokens: 2,000 wrong secrets for one app from one address ({rate:.0}/s): {statuses:?}"))
}
