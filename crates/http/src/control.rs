//! What the server's own control APIs (`/_admin`, `/_sim`) share: the key that guards them outside dev mode, and
//! extractors that answer malformed URLs and bodies with Graph-shaped errors rather than the framework's text.

use aws_lc_rs::constant_time;
use axum::{
    Json,
    body::Bytes,
    extract::{FromRequest, FromRequestParts, OptionalFromRequest, Path, Query, Request, State},
    http::{StatusCode, Uri, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;

use crate::{
    AppState,
    error::{ApiError, GraphError},
    graph::parse_json,
    request::RequestIds,
};

pub(crate) type Answer = Result<Response, GraphError>;

/// Control request bodies are small; anything above this is refused.
const MAX_CONTROL_BODY: usize = 1024 * 1024;

/// The keys of a control URL; a malformed one (`/_admin/apps/not-a-guid`) is a Graph-shaped 404.
pub(crate) struct Keys<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Keys<T> {
    type Rejection = GraphError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, GraphError> {
        let ids = RequestIds::from_request_parts(parts, state).await.unwrap_or_else(|never| match never {});
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(keys)) => Ok(Keys(keys)),
            Err(rejection) => Err(GraphError::new(
                ApiError::ControlNotFound(format!("{} ({})", parts.uri.path(), rejection.body_text())),
                ids,
            )),
        }
    }
}

/// The query of a control URL; a malformed one is a Graph-shaped 400.
pub(crate) struct Filter<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Filter<T> {
    type Rejection = GraphError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, GraphError> {
        let ids = RequestIds::from_request_parts(parts, state).await.unwrap_or_else(|never| match never {});
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(filter)) => Ok(Filter(filter)),
            Err(rejection) => Err(GraphError::new(ApiError::InvalidBody(rejection.body_text()), ids)),
        }
    }
}

/// A JSON body; one that cannot be read is a Graph-shaped 400 (or 413).
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = GraphError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, GraphError> {
        let (parts, bytes, ids) = read_body(request, state).await?;
        parse_json(&parts.headers, &bytes).map(JsonBody).map_err(|error| GraphError::new(error, ids))
    }
}

/// `Option<JsonBody<T>>`: `None` for a request without a body.
impl<T: DeserializeOwned> OptionalFromRequest<AppState> for JsonBody<T> {
    type Rejection = GraphError;

    async fn from_request(request: Request, state: &AppState) -> Result<Option<Self>, GraphError> {
        let (parts, bytes, ids) = read_body(request, state).await?;
        if bytes.is_empty() {
            return Ok(None);
        }
        parse_json(&parts.headers, &bytes).map(|body| Some(JsonBody(body))).map_err(|error| GraphError::new(error, ids))
    }
}

async fn read_body(request: Request, state: &AppState) -> Result<(Parts, Bytes, RequestIds), GraphError> {
    let (mut parts, body) = request.into_parts();
    let ids = RequestIds::from_request_parts(&mut parts, state).await.unwrap_or_else(|never| match never {});
    let bytes = state.read_body(body, MAX_CONTROL_BODY).await.map_err(|error| GraphError::new(error, ids.clone()))?;
    Ok((parts, bytes, ids))
}

/// Attaches the request's ids to a failure, making it a Graph-shaped answer.
pub(crate) trait OrGraph<T> {
    fn or_graph(self, ids: &RequestIds) -> Result<T, GraphError>;
}

impl<T, E: Into<ApiError>> OrGraph<T> for Result<T, E> {
    fn or_graph(self, ids: &RequestIds) -> Result<T, GraphError> {
        self.map_err(|error| GraphError::new(error.into(), ids.clone()))
    }
}

pub(crate) fn created(value: impl serde::Serialize) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

/// Dev mode leaves the control APIs open; otherwise the configured admin key must be presented.
pub(crate) async fn require_admin_key(
    State(state): State<AppState>,
    ids: RequestIds,
    request: Request,
    next: Next,
) -> Response {
    if state.config.dev_mode {
        return next.run(request).await;
    }
    let Some(expected) = state.config.admin_key.as_deref() else {
        return ApiError::ControlUnauthorized(
            "the control APIs (/_admin, /_sim, /metrics) are closed outside dev mode unless the server is started with \
             --admin-key",
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
        return ApiError::ControlUnauthorized("the control APIs need 'Authorization: Bearer <admin key>'")
            .into_graph_response(&ids);
    }
    next.run(request).await
}

pub(crate) async fn not_found(ids: RequestIds, uri: Uri) -> Response {
    ApiError::ControlNotFound(uri.path().to_owned()).into_graph_response(&ids)
}
