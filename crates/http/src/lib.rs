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
mod listener;
mod media;
mod oauth;
mod operations;
mod request;
mod routes;
mod sim;

use std::{sync::Arc, time::Duration};

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

use crate::clock::Clock;

pub use compat::compatibility_table;
use error::ApiError;
pub use listener::{ADMITTING, ConnectionLimits, ServeOptions, serve};
use request::RequestIds;

/// What the HTTP layer needs to know about how the server runs.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Dev mode relaxes what only matters in production: plain-http loopback callbacks, an open `/_admin`.
    pub dev_mode: bool,
    /// Request bodies above this are refused with 413.
    pub max_body_bytes: usize,
    /// A request body must arrive within this once its headers have (408 otherwise).
    pub body_read_timeout: Duration,
    /// The host names requests may be addressed to (`Host`, or HTTP/2's `:authority`); `None` accepts any. Dev mode
    /// on loopback accepts loopback names only.
    pub allowed_hosts: Option<Vec<String>>,
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

    /// Reads a request body of at most `limit` bytes within the body read timeout.
    pub(crate) async fn read_body(&self, body: axum::body::Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
        let deadline = self.config.body_read_timeout;
        match tokio::time::timeout(deadline, axum::body::to_bytes(body, limit)).await {
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(_)) => Err(ApiError::PayloadTooLarge { limit }),
            Err(_) => Err(ApiError::BodyTimeout { seconds: deadline.as_secs().max(1) }),
        }
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
        .layer(middleware::from_fn_with_state(state.clone(), graph::admit))
        .layer(middleware::from_fn_with_state(state.clone(), request::check_host))
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
