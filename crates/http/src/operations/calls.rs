//! The call lifecycle: create (docs:application-post-calls), get, hang up (docs:call-delete), answer, reject,
//! redirect, transfer, keepAlive, operations, and the call-level actions that answer with an operation. Each is a
//! thin adapter: the calls runtime does the work and renders Graph JSON; this maps it to status and headers.

use super::context;
use switchboard_engine::{ActionKind, model::Prompt};
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

/// An action that answers with an operation: what it asks of the call, from its body and URL.
pub(crate) trait CallAction: Send + 'static {
    type Body: serde::de::DeserializeOwned + switchboard_wire::limits::Validate + Send + 'static;
    fn action(request: &GraphRequest, body: &Self::Body) -> (ActionKind, Option<String>);
}

/// Any [`CallAction`], answered with its operation and a `Location` header, or with no body when the action
/// creates no operation.
pub(crate) struct Act<A>(std::marker::PhantomData<A>);

impl<A: CallAction> Operation for Act<A> {
    type Body = Json<A::Body>;

    async fn handle(request: GraphRequest, Json(body): Self::Body) -> Result<GraphResponse, ApiError> {
        let (kind, client_context) = A::action(&request, &body);
        let calls = &request.state.calls;
        let operation = calls.act(&request.caller(), request.version, request.call_id(), kind, client_context).await?;
        Ok(match operation {
            Some(operation) => GraphResponse::json(&request, &operation.body).at(operation.location),
            None => GraphResponse::success(&request),
        })
    }
}

pub(crate) struct Mute;
impl CallAction for Mute {
    type Body = wire::MutePostRequestBody;
    fn action(_: &GraphRequest, body: &Self::Body) -> (ActionKind, Option<String>) {
        (ActionKind::SetSelfMuted(true), context(&body.client_context))
    }
}

pub(crate) struct Unmute;
impl CallAction for Unmute {
    type Body = wire::UnmutePostRequestBody;
    fn action(_: &GraphRequest, body: &Self::Body) -> (ActionKind, Option<String>) {
        (ActionKind::SetSelfMuted(false), context(&body.client_context))
    }
}

pub(crate) struct UpdateRecordingStatus;
impl CallAction for UpdateRecordingStatus {
    type Body = wire::UpdateRecordingStatusPostRequestBody;
    fn action(_: &GraphRequest, body: &Self::Body) -> (ActionKind, Option<String>) {
        let status = body.status.as_ref().map(|s| s.as_str().to_owned()).unwrap_or_default();
        (ActionKind::UpdateRecordingStatus(status), context(&body.client_context))
    }
}

pub(crate) struct ChangeScreenSharingRole;
impl CallAction for ChangeScreenSharingRole {
    type Body = wire::ChangeScreenSharingRolePostRequestBody;
    fn action(_: &GraphRequest, body: &Self::Body) -> (ActionKind, Option<String>) {
        let role = body.role.as_ref().map(|r| r.as_str().to_owned()).unwrap_or_default();
        (ActionKind::ChangeScreenSharingRole(role), None)
    }
}

pub(crate) struct AddLargeGalleryView;
impl CallAction for AddLargeGalleryView {
    type Body = wire::AddLargeGalleryViewPostRequestBody;
    fn action(_: &GraphRequest, body: &Self::Body) -> (ActionKind, Option<String>) {
        (ActionKind::AddLargeGalleryView, context(&body.client_context))
    }
}

pub(crate) struct StartRecording;
impl CallAction for StartRecording {
    type Body = wire::StartRecordingPostRequestBody;
    fn action(_: &GraphRequest, body: &Self::Body) -> (ActionKind, Option<String>) {
        (ActionKind::SetRecording(true), context(&body.client_context))
    }
}

pub(crate) struct StopRecording;
impl CallAction for StopRecording {
    type Body = wire::StopRecordingPostRequestBody;
    fn action(_: &GraphRequest, body: &Self::Body) -> (ActionKind, Option<String>) {
        (ActionKind::SetRecording(false), context(&body.client_context))
    }
}

pub(crate) struct StartTranscription;
impl CallAction for StartTranscription {
    type Body = wire::StartTranscriptionPostRequestBody;
    fn action(_: &GraphRequest, body: &Self::Body) -> (ActionKind, Option<String>) {
        let language = body.language.as_ref().cloned();
        (ActionKind::SetTranscription { active: true, language }, context(&body.client_context))
    }
}

pub(crate) struct StopTranscription;
impl CallAction for StopTranscription {
    type Body = wire::StopTranscriptionPostRequestBody;
    fn action(_: &GraphRequest, body: &Self::Body) -> (ActionKind, Option<String>) {
        let language = body.language.as_ref().cloned();
        (ActionKind::SetTranscription { active: false, language }, context(&body.client_context))
    }
}

