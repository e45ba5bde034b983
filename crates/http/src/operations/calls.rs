//! The call lifecycle: create (docs:application-post-calls), get, hang up (docs:call-delete), answer, reject,
//! redirect, transfer, keepAlive, operations, and the call-level actions that answer with an operation. Each is a
//! thin adapter: the calls runtime does the work and renders Graph JSON; this maps it to status and headers.

use switchboard_calls::actions::Action;
use switchboard_wire::model as wire;

use crate::{
    error::ApiError,
    graph::{GraphRequest, GraphResponse, Json, NoBody, Operation},
};

pub(crate) struct CreateCall;

impl Operation for CreateCall {
    type Body = Json<wire::Call>;

    async fn handle(request: GraphRequest, Json(body): Self::Body) -> Result<GraphResponse, ApiError> {
        let created = request.state.calls.create_call(&request.caller(), request.version, &body).await?;
        Ok(GraphResponse::json(&request, &created.body).at(created.location))
    }
}

pub(crate) struct GetCall;

impl Operation for GetCall {
    type Body = NoBody;

    async fn handle(request: GraphRequest, _: NoBody) -> Result<GraphResponse, ApiError> {
        let call = request.state.calls.get_call(&request.caller(), request.version, request.call_id()).await?;
        Ok(GraphResponse::json(&request, &call))
    }
}

pub(crate) struct DeleteCall;

impl Operation for DeleteCall {
    type Body = NoBody;

    async fn handle(request: GraphRequest, _: NoBody) -> Result<GraphResponse, ApiError> {
        request.state.calls.hang_up(&request.caller(), request.call_id()).await?;
        Ok(GraphResponse::success(&request))
    }
}

pub(crate) struct KeepAlive;

impl Operation for KeepAlive {
    type Body = NoBody;

    async fn handle(request: GraphRequest, _: NoBody) -> Result<GraphResponse, ApiError> {
        request.state.calls.keep_alive(&request.caller(), request.call_id()).await?;
        // Live Graph answers an empty text/plain body (microsoft-graph-docs-contrib#4849).
        Ok(GraphResponse::bytes(&request, "text/plain", Vec::new()))
    }
}

pub(crate) struct Answer;

impl Operation for Answer {
    type Body = Json<wire::AnswerPostRequestBody>;

    async fn handle(request: GraphRequest, Json(body): Self::Body) -> Result<GraphResponse, ApiError> {
        request.state.calls.answer(&request.caller(), request.version, request.call_id(), &body).await?;
        Ok(GraphResponse::success(&request))
    }
}

pub(crate) struct Reject;

impl Operation for Reject {
    type Body = Json<wire::RejectPostRequestBody>;

    async fn handle(request: GraphRequest, Json(body): Self::Body) -> Result<GraphResponse, ApiError> {
        request.state.calls.reject(&request.caller(), request.call_id(), &body).await?;
        Ok(GraphResponse::success(&request))
    }
}

pub(crate) struct Redirect;

impl Operation for Redirect {
    type Body = Json<wire::RedirectPostRequestBody>;

    async fn handle(request: GraphRequest, Json(body): Self::Body) -> Result<GraphResponse, ApiError> {
        request.state.calls.redirect(&request.caller(), request.call_id(), &body).await?;
        Ok(GraphResponse::success(&request))
    }
}

pub(crate) struct Transfer;

impl Operation for Transfer {
    type Body = Json<wire::TransferPostRequestBody>;

    async fn handle(request: GraphRequest, Json(body): Self::Body) -> Result<GraphResponse, ApiError> {
        request.state.calls.transfer(&request.caller(), request.call_id(), &body).await?;
        Ok(GraphResponse::success(&request))
    }
}

pub(crate) struct GetOperation;

impl Operation for GetOperation {
    type Body = NoBody;

    async fn handle(request: GraphRequest, _: NoBody) -> Result<GraphResponse, ApiError> {
        let operation_id =
            request.params.operation.as_deref().expect("invariant: the operation path has an operation id");
        let calls = &request.state.calls;
        let operation =
            calls.get_operation(&request.caller(), request.version, request.call_id(), operation_id).await?;
        Ok(GraphResponse::json(&request, &operation))
    }
}

/// Any [`Action`] (switchboard-calls turns its body into what it asks of the call), answered with its operation and
/// a `Location` header, or with no body when the action creates no operation.
pub(crate) struct Act<A>(std::marker::PhantomData<A>);

impl<A: Action> Operation for Act<A>
where
    A::Body: serde::de::DeserializeOwned + switchboard_wire::limits::Validate + Send + 'static,
{
    type Body = Json<A::Body>;

    async fn handle(request: GraphRequest, Json(body): Self::Body) -> Result<GraphResponse, ApiError> {
        let (kind, client_context) = A::command(&body, request.params.participant.as_deref());
        let calls = &request.state.calls;
        let operation = calls.act(&request.caller(), request.version, request.call_id(), kind, client_context).await?;
        Ok(match operation {
            Some(operation) => GraphResponse::json(&request, &operation.body).at(operation.location),
            None => GraphResponse::success(&request),
        })
    }
}
