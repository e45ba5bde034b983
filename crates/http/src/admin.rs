//! `/_admin`: tenants, app registrations and signing keys over HTTP — the same `Directory` operations as the config
//! file and `switchboard app …`. Open in dev mode; outside it, every request needs `Authorization: Bearer <admin key>`.
//!
//! | Method | Path | Body | Answer |
//! |---|---|---|---|
//! | GET | `/_admin/tenants` | | tenants |
//! | POST | `/_admin/tenants` | `{tenantId?, displayName}` | 201 tenant |
//! | DELETE | `/_admin/tenants/{tenantId}` | | 204 (with its apps) |
//! | GET | `/_admin/apps?tenantId=` | | apps (secrets by hint only) |
//! | POST | `/_admin/apps` | `{tenantId, appId?, displayName, permissions?, callingWebhook?, createSecret?}` | 201 `{app, secret?}` |
//! | GET, PATCH, DELETE | `/_admin/apps/{appId}` | PATCH: `{displayName?, callingWebhook?, permissions?}` | app / 204 |
//! | POST | `/_admin/apps/{appId}/grant`, `/revoke` | `{permissions}` (`"all"` grants every calls permission) | app |
//! | POST | `/_admin/apps/{appId}/secrets` | `{expiresAt?}` | 201 `{secretId, value, expiresAt}` — the only time the value is shown |
//! | DELETE | `/_admin/apps/{appId}/secrets/{secretId}` | | 204 |
//! | POST | `/_admin/apps/{appId}/certificates` | `{pem}` | 201 certificate |
//! | DELETE | `/_admin/apps/{appId}/certificates/{thumbprint}` | | 204 |
//! | GET | `/_admin/keys` | | the published signing keys (JWKS) |
//! | POST | `/_admin/keys/rotate` | | `{kid}` of the new active key |

use aws_lc_rs::constant_time;
use axum::{
    Json, Router,
    body::Body,
    extract::{FromRequestParts, Path, Query, Request, State},
    http::{HeaderMap, StatusCode, Uri, header, request::Parts},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::json;
use switchboard_identity::NewApp;
use uuid::Uuid;

use crate::{
    AppState,
    error::{ApiError, GraphError},
    graph::parse_json,
    request::RequestIds,
};

type Answer = Result<Response, GraphError>;

/// The keys of an admin URL; a malformed one (`/_admin/apps/not-a-guid`) is a Graph-shaped 404, not axum's text.
struct Keys<T>(T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Keys<T> {
    type Rejection = GraphError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, GraphError> {
        let ids = RequestIds::from_request_parts(parts, state).await.unwrap_or_else(|never| match never {});
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(keys)) => Ok(Keys(keys)),
            Err(rejection) => Err(GraphError(
                ApiError::AdminNotFound(format!("{} ({})", parts.uri.path(), rejection.body_text())),
                ids,
            )),
        }
    }
}

/// The query of an admin URL; a malformed one is a Graph-shaped 400.
struct Filter<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Filter<T> {
    type Rejection = GraphError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, GraphError> {
        let ids = RequestIds::from_request_parts(parts, state).await.unwrap_or_else(|never| match never {});
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(filter)) => Ok(Filter(filter)),
            Err(rejection) => Err(GraphError(ApiError::InvalidBody(rejection.body_text()), ids)),
        }
    }
}

pub(crate) fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/tenants", get(list_tenants).post(add_tenant))
        .route("/tenants/{tenant}", delete(remove_tenant))
        .route("/apps", get(list_apps).post(add_app))
        .route("/apps/{app}", get(show_app).patch(update_app).delete(remove_app))
        .route("/apps/{app}/{change}", post(change_permissions))
        .route("/apps/{app}/secrets", post(add_secret))
        .route("/apps/{app}/secrets/{secret}", delete(remove_secret))
        .route("/apps/{app}/certificates", post(add_certificate))
        .route("/apps/{app}/certificates/{thumbprint}", delete(remove_certificate))
        .route("/keys", get(crate::oauth::keys))
        .route("/keys/rotate", post(rotate_keys))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state, require_admin_key))
}

