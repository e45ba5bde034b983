//! `switchboard serve`: open the store, bind, start the identity service, print the banner, serve until
//! SIGINT/SIGTERM, shut down in bounded time.

use std::{net::SocketAddr, process::ExitCode, sync::Arc};

use chrono::Utc;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use switchboard_calls::{
    Calls, CallsConfig, ConversationTokens, NodeConfig,
    clock::{ClockMode, SimulationClock},
};
use switchboard_http::{AppState, ConnectionLimits, HttpConfig, ServeOptions, Shared, clock::SystemClock};
use switchboard_identity::{
    AdminError, BOT_FRAMEWORK_ISSUER, DEV_APP_ID, DEV_SECRET, DEV_TENANT_ID, Identity, IdentityConfig, IdentityError,
};
use switchboard_notify::{DeliveryControls, Dispatcher, telemetry};
use switchboard_store::{SqliteStore, Store, StoreError};
use tokio::net::TcpListener;
use tracing_subscriber::{EnvFilter, fmt};
use url::Url;

use crate::{
    config::{Clock, LogFormat, Mode, NotificationIssuer, Settings},
    data_dir::{DataDir, DataDirError},
    tls::{self, TlsError},
};

#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("{0}")]
    DataDir(#[from] DataDirError),
    #[error("cannot open the database {database}: {source}")]
    OpenStore { database: String, source: StoreError },
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
    #[error("cannot start the identity service: {0}")]
    Identity(#[from] IdentityError),
    #[error("cannot apply the tenants and apps of the configuration: {0}")]
    Directory(#[from] AdminError),
    #[error("cannot listen on {address}: {source}")]
    Listen { address: String, source: std::io::Error },
    #[error("{0}")]
    Tls(#[from] TlsError),
    #[error("--tls with --ephemeral needs --tls-dir: the CA clients trust must live somewhere")]
    EphemeralTls,
    #[error(
        "the admin key (--admin-key, SWITCHBOARD_ADMIN_KEY) {0}: it opens /_admin, /_sim and /metrics; use at least 16 \
         random characters (8 or more different ones), e.g. `openssl rand -base64 24`, or leave it unset to keep them \
         closed"
    )]
    AdminKey(&'static str),
    #[error(
        "--max-connections {wanted} needs {needed} file descriptors with the server's own, and this process may open \
         {limit}: raise the limit (ulimit -n, systemd's LimitNOFILE) or ask for fewer connections"
    )]
    TooManyConnections { wanted: usize, needed: u64, limit: u64 },
    #[error("the token lifetime is out of range")]
    TokenLifetime,
    #[error("{0}")]
    Dispatcher(#[from] switchboard_notify::ClientError),
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("[notifications.disorder]: {0}")]
    Disorder(#[from] switchboard_notify::DisorderError),
    #[error("cannot install the metrics recorder: {0}")]
    Metrics(String),
    #[error("cannot restore the virtual clock: {0}")]
    Clock(#[from] switchboard_calls::CallsError),
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

/// The URL clients reach a server bound to `address` at: loopback instead of an unspecified address.
fn default_public_url(address: SocketAddr, https: bool) -> Url {
    let host = match address.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        std::net::IpAddr::V4(ip) => ip.to_string(),
    };
    let scheme = if https { "https" } else { "http" };
    format!("{scheme}://{host}:{}", address.port()).parse().expect("scheme, host and port make a URL")
}

/// The most connections served by default.
const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// Raises the soft file-descriptor limit to the hard one and sizes the connection limit to fit under it, leaving
/// room for the connections waiting to be let in and for everything else the server opens (its database, webhook and
/// prompt connections, files): a server out of descriptors can answer nobody, its own store included.
fn connection_limit(configured: Option<usize>) -> Result<(usize, u64), StartError> {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or_else(|error| {
        tracing::warn!(%error, "cannot read or raise the file-descriptor limit; assuming 1024");
        1024
    });
    let reserve = switchboard_http::ADMITTING as u64 + (limit / 8).max(256);
    let room = usize::try_from(limit.saturating_sub(reserve)).unwrap_or(usize::MAX);
    match configured {
        Some(wanted) if wanted > room => {
            Err(StartError::TooManyConnections { wanted, needed: wanted as u64 + reserve, limit })
        }
        Some(wanted) => Ok((wanted.max(1), limit)),
        None if room < 64 => Err(StartError::TooManyConnections { wanted: 64, needed: 64 + reserve, limit }),
        None => Ok((room.min(DEFAULT_MAX_CONNECTIONS), limit)),
    }
}

/// The host names a dev-mode server on loopback answers to: loopback names (`request.rs` knows them) and its
/// public URL's host. Any host otherwise — outside dev mode the control APIs need the admin key, and a dev-mode
/// server listening beyond loopback is open to its network anyway (the banner says so).
fn allowed_hosts(settings: &Settings, address: SocketAddr, public_url: &Url) -> Option<Vec<String>> {
    (settings.mode == Mode::Dev && address.ip().is_loopback())
        .then(|| public_url.host_str().map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase()).into_iter().collect())
}

/// An admin key opens `/_admin`, `/_sim` and `/metrics`: one that is empty or guessable would open them to anyone.
fn check_admin_key(key: Option<&str>) -> Result<(), StartError> {
    let Some(key) = key else { return Ok(()) };
    let distinct = key.chars().collect::<std::collections::BTreeSet<_>>().len();
    if key.trim().is_empty() {
        Err(StartError::AdminKey("is empty"))
    } else if key.chars().count() < 16 || distinct < 8 {
        Err(StartError::AdminKey("is too weak"))
    } else {
        Ok(())
    }
}

async fn serve(settings: Settings) -> Result<(), StartError> {
    let now = Utc::now();
    check_admin_key(settings.admin_key.as_deref())?;
    if settings.tls && settings.ephemeral && settings.tls_dir.is_none() {
        return Err(StartError::EphemeralTls);
    }
    let (store, location, _serving): (Arc<dyn Store>, String, _) = if settings.ephemeral {
        (Arc::new(SqliteStore::in_memory(now).await?), "in memory (--ephemeral)".to_owned(), None)
    } else {
        let data_dir = DataDir::prepare(&settings.data_dir)?;
        // Held until the server has stopped: the store is closed by then.
        let serving = data_dir.lock_for_serving()?;
        let database = data_dir.database();
        let location = database.display().to_string();
        let store = SqliteStore::open(&database, now)
            .await
            .map_err(|source| StartError::OpenStore { database: location.clone(), source })?;
        data_dir.restrict_files()?;
        (Arc::new(store), location, Some(serving))
    };
    let instance = store.instance().await?;
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|source| StartError::Listen { address: settings.listen.to_string(), source })?;
    let address = listener.local_addr().map_err(StartError::Serve)?;
    let public_url = settings.public_url.clone().unwrap_or_else(|| default_public_url(address, settings.tls));

    let tls = if settings.tls {
        let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
        hosts.extend(public_url.host_str().map(|h| h.trim_matches(['[', ']']).to_owned()));
        if !address.ip().is_unspecified() {
            hosts.push(address.ip().to_string());
        }
        hosts.sort();
        hosts.dedup();
        Some(tls::prepare(&settings.tls_dir(), &hosts, now)?)
    } else {
        None
    };

    let base = public_url.as_str().trim_end_matches('/').to_owned();
    let identity_config = IdentityConfig {
        public_url: public_url.clone(),
        token_lifetime: chrono::Duration::from_std(settings.token_lifetime).map_err(|_| StartError::TokenLifetime)?,
        notification_issuer: match settings.notification_issuer {
            NotificationIssuer::Switchboard => base.clone(),
            NotificationIssuer::Botframework => BOT_FRAMEWORK_ISSUER.to_owned(),
        },
        dev_app_enabled: settings.mode == Mode::Dev,
    };
    let identity = Arc::new(Identity::start(store.clone(), identity_config, now).await?);
    let directory = identity.directory();
    if settings.mode == Mode::Dev && directory.provision_dev_defaults(now).await? {
        tracing::info!(tenant = %DEV_TENANT_ID, app = %DEV_APP_ID, "created the dev tenant and app");
    }
    directory.apply(&settings.directory(), now).await?;
    let dev_app = match (settings.mode, store.application(DEV_APP_ID).await?.is_some()) {
        (_, false) => DevApp::Absent,
        (Mode::Dev, true) => DevApp::Enabled,
        (Mode::Production, true) => {
            tracing::warn!(
                app = %DEV_APP_ID,
                "this data directory holds the well-known dev app, whose secret is published; outside dev mode it \
                 gets no token and its tokens are refused (remove it: switchboard app remove {DEV_APP_ID})"
            );
            DevApp::Refused
        }
    };
    if settings.mode == Mode::Production && settings.admin_key.is_none() {
        tracing::warn!("production mode without --admin-key: /_admin is closed");
    }

    let (max_connections, fd_limit) = connection_limit(settings.max_connections)?;
    let exposed_dev_mode = settings.mode == Mode::Dev && !address.ip().is_loopback();
    if exposed_dev_mode {
        tracing::warn!(
            %address,
            "dev mode on a non-loopback address: /_sim and /_admin are open to everyone who can reach it, and the \
             dev app's published secret gets tokens; use --mode production with an --admin-key"
        );
    }
    let config = HttpConfig {
        dev_mode: settings.mode == Mode::Dev,
        max_body_bytes: settings.max_body_bytes,
        body_read_timeout: settings.body_read_timeout,
        allowed_hosts: allowed_hosts(&settings, address, &public_url),
        max_requests_in_flight: settings.max_requests_in_flight,
        admin_key: settings.admin_key.clone(),
    };
    let clock_mode = match settings.clock {
        Clock::Realtime => ClockMode::Realtime,
        Clock::Virtual => ClockMode::Virtual,
    };
    let media = settings.media(tls.as_ref().map(|t| t.ca_file.as_path()))?;
    let calls_config = CallsConfig {
        world: settings.world(),
        public_url: base.clone(),
        media,
        shapes: settings.fidelity.shapes,
        conversation_tokens: ConversationTokens::new(identity.config().notification_issuer.clone(), &base),
        node: NodeConfig { node_id: node_id(&settings, store.as_ref()).await?, lease: settings.cluster.lease },
    };
    let calls = Arc::new(Calls::new(store.clone(), Arc::new(SimulationClock::new(clock_mode)), calls_config));
    calls.register_node().await?;
    calls.restore_clock().await?;
    if clock_mode == ClockMode::Virtual {
        // Tests on a virtual clock expect the media back before their next request.
        calls.restore_media().await?;
    } else {
        // Rebuilding every call's conference reads every active call (seconds for 100,000); the server answers
        // meanwhile, and a conference asked for first is built on the spot.
        let restoring = calls.clone();
        tokio::spawn(async move {
            if let Err(error) = restoring.restore_media().await {
                tracing::error!(%error, "restoring the calls' media failed");
            }
        });
    }
    let metrics = install_metrics_recorder()?;
    let delivery = DeliveryControls::new(settings.notifications.disorder.disorder())?;
    let dispatcher = Arc::new(
        Dispatcher::new(
            store.clone(),
            identity.clone(),
            calls.outbox_signal(),
            settings.dispatcher()?,
            delivery.clone(),
        )?
        .observed_by({
            let activity = calls.activity().clone();
            Arc::new(move |batch, attempt| activity.record_delivery(batch, attempt))
        }),
    );
    let (stop_workers, workers_stopping) = tokio::sync::watch::channel(false);
    let stopped = |mut receiver: tokio::sync::watch::Receiver<bool>| async move {
        let _ = receiver.wait_for(|stop| *stop).await;
    };
    let timer_worker = tokio::spawn(calls.clone().run_timers(stopped(workers_stopping.clone())));
    let ownership_worker = tokio::spawn(calls.clone().run_ownership(stopped(workers_stopping.clone())));
    let media_worker = tokio::spawn(calls.clone().run_media(stopped(workers_stopping.clone())));
    let delivery_worker = tokio::spawn(dispatcher.run(stopped(workers_stopping)));

    let state = AppState::new(Shared {
        store: store.clone(),
        calls: calls.clone(),
        identity: identity.clone(),
        instance,
        config,
        clock: Arc::new(SystemClock),
        delivery,
        metrics,
    });
    print_banner(
        &settings,
        &base,
        &location,
        tls.as_ref().map(|t| t.ca_file.display().to_string()),
        dev_app,
        &identity,
        (max_connections, fd_limit, exposed_dev_mode),
    );
    tracing::info!(%address, public_url = %base, mode = ?settings.mode, store = location, "listening");

    let router = switchboard_http::router(state);
    let options = ServeOptions {
        tls: tls.map(|t| t.certificate),
        limits: ConnectionLimits {
            max_connections,
            header_read_timeout: settings.header_read_timeout,
            idle_timeout: settings.idle_timeout,
        },
        grace: settings.shutdown_grace,
    };
    let served = switchboard_http::serve(listener, router, options, shutdown_signal()).await;
    // The workers stop after the HTTP server, so nothing a request committed is left unscheduled; each finishes the
    // timer or delivery at hand (deliveries are bounded by their timeout), or is cut off after the grace period.
    // What they leave is in the store and resumes at the next start.
    let _ = stop_workers.send(true);
    let workers = async {
        let _ = timer_worker.await;
        let _ = ownership_worker.await;
        let _ = media_worker.await;
        let _ = delivery_worker.await;
    };
    if tokio::time::timeout(settings.shutdown_grace, workers).await.is_err() {
        tracing::warn!("the timer, media and notification workers did not stop within the grace period");
    }
    store.close().await;
    tracing::info!("stopped");
    served.map_err(StartError::Serve)
}

