//! Applying load: closed loop (a fixed number of iterations in flight) or open loop (iterations started at a fixed
//! rate whatever the answers take, with latency counted from when each should have started, so a stalled server
//! cannot hide its queue). Samples go to [`crate::report`].

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::task::JoinSet;

use crate::{
    Pace,
    process::{self, Usage},
    report::{Report, Sample, ServerUsage},
};

/// Open loop: at most this many iterations in flight; beyond it an iteration is counted as an error (the server
/// is not keeping up), not queued without bound in the load generator.
const OPEN_LOOP_LIMIT: usize = 20_000;

/// Runs `iteration` under `pace` and reports. An iteration returns the latency it measured (from its own start) or
/// an error; `worker` is its closed-loop lane (`None` in open loop), `n` its number (per lane in closed loop).
pub(crate) async fn drive<F, Fut>(scenario: &str, pace: &Pace, iteration: F) -> Result<Report, String>
where
    F: Fn(Option<usize>, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Duration, String>> + Send + 'static,
{
    let iteration = Arc::new(iteration);
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let progress = progress_bar(pace);
    let before = pace.server_pid.and_then(process::usage);
    let mut peak_rss = before.map_or(0, |u| u.rss_bytes);
    let started = Instant::now();
    let deadline = started + pace.duration;
    let mut tasks = JoinSet::new();
    let record = {
        let samples = samples.clone();
        move |start: Instant, outcome: Result<Duration, String>, lag: Duration| {
            let sample = Sample {
                at: start.duration_since(started),
                latency: outcome.as_ref().map_or(Duration::ZERO, |l| *l + lag),
                error: outcome.err(),
            };
            samples.lock().expect("invariant: nothing panics holding the samples").push(sample);
        }
    };
    let count = pace.count.unwrap_or(u64::MAX);
    let begun = Arc::new(std::sync::atomic::AtomicU64::new(0));
    match pace.rate {
        None => {
            for worker in 0..pace.concurrency.max(1) {
                let iteration = iteration.clone();
                let record = record.clone();
                let begun = begun.clone();
                tasks.spawn(async move {
                    let mut n = 0;
                    while Instant::now() < deadline && begun.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < count
                    {
                        let start = Instant::now();
                        record(start, iteration(Some(worker), n).await, Duration::ZERO);
                        n += 1;
                    }
                });
            }
        }
        Some(rate) => {
            let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
            let record = record.clone();
            let iteration = iteration.clone();
            tasks.spawn(async move {
                let in_flight = Arc::new(tokio::sync::Semaphore::new(OPEN_LOOP_LIMIT));
                let mut n = 0u64;
                loop {
                    let due = started + interval.mul_f64(n as f64);
                    if due >= deadline || n >= count {
                        break;
                    }
                    tokio::time::sleep_until(due.into()).await;
                    let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                        record(
                            due,
                            Err("the server fell too far behind (open-loop limit reached)".into()),
                            Duration::ZERO,
                        );
                        n += 1;
                        continue;
                    };
                    let iteration = iteration.clone();
                    let record = record.clone();
                    tokio::spawn(async move {
                        let start = Instant::now();
                        let outcome = iteration(None, n).await;
                        record(due, outcome, start.duration_since(due));
                        drop(permit);
                    });
                    n += 1;
                }
                // Wait for the iterations still in flight.
                let _ = in_flight.acquire_many(OPEN_LOOP_LIMIT as u32).await;
            });
        }
    }
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            finished = tasks.join_next() => if finished.is_none() { break },
            _ = tick.tick() => {
                let done = samples.lock().expect("invariant: nothing panics holding the samples").len();
                progress.set_position(started.elapsed().as_millis().min(pace.duration.as_millis()) as u64);
                progress.set_message(format!("{done} done, {:.0}/s", done as f64 / started.elapsed().as_secs_f64()));
                if let Some(usage) = pace.server_pid.and_then(process::usage) {
                    peak_rss = peak_rss.max(usage.rss_bytes);
                }
            }
        }
    }
    let wall = started.elapsed();
    progress.finish_and_clear();
    let after = pace.server_pid.and_then(process::usage);
    let server = match (before, after) {
        (Some(before), Some(after)) => Some(server_usage(before, after, wall, peak_rss)),
        _ => None,
    };
    let samples = std::mem::take(&mut *samples.lock().expect("invariant: nothing panics holding the samples"));
    Ok(Report::new(scenario, pace, wall, samples, server))
}

fn server_usage(before: Usage, after: Usage, wall: Duration, peak_rss: u64) -> ServerUsage {
    let cpu = after.cpu.saturating_sub(before.cpu);
    ServerUsage {
        cpu_percent: 100.0 * cpu.as_secs_f64() / wall.as_secs_f64(),
        rss_end_mib: after.rss_bytes as f64 / 1_048_576.0,
        rss_peak_mib: peak_rss.max(after.rss_bytes) as f64 / 1_048_576.0,
    }
}

fn progress_bar(pace: &Pace) -> ProgressBar {
    if pace.quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(pace.duration.as_millis() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {elapsed}/{duration} {msg}")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar
}

/// One fixed request, over and over: the roofline server, a mock such as Prism, or any URL.
pub(crate) async fn fixed(url: &str, method: reqwest::Method, body: String, pace: &Pace) -> Result<(), String> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(1024).build().map_err(|e| e.to_string())?;
    let url = url.to_owned();
    let report = drive("fixed", pace, move |_, _| {
        let request = client
            .request(method.clone(), &url)
            .header("content-type", "application/json")
            .header("authorization", "Bearer bench")
            .body(body.clone());
        async move {
            let start = Instant::now();
            let response = request.send().await.map_err(|e| e.to_string())?;
            let status = response.status();
            response.bytes().await.map_err(|e| e.to_string())?;
            if status.is_success() { Ok(start.elapsed()) } else { Err(format!("HTTP {status}")) }
        }
    })
    .await?;
    report.publish(pace)
}
