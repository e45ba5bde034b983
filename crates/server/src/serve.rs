//! `switchboard serve`: open the store, bind, print the banner, serve until SIGINT/SIGTERM, shut down in bounded time.

use std::{process::ExitCode, sync::Arc};

use chrono::Utc;
use switchboard_http::{AppState, HttpConfig};
use switchboard_store::{SqliteStore, Store, StoreError};
use tokio::net::TcpListener;
use tracing_subscriber::{EnvFilter, fmt};

use crate::config::{LogFormat, Mode, Settings};

/// The database file inside the data directory.
const DATABASE_FILE: &str = "switchboard.sqlite";

#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {address}: {source}")]
    Listen { address: String, source: std::io::Error },
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
}

pub(crate) fn run(settings: Settings) -> ExitCode {
    init_logging(&settings);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("the tokio runtime starts");
    match runtime.block_on(serve(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "switchboard stopped");
            eprintln!("switchboard: {error}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(settings: &Settings) {
    let filter = EnvFilter::try_new(&settings.log).unwrap_or_else(|error| {
        eprintln!("switchboard: ignoring the log filter '{}': {error}", settings.log);
        EnvFilter::new("info")
    });
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colour);
    match settings.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

async fn serve(settings: Settings) -> Result<(), StartError> {
    let (store, location): (Arc<dyn Store>, String) = if settings.ephemeral {
        (Arc::new(SqliteStore::in_memory(Utc::now()).await?), "in memory (--ephemeral)".to_owned())
    } else {
        std::fs::create_dir_all(&settings.data_dir)
            .map_err(|source| StartError::DataDir { path: settings.data_dir.display().to_string(), source })?;
        let database = settings.data_dir.join(DATABASE_FILE);
        (Arc::new(SqliteStore::open(&database, Utc::now()).await?), database.display().to_string())
    };
    let instance = store.instance().await?;
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|source| StartError::Listen { address: settings.listen.to_string(), source })?;
    let address = listener.local_addr().map_err(StartError::Serve)?;

    let config = HttpConfig { dev_mode: settings.mode == Mode::Dev, max_body_bytes: settings.max_body_bytes };
    let state = AppState::new(store.clone(), instance, config);
    print_banner(&settings, &address.to_string(), &location);
    tracing::info!(%address, mode = ?settings.mode, store = location, "listening");

    let served =
        switchboard_http::serve(listener, switchboard_http::router(state), shutdown_signal(), settings.shutdown_grace)
            .await;
    store.close().await;
    tracing::info!("stopped");
    served.map_err(StartError::Serve)
}

/// What a person needs to start using the server, on stdout (logs go to stderr). Tests wait for the last line.
fn print_banner(settings: &Settings, address: &str, store: &str) {
    let base = format!("http://{address}");
    let mode = match settings.mode {
        Mode::Dev => "dev",
        Mode::Production => "production",
    };
    println!("Switchboard {} — the Microsoft Graph calling API, self-hosted", env!("CARGO_PKG_VERSION"));
    println!("  Graph base URL   {base}/v1.0  (and {base}/beta)");
    println!("  Health           {base}/healthz");
    println!("  Store            {store}");
    println!("  Mode             {mode}");
    println!("Switchboard listening on {base}");
}

async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("interrupted; shutting down"),
        () = terminate => tracing::info!("terminated; shutting down"),
    }
}
