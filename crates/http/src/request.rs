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

/// Refuses a request addressed to a host the server does not answer for (`HttpConfig::allowed_hosts`): in dev mode
/// on loopback, a page of another site that rebinds its name to 127.0.0.1 gets 421, not `/_sim` and `/_admin`.
pub(crate) async fn check_host(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    ids: RequestIds,
    request: Request,
    next: Next,
) -> Response {
    let Some(allowed) = &state.config.allowed_hosts else { return next.run(request).await };
    // HTTP/1 says it in `Host`; HTTP/2 in `:authority`, which arrives as the URI's.
    let authority = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.as_str().to_owned()));
    match authority {
        Some(authority) if !host_allowed(&authority, allowed) => {
            crate::error::ApiError::MisdirectedHost(authority).into_graph_response(&ids)
        }
        // A request without a host name comes from no web page.
        _ => next.run(request).await,
    }
}

/// Whether the host of `authority` (`host:port`, `[v6]:port`) is one of `allowed`, a name under `localhost`, or a
/// loopback address.
fn host_allowed(authority: &str, allowed: &[String]) -> bool {
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) && !host.ends_with(':') => host,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.to_canonical().is_loopback())
        || allowed.iter().any(|name| name.eq_ignore_ascii_case(&host))
}

#[cfg(test)]
mod tests {
    use super::host_allowed;

    #[test]
    fn loopback_names_and_the_listed_hosts_are_allowed() {
        let listed = ["switchboard.test".to_owned()];
        for good in [
            "localhost",
            "localhost:8640",
            "LOCALHOST.",
            "app.localhost:1",
            "127.0.0.1:8640",
            "127.1.2.3",
            "[::1]:8640",
            "[::ffff:127.0.0.1]:80",
            "switchboard.test:8640",
        ] {
            assert!(host_allowed(good, &listed), "{good}");
        }
        for bad in [
            "evil.example",
            "evil.example:8640",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "10.0.0.1",
            "[fe80::1]:80",
            "",
            "localhost:8640@evil.example",
        ] {
            assert!(!host_allowed(bad, &listed), "{bad}");
        }
    }
}
