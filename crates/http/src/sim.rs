//! `/_sim`: the test-control API. It plays the world's side of calls — simulated users, phones, bots and meetings
//! with their behaviours, the clock, injected faults — and shows what the bots were sent. Open in dev mode,
//! behind the admin key otherwise. `spec/sim-openapi.yaml` describes it (served at `/_sim/openapi.yaml`); a test
//! checks the two list the same routes.
//!
//! Tenant-scoped routes take `?tenantId=`; without it they use the only tenant, or the dev tenant.

use axum::{
    Json, Router,
    extract::{FromRequest, FromRequestParts, Request, State},
    handler::Handler,
    http::{Method, StatusCode, header, request::Parts},
    middleware,
    response::{IntoResponse, Response},
    routing::{MethodFilter, MethodRouter, on},
};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_calls::{
    CallsError,
    clock::ClockMode,
    simulation::{Fault, FaultEffect, IncomingCall},
    world::{Defaults, Entity, SimBot, SimMeeting, SimPhone, SimUser},
};
use switchboard_catalogue::{EndpointId, Response as EndpointResponse};
use switchboard_engine::{PeerAction, model::ResultInfo};
use switchboard_identity::DEV_TENANT_ID;
use switchboard_store::CallFilter;
use uuid::Uuid;

use crate::{
    AppState, console,
    control::{Answer, Filter, JsonBody, Keys, OrGraph, created, not_found, require_admin_key},
    error::{ApiError, GraphError},
    journal, media,
    request::RequestIds,
};

/// The description of this API, served as is.
pub(crate) const OPENAPI: &str = include_str!("../../../spec/sim-openapi.yaml");

/// Every route: method, path below `/_sim`, handler. The router and the OpenAPI consistency test both read it.
pub(crate) fn routes() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    fn route<H: Handler<T, AppState>, T: 'static>(
        method: Method,
        path: &'static str,
        handler: H,
    ) -> (Method, &'static str, MethodRouter<AppState>) {
        let filter = MethodFilter::try_from(method.clone()).expect("invariant: the table uses standard methods");
        (method, path, on(filter, handler))
    }
    vec![
        route(Method::GET, "/openapi.yaml", openapi),
        route(Method::GET, "/graph-openapi/{key}", graph_openapi),
        route(Method::GET, "/clock", show_clock),
        route(Method::PUT, "/clock", set_clock),
        route(Method::POST, "/clock/advance", advance_clock),
        route(Method::GET, "/defaults", show_defaults),
        route(Method::PUT, "/defaults", set_defaults),
        route(Method::GET, "/users", list::<SimUser>),
        route(Method::POST, "/users", add::<SimUser>),
        route(Method::GET, "/users/{key}", show::<SimUser>),
        route(Method::PUT, "/users/{key}", replace::<SimUser>),
        route(Method::DELETE, "/users/{key}", remove::<SimUser>),
        route(Method::GET, "/phones", list::<SimPhone>),
        route(Method::POST, "/phones", add::<SimPhone>),
        route(Method::GET, "/phones/{key}", show::<SimPhone>),
        route(Method::PUT, "/phones/{key}", replace::<SimPhone>),
        route(Method::DELETE, "/phones/{key}", remove::<SimPhone>),
        route(Method::GET, "/bots", list::<SimBot>),
        route(Method::POST, "/bots", add::<SimBot>),
        route(Method::GET, "/bots/{key}", show::<SimBot>),
        route(Method::PUT, "/bots/{key}", replace::<SimBot>),
        route(Method::DELETE, "/bots/{key}", remove::<SimBot>),
        route(Method::GET, "/meetings", list::<SimMeeting>),
        route(Method::POST, "/meetings", add::<SimMeeting>),
        route(Method::GET, "/meetings/{key}", show::<SimMeeting>),
        route(Method::PUT, "/meetings/{key}", replace::<SimMeeting>),
        route(Method::DELETE, "/meetings/{key}", remove::<SimMeeting>),
        route(Method::POST, "/meetings/{key}/end", end_meeting),
        route(Method::POST, "/meetings/{key}/join", join_meeting),
        route(Method::POST, "/meetings/{key}/leave", leave_meeting),
        route(Method::GET, "/calls", list_calls),
        route(Method::POST, "/calls", place_call),
        route(Method::GET, "/calls/{call}", show_call),
        route(Method::POST, "/calls/{call}/terminate", terminate_call),
        route(Method::POST, "/calls/{call}/admit", admit_bot),
        route(Method::POST, "/calls/{call}/participants/{who}/{action}", participant_acts),
        route(Method::GET, "/calls/{call}/participants/{who}/heard", media::heard),
        route(Method::GET, "/calls/{call}/participants/{who}/heard.wav", media::heard_wav),
        route(Method::GET, "/media", media::list_files),
        route(Method::GET, "/media/{key}", media::get_file),
        route(Method::PUT, "/media/{key}", media::put_file),
        route(Method::DELETE, "/media/{key}", media::delete_file),
        route(Method::GET, "/faults", list_faults),
        route(Method::POST, "/faults", add_fault),
        route(Method::DELETE, "/faults/{key}", remove_fault),
        route(Method::GET, "/activity", console::list),
        route(Method::GET, "/activity/stream", console::stream),
        route(Method::GET, "/notifications", journal::list),
        route(Method::GET, "/notifications/{seq}", journal::show),
        route(Method::POST, "/notifications/{seq}/replay", journal::replay_one),
        route(Method::POST, "/notifications/replay", journal::replay),
        route(Method::GET, "/delivery", journal::show_disorder),
        route(Method::PUT, "/delivery", journal::set_disorder),
        route(Method::POST, "/reset", reset),
    ]
}

