//! Every way a request can fail, and the one place they become HTTP responses with Graph's error body
//! `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use std::borrow::Cow;

use switchboard_calls::{CallsError, clock::ClockError, media::MediaError, world::WorldError};
use switchboard_catalogue::{Method, Permission};
use switchboard_engine::Rejection;
use switchboard_identity::{AdminError, TokenRejection};
use switchboard_store::StoreError;
use switchboard_wire::{limits::Invalid, model::ODataError};

use crate::request::RequestIds;

/// Graph's message for a body it cannot read as JSON (observed on the gateway, e.g. microsoft-graph-docs #6259).
pub(crate) const UNREADABLE_JSON: &str = "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.";

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// The first path segment is not a Graph version.
    #[error("Invalid version: {0}")]
    InvalidVersion(String),
    /// Graph's wording for a URL segment it cannot resolve (learn Q&A 852681).
    #[error("Resource not found for the segment '{segment}'.{}", hint.map(|h| format!(" Switchboard: {h}.")).unwrap_or_default())]
    UnknownSegment { segment: String, hint: Option<&'static str> },
    /// A prefix of the calls API that is no operation (`/v1.0/communications`).
    #[error("Switchboard serves the calls API only: use /{version}/communications/calls/… (see docs/compatibility.md)")]
    NotServed { version: &'static str },
    /// Graph's gateway answer to a method a URL does not support (observed 2025, e.g. MichaelGrafnetter/webauthn-interop#33).
    #[error("The method is not supported for this URL. {method} {path} supports: {}.", allowed_list(allowed))]
    MethodNotAllowed { method: String, path: String, allowed: Vec<Method> },
    /// A wrong method on one of the server's own routes (the router adds the `Allow` header).
    #[error("The method is not supported for this URL: {method} {path}.")]
    FixedRouteMethodNotAllowed { method: String, path: String },
    /// No valid access token: Graph's 401 with a `WWW-Authenticate` challenge naming where to get one.
    #[error("{rejection}")]
    Unauthenticated { rejection: TokenRejection, authorization_uri: String },
    /// The token lacks every permission the operation accepts (Graph's calling service answers 7504,
    /// comms-samples #276).
    #[error(
        "Insufficient enterprise tenant permissions, cannot access this API. Switchboard: {endpoint} needs one of: {}; \
         the token has: {}.",
        permission_list(needed),
        if has.is_empty() { "no calls permission".to_owned() } else { permission_list(has) }
    )]
    Forbidden { endpoint: &'static str, needed: &'static [Permission], has: Vec<Permission> },
    /// A control API (`/_admin`, `/_sim`) refused the caller.
    #[error("{0}")]
    ControlUnauthorized(&'static str),
    #[error("No resource at {0}; see the README for the /_admin and /_sim routes.")]
    ControlNotFound(String),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error("{UNREADABLE_JSON} ({0})")]
    UnreadableJson(String),
    /// Observed Graph wording for a missing body where one is expected (microsoft-graph-docs-contrib #7083).
    #[error("Empty Payload. JSON content expected.")]
    EmptyPayload,
    #[error("The request body is larger than the limit of {limit} bytes.")]
    PayloadTooLarge { limit: usize },
    /// The body did not arrive in time (`--body-read-timeout`).
    #[error("The request body did not arrive within {seconds} seconds.")]
    BodyTimeout { seconds: u64 },
    /// Dev mode on loopback answers only requests addressed to it by a loopback name: a page on another site that
    /// rebinds its own name to 127.0.0.1 cannot reach `/_sim` and `/_admin`.
    #[error(
        "This server is in dev mode on a loopback address and answers only requests addressed to a loopback name \
         (localhost, 127.0.0.1, [::1]) or its public URL; the Host '{0}' is none of them"
    )]
    MisdirectedHost(String),
    /// More Graph requests in progress than `max_requests_in_flight`: shed rather than queued without bound.
    #[error("The server is at capacity ({limit} requests in progress); retry after the Retry-After interval.")]
    AtCapacity { limit: usize },
    /// JSON that does not fit the operation's parameters (an unknown property, a wrong type, a bad enum value …).
    #[error("{0}")]
    InvalidBody(String),
    /// A documented limit (`clientContext` ≤ 256 characters, ≤ 20 prompts …).
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("The '{name}' request header is required: {why}.")]
    MissingHeader { name: &'static str, why: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Calls(#[from] CallsError),
    /// A fault can only lose an operation whose success carries no body.
    #[error("'{operation}' answers with a body, so a request of it cannot be lost; inject a 'fail' fault instead")]
    FaultNotLosable { operation: String },
    #[error("'{0}' is not an operation; use the first column of docs/compatibility.md (answer, createCall, …)")]
    UnknownOperation(String),
    #[error(
        "notification {seq} is {status}; only dead letters are replayed{}",
        if *status == "deadLettered" { " (this one had nowhere to go: give a url)" } else { "" }
    )]
    NotADeadLetter { seq: i64, status: &'static str },
    #[error(transparent)]
    Disorder(#[from] switchboard_notify::DisorderError),
}

fn permission_list(permissions: &[Permission]) -> String {
    permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
}

fn allowed_list(allowed: &[Method]) -> String {
    if allowed.is_empty() {
        return "no method (the OpenAPI description lists it, but Graph has no such operation)".to_owned();
    }
    allowed.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
}

impl ApiError {
    /// The status and Graph error code: the single mapping from failures to HTTP.
    fn status_and_code(&self) -> (StatusCode, Cow<'static, str>) {
        let (status, code) = match self {
            ApiError::InvalidVersion(_)
            | ApiError::UnknownSegment { .. }
            | ApiError::UnreadableJson(_)
            | ApiError::EmptyPayload
            | ApiError::InvalidBody(_)
            | ApiError::Invalid(_)
            | ApiError::MissingHeader { .. } => (StatusCode::BAD_REQUEST, "BadRequest"),
            ApiError::MethodNotAllowed { .. } | ApiError::FixedRouteMethodNotAllowed { .. } => {
                (StatusCode::METHOD_NOT_ALLOWED, "methodNotAllowed")
            }
            ApiError::Unauthenticated {
                rejection: TokenRejection::UnknownApplication | TokenRejection::DevAppDisabled,
                ..
            } => (StatusCode::FORBIDDEN, "UnknownError"),
            ApiError::Unauthenticated { rejection: TokenRejection::TenantMismatch, .. } => {
                (StatusCode::FORBIDDEN, "7505")
            }
            ApiError::Unauthenticated { .. } => (StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken"),
            ApiError::Forbidden { .. } => (StatusCode::FORBIDDEN, "7504"),
            ApiError::ControlUnauthorized(_) => (StatusCode::UNAUTHORIZED, "Unauthorized"),
            ApiError::ControlNotFound(_) => (StatusCode::NOT_FOUND, "NotFound"),
            ApiError::Admin(
                AdminError::UnknownTenant(_)
                | AdminError::UnknownApp(_)
                | AdminError::UnknownSecret { .. }
                | AdminError::UnknownCertificate { .. },
            ) => (StatusCode::NOT_FOUND, "NotFound"),
            ApiError::Admin(AdminError::AppExists(_)) => (StatusCode::CONFLICT, "Conflict"),
            ApiError::Admin(
                AdminError::UnknownPermission(_) | AdminError::InvalidWebhook(_) | AdminError::InvalidCertificate(_),
            ) => (StatusCode::BAD_REQUEST, "BadRequest"),
            ApiError::Admin(AdminError::Store(error)) => store_status(error),
            ApiError::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge"),
            ApiError::BodyTimeout { .. } => (StatusCode::REQUEST_TIMEOUT, "RequestTimeout"),
            ApiError::MisdirectedHost(_) => (StatusCode::MISDIRECTED_REQUEST, "MisdirectedRequest"),
            // Graph's throttling answer (graph-calls.md: 429/503 with Retry-After, which the SDKs' retry handler honours).
            ApiError::AtCapacity { .. } => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
            ApiError::NotServed { .. } => (StatusCode::NOT_IMPLEMENTED, "NotImplemented"),
            ApiError::Store(error) => store_status(error),
            ApiError::FaultNotLosable { .. } | ApiError::UnknownOperation(_) | ApiError::Disorder(_) => {
                (StatusCode::BAD_REQUEST, "BadRequest")
            }
            ApiError::NotADeadLetter { .. } => (StatusCode::CONFLICT, "Conflict"),
            ApiError::Calls(CallsError::InjectedFault { status, code, .. }) => {
                let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return (status, Cow::Owned(code.clone()));
            }
            ApiError::Calls(error) => calls_status(error),
        };
        (status, Cow::Borrowed(code))
    }

    fn store_error(&self) -> Option<&StoreError> {
        match self {
            ApiError::Store(error)
            | ApiError::Admin(AdminError::Store(error))
            | ApiError::Calls(CallsError::Store(error) | CallsError::World(WorldError::Store(error))) => Some(error),
            _ => None,
        }
    }

    /// Failures whose details belong in the server log rather than in the answer.
    fn is_internal(&self) -> bool {
        matches!(self.store_error(), Some(StoreError::Backend(_) | StoreError::Damaged(_) | StoreError::TooNew { .. }))
            || matches!(
                self,
                ApiError::Calls(CallsError::Corrupt { .. } | CallsError::World(WorldError::Corrupt { .. }))
            )
    }

    /// The response, with Graph's error body carrying the request's ids.
    pub(crate) fn into_graph_response(self, ids: &RequestIds) -> Response {
        let (status, code) = self.status_and_code();
        let message = match (&self, self.is_internal()) {
            // Internal details go to the log, not to the client; the request id ties the two together.
            (_, true) => {
                tracing::error!(request_id = %ids.request_id, error = %self, "request failed");
                format!(
                    "An internal error occurred; the server log has the details under request-id {}.",
                    ids.request_id
                )
            }
            // The calling service reports an unknown app as JSON text inside the message (microsoft-graph-docs #10845).
            (ApiError::Unauthenticated { rejection: TokenRejection::UnknownApplication, .. }, _) => {
                r#"{"errorCode":"7503","message":"Application is not registered in our store.","instanceAnnotations":[]}"#
                    .to_owned()
            }
            _ => self.to_string(),
        };
        let body = ODataError::new(code.as_ref(), message, &ids.request_id, &ids.client_request_id, &ids.graph_date());
        let mut response = (status, axum::Json(body)).into_response();
        if let ApiError::MethodNotAllowed { allowed, .. } = &self {
            let allow = allowed.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ");
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_str(&allow).expect("method names are ASCII"));
        }
        if let ApiError::Unauthenticated { authorization_uri, .. } = &self
            && status == StatusCode::UNAUTHORIZED
        {
            // Graph's challenge (the client_id is Graph's own app id).
            let challenge = format!(
                r#"Bearer realm="", authorization_uri="{authorization_uri}", client_id="00000003-0000-0000-c000-000000000000""#
            );
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
            }
        }
        let moving = matches!(self, ApiError::Calls(CallsError::OwnedElsewhere { .. }))
            || matches!(self.store_error(), Some(StoreError::Busy(_) | StoreError::Fenced { .. }));
        if moving || matches!(self, ApiError::AtCapacity { .. }) {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

fn store_status(error: &StoreError) -> (StatusCode, &'static str) {
    match error {
        StoreError::Full(_) => (StatusCode::INSUFFICIENT_STORAGE, "InsufficientStorage"),
        // A change made by a node that lost the call: the client tries again, and the call's owner answers.
        StoreError::ReadOnly(_) | StoreError::Busy(_) | StoreError::Fenced { .. } => {
            (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable")
        }
        StoreError::Conflict { .. } => (StatusCode::CONFLICT, "Conflict"),
        StoreError::Backend(_) | StoreError::Damaged(_) | StoreError::TooNew { .. } => {
            (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError")
        }
    }
}

impl From<WorldError> for ApiError {
    fn from(error: WorldError) -> ApiError {
        ApiError::Calls(error.into())
    }
}

fn calls_status(error: &CallsError) -> (StatusCode, &'static str) {
    match error {
        // Live Graph answers a request for a call that is gone with code 8522 "Call not found." (comms-samples
        // #173, 2021; the docs name no code).
        CallsError::CallNotFound { .. } | CallsError::Rejected(Rejection::Ended) => (StatusCode::NOT_FOUND, "8522"),
        CallsError::OperationNotFound { .. }
        | CallsError::Rejected(Rejection::NotFound(_) | Rejection::UnknownParticipant(_))
        | CallsError::World(WorldError::NotFound { .. })
        | CallsError::RecordingNotFound { .. }
        | CallsError::MediaFileNotFound(_)
        | CallsError::Media(MediaError::NoMedia(_) | MediaError::UnknownLeg { .. }) => {
            (StatusCode::NOT_FOUND, "NotFound")
        }
        CallsError::Media(MediaError::Media(_)) => (StatusCode::BAD_REQUEST, "BadRequest"),
        // Telling a real person's leg what to say: only its transport can.
        CallsError::Media(MediaError::WrongPort { .. }) => (StatusCode::CONFLICT, "Conflict"),
        CallsError::Rejected(Rejection::Conflict(_)) => (StatusCode::CONFLICT, "Conflict"),
        CallsError::Rejected(Rejection::WrongState { .. } | Rejection::NotApplicable(_))
        | CallsError::Invalid(_)
        | CallsError::World(WorldError::Invalid(_))
        | CallsError::Clock(ClockError::Backwards { .. }) => (StatusCode::BAD_REQUEST, "BadRequest"),
        CallsError::Clock(ClockError::Realtime) => (StatusCode::CONFLICT, "Conflict"),
        CallsError::Forbidden { .. } => (StatusCode::FORBIDDEN, "7504"),
        CallsError::OwnedElsewhere { .. } => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
        CallsError::InjectedFault { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "UnknownError"),
        CallsError::Corrupt { .. } | CallsError::World(WorldError::Corrupt { .. }) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError")
        }
        CallsError::Store(error) | CallsError::World(WorldError::Store(error)) => store_status(error),
    }
}

/// An [`ApiError`] together with its request's ids: what handlers outside the Graph dispatcher return.
/// Boxed: it travels as the `Err` of every control handler.
pub(crate) struct GraphError(Box<(ApiError, RequestIds)>);

impl GraphError {
    pub(crate) fn new(error: ApiError, ids: RequestIds) -> GraphError {
        GraphError(Box::new((error, ids)))
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let (error, ids) = *self.0;
        error.into_graph_response(&ids)
    }
}
