//! How each catalogue entry is answered: the body type it reads and, once implemented, its operation.
//!
//! The match is exhaustive, so a new catalogue entry does not compile until it is routed here. `docs/compatibility.md`
//! is generated from this table and the catalogue together.

use switchboard_calls::actions;
use switchboard_catalogue::EndpointId::{self, *};

use crate::{
    graph::Route,
    operations::{self, Act},
};

/// The route of an operation Graph serves; `None` for the converter artefacts the catalogue marks undocumented,
/// which the router refuses (405) before any route is consulted.
pub(crate) fn route(id: EndpointId) -> Option<Route> {
    Some(match id {
        LogTeleconferenceDeviceQuality => Route::serve::<operations::LogTeleconferenceDeviceQuality>(),
        CreateCall => Route::serve::<operations::CreateCall>(),
        GetCall => Route::serve::<operations::GetCall>(),
        DeleteCall => Route::serve::<operations::DeleteCall>(),
        KeepAlive => Route::serve::<operations::KeepAlive>(),
        Answer => Route::serve::<operations::Answer>(),
        Reject => Route::serve::<operations::Reject>(),
        Redirect => Route::serve::<operations::Redirect>(),
        Transfer => Route::serve::<operations::Transfer>(),
        GetOperation => Route::serve::<operations::GetOperation>(),
        Mute => Route::serve::<Act<actions::Mute>>(),
        Unmute => Route::serve::<Act<actions::Unmute>>(),
        UpdateRecordingStatus => Route::serve::<Act<actions::UpdateRecordingStatus>>(),
        ChangeScreenSharingRole => Route::serve::<Act<actions::ChangeScreenSharingRole>>(),
        AddLargeGalleryView => Route::serve::<Act<actions::AddLargeGalleryView>>(),
        StartRecording => Route::serve::<Act<actions::StartRecording>>(),
        StopRecording => Route::serve::<Act<actions::StopRecording>>(),
        StartTranscription => Route::serve::<Act<actions::StartTranscription>>(),
        StopTranscription => Route::serve::<Act<actions::StopTranscription>>(),
        SubscribeToTone => Route::serve::<Act<actions::SubscribeToTone>>(),

        ListParticipants => Route::serve::<operations::ListParticipants>(),
        GetParticipant => Route::serve::<operations::GetParticipant>(),
        DeleteParticipant => Route::serve::<operations::DeleteParticipant>(),
        InviteParticipants => Route::serve::<operations::InviteParticipants>(),
        ReportSyntheticMedia => Route::serve::<operations::ReportSyntheticMedia>(),
        MuteParticipant => Route::serve::<Act<actions::MuteParticipant>>(),
        MuteAllParticipants => Route::serve::<Act<actions::MuteAllParticipants>>(),
        StartHoldMusic => Route::serve::<Act<actions::StartHoldMusic>>(),
        StopHoldMusic => Route::serve::<Act<actions::StopHoldMusic>>(),
        AdmitFromLobby => Route::serve::<Act<actions::AdmitFromLobby>>(),
        AdmitAllFromLobby => Route::serve::<Act<actions::AdmitAllFromLobby>>(),
        RemoveFromLobby => Route::serve::<Act<actions::RemoveFromLobby>>(),
        ListAudioRoutingGroups => Route::serve::<operations::ListAudioRoutingGroups>(),
        GetAudioRoutingGroup => Route::serve::<operations::GetAudioRoutingGroup>(),
        CreateAudioRoutingGroup => Route::serve::<operations::CreateAudioRoutingGroup>(),
        UpdateAudioRoutingGroup => Route::serve::<operations::UpdateAudioRoutingGroup>(),
        DeleteAudioRoutingGroup => Route::serve::<operations::DeleteAudioRoutingGroup>(),
        ListContentSharingSessions => Route::serve::<operations::ListContentSharingSessions>(),
        GetContentSharingSession => Route::serve::<operations::GetContentSharingSession>(),
        GetPngOfCurrentSlide => Route::serve::<operations::GetPngOfCurrentSlide>(),

        CancelMediaProcessing => Route::serve::<Act<actions::CancelMediaProcessing>>(),
        PlayPrompt => Route::serve::<Act<actions::PlayPrompt>>(),
        Record => Route::serve::<Act<actions::Record>>(),
        RecordResponse => Route::serve::<Act<actions::RecordResponse>>(),
        SendDtmfTones => Route::serve::<Act<actions::SendDtmfTones>>(),

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
