//! `switchboard`: a self-hostable implementation of the Microsoft Graph cloud-communications calling API.

mod cli;
mod config;
mod data_dir;
mod serve;
mod sim_cli;
mod tls;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

use crate::config::ServeArgs;

/// glibc's allocator spent a fifth of the server's time under load in malloc/free across threads (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Switchboard serves the Microsoft Graph calling API (/communications/calls, v1.0 and beta) on your own machine:
/// point a calling bot or the Graph SDK at http://127.0.0.1:8640/v1.0.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, propagate_version = true)]
struct Cli {
    /// A TOML file with settings (the same names as the flags, with underscores); flags and environment win
    #[arg(long, global = true, env = "SWITCHBOARD_CONFIG")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the server (dev mode, 127.0.0.1:8640, data in ./switchboard-data unless told otherwise)
    Serve(ServeArgs),
    /// Print the compatibility table (docs/compatibility.md) generated from the endpoint catalogue
    Compat,
    /// Manage tenants in a data directory
    Tenant {
        #[command(flatten)]
        store: cli::StoreArgs,
        #[command(subcommand)]
        command: cli::TenantCommand,
    },
    /// Manage app registrations: permissions, secrets, certificates, calling webhooks
    App {
        #[command(flatten)]
        store: cli::StoreArgs,
        #[command(subcommand)]
        command: cli::AppCommand,
    },
    /// Play the simulated world of a running server: users, phones, bots, meetings, calls to apps, the clock,
    /// faults, the notification journal (the /_sim API)
    Sim {
        #[command(flatten)]
        server: sim_cli::ServerArgs,
        #[command(subcommand)]
        command: sim_cli::SimCommand,
    },
    /// Check a data directory's database for damage (after a crash, a full disk, a restore); exits 1 if any
    Check {
        #[command(flatten)]
        store: cli::StoreArgs,
    },
    /// Inspect and rotate the keys that sign tokens and notifications
    Keys {
        #[command(flatten)]
        store: cli::StoreArgs,
        #[command(subcommand)]
        command: cli::KeysCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = cli.config.as_deref();
    match cli.command {
        Command::Serve(args) => match config::Settings::load(config, &args) {
            Ok(settings) => serve::run(settings),
            Err(error) => {
                eprintln!("switchboard: {error}");
                ExitCode::from(2)
            }
        },
        Command::Compat => {
            print!("{}", switchboard_http::compatibility_table());
            ExitCode::SUCCESS
        }
        Command::Tenant { store, command } => cli::run(config, store, cli::Job::Tenant(command)),
        Command::App { store, command } => cli::run(config, store, cli::Job::App(command)),
        Command::Keys { store, command } => cli::run(config, store, cli::Job::Keys(command)),
        Command::Check { store } => cli::run(config, store, cli::Job::Check),
        Command::Sim { server, command } => sim_cli::run(server, command),
    }
}