/// Dev mode leaves `/_admin` open; otherwise the configured admin key must be presented.
async fn require_admin_key(State(state): State<AppState>, ids: RequestIds, request: Request, next: Next) -> Response {
    if state.config.dev_mode {
        return next.run(request).await;
    }
    let Some(expected) = state.config.admin_key.as_deref() else {
        return ApiError::AdminUnauthorized(
            "the admin API is closed outside dev mode unless the server is started with --admin-key",
        )
        .into_graph_response(&ids);
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .unwrap_or_default();
    if constant_time::verify_slices_are_equal(presented.trim().as_bytes(), expected.as_bytes()).is_err() {
        return ApiError::AdminUnauthorized("the admin API needs 'Authorization: Bearer <admin key>'")
            .into_graph_response(&ids);
    }
    next.run(request).await
}

async fn not_found(ids: RequestIds, uri: Uri) -> Response {
    ApiError::AdminNotFound(uri.path().to_owned()).into_graph_response(&ids)
}

async fn body<T: DeserializeOwned>(headers: &HeaderMap, body: Body, ids: &RequestIds) -> Result<T, GraphError> {
    let fail = |error| GraphError(error, ids.clone());
    let bytes = axum::body::to_bytes(body, 1024 * 1024)
        .await
        .map_err(|_| fail(ApiError::PayloadTooLarge { limit: 1024 * 1024 }))?;
    parse_json(headers, &bytes).map_err(fail)
}

fn fail(ids: &RequestIds) -> impl Fn(switchboard_identity::AdminError) -> GraphError + '_ {
    move |error| GraphError(ApiError::Admin(error), ids.clone())
}

fn created(value: impl serde::Serialize) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

