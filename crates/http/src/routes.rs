//! How each catalogue entry is answered: the body type it reads and, once implemented, its operation.
//!
//! The match is exhaustive, so a new catalogue entry does not compile until it is routed here. `docs/compatibility.md`
//! is generated from this table and the catalogue together.

use switchboard_catalogue::EndpointId::{self, *};
use switchboard_wire::model as wire;

use crate::{
    graph::{Json, NoBody, Patch, Route},
    operations,
};

/// The route of an operation Graph serves; `None` for the converter artefacts the catalogue marks undocumented,
/// which the router refuses (405) before any route is consulted.
pub(crate) fn route(id: EndpointId) -> Option<Route> {
    Some(match id {
        LogTeleconferenceDeviceQuality => Route::serve::<operations::LogTeleconferenceDeviceQuality>(),

        CreateCall => Route::pending::<Json<wire::Call>>(),
        AddLargeGalleryView => Route::pending::<Json<wire::AddLargeGalleryViewPostRequestBody>>(),
        Answer => Route::pending::<Json<wire::AnswerPostRequestBody>>(),
        CancelMediaProcessing => Route::pending::<Json<wire::CancelMediaProcessingPostRequestBody>>(),
        ChangeScreenSharingRole => Route::pending::<Json<wire::ChangeScreenSharingRolePostRequestBody>>(),
        Mute | MuteParticipant => Route::pending::<Json<wire::MutePostRequestBody>>(),
        PlayPrompt => Route::pending::<Json<wire::PlayPromptPostRequestBody>>(),
        Record => Route::pending::<Json<wire::RecordPostRequestBody>>(),
        RecordResponse => Route::pending::<Json<wire::RecordResponsePostRequestBody>>(),
        Redirect => Route::pending::<Json<wire::RedirectPostRequestBody>>(),
        Reject => Route::pending::<Json<wire::RejectPostRequestBody>>(),
        SendDtmfTones => Route::pending::<Json<wire::SendDtmfTonesPostRequestBody>>(),
        StartRecording => Route::pending::<Json<wire::StartRecordingPostRequestBody>>(),
        StopRecording => Route::pending::<Json<wire::StopRecordingPostRequestBody>>(),
        StartTranscription => Route::pending::<Json<wire::StartTranscriptionPostRequestBody>>(),
        StopTranscription => Route::pending::<Json<wire::StopTranscriptionPostRequestBody>>(),
        SubscribeToTone => Route::pending::<Json<wire::SubscribeToTonePostRequestBody>>(),
        Transfer => Route::pending::<Json<wire::TransferPostRequestBody>>(),
        Unmute => Route::pending::<Json<wire::UnmutePostRequestBody>>(),
        UpdateRecordingStatus => Route::pending::<Json<wire::UpdateRecordingStatusPostRequestBody>>(),
        CreateAudioRoutingGroup => Route::pending::<Json<wire::AudioRoutingGroup>>(),
        UpdateAudioRoutingGroup => Route::pending::<Patch<wire::AudioRoutingGroup>>(),
        InviteParticipants => Route::pending::<Json<wire::InvitePostRequestBody>>(),
        MuteAllParticipants => Route::pending::<Json<wire::MuteAllPostRequestBody>>(),
        AdmitAllFromLobby => Route::pending::<Json<wire::AdmitAllFromLobbyPostRequestBody>>(),
        StartHoldMusic => Route::pending::<Json<wire::ParticipantStartHoldMusicPostRequestBody>>(),
        StopHoldMusic => Route::pending::<Json<wire::ParticipantStopHoldMusicPostRequestBody>>(),
        AdmitFromLobby => Route::pending::<Json<wire::ParticipantAdmitFromLobbyPostRequestBody>>(),
        RemoveFromLobby => Route::pending::<Json<wire::ParticipantRemoveFromLobbyPostRequestBody>>(),
        ReportSyntheticMedia => Route::pending::<Json<wire::ParticipantReportSyntheticMediaPostRequestBody>>(),
        GetCall
        | DeleteCall
        | KeepAlive
        | ListAudioRoutingGroups
        | GetAudioRoutingGroup
        | DeleteAudioRoutingGroup
        | ListContentSharingSessions
        | GetContentSharingSession
        | GetPngOfCurrentSlide
        | GetOperation
        | ListParticipants
        | GetParticipant
        | DeleteParticipant => Route::pending::<NoBody>(),

        ListCalls
        | CountCalls
        | UpdateCall
        | CountAudioRoutingGroups
        | CreateContentSharingSession
        | CountContentSharingSessions
        | UpdateContentSharingSession
        | DeleteContentSharingSession
        | UpdatePngOfCurrentSlide
        | ListOperations
        | CreateOperation
        | CountOperations
        | UpdateOperation
        | DeleteOperation
        | CreateParticipant
        | CountParticipants
        | UpdateParticipant => return None,
    })
}

#[cfg(test)]
mod tests {
    use switchboard_catalogue::{Documentation, ENDPOINTS};

    use super::route;

    #[test]
    fn exactly_the_operations_graph_serves_have_routes() {
        for endpoint in ENDPOINTS {
            let undocumented = endpoint.documentation == Documentation::Undocumented;
            assert_eq!(route(endpoint.id).is_none(), undocumented, "{}", endpoint.name);
        }
    }
}
