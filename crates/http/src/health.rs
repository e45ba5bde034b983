//! `GET /healthz`: 200 when the server can answer and its store responds; 503 (Graph-shaped) when the store does not.
//! `GET /metrics`: the server's metrics in Prometheus' text format, behind the admin key outside dev mode.

use axum::{
    Json, Router,
    extract::State,
    http::header,
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;

use crate::{AppState, control::require_admin_key, error::ApiError, request::RequestIds};

pub(crate) async fn healthz(State(state): State<AppState>, ids: RequestIds) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "instanceId": state.instance.instance_id,
            "devMode": state.config.dev_mode,
        }))
        .into_response(),
        Err(error) => ApiError::Store(error).into_graph_response(&ids),
    }
}

pub(crate) fn metrics_router(state: AppState) -> Router<AppState> {
    Router::new().route("/metrics", get(metrics)).layer(middleware::from_fn_with_state(state, require_admin_key))
}

async fn metrics(State(state): State<AppState>, ids: RequestIds) -> Response {
    // The outbox gauges are read from the store at scrape time, so they are right whoever changed it.
    if let Err(error) = switchboard_notify::telemetry::observe_outbox(state.store.as_ref()).await {
        return ApiError::Store(error).into_graph_response(&ids);
    }
    // This node's calls (ARCHITECTURE.md, "Ownership"): the leases it holds, and the documents it keeps in memory.
    let (owned, resident) = state.calls.owned_calls();
    metrics::gauge!("switchboard_calls_owned").set(owned as f64);
    metrics::gauge!("switchboard_calls_resident").set(resident as f64);
    metrics::gauge!("switchboard_conferences").set(state.calls.conferences() as f64);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render()).into_response()
}
