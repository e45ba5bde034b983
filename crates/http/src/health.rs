//! `GET /healthz`: 200 when the server can answer and its store responds; 503 (Graph-shaped) when the store does not.

use axum::{
    Json,
    extract::State,
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::{AppState, error::ApiError, request::RequestIds};

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
