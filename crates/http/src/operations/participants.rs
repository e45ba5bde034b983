//! The people in a call (docs:participant-*, call-post-audioroutinggroups, res:contentsharingsession): the roster,
//! invitations, removal, participant actions answered with operations, audio routing groups, content sharing.

use switchboard_wire::model as wire;

use crate::{
    error::ApiError,
    graph::{GraphRequest, GraphResponse, Json, NoBody, Operation, Patch},
};

pub(crate) struct ListParticipants;

impl Operation for ListParticipants {
    type Body = NoBody;

    async fn handle(request: GraphRequest, _: NoBody) -> Result<GraphResponse, ApiError> {
        let calls = &request.state.calls;
        let roster = calls.list_participants(&request.caller(), request.version, request.call_id()).await?;
        Ok(GraphResponse::json(&request, &roster))
    }
}

pub(crate) struct GetParticipant;

impl Operation for GetParticipant {
    type Body = NoBody;

    async fn handle(request: GraphRequest, _: NoBody) -> Result<GraphResponse, ApiError> {
        let calls = &request.state.calls;
        let participant = calls
            .get_participant(&request.caller(), request.version, request.call_id(), request.participant_id())
            .await?;
        Ok(GraphResponse::json(&request, &participant))
    }
}

pub(crate) struct DeleteParticipant;

impl Operation for DeleteParticipant {
    type Body = NoBody;

    async fn handle(request: GraphRequest, _: NoBody) -> Result<GraphResponse, ApiError> {
        let calls = &request.state.calls;
        calls.remove_participant(&request.caller(), request.call_id(), request.participant_id()).await?;
        Ok(GraphResponse::success(&request))
    }
}

pub(crate) struct InviteParticipants;

impl Operation for InviteParticipants {
    type Body = Json<wire::InvitePostRequestBody>;

    async fn handle(request: GraphRequest, Json(body): Self::Body) -> Result<GraphResponse, ApiError> {
        let calls = &request.state.calls;
        let operation = calls.invite(&request.caller(), request.version, request.call_id(), &body).await?;
        let operation = operation.expect("invariant: an invitation always answers with its operation");
        Ok(GraphResponse::json(&request, &operation.body).at(operation.location))
    }
}

pub(crate) struct ReportSyntheticMedia;

impl Operation for ReportSyntheticMedia {
    type Body = Json<wire::ParticipantReportSyntheticMediaPostRequestBody>;

    async fn handle(request: GraphRequest, Json(body): Self::Body) -> Result<GraphResponse, ApiError> {
        let malicious = body.is_malicious.as_ref().copied().unwrap_or(false);
        let calls = &request.state.calls;
        calls.report_synthetic_media(&request.caller(), request.call_id(), request.participant_id(), malicious).await?;
        Ok(GraphResponse::success(&request))
    }
}

pub(crate) struct ListAudioRoutingGroups;

impl Operation for ListAudioRoutingGroups {
    type Body = NoBody;

    async fn handle(request: GraphRequest, _: NoBody) -> Result<GraphResponse, ApiError> {
        let calls = &request.state.calls;
        let groups = calls.list_audio_routing_groups(&request.caller(), request.version, request.call_id()).await?;
        Ok(GraphResponse::json(&request, &groups))
    }
}

pub(crate) struct GetAudioRoutingGroup;

impl Operation for GetAudioRoutingGroup {
    type Body = NoBody;

    async fn handle(request: GraphRequest, _: NoBody) -> Result<GraphResponse, ApiError> {
        let calls = &request.state.calls;
        let group = calls.get_audio_routing_group(&request.caller(), request.call_id(), request.item_id()).await?;
        Ok(GraphResponse::json(&request, &group))
    }
}

pub(crate) struct CreateAudioRoutingGroup;

impl Operation for CreateAudioRoutingGroup {
    type Body = Json<wire::AudioRoutingGroup>;

    async fn handle(request: GraphRequest, Json(body): Self::Body) -> Result<GraphResponse, ApiError> {
        let calls = &request.state.calls;
        let group = calls.create_audio_routing_group(&request.caller(), request.call_id(), &body).await?;
        Ok(GraphResponse::json(&request, &group))
    }
}

pub(crate) struct UpdateAudioRoutingGroup;

impl Operation for UpdateAudioRoutingGroup {
    type Body = Patch<wire::AudioRoutingGroup>;

    async fn handle(request: GraphRequest, Patch(body): Self::Body) -> Result<GraphResponse, ApiError> {
        let calls = &request.state.calls;
        let group =
            calls.update_audio_routing_group(&request.caller(), request.call_id(), request.item_id(), &body).await?;
        Ok(GraphResponse::json(&request, &group))
    }
}

pub(crate) struct DeleteAudioRoutingGroup;

impl Operation for DeleteAudioRoutingGroup {
    type Body = NoBody;

    async fn handle(request: GraphRequest, _: NoBody) -> Result<GraphResponse, ApiError> {
        let calls = &request.state.calls;
        calls.delete_audio_routing_group(&request.caller(), request.call_id(), request.item_id()).await?;
        Ok(GraphResponse::success(&request))
    }
}

pub(crate) struct ListContentSharingSessions;

impl Operation for ListContentSharingSessions {
    type Body = NoBody;

    async fn handle(request: GraphRequest, _: NoBody) -> Result<GraphResponse, ApiError> {
        let calls = &request.state.calls;
        let sessions =
            calls.list_content_sharing_sessions(&request.caller(), request.version, request.call_id()).await?;
        Ok(GraphResponse::json(&request, &sessions))
    }
}

pub(crate) struct GetContentSharingSession;

impl Operation for GetContentSharingSession {
    type Body = NoBody;

    async fn handle(request: GraphRequest, _: NoBody) -> Result<GraphResponse, ApiError> {
        let calls = &request.state.calls;
        let session = calls
            .get_content_sharing_session(&request.caller(), request.version, request.call_id(), request.item_id())
            .await?;
        Ok(GraphResponse::json(&request, &session))
    }
}

pub(crate) struct GetPngOfCurrentSlide;

impl Operation for GetPngOfCurrentSlide {
    type Body = NoBody;

    async fn handle(request: GraphRequest, _: NoBody) -> Result<GraphResponse, ApiError> {
        let calls = &request.state.calls;
        let png = calls.slide_png(&request.caller(), request.call_id(), request.item_id()).await?;
        Ok(GraphResponse::bytes(&request, "image/png", png))
    }
}
