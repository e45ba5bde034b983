//! Misbehaving webhooks under load: while bots keep creating calls whose notifications go to receivers that hang,
//! reset the connection, answer slowly or answer 500, other bots measure how long their own notifications take
//! (request → roster notification received) — first with no misbehaving receiver, then with all four — and the
//! server's memory is sampled throughout. The claim under test: one bot's broken webhook costs the others nothing
//! that matters, and the server's memory stays bounded.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use clap::Args;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use crate::{
    Pace,
    bot::{Fleet, prepare_group_calls, toggling},
    load::drive,
    process,
};

#[derive(Args)]
pub(crate) struct FaultArgs {
    /// The server, e.g. http://127.0.0.1:8640
    #[arg(long)]
    url: String,
    /// Its process id (memory and CPU)
    #[arg(long)]
    server_pid: u32,
    /// How long each phase runs
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Calls per second created for each misbehaving receiver (a steady trickle, so the server is not simply
    /// overloaded: the question is whether broken webhooks hurt the others)
    #[arg(long, default_value_t = 20)]
    bad_calls_per_second: u32,
}

#[derive(Clone, Copy, Debug)]
enum Misbehaviour {
    /// Reads the request and never answers (the server's per-attempt timeout ends it).
    Hang,
    /// Closes the connection as soon as it is accepted.
    Reset,
    /// Answers 202 after three seconds.
    Slow,
    /// Answers 500 at once (retried with backoff, then dead-lettered).
    Error,
}

/// A receiver that misbehaves on every request; returns its callback URL.
async fn misbehaving(behaviour: Misbehaviour, stop: Arc<AtomicBool>) -> Result<String, String> {
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let address: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            let Ok((mut stream, _)) = listener.accept().await else { continue };
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 64 * 1024];
                match behaviour {
                    Misbehaviour::Reset => drop(stream),
                    Misbehaviour::Hang => loop {
                        // Keep reading (so keep-alive requests pile up on this connection) and never answer.
                        if matches!(stream.read(&mut buffer).await, Ok(0) | Err(_)) {
                            break;
                        }
                    },
                    Misbehaviour::Slow | Misbehaviour::Error => {
                        while matches!(stream.read(&mut buffer).await, Ok(n) if n > 0) {
                            let answer: &[u8] = if let Misbehaviour::Slow = behaviour {
                                tokio::time::sleep(Duration::from_secs(3)).await;
                                b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n"
                            } else {
                                b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n"
                            };
                            if stream.write_all(answer).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
    });
    Ok(format!("http://{address}/callback"))
}

pub(crate) async fn run(args: FaultArgs) -> Result<(), String> {
    let fleet = Fleet::start(&args.url).await?;
    let healthy = prepare_group_calls(&fleet, 16).await?;
    let pace = |label: &str| Pace {
        concurrency: 16,
        rate: Some(300.0),
        duration: args.duration,
        count: None,
        server_pid: Some(args.server_pid),
        json: None,
        svg: None,
        label: Some(label.to_owned()),
        quiet: true,
    };
    let rss = || process::usage(args.server_pid).map_or(0.0, |u| u.rss_bytes as f64 / 1_048_576.0);

    let alone = drive("notify", &pace("healthy webhooks only"), toggling(fleet.clone(), healthy.clone(), true)).await?;
    println!("{}", alone.summary());
    let before = rss();

    let stop = Arc::new(AtomicBool::new(false));
    let created = Arc::new(AtomicU64::new(0));
    let mut bad = tokio::task::JoinSet::new();
    for behaviour in [Misbehaviour::Hang, Misbehaviour::Reset, Misbehaviour::Slow, Misbehaviour::Error] {
        let callback = misbehaving(behaviour, stop.clone()).await?;
        let (fleet, stop, created) = (fleet.clone(), stop.clone(), created.clone());
        let every = Duration::from_secs_f64(1.0 / f64::from(args.bad_calls_per_second.max(1)));
        bad.spawn(async move {
            let users = fleet.users().to_vec();
            let mut tick = tokio::time::interval(every);
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let (fleet, created, callback, user) =
                    (fleet.clone(), created.clone(), callback.clone(), users[n % users.len()].clone());
                tokio::spawn(async move {
                    if fleet.create_call_to(&[&user], &callback).await.is_ok() {
                        created.fetch_add(1, Ordering::Relaxed);
                    }
                });
                n += 1;
            }
        });
    }
    let troubled = drive(
        "notify",
        &pace("with webhooks that hang, reset, answer slowly, answer 500"),
        toggling(fleet.clone(), healthy.clone(), true),
    )
    .await?;
    stop.store(true, Ordering::Relaxed);
    bad.abort_all();
    let during = rss();
    println!("{}", troubled.summary());
    println!(
        "{} calls created for the misbehaving webhooks during the run; server RSS {before:.1} MiB before, {during:.1} MiB after",
        created.load(Ordering::Relaxed)
    );
    // Their notifications keep being retried for a while; memory must not grow with them.
    tokio::time::sleep(args.duration).await;
    println!("{:.0} s later: server RSS {:.1} MiB", args.duration.as_secs_f64(), rss());
    Ok(())
}
