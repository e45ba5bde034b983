//! The Graph API surface: every `/{version}/…` request is resolved against the endpoint catalogue, its body read
//! and checked against the documented limits, and then handed to the operation's handler.

use std::{future::Future, pin::Pin};

use axum::{
    Extension,
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, HeaderValue, Method as HttpMethod, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;
use switchboard_calls::{Caller, simulation::FaultEffect};
use switchboard_catalogue::{ApiVersion, Endpoint, PathParams, PermissionCheck, Resolution, resolve};
use switchboard_identity::{AuthenticatedApp, AuthenticationError};
use switchboard_wire::limits::{Policy, Validate};

use crate::{AppState, error::ApiError, request::RequestIds, routes::route};

/// Graph's JSON content type (what the service sends; Kiota matches on the `application/json` part).
const GRAPH_JSON: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// A resolved Graph request, as an operation's handler sees it.
pub(crate) struct GraphRequest {
    pub state: AppState,
    pub version: ApiVersion,
    pub endpoint: &'static Endpoint,
    pub headers: HeaderMap,
    /// The caller, authenticated and authorised for the endpoint.
    pub app: AuthenticatedApp,
    /// The keys in the URL (call id, operation id, …).
    pub params: PathParams,
}

impl GraphRequest {
    /// The caller, as the calls runtime knows it.
    pub(crate) fn caller(&self) -> Caller {
        Caller {
            tenant_id: self.app.tenant_id(),
            app_id: self.app.app_id(),
            roles: self.app.roles().iter().copied().collect(),
            scenario_id: self.headers.get("scenario-id").and_then(|v| v.to_str().ok()).map(str::to_owned),
            root: self.params.root,
        }
    }

    /// The call id of the URL; every call-scoped path has one.
    pub(crate) fn call_id(&self) -> &str {
        self.params.call.as_deref().expect("invariant: the catalogue resolves call-scoped paths with a call id")
    }

    /// The participant id of the URL; every participant-scoped path has one.
    pub(crate) fn participant_id(&self) -> &str {
        self.params.participant.as_deref().expect("invariant: participant paths have a participant id")
    }

    /// The audio routing group or content sharing session id of the URL.
    pub(crate) fn item_id(&self) -> &str {
        let params = &self.params;
        params
            .audio_routing_group
            .as_deref()
            .or(params.content_sharing_session.as_deref())
            .expect("invariant: item paths have an item id")
    }
}

/// A successful Graph response.
pub(crate) struct GraphResponse {
    status: StatusCode,
    body: Option<Vec<u8>>,
    location: Option<String>,
    /// `None`: Graph's JSON.
    content_type: Option<&'static str>,
}

impl GraphResponse {
    /// A response without a body (202 Accepted for answer/reject/redirect/transfer, 204 for deletes, …).
    pub(crate) fn empty(status: StatusCode) -> GraphResponse {
        GraphResponse { status, body: None, location: None, content_type: None }
    }

    /// The endpoint's success status, without a body.
    pub(crate) fn success(request: &GraphRequest) -> GraphResponse {
        GraphResponse::empty(success_status(request.endpoint))
    }

    /// The endpoint's success status with a JSON body.
    pub(crate) fn json(request: &GraphRequest, body: &serde_json::Value) -> GraphResponse {
        GraphResponse {
            status: success_status(request.endpoint),
            body: Some(serde_json::to_vec(body).expect("JSON values always serialise")),
            location: None,
            content_type: None,
        }
    }

    /// The endpoint's success status with a binary body (`pngOfCurrentSlide`).
    pub(crate) fn bytes(request: &GraphRequest, content_type: &'static str, body: Vec<u8>) -> GraphResponse {
        GraphResponse {
            status: success_status(request.endpoint),
            body: Some(body),
            location: None,
            content_type: Some(content_type),
        }
    }

    /// With a `Location` header (created calls, operations).
    pub(crate) fn at(mut self, location: String) -> GraphResponse {
        self.location = Some(location);
        self
    }
}

fn success_status(endpoint: &Endpoint) -> StatusCode {
    StatusCode::from_u16(endpoint.success).expect("invariant: the catalogue's success statuses are valid")
}

impl IntoResponse for GraphResponse {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            Some(body) => {
                (self.status, [(header::CONTENT_TYPE, self.content_type.unwrap_or(GRAPH_JSON))], body).into_response()
            }
            None => self.status.into_response(),
        };
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }
}

/// How an operation's request body is read.
pub(crate) trait RequestBody: Sized + Send + 'static {
    fn read(request: &GraphRequest, bytes: &Bytes) -> Result<Self, ApiError>;
}