pub(crate) fn router(state: AppState) -> Router<AppState> {
    let mut router = Router::new();
    for (_, path, handler) in routes() {
        router = router.route(path, handler);
    }
    router.fallback(not_found).layer(middleware::from_fn_with_state(state, require_admin_key))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI).into_response()
}

/// The OpenAPI descriptions of the Graph calling API this server implements (`spec/graph-openapi`, rebuilt from
/// Microsoft's CSDL), for tools that generate clients or requests from them — a fuzzer, say. The operations the
/// converter invents are in them too; the server answers those with Graph's 405.
async fn graph_openapi(ids: RequestIds, Keys(name): Keys<String>) -> Answer {
    let description = match name.as_str() {
        "v1.0.yaml" => include_str!("../../../spec/graph-openapi/v1.0-communications.yaml"),
        "beta.yaml" => include_str!("../../../spec/graph-openapi/beta-communications.yaml"),
        _ => {
            return Err(ApiError::ControlNotFound(format!("/_sim/graph-openapi/{name} (v1.0.yaml or beta.yaml)")))
                .or_graph(&ids);
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/yaml")], description).into_response())
}

// ---- tenants -------------------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TenantQuery {
    tenant_id: Option<Uuid>,
}

/// The tenant a request is about: `?tenantId=`, or the only tenant, or the dev tenant.
struct Tenant(Uuid);

impl FromRequestParts<AppState> for Tenant {
    type Rejection = GraphError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, GraphError> {
        let ids = RequestIds::from_request_parts(parts, state).await.unwrap_or_else(|never| match never {});
        let Filter(query) = Filter::<TenantQuery>::from_request_parts(parts, state).await?;
        let tenants = state.store.tenants().await.or_graph(&ids)?;
        let known = |id: Uuid| tenants.iter().any(|t| t.tenant_id == id);
        let chosen = match query.tenant_id {
            Some(id) if known(id) => Ok(id),
            Some(id) => Err(format!("there is no tenant {id}; add it with POST /_admin/tenants")),
            None if tenants.len() == 1 => Ok(tenants[0].tenant_id),
            None if known(DEV_TENANT_ID) => Ok(DEV_TENANT_ID),
            None => Err("several tenants exist; name one with ?tenantId=".to_owned()),
        };
        chosen.map(Tenant).map_err(CallsError::Invalid).or_graph(&ids)
    }
}

// ---- clock -----------------------------------------------------------------------------------------------------

fn clock_view(state: &AppState) -> Response {
    let clock = state.calls.clock();
    Json(json!({"mode": clock.mode(), "now": clock.now()})).into_response()
}

async fn show_clock(State(state): State<AppState>) -> Response {
    clock_view(&state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    mode: ClockMode,
}

async fn set_clock(State(state): State<AppState>, JsonBody(change): JsonBody<ClockChange>) -> Response {
    state.calls.set_clock_mode(change.mode).await;
    clock_view(&state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    #[serde(default)]
    seconds: f64,
    #[serde(default)]
    milliseconds: u64,
}

async fn advance_clock(State(state): State<AppState>, ids: RequestIds, JsonBody(advance): JsonBody<Advance>) -> Answer {
    let seconds = std::time::Duration::try_from_secs_f64(advance.seconds)
        .map_err(|_| CallsError::Invalid("'seconds' must be a number of seconds, 0 or more".into()))
        .or_graph(&ids)?;
    state.calls.advance(seconds + std::time::Duration::from_millis(advance.milliseconds)).await.or_graph(&ids)?;
    Ok(clock_view(&state))
}

// ---- the world -------------------------------------------------------------------------------------------------

async fn show_defaults(State(state): State<AppState>, ids: RequestIds, Tenant(tenant_id): Tenant) -> Answer {
    Ok(Json(state.calls.world().defaults(tenant_id).await.or_graph(&ids)?).into_response())
}

async fn set_defaults(
    State(state): State<AppState>,
    ids: RequestIds,
    Tenant(tenant_id): Tenant,
    JsonBody(defaults): JsonBody<Defaults>,
) -> Answer {
    let now = state.calls.clock().now();
    state.calls.world().set_defaults(tenant_id, &defaults, now).await.or_graph(&ids)?;
    Ok(Json(defaults).into_response())
}

async fn list<E: Entity + 'static>(
    State(state): State<AppState>,
    ids: RequestIds,
    Tenant(tenant_id): Tenant,
) -> Answer {
    let all = state.calls.world().list::<E>(tenant_id).await.or_graph(&ids)?;
    Ok(Json(json!({ "value": all })).into_response())
}

async fn add<E: Entity + 'static>(
    State(state): State<AppState>,
    ids: RequestIds,
    Tenant(tenant_id): Tenant,
    JsonBody(entity): JsonBody<E>,
) -> Answer {
    let now = state.calls.clock().now();
    Ok(created(state.calls.world().put(tenant_id, entity, now).await.or_graph(&ids)?))
}

async fn show<E: Entity + 'static>(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys(key): Keys<String>,
    Tenant(tenant_id): Tenant,
) -> Answer {
    Ok(Json(state.calls.world().require::<E>(tenant_id, &key).await.or_graph(&ids)?).into_response())
}

