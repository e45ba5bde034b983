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

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    middleware,
    response::IntoResponse,
    routing::{delete, get, post},
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use switchboard_identity::NewApp;
use uuid::Uuid;

use crate::{
    AppState,
    control::{Answer, Filter, JsonBody, Keys, OrGraph, created, not_found, require_admin_key},
    error::{ApiError, GraphError},
    request::RequestIds,
};

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

async fn list_tenants(State(state): State<AppState>, ids: RequestIds) -> Answer {
    let tenants = state.identity.directory().tenants().await.or_graph(&ids)?;
    Ok(Json(json!({ "value": tenants })).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewTenant {
    tenant_id: Option<Uuid>,
    display_name: String,
}

async fn add_tenant(State(state): State<AppState>, ids: RequestIds, JsonBody(new): JsonBody<NewTenant>) -> Answer {
    let tenant = state.identity.directory().put_tenant(new.tenant_id, &new.display_name, state.clock.now()).await;
    Ok(created(tenant.or_graph(&ids)?))
}

async fn remove_tenant(State(state): State<AppState>, ids: RequestIds, Keys(tenant): Keys<Uuid>) -> Answer {
    state.identity.directory().remove_tenant(tenant).await.or_graph(&ids)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppFilter {
    tenant_id: Option<Uuid>,
}

async fn list_apps(State(state): State<AppState>, ids: RequestIds, Filter(filter): Filter<AppFilter>) -> Answer {
    let apps = state.identity.directory().apps(filter.tenant_id).await.or_graph(&ids)?;
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

async fn add_app(State(state): State<AppState>, ids: RequestIds, JsonBody(add): JsonBody<AddApp>) -> Answer {
    let new = NewApp {
        tenant_id: add.tenant_id,
        app_id: add.app_id,
        display_name: add.display_name,
        permissions: add.permissions,
        calling_webhook: add.calling_webhook,
    };
    let (app, secret) =
        state.identity.directory().add_app(new, add.create_secret, state.clock.now()).await.or_graph(&ids)?;
    let secret = secret.map(|s| json!({"secretId": s.secret_id, "value": s.value, "expiresAt": s.expires_at}));
    Ok(created(json!({ "app": app, "secret": secret })))
}

async fn show_app(State(state): State<AppState>, ids: RequestIds, Keys(app): Keys<Uuid>) -> Answer {
    Ok(Json(state.identity.directory().app(app).await.or_graph(&ids)?).into_response())
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
    JsonBody(update): JsonBody<UpdateApp>,
) -> Answer {
    let directory = state.identity.directory();
    let app = directory.update_app(app, update.display_name, update.calling_webhook, update.permissions).await;
    Ok(Json(app.or_graph(&ids)?).into_response())
}

async fn remove_app(State(state): State<AppState>, ids: RequestIds, Keys(app): Keys<Uuid>) -> Answer {
    state.identity.directory().remove_app(app).await.or_graph(&ids)?;
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
    JsonBody(Permissions { permissions }): JsonBody<Permissions>,
) -> Answer {
    let directory = state.identity.directory();
    let app = match change {
        PermissionChange::Grant => directory.grant(app, &permissions).await,
        PermissionChange::Revoke => directory.revoke(app, &permissions).await,
    };
    Ok(Json(app.or_graph(&ids)?).into_response())
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
    JsonBody(request): JsonBody<NewSecretRequest>,
) -> Answer {
    let secret =
        state.identity.directory().add_secret(app, request.expires_at, state.clock.now()).await.or_graph(&ids)?;
    Ok(created(json!({"secretId": secret.secret_id, "value": secret.value, "expiresAt": secret.expires_at})))
}

async fn remove_secret(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys((app, secret)): Keys<(Uuid, Uuid)>,
) -> Answer {
    state.identity.directory().remove_secret(app, secret).await.or_graph(&ids)?;
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
    JsonBody(certificate): JsonBody<NewCertificate>,
) -> Answer {
    let info =
        state.identity.directory().add_certificate(app, &certificate.pem, state.clock.now()).await.or_graph(&ids)?;
    Ok(created(info))
}

async fn remove_certificate(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys((app, thumbprint)): Keys<(Uuid, String)>,
) -> Answer {
    state.identity.directory().remove_certificate(app, &thumbprint).await.or_graph(&ids)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn rotate_keys(State(state): State<AppState>, ids: RequestIds) -> Answer {
    let kid = state.identity.rotate_keys(state.clock.now()).await.map_err(|error| {
        tracing::error!(%error, "key rotation failed");
        let store = match error {
            switchboard_identity::IdentityError::Store(store) => store,
            other => switchboard_store::StoreError::Backend(other.to_string()),
        };
        GraphError::new(ApiError::Store(store), ids.clone())
    })?;
    Ok(Json(json!({ "kid": kid })).into_response())
}
