//! The Microsoft identity platform's endpoints, as a Graph bot's auth library calls them:
//!
//! * `POST /{tenant}/oauth2/v2.0/token` — client credentials (secret, or certificate assertion);
//! * `GET /{tenant}/v2.0/.well-known/openid-configuration` and `GET /{tenant}/discovery/v2.0/keys`;
//! * `GET /v1/.well-known/OpenIdConfiguration` and `GET /v1/.well-known/keys` — the keys that sign notifications
//!   (Graph's are at `https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration`).
//!
//! Errors here are in the platform's OAuth shape, not Graph's.

use axum::{
    Json, Router,
    body::Body,
    extract::{FromRequestParts, State},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use switchboard_identity::{
    IssueError, basic_credentials,
    oauth::{OAuthError, TokenRequest},
};

use crate::{AppState, error::ApiError, request::RequestIds};

/// Token requests are small forms; anything larger is not one.
const MAX_TOKEN_REQUEST_BYTES: usize = 64 * 1024;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/{tenant}/v2.0/.well-known/openid-configuration", get(openid_configuration))
        .route("/{tenant}/discovery/v2.0/keys", get(keys))
        .route("/v1/.well-known/OpenIdConfiguration", get(notification_configuration))
        .route("/v1/.well-known/keys", get(keys))
}

/// The `{tenant}` of these routes: their first segment, decoded leniently — an unreadable tenant is an unknown
/// tenant (the platform's AADSTS90002), not a framework rejection.
struct Tenant(String);

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let first = parts.uri.path().trim_start_matches('/').split('/').next().unwrap_or_default();
        Ok(Tenant(percent_encoding::percent_decode_str(first).decode_utf8_lossy().into_owned()))
    }
}

/// The address a request came from (the connection's peer), when the server knows it.
pub(crate) struct Source(pub(crate) Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(Source(peer.map(|info| info.0.ip())))
    }
}

fn oauth_error(error: &OAuthError, ids: &RequestIds, state: &AppState) -> Response {
    let status = StatusCode::from_u16(error.status()).expect("OAuth statuses are 400, 401 or 429");
    let mut response =
        (status, Json(error.body(&ids.request_id, &ids.client_request_id, state.clock.now()))).into_response();
    if let Some(seconds) = error.retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

async fn token(
    State(state): State<AppState>,
    ids: RequestIds,
    Tenant(tenant): Tenant,
    Source(source): Source,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(bytes) = state.read_body(body, MAX_TOKEN_REQUEST_BYTES).await else {
        return oauth_error(&OAuthError::missing("grant_type"), &ids, &state);
    };
    let fields = url::form_urlencoded::parse(&bytes).into_owned();
    let basic = basic_credentials(headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()));
    let request = TokenRequest::from_form(fields, basic);
    match state.identity.issue_token(&tenant, &request, source, state.clock.now()).await {
        Ok(issued) => {
            tracing::info!(request_id = %ids.request_id, tenant, client_id = request.client_id.as_deref(), "token issued");
            let mut response = Json(issued).into_response();
            response.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        Err(IssueError::Refused(error)) => {
            tracing::info!(request_id = %ids.request_id, tenant, client_id = request.client_id.as_deref(), %error, "token refused");
            oauth_error(&error, &ids, &state)
        }
        Err(IssueError::Store(error)) => ApiError::Store(error).into_graph_response(&ids),
    }
}

async fn openid_configuration(State(state): State<AppState>, ids: RequestIds, Tenant(tenant): Tenant) -> Response {
    let known = match tenant.parse::<uuid::Uuid>() {
        Ok(tenant_id) => match state.identity.directory().tenants().await {
            Ok(tenants) => tenants.iter().any(|t| t.tenant_id == tenant_id),
            Err(error) => return ApiError::Admin(error).into_graph_response(&ids),
        },
        Err(_) => false,
    };
    if !known {
        return oauth_error(&OAuthError::tenant_not_found(&tenant), &ids, &state);
    }
    Json(state.identity.openid_configuration(&tenant)).into_response()
}

pub(crate) async fn keys(State(state): State<AppState>, ids: RequestIds) -> Response {
    if let Err(error) = state.identity.refresh_keys().await {
        tracing::error!(%error, "cannot reload the signing keys");
        return ApiError::Store(switchboard_store::StoreError::Backend(error.to_string())).into_graph_response(&ids);
    }
    Json(state.identity.jwks(state.clock.now())).into_response()
}

async fn notification_configuration(State(state): State<AppState>) -> Response {
    Json(state.identity.notification_openid_configuration()).into_response()
}
