//! The HTTP edge of Switchboard: the Graph calling API, resolved against the endpoint catalogue, and the server's
//! own routes (`/healthz`). Only this crate knows axum and HTTP status codes; every failure becomes Graph's error
//! body in one place (`error.rs`).

mod admin;
pub mod clock;
mod compat;
mod console;
mod control;
mod error;
mod graph;
mod health;
mod journal;
mod media;
mod oauth;
mod operations;
mod request;
mod routes;
mod sim;

use std::{future::Future, sync::Arc, time::Duration};

use axum::{
    Router,
    http::{Method as HttpMethod, Uri},
    middleware,
    response::Response,
    routing::get,
};
use switchboard_calls::Calls;
use switchboard_identity::Identity;
use switchboard_store::{Instance, Store};
use tokio::{net::TcpListener, sync::Notify};

use crate::clock::Clock;

pub use compat::compatibility_table;
use error::ApiError;
use request::RequestIds;

/// What the HTTP layer needs to know about how the server runs.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Dev mode relaxes what only matters in production: plain-http loopback callbacks, an open `/_admin`.
    pub dev_mode: bool,
    /// Request bodies above this are refused with 413.
    pub max_body_bytes: usize,
    /// Graph requests served at once; more are answered 503 with `Retry-After` instead of queueing without bound.
    pub max_requests_in_flight: usize,
    /// The key `/_admin` requires outside dev mode; without one, `/_admin` is closed outside dev mode.
    pub admin_key: Option<String>,
}

/// Shared by every request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>, Arc<tokio::sync::Semaphore>);

pub struct Shared {
    pub store: Arc<dyn Store>,
    pub calls: Arc<Calls>,
    pub identity: Arc<Identity>,
    pub instance: Instance,
    pub config: HttpConfig,
    pub clock: Arc<dyn Clock>,
    /// The notification dispatcher's knobs that `/_sim/delivery` turns.
    pub delivery: switchboard_notify::DeliveryControls,
    /// What `/metrics` renders.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
}

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        let in_flight = Arc::new(tokio::sync::Semaphore::new(shared.config.max_requests_in_flight.max(1)));
        AppState(Arc::new(shared), in_flight)
    }

    /// One of the Graph request slots, or none when all `max_requests_in_flight` are taken.
    pub(crate) fn graph_request_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.1.clone().try_acquire_owned().ok()
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .merge(health::metrics_router(state.clone()))
        .merge(media::recordings_router())
        .merge(oauth::router())
        .nest("/_admin", admin::router(state.clone()))
        .nest("/_sim", sim::router(state.clone()))
        .merge(console::router())
        .fallback(graph::handle)
        .method_not_allowed_fallback(fixed_route_method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), console::record_graph_requests))
        .layer(middleware::from_fn_with_state(state.clone(), graph::shed_past_capacity))
        .layer(middleware::from_fn(request::stamp))
        .with_state(state)
}

/// A wrong method on one of the server's own routes (the router adds the `Allow` header).
async fn fixed_route_method_not_allowed(ids: RequestIds, method: HttpMethod, uri: Uri) -> Response {
    let error = ApiError::FixedRouteMethodNotAllowed { method: method.to_string(), path: uri.path().to_owned() };
    error.into_graph_response(&ids)
}

/// A certificate chain and its key, PEM, for serving https.
#[derive(Clone)]
pub struct TlsCertificate {
    pub chain_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

/// Serves `router` on `listener` (https when `tls` is given) until `shutdown` resolves, then lets requests in flight
/// finish for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsCertificate>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    match tls {
        Some(certificate) => serve_tls(listener, router, certificate, shutdown, grace).await,
        None => serve_plain(listener, router, shutdown, grace).await,
    }
}

async fn serve_plain(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let stopping = Arc::new(Notify::new());
    let signal = {
        let stopping = stopping.clone();
        async move {
            shutdown.await;
            stopping.notify_one();
        }
    };
    let mut server = tokio::spawn(axum::serve(listener, router).with_graceful_shutdown(signal).into_future());
    tokio::select! {
        finished = &mut server => return finished.unwrap_or_else(|e| Err(std::io::Error::other(e))),
        () = stopping.notified() => {}
    }
    match tokio::time::timeout(grace, &mut server).await {
        Ok(finished) => finished.unwrap_or_else(|e| Err(std::io::Error::other(e))),
        Err(_) => {
            tracing::warn!(
                grace_seconds = grace.as_secs_f64(),
                "requests still running at the end of the shutdown grace period; closing them"
            );
            server.abort();
            Ok(())
        }
    }
}

async fn serve_tls(
    listener: TcpListener,
    router: Router,
    certificate: TlsCertificate,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let config = axum_server::tls_rustls::RustlsConfig::from_pem(certificate.chain_pem, certificate.key_pem).await?;
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        // Stops accepting, then closes whatever is still open once `grace` has passed.
        stopper.graceful_shutdown(Some(grace));
    });
    axum_server::from_tcp_rustls(listener.into_std()?, config)?.handle(handle).serve(router.into_make_service()).await
}
