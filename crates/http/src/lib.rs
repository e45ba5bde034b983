//! The HTTP edge of Switchboard: the Graph calling API, resolved against the endpoint catalogue, and the server's
//! own routes (`/healthz`). Only this crate knows axum and HTTP status codes; every failure becomes Graph's error
//! body in one place (`error.rs`).

mod compat;
mod error;
mod graph;
mod health;
mod operations;
mod request;
mod routes;

use std::{future::Future, sync::Arc, time::Duration};

use axum::{
    Router,
    http::{Method as HttpMethod, Uri},
    middleware,
    response::Response,
    routing::get,
};
use switchboard_catalogue::Method;
use switchboard_store::{Instance, Store};
use tokio::{net::TcpListener, sync::Notify};

pub use compat::compatibility_table;
use error::ApiError;
use request::RequestIds;

/// What the HTTP layer needs to know about how the server runs.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Dev mode relaxes what only matters in production (plain-http loopback callbacks, for now).
    pub dev_mode: bool,
    /// Request bodies above this are refused with 413.
    pub max_body_bytes: usize,
}

/// Shared by every request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Arc<dyn Store>,
    pub instance: Instance,
    pub config: HttpConfig,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, instance: Instance, config: HttpConfig) -> AppState {
        AppState(Arc::new(Shared { store, instance, config }))
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
        .fallback(graph::handle)
        .method_not_allowed_fallback(fixed_route_method_not_allowed)
        .layer(middleware::from_fn(request::stamp))
        .with_state(state)
}

/// A wrong method on one of the server's own routes, all of which are GET.
async fn fixed_route_method_not_allowed(ids: RequestIds, method: HttpMethod, uri: Uri) -> Response {
    let error = ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
        allowed: vec![Method::Get],
    };
    error.into_graph_response(&ids)
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets requests in flight finish for at most `grace`.
pub async fn serve(
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
