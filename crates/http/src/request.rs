//! Per-request identity: Graph's `request-id` and `client-request-id` headers, echoed in every error's
//! `innerError`, and the request log line.

use std::time::Instant;

use axum::{
    extract::{FromRequestParts, Request},
    http::{HeaderMap, HeaderValue, request::Parts},
    middleware::Next,
    response::Response,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub(crate) struct RequestIds {
    /// Ours, new for every request.
    pub(crate) request_id: String,
    /// The caller's `client-request-id` if it sent one (Kiota SDKs do), else the request id, as Graph does.
    pub(crate) client_request_id: String,
    pub(crate) received: DateTime<Utc>,
}

impl RequestIds {
    fn new(headers: &HeaderMap) -> RequestIds {
        let request_id = Uuid::new_v4().to_string();
        let client_request_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 128)
            .map_or_else(|| request_id.clone(), str::to_owned);
        RequestIds { request_id, client_request_id, received: Utc::now() }
    }

    /// `innerError.date` as Graph writes it: UTC, to the second, without a zone suffix.
    pub(crate) fn graph_date(&self) -> String {
        self.received.format("%Y-%m-%dT%H:%M:%S").to_string()
    }
}

/// Extracts the ids the [`stamp`] middleware attached.
impl<S: Send + Sync> FromRequestParts<S> for RequestIds {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<RequestIds>().cloned().expect("the stamp middleware wraps every route"))
    }
}

/// Gives each request its ids, puts them on the response as Graph does, and logs the exchange.
pub(crate) async fn stamp(mut request: Request, next: Next) -> Response {
    let ids = RequestIds::new(request.headers());
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    request.extensions_mut().insert(ids.clone());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [("request-id", &ids.request_id), ("client-request-id", &ids.client_request_id)] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    tracing::info!(
        request_id = %ids.request_id,
        client_request_id = %ids.client_request_id,
        %method,
        path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}
