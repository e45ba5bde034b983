//! How each catalogue entry is answered: the body type it reads and, once implemented, its operation.
//!
//! The match is exhaustive, so a new catalogue entry does not compile until it is routed here. `docs/compatibility.md`
//! is generated from this table and the catalogue together.

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
        Mute => Route::serve::<Act<operations::Mute>>(),
        Unmute => Route::serve::<Act<operations::Unmute>>(),
        UpdateRecordingStatus => Route::serve::<Act<operations::UpdateRecordingStatus>>(),
        ChangeScreenSharingRole => Route::serve::<Act<operations::ChangeScreenSharingRole>>(),
        AddLargeGalleryView => Route::serve::<Act<operations::AddLargeGalleryView>>(),
        StartRecording => Route::serve::<Act<operations::StartRecording>>(),
        StopRecording => Route::serve::<Act<operations::StopRecording>>(),
        StartTranscription => Route::serve::<Act<operations::StartTranscription>>(),
        StopTranscription => Route::serve::<Act<operations::StopTranscription>>(),
        SubscribeToTone => Route::serve::<Act<operations::SubscribeToTone>>(),

        ListParticipants => Route::serve::<operations::ListParticipants>(),
        GetParticipant => Route::serve::<operations::GetParticipant>(),
        DeleteParticipant => Route::serve::<operations::DeleteParticipant>(),
        InviteParticipants => Route::serve::<operations::InviteParticipants>(),
        ReportSyntheticMedia => Route::serve::<operations::ReportSyntheticMedia>(),
        MuteParticipant => Route::serve::<Act<operations::MuteParticipant>>(),
        MuteAllParticipants => Route::serve::<Act<operations::MuteAllParticipants>>(),
        StartHoldMusic => Route::serve::<Act<operations::StartHoldMusic>>(),
        StopHoldMusic => Route::serve::<Act<operations::StopHoldMusic>>(),
        AdmitFromLobby => Route::serve::<Act<operations::AdmitFromLobby>>(),
        AdmitAllFromLobby => Route::serve::<Act<operations::AdmitAllFromLobby>>(),
        RemoveFromLobby => Route::serve::<Act<operations::RemoveFromLobby>>(),
        ListAudioRoutingGroups => Route::serve::<operations::ListAudioRoutingGroups>(),
        GetAudioRoutingGroup => Route::serve::<operations::GetAudioRoutingGroup>(),
        CreateAudioRoutingGroup => Route::serve::<operations::CreateAudioRoutingGroup>(),
        UpdateAudioRoutingGroup => Route::serve::<operations::UpdateAudioRoutingGroup>(),
        DeleteAudioRoutingGroup => Route::serve::<operations::DeleteAudioRoutingGroup>(),
        ListContentSharingSessions => Route::serve::<operations::ListContentSharingSessions>(),
        GetContentSharingSession => Route::serve::<operations::GetContentSharingSession>(),
        GetPngOfCurrentSlide => Route::serve::<operations::GetPngOfCurrentSlide>(),

        CancelMediaProcessing => Route::serve::<Act<operations::CancelMediaProcessing>>(),
        PlayPrompt => Route::serve::<Act<operations::PlayPrompt>>(),
        Record => Route::serve::<Act<operations::Record>>(),
        RecordResponse => Route::serve::<Act<operations::RecordResponse>>(),
        SendDtmfTones => Route::serve::<Act<operations::SendDtmfTones>>(),

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