async fn list_tenants(State(state): State<AppState>, ids: RequestIds) -> Answer {
    let tenants = state.identity.directory().tenants().await.map_err(fail(&ids))?;
    Ok(Json(json!({ "value": tenants })).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewTenant {
    tenant_id: Option<Uuid>,
    display_name: String,
}

async fn add_tenant(State(state): State<AppState>, ids: RequestIds, headers: HeaderMap, raw: Body) -> Answer {
    let new: NewTenant = body(&headers, raw, &ids).await?;
    let tenant = state.identity.directory().put_tenant(new.tenant_id, &new.display_name, state.clock.now()).await;
    Ok(created(tenant.map_err(fail(&ids))?))
}

async fn remove_tenant(State(state): State<AppState>, ids: RequestIds, Keys(tenant): Keys<Uuid>) -> Answer {
    state.identity.directory().remove_tenant(tenant).await.map_err(fail(&ids))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppFilter {
    tenant_id: Option<Uuid>,
}

async fn list_apps(State(state): State<AppState>, ids: RequestIds, Filter(filter): Filter<AppFilter>) -> Answer {
    let apps = state.identity.directory().apps(filter.tenant_id).await.map_err(fail(&ids))?;
    Ok(Json(json!({ "value": apps })).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AddApp {
    tenant_id: Uuid,
    app_id: Option<Uuid>,
    display_name: String,
    #[serde(default)]
    permissions: Vec<String>,
    calling_webhook: Option<String>,
    #[serde(default = "yes")]
    create_secret: bool,
}

fn yes() -> bool {
    true
}

async fn add_app(State(state): State<AppState>, ids: RequestIds, headers: HeaderMap, raw: Body) -> Answer {
    let add: AddApp = body(&headers, raw, &ids).await?;
    let new = NewApp {
        tenant_id: add.tenant_id,
        app_id: add.app_id,
        display_name: add.display_name,
        permissions: add.permissions,
        calling_webhook: add.calling_webhook,
    };
    let (app, secret) =
        state.identity.directory().add_app(new, add.create_secret, state.clock.now()).await.map_err(fail(&ids))?;
    let secret = secret.map(|s| json!({"secretId": s.secret_id, "value": s.value, "expiresAt": s.expires_at}));
    Ok(created(json!({ "app": app, "secret": secret })))
}

async fn show_app(State(state): State<AppState>, ids: RequestIds, Keys(app): Keys<Uuid>) -> Answer {
    Ok(Json(state.identity.directory().app(app).await.map_err(fail(&ids))?).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UpdateApp {
    display_name: Option<String>,
    /// Present and null removes the webhook.
    #[serde(default, deserialize_with = "present")]
    calling_webhook: Option<Option<String>>,
    permissions: Option<Vec<String>>,
}

/// Tells "absent" (`None`) from "null" (`Some(None)`).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

async fn update_app(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys(app): Keys<Uuid>,
    headers: HeaderMap,
    raw: Body,
) -> Answer {
    let update: UpdateApp = body(&headers, raw, &ids).await?;
    let directory = state.identity.directory();
    let app = directory.update_app(app, update.display_name, update.calling_webhook, update.permissions).await;
    Ok(Json(app.map_err(fail(&ids))?).into_response())
}

async fn remove_app(State(state): State<AppState>, ids: RequestIds, Keys(app): Keys<Uuid>) -> Answer {
    state.identity.directory().remove_app(app).await.map_err(fail(&ids))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Permissions {
    permissions: Vec<String>,
}

/// `grant` or `revoke`, the last segment of `/_admin/apps/{app}/{change}`.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum PermissionChange {
    Grant,
    Revoke,
}

async fn change_permissions(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys((app, change)): Keys<(Uuid, PermissionChange)>,
    headers: HeaderMap,
    raw: Body,
) -> Answer {
    let Permissions { permissions } = body(&headers, raw, &ids).await?;
    let directory = state.identity.directory();
    let app = match change {
        PermissionChange::Grant => directory.grant(app, &permissions).await,
        PermissionChange::Revoke => directory.revoke(app, &permissions).await,
    };
    Ok(Json(app.map_err(fail(&ids))?).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewSecretRequest {
    expires_at: Option<DateTime<Utc>>,
}

async fn add_secret(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys(app): Keys<Uuid>,
    headers: HeaderMap,
    raw: Body,
) -> Answer {
    let request: NewSecretRequest = body(&headers, raw, &ids).await?;
    let secret =
        state.identity.directory().add_secret(app, request.expires_at, state.clock.now()).await.map_err(fail(&ids))?;
    Ok(created(json!({"secretId": secret.secret_id, "value": secret.value, "expiresAt": secret.expires_at})))
}

async fn remove_secret(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys((app, secret)): Keys<(Uuid, Uuid)>,
) -> Answer {
    state.identity.directory().remove_secret(app, secret).await.map_err(fail(&ids))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCertificate {
    pem: String,
}

async fn add_certificate(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys(app): Keys<Uuid>,
    headers: HeaderMap,
    raw: Body,
) -> Answer {
    let certificate: NewCertificate = body(&headers, raw, &ids).await?;
    let info = state
        .identity
        .directory()
        .add_certificate(app, &certificate.pem, state.clock.now())
        .await
        .map_err(fail(&ids))?;
    Ok(created(info))
}

async fn remove_certificate(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys((app, thumbprint)): Keys<(Uuid, String)>,
) -> Answer {
    state.identity.directory().remove_certificate(app, &thumbprint).await.map_err(fail(&ids))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn rotate_keys(State(state): State<AppState>, ids: RequestIds) -> Answer {
    let kid = state.identity.rotate_keys(state.clock.now()).await.map_err(|error| {
        tracing::error!(%error, "key rotation failed");
        let store = match error {
            switchboard_identity::IdentityError::Store(store) => store,
            other => switchboard_store::StoreError::Backend(other.to_string()),
        };
        GraphError(ApiError::Store(store), ids.clone())
    })?;
    Ok(Json(json!({ "kid": kid })).into_response())
}
