//! `switchboard-bench`: measures a running Switchboard the way its users judge it — a fleet of bots over loopback
//! with a built-in webhook receiver — next to a roofline (a minimal hyper server answering fixed JSON) and a peer
//! (any HTTP mock, such as Stoplight Prism). BENCHMARKS.md says which commands produced which numbers.

mod attack;
mod baseline;
mod bot;
mod crash;
mod faults;
mod load;
mod process;
mod report;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load a running Switchboard like a fleet of bots
    Run(RunArgs),
    /// Load any HTTP server with one fixed request (the roofline server, a mock such as Prism)
    Fixed(FixedArgs),
    /// Serve a fixed JSON answer with nothing but hyper: the roofline for HTTP on this machine
    Baseline {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
    },
    /// kill -9 a server under load, round after round, and check nothing acknowledged was lost
    Crash(crash::CrashArgs),
    /// Other bots' notification latency and the server's memory while webhooks hang, reset, dawdle or fail
    Faults(faults::FaultArgs),
    /// The attacks of issue 14 at full size, each against a fresh server this starts: its answers and memory
    Attack(attack::AttackArgs),
    /// A server's CPU and memory while nothing happens (after filling it with calls)
    Idle {
        #[arg(long)]
        server_pid: u32,
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        duration: Duration,
    },
}

/// How the load is applied.
#[derive(Args, Clone)]
pub(crate) struct Pace {
    /// Closed loop: this many requests in flight at all times
    #[arg(long, default_value_t = 32, conflicts_with = "rate")]
    pub(crate) concurrency: usize,
    /// Open loop: start this many iterations per second, whatever the answers take
    #[arg(long)]
    pub(crate) rate: Option<f64>,
    /// How long to apply it, e.g. 10s
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub(crate) duration: Duration,
    /// Stop after this many iterations, if that comes before the duration ends
    #[arg(long)]
    pub(crate) count: Option<u64>,
    /// The server's process id, to report its CPU and memory
    #[arg(long)]
    pub(crate) server_pid: Option<u32>,
    /// Write the report as JSON here
    #[arg(long)]
    pub(crate) json: Option<PathBuf>,
    /// Write a plot (SVG: throughput and latency per second) here
    #[arg(long)]
    pub(crate) svg: Option<PathBuf>,
    /// A name for the run in the report
    #[arg(long)]
    pub(crate) label: Option<String>,
    /// No progress bar
    #[arg(long)]
    pub(crate) quiet: bool,
}

#[derive(Args)]
struct RunArgs {
    /// The server, e.g. http://127.0.0.1:8640
    #[arg(long)]
    url: String,
    #[arg(long, value_enum)]
    scenario: bot::Scenario,
    /// For ops and notify: how many established calls the operations go to
    #[arg(long, default_value_t = 64)]
    calls: usize,
    #[command(flatten)]
    pace: Pace,
}

#[derive(Args)]
struct FixedArgs {
    /// The full URL to send the request to
    #[arg(long)]
    url: String,
    #[arg(long, value_enum, default_value = "post")]
    method: FixedMethod,
    /// The JSON body
    #[arg(long, default_value = "{}")]
    body: String,
    #[command(flatten)]
    pace: Pace,
}

#[derive(Clone, Copy, ValueEnum)]
enum FixedMethod {
    Get,
    Post,
}

#[tokio::main]
async fn main() -> ExitCode {
    let outcome = match Cli::parse().command {
        Command::Run(args) => bot::run(&args.url, args.scenario, args.calls, &args.pace).await,
        Command::Fixed(args) => {
            let method = match args.method {
                FixedMethod::Get => reqwest::Method::GET,
                FixedMethod::Post => reqwest::Method::POST,
            };
            load::fixed(&args.url, method, args.body, &args.pace).await
        }
        Command::Baseline { listen } => baseline::serve(listen).await,
        Command::Crash(args) => crash::run(args).await,
        Command::Idle { server_pid, duration } => idle(server_pid, duration).await,
        Command::Faults(args) => faults::run(args).await,
        Command::Attack(args) => attack::run(args).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("switchboard-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn idle(pid: u32, duration: Duration) -> Result<(), String> {
    let no_server = || format!("no process {pid}");
    let before = process::usage(pid).ok_or_else(no_server)?;
    tokio::time::sleep(duration).await;
    let after = process::usage(pid).ok_or_else(no_server)?;
    let cpu = after.cpu.saturating_sub(before.cpu).as_secs_f64() / duration.as_secs_f64() * 100.0;
    println!(
        "idle for {:.0} s: server CPU {cpu:.2}% of a core, RSS {:.1} MiB",
        duration.as_secs_f64(),
        after.rss_bytes as f64 / 1_048_576.0
    );
    Ok(())
}
