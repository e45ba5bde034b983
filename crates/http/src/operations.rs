//! The implemented Graph operations, one module per resource area.

mod calls;
mod device_quality;
mod participants;

pub(crate) use calls::{
    Act, AddLargeGalleryView, Answer, CancelMediaProcessing, ChangeScreenSharingRole, CreateCall, DeleteCall, GetCall,
    GetOperation, KeepAlive, Mute, PlayPrompt, Record, RecordResponse, Redirect, Reject, SendDtmfTones, StartRecording,
    StartTranscription, StopRecording, StopTranscription, SubscribeToTone, Transfer, Unmute, UpdateRecordingStatus,
};
pub(crate) use device_quality::LogTeleconferenceDeviceQuality;

/// An action's `clientContext`, as its operation keeps it.
fn context(client_context: &switchboard_wire::Maybe<String>) -> Option<String> {
    client_context.as_ref().cloned()
}
pub(crate) use participants::{
    AdmitAllFromLobby, AdmitFromLobby, CreateAudioRoutingGroup, DeleteAudioRoutingGroup, DeleteParticipant,
    GetAudioRoutingGroup, GetContentSharingSession, GetParticipant, GetPngOfCurrentSlide, InviteParticipants,
    ListAudioRoutingGroups, ListContentSharingSessions, ListParticipants, MuteAllParticipants, MuteParticipant,
    RemoveFromLobby, ReportSyntheticMedia, StartHoldMusic, StopHoldMusic, UpdateAudioRoutingGroup,
};