/// The process-wide recorder behind the `metrics` macros, rendered at `/metrics`. Histograms get buckets (a Prometheus
/// histogram, which aggregates across instances) rather than the exporter's default summaries.
fn install_metrics_recorder() -> Result<PrometheusHandle, StartError> {
    let histograms = Matcher::Suffix("_seconds".to_owned());
    PrometheusBuilder::new()
        .set_buckets_for_metric(histograms, telemetry::SECONDS_BUCKETS)
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| StartError::Metrics(e.to_string()))
}

/// Whether the store holds the well-known dev app, and what becomes of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DevApp {
    Absent,
    Enabled,
    /// Outside dev mode.
    Refused,
}

/// What a person needs to start using the server, on stdout (logs go to stderr). Tests wait for the last line.
fn print_banner(
    settings: &Settings,
    base: &str,
    store: &str,
    ca_file: Option<String>,
    dev_app: DevApp,
    identity: &Identity,
    (max_connections, fd_limit, exposed_dev_mode): (usize, u64, bool),
) {
    let mode = match settings.mode {
        Mode::Dev => "dev",
        Mode::Production => "production",
    };
    println!("Switchboard {} — the Microsoft Graph calling API, self-hosted", env!("CARGO_PKG_VERSION"));
    println!("  Graph base URL   {base}/v1.0  (and {base}/beta)");
    println!("  Console          {base}/");
    println!("  Health           {base}/healthz");
    println!("  Metrics          {base}/metrics");
    println!("  Store            {store}");
    println!("  Mode             {mode}");
    if exposed_dev_mode {
        println!("  WARNING          dev mode on a non-loopback address: /_sim and /_admin are open to your network");
    }
    println!("  Connections      at most {max_connections} (file descriptors: {fd_limit})");
    let clock = match settings.clock {
        Clock::Realtime => "realtime",
        Clock::Virtual => "virtual (moves only with POST /_sim/clock/advance)",
    };
    println!("  Clock            {clock}");
    println!("  Test control     {base}/_sim  (described at {base}/_sim/openapi.yaml)");
    if let Some(ca_file) = ca_file {
        println!("  TLS CA           {ca_file}  (trust it: SSL_CERT_FILE / REQUESTS_CA_BUNDLE)");
    }
    println!(
        "  Notification JWT issuer {}, keys at {}",
        identity.config().notification_issuer,
        identity.notification_openid_configuration_url()
    );
    if dev_app == DevApp::Refused {
        println!("  Dev app          {DEV_APP_ID} is in this data directory and REFUSED outside dev mode");
        println!("                   (its secret is published; remove it: switchboard app remove {DEV_APP_ID})");
    }
    if dev_app == DevApp::Enabled {
        println!("  Dev credentials (well-known; dev mode only):");
        println!("    tenant id      {DEV_TENANT_ID}");
        println!("    client id      {DEV_APP_ID}");
        println!("    client secret  {DEV_SECRET}");
        println!("    token URL      {}", identity.token_endpoint(&DEV_TENANT_ID.to_string()));
        println!("    authority      {base}/{DEV_TENANT_ID}");
    }
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

/// This node's id: the configured one, or the one the store gave its node the first time — a single node keeps
/// its id across restarts, so it takes its own calls back at once rather than waiting for their leases to expire.
async fn node_id(settings: &Settings, store: &dyn Store) -> Result<String, StartError> {
    const NODE_ID_SETTING: &str = "node_id";
    if let Some(node_id) = &settings.cluster.node_id {
        return Ok(node_id.clone());
    }
    if let Some(node_id) = store.setting(NODE_ID_SETTING).await? {
        return Ok(node_id);
    }
    let node_id = format!("node-{}", uuid::Uuid::new_v4());
    store.put_setting(NODE_ID_SETTING, &node_id).await?;
    Ok(node_id)
}