pub(crate) struct SubscribeToTone;
impl CallAction for SubscribeToTone {
    type Body = wire::SubscribeToTonePostRequestBody;
    fn action(_: &GraphRequest, body: &Self::Body) -> (ActionKind, Option<String>) {
        (ActionKind::SubscribeToTone, context(&body.client_context))
    }
}

/// The URIs of `mediaPrompt`s (checked to be http(s) URLs by the body's validation).
fn prompts(prompts: &switchboard_wire::Maybe<Vec<wire::AnyPrompt>>) -> Vec<Prompt> {
    prompts.as_ref().into_iter().flatten().filter_map(prompt).collect()
}

/// A `mediaPrompt` as what plays it; `None` without a URI.
pub(crate) fn prompt(wire::AnyPrompt::MediaPrompt(prompt): &wire::AnyPrompt) -> Option<Prompt> {
    let info = prompt.media_info.as_ref()?;
    Some(Prompt { uri: info.uri.as_ref().cloned()?, resource_id: info.resource_id.as_ref().cloned() })
}

pub(crate) struct PlayPrompt;
impl CallAction for PlayPrompt {
    type Body = wire::PlayPromptPostRequestBody;
    fn action(_: &GraphRequest, body: &Self::Body) -> (ActionKind, Option<String>) {
        // beta `loop: true` plays the prompts again and again until cancelled.
        let looped = body.loop_.as_ref().copied().unwrap_or(false);
        (ActionKind::PlayPrompt { prompts: prompts(&body.prompts), looped }, context(&body.client_context))
    }
}

/// recordResponse and beta record take the same parameters; the documented defaults apply (docs:call-record).
macro_rules! record_action {
    ($name:ident, $body:ty) => {
        pub(crate) struct $name;
        impl CallAction for $name {
            type Body = $body;
            fn action(_: &GraphRequest, body: &Self::Body) -> (ActionKind, Option<String>) {
                let seconds = |value: &switchboard_wire::Maybe<i32>| {
                    value.as_ref().and_then(|s| u32::try_from(*s).ok()).unwrap_or(RECORD_DEFAULT_SECONDS)
                };
                let job = switchboard_engine::model::RecordJob {
                    prompt: prompts(&body.prompts).into_iter().next().map(|p| p.uri),
                    play_beep: body.play_beep.as_ref().copied().unwrap_or(true),
                    initial_silence_timeout_s: seconds(&body.initial_silence_timeout_in_seconds),
                    max_silence_timeout_s: seconds(&body.max_silence_timeout_in_seconds),
                    max_record_duration_s: seconds(&body.max_record_duration_in_seconds),
                    stop_tones: body
                        .stop_tones
                        .as_ref()
                        .into_iter()
                        .flatten()
                        .filter_map(|tone| switchboard_engine::tones::key(tone))
                        .collect(),
                };
                let barge_in = body.barge_in_allowed.as_ref().copied().unwrap_or(false);
                (ActionKind::Record { job, barge_in }, context(&body.client_context))
            }
        }
    };
}

/// "Default = 5 seconds" for each of the timeouts and the duration (docs:call-record).
const RECORD_DEFAULT_SECONDS: u32 = 5;
record_action!(RecordResponse, wire::RecordResponsePostRequestBody);
record_action!(Record, wire::RecordPostRequestBody);

pub(crate) struct CancelMediaProcessing;
impl CallAction for CancelMediaProcessing {
    type Body = wire::CancelMediaProcessingPostRequestBody;
    fn action(_: &GraphRequest, body: &Self::Body) -> (ActionKind, Option<String>) {
        (ActionKind::CancelMediaProcessing, context(&body.client_context))
    }
}

pub(crate) struct SendDtmfTones;
impl CallAction for SendDtmfTones {
    type Body = wire::SendDtmfTonesPostRequestBody;
    fn action(_: &GraphRequest, body: &Self::Body) -> (ActionKind, Option<String>) {
        let keys = body
            .tones
            .as_ref()
            .into_iter()
            .flatten()
            .filter_map(|tone| switchboard_engine::tones::key(tone.as_str()))
            .collect();
        // Graph documents no default pause; 100 ms, as long as each tone, is Switchboard's.
        let delay = body.delay_between_tones_ms.as_ref().and_then(|d| u32::try_from(*d).ok()).unwrap_or(100);
        (ActionKind::SendDtmfTones { keys, delay_between_tones_ms: delay }, context(&body.client_context))
    }
}