/// The operation takes no body; one sent anyway is ignored, as Graph ignores it.
pub(crate) struct NoBody;

impl RequestBody for NoBody {
    fn read(_: &GraphRequest, _: &Bytes) -> Result<Self, ApiError> {
        Ok(NoBody)
    }
}

/// A JSON body of type `B`, checked against the documented limits.
pub(crate) struct Json<B>(pub B);

impl<B: DeserializeOwned + Validate + Send + 'static> RequestBody for Json<B> {
    fn read(request: &GraphRequest, bytes: &Bytes) -> Result<Self, ApiError> {
        let body: B = parse_json(&request.headers, bytes)?;
        let policy = Policy { allow_loopback_http_callbacks: request.state.config.dev_mode };
        body.validate(&policy)?;
        Ok(Json(body))
    }
}

/// A JSON body for a partial update (PATCH) of a `B`: it must parse, but the rules for a new `B` do not apply.
pub(crate) struct Patch<B>(pub B);

impl<B: DeserializeOwned + Send + 'static> RequestBody for Patch<B> {
    fn read(request: &GraphRequest, bytes: &Bytes) -> Result<Self, ApiError> {
        parse_json::<B>(&request.headers, bytes).map(Patch)
    }
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

pub(crate) fn parse_json<B: DeserializeOwned>(headers: &HeaderMap, bytes: &Bytes) -> Result<B, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("(not text)"));
    let bytes: &[u8] = match (bytes.is_empty(), content_type) {
        // A body-less POST without a Content-Type means "no parameters"; required ones are reported by name.
        (true, None) => b"{}",
        (true, Some(_)) => return Err(ApiError::EmptyPayload),
        (false, Some(content_type)) if is_json(content_type) => bytes,
        (false, Some(content_type)) => {
            return Err(ApiError::UnreadableJson(format!(
                "the Content-Type is '{content_type}'; send application/json"
            )));
        }
        (false, None) => return Err(ApiError::UnreadableJson("no Content-Type header; send application/json".into())),
    };
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data if path == "." => {
                ApiError::InvalidBody(format!("Invalid request body: {inner}"))
            }
            serde_json::error::Category::Data => ApiError::InvalidBody(format!("Invalid value for '{path}': {inner}")),
            _ => ApiError::UnreadableJson(inner.to_string()),
        }
    })
}

type Outcome = Pin<Box<dyn Future<Output = Result<GraphResponse, ApiError>> + Send>>;

/// One implemented Graph operation.
pub(crate) trait Operation: 'static {
    type Body: RequestBody;
    fn handle(request: GraphRequest, body: Self::Body) -> impl Future<Output = Result<GraphResponse, ApiError>> + Send;
}

/// How the server answers one catalogue entry.
pub(crate) struct Route {
    run: fn(GraphRequest, Bytes) -> Outcome,
}

impl Route {
    /// Served by the operation `O`, after any fault injected for it through `/_sim/faults`.
    pub(crate) fn serve<O: Operation>() -> Route {
        Route {
            run: |request, bytes| {
                Box::pin(async move {
                    let body = O::Body::read(&request, &bytes)?;
                    let fault =
                        request.state.calls.take_fault(request.app.tenant_id(), &request.endpoint.id.key()).await?;
                    match fault {
                        None => O::handle(request, body).await,
                        Some(FaultEffect::Fail { status, code, message }) => {
                            Err(switchboard_calls::CallsError::InjectedFault { status, code, message }.into())
                        }
                        Some(FaultEffect::Lose) => Ok(GraphResponse::success(&request)),
                    }
                })
            },
        }
    }
}

/// The Graph version a path starts with (`/v1.0/…`, `/beta/…`; any case).
pub(crate) fn graph_version(path: &str) -> Option<ApiVersion> {
    ApiVersion::parse(path.trim_start_matches('/').split('/').next().unwrap_or_default())
}

/// What every Graph request passes before anything else is done with it: its caller is authenticated — Graph's
/// gateway does that first, too — and only then does it take one of the `max_requests_in_flight` slots (503 with
/// `Retry-After` when none is free) and get its body read. So a request without credentials costs neither a slot nor
/// a body read, and the activity feed sees authenticated requests only.
pub(crate) async fn admit(
    State(state): State<AppState>,
    ids: RequestIds,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if graph_version(request.uri().path()).is_none() {
        return next.run(request).await;
    }
    let scenario_id = request.headers().get("scenario-id").cloned();
    let mut response = match authenticate(&state, request.headers()).await {
        Err(error) => error.into_graph_response(&ids),
        Ok(app) => match state.graph_request_slot() {
            None => ApiError::AtCapacity { limit: state.config.max_requests_in_flight }.into_graph_response(&ids),
            Some(_slot) => {
                request.extensions_mut().insert(app);
                next.run(request).await
            }
        },
    };
    graph_headers(response.headers_mut(), scenario_id);
    response
}

