//! The implemented Graph operations, one module per resource area.

mod calls;
mod device_quality;
mod participants;

pub(crate) use calls::{
    Act, Answer, CreateCall, DeleteCall, GetCall, GetOperation, KeepAlive, Redirect, Reject, Transfer,
};
pub(crate) use device_quality::LogTeleconferenceDeviceQuality;

pub(crate) use participants::{
    CreateAudioRoutingGroup, DeleteAudioRoutingGroup, DeleteParticipant, GetAudioRoutingGroup,
    GetContentSharingSession, GetParticipant, GetPngOfCurrentSlide, InviteParticipants, ListAudioRoutingGroups,
    ListContentSharingSessions, ListParticipants, ReportSyntheticMedia, UpdateAudioRoutingGroup,
};