/// Replaces an entity; the key in the URL wins over one in the body.
async fn replace<E: Entity + 'static>(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys(key): Keys<String>,
    Tenant(tenant_id): Tenant,
    JsonBody(mut entity): JsonBody<Value>,
) -> Answer {
    let key_field = match E::KIND {
        "phones" => "number",
        _ => "id",
    };
    entity[key_field] = key.into();
    let entity: E = serde_json::from_value(entity)
        .map_err(|e| ApiError::InvalidBody(format!("Invalid request body: {e}")))
        .or_graph(&ids)?;
    let now = state.calls.clock().now();
    Ok(Json(state.calls.world().put(tenant_id, entity, now).await.or_graph(&ids)?).into_response())
}

async fn remove<E: Entity + 'static>(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys(key): Keys<String>,
    Tenant(tenant_id): Tenant,
) -> Answer {
    state.calls.world().delete::<E>(tenant_id, &key).await.or_graph(&ids)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn end_meeting(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys(key): Keys<String>,
    Tenant(tenant_id): Tenant,
) -> Answer {
    let ended = state.calls.end_meeting(tenant_id, &key).await.or_graph(&ids)?;
    Ok(Json(json!({ "endedCalls": ended })).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Attendance {
    user_id: String,
    /// Joining: leaves again this long after joining.
    #[serde(default)]
    leave_after_ms: Option<u64>,
    /// Joining: wait in the lobby (true) or not (false), whatever the meeting's lobby policy says.
    #[serde(default)]
    lobby: Option<bool>,
}

async fn join_meeting(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys(key): Keys<String>,
    Tenant(tenant_id): Tenant,
    JsonBody(joining): JsonBody<Attendance>,
) -> Answer {
    let leave_after = joining.leave_after_ms.map(std::time::Duration::from_millis);
    let calls =
        state.calls.join_meeting(tenant_id, &key, &joining.user_id, leave_after, joining.lobby).await.or_graph(&ids)?;
    Ok(Json(json!({ "calls": calls })).into_response())
}

async fn leave_meeting(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys(key): Keys<String>,
    Tenant(tenant_id): Tenant,
    JsonBody(leaving): JsonBody<Attendance>,
) -> Answer {
    let calls = state.calls.leave_meeting(tenant_id, &key, &leaving.user_id).await.or_graph(&ids)?;
    Ok(Json(json!({ "calls": calls })).into_response())
}

// ---- calls -----------------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CallQuery {
    tenant_id: Option<Uuid>,
    app_id: Option<Uuid>,
    /// Only calls that have not ended (default true).
    active: Option<bool>,
}

async fn list_calls(State(state): State<AppState>, ids: RequestIds, Filter(query): Filter<CallQuery>) -> Answer {
    let filter = CallFilter {
        tenant_id: query.tenant_id,
        app_id: query.app_id,
        active_only: query.active.unwrap_or(true),
        limit: 1000,
    };
    let calls = state.calls.list_calls(filter).await.or_graph(&ids)?;
    Ok(Json(json!({ "value": calls })).into_response())
}

async fn place_call(
    State(state): State<AppState>,
    ids: RequestIds,
    Tenant(tenant_id): Tenant,
    JsonBody(incoming): JsonBody<IncomingCall>,
) -> Answer {
    Ok(created(state.calls.place_incoming_call(tenant_id, incoming).await.or_graph(&ids)?))
}

async fn show_call(State(state): State<AppState>, ids: RequestIds, Keys(call): Keys<String>) -> Answer {
    Ok(Json(state.calls.inspect(&call).await.or_graph(&ids)?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Termination {
    code: i32,
    subcode: i32,
    #[serde(default)]
    message: Option<String>,
}

async fn terminate_call(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys(call): Keys<String>,
    JsonBody(termination): JsonBody<Termination>,
) -> Answer {
    let Termination { code, subcode, message } = termination;
    let message = message.unwrap_or_else(|| format!("Call ended with {code}/{subcode}."));
    let call = state.calls.terminate(&call, ResultInfo::new(code, subcode, message)).await.or_graph(&ids)?;
    Ok(Json(call).into_response())
}

async fn admit_bot(State(state): State<AppState>, ids: RequestIds, Keys(call): Keys<String>) -> Answer {
    Ok(Json(state.calls.admit_bot(&call).await.or_graph(&ids)?).into_response())
}

/// A slide: a PNG image, base64.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Slide {
    #[serde(default)]
    png: Option<String>,
}

/// A slide as the engine keeps it: checked to be a PNG; the blank one when none is given.
fn slide(slide: Slide, ids: &RequestIds) -> Result<String, GraphError> {
    use base64::Engine as _;
    let Some(text) = slide.png else { return Ok(switchboard_calls::participants::BLANK_SLIDE_PNG.to_owned()) };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| CallsError::Invalid(format!("'png' is not base64: {e}")))
        .or_graph(ids)?;
    switchboard_calls::participants::encode_slide(&bytes).or_graph(ids)
}

const PARTICIPANT_ACTIONS: &str =
    "answer, reject, decline, hangUp, say, pressKeys, mute, unmute, startSharing, showSlide or stopSharing";

/// What a simulated participant does: `answer`, `reject` (busy), `decline`, `hangUp`, `say` (`{"media": name}`,
/// `{"toneHz": 440, "durationMs": 1000}` or `{"silenceMs": 500}`), `pressKeys` (`{"keys": "123#", "inBand":
/// false}`), `mute`, `unmute`, `startSharing` (`{"png": base64}`, optional), `showSlide` (`{"png": base64}`),
/// `stopSharing`.
async fn participant_acts(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys((call, who, action)): Keys<(String, String, String)>,
    request: Request,
) -> Answer {
    let action = match action.as_str() {
        "answer" => PeerAction::Answer,
        "reject" => PeerAction::Reject { declined: false },
        "decline" => PeerAction::Reject { declined: true },
        "hangUp" => PeerAction::HangUp,
        "pressKeys" | "say" => return media::act(&state, &ids, &call, &who, &action, request).await,
        "mute" => PeerAction::Mute,
        "unmute" => PeerAction::Unmute,
        "startSharing" => {
            let body = Option::<JsonBody<Slide>>::from_request(request, &state).await?;
            let body = body.map(|JsonBody(slide)| slide).unwrap_or_default();
            PeerAction::StartSharing { session_id: Uuid::new_v4().to_string(), png: Some(slide(body, &ids)?) }
        }
        "showSlide" => {
            let body = JsonBody::<Slide>::from_request(request, &state).await?.0;
            PeerAction::ShowSlide { png: slide(body, &ids)? }
        }
        "stopSharing" => PeerAction::StopSharing,
        other => {
            let unknown = format!("participant action '{other}' (use {PARTICIPANT_ACTIONS})");
            return Err(ApiError::ControlNotFound(unknown)).or_graph(&ids);
        }
    };
    Ok(Json(state.calls.peer_act(&call, &who, action).await.or_graph(&ids)?).into_response())
}

// ---- faults ----------------------------------------------------------------------------------------------------

async fn list_faults(State(state): State<AppState>, ids: RequestIds, Tenant(tenant_id): Tenant) -> Answer {
    let faults = state.calls.world().list::<Fault>(tenant_id).await.or_graph(&ids)?;
    Ok(Json(json!({ "value": faults })).into_response())
}

async fn add_fault(
    State(state): State<AppState>,
    ids: RequestIds,
    Tenant(tenant_id): Tenant,
    JsonBody(fault): JsonBody<Fault>,
) -> Answer {
    let endpoint = EndpointId::from_key(&fault.operation)
        .map(switchboard_catalogue::Endpoint::find)
        .ok_or_else(|| ApiError::UnknownOperation(fault.operation.clone()))
        .or_graph(&ids)?;
    if fault.effect == FaultEffect::Lose && endpoint.response != EndpointResponse::Empty {
        return Err(ApiError::FaultNotLosable { operation: fault.operation }).or_graph(&ids);
    }
    Ok(created(state.calls.set_fault(tenant_id, fault).await.or_graph(&ids)?))
}

async fn remove_fault(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys(key): Keys<String>,
    Tenant(tenant_id): Tenant,
) -> Answer {
    state.calls.world().delete::<Fault>(tenant_id, &key).await.or_graph(&ids)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn reset(State(state): State<AppState>, ids: RequestIds) -> Answer {
    state.calls.reset().await.or_graph(&ids)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::{OPENAPI, routes};

    #[test]
    fn the_openapi_file_describes_exactly_the_routes() {
        let document: serde_json::Value = serde_norway::from_str(OPENAPI).expect("spec/sim-openapi.yaml is YAML");
        let mut described = BTreeSet::new();
        for (path, item) in document["paths"].as_object().expect("paths") {
            for method in ["get", "put", "post", "delete", "patch"] {
                if item.get(method).is_some() {
                    described.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
        let served: BTreeSet<(String, String)> =
            routes().into_iter().map(|(method, path, _)| (method.to_string(), path.to_owned())).collect();
        assert_eq!(served, described, "spec/sim-openapi.yaml and sim::routes() list different routes");
    }
}