/// What live Graph puts on its answers (comms-samples #433, #571): the caller's `scenario-id` echoed, and
/// `OData-Version` on those with a body (keepAlive's empty `text/plain` 200 has none, contrib#4849).
fn graph_headers(headers: &mut HeaderMap, scenario_id: Option<HeaderValue>) {
    if let Some(scenario_id) = scenario_id {
        headers.insert("scenario-id", scenario_id);
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if json && !headers.contains_key("odata-version") {
        headers.insert("odata-version", HeaderValue::from_static("4.0"));
    }
}

/// The fallback of the router: everything not served by a fixed route is a Graph request.
pub(crate) async fn handle(
    State(state): State<AppState>,
    ids: RequestIds,
    app: Option<Extension<AuthenticatedApp>>,
    method: HttpMethod,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut addressed = None;
    let app = app.map(|Extension(app)| app);
    let mut response = match dispatch(state, app, method, uri, headers, body, &mut addressed).await {
        Ok(response) => response.into_response(),
        Err(error) => error.into_graph_response(&ids),
    };
    if let Some(call_id) = addressed {
        response.extensions_mut().insert(AddressedCall(call_id));
    }
    response
}

/// The call a Graph request's URL names, as the catalogue resolved it (for the activity feed).
#[derive(Debug, Clone)]
pub(crate) struct AddressedCall(pub(crate) String);

/// The caller of a Graph request, from its bearer token. Like Graph's gateway, this comes before anything else
/// about the request is looked at.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<AuthenticatedApp, ApiError> {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    match state.identity.authenticate(authorization, state.clock.now()).await {
        Ok(app) => Ok(app),
        Err(AuthenticationError::Store(error)) => Err(ApiError::Store(error)),
        Err(AuthenticationError::Rejected(rejection)) => {
            let base = state.identity.config().public_url.as_str().trim_end_matches('/').to_owned();
            Err(ApiError::Unauthenticated { rejection, authorization_uri: format!("{base}/common/oauth2/authorize") })
        }
    }
}

/// The catalogue's permission rule for the endpoint. Operations Graph checks only when the call was created or
/// answered need no role now: the call itself must belong to the app, which the operation checks (a call of another
/// app is a 404).
fn authorize(app: &AuthenticatedApp, endpoint: &'static Endpoint) -> Result<(), ApiError> {
    match endpoint.permission_check {
        PermissionCheck::AtCallCreation => Ok(()),
        PermissionCheck::OnRequest if endpoint.permissions.is_empty() || app.has_any(endpoint.permissions) => Ok(()),
        PermissionCheck::OnRequest => Err(ApiError::Forbidden {
            endpoint: endpoint.name,
            needed: endpoint.permissions,
            has: app.roles().iter().copied().collect(),
        }),
    }
}

async fn dispatch(
    state: AppState,
    app: Option<AuthenticatedApp>,
    method: HttpMethod,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
    addressed: &mut Option<String>,
) -> Result<GraphResponse, ApiError> {
    let path = uri.path();
    let (first, rest) = path.trim_start_matches('/').split_once('/').unwrap_or((path.trim_start_matches('/'), ""));
    let version = ApiVersion::parse(first).ok_or_else(|| ApiError::InvalidVersion(first.to_owned()))?;
    let app = app.expect("invariant: `admit` authenticates every request under a Graph version before it gets here");
    let (endpoint, params) = match resolve(version, method.as_str(), rest) {
        Resolution::Found { endpoint, params } => (endpoint, params),
        Resolution::MethodNotAllowed { allowed, path } => {
            return Err(ApiError::MethodNotAllowed { method: method.to_string(), path, allowed });
        }
        Resolution::UnknownSegment { segment, hint } => return Err(ApiError::UnknownSegment { segment, hint }),
        Resolution::NotServed => return Err(ApiError::NotServed { version: version.as_str() }),
    };
    addressed.clone_from(&params.call);
    authorize(&app, endpoint)?;
    let limit = state.config.max_body_bytes;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let bytes = state.read_body(body, limit).await?;
    let route =
        route(endpoint.id).expect("the catalogue resolves only operations Graph serves, and those all have routes");
    let request = GraphRequest { state, version, endpoint, headers, app, params };
    (route.run)(request, bytes).await
}
