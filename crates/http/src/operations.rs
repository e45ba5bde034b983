//! The implemented Graph operations, one module per resource area.

mod calls;
mod device_quality;

pub(crate) use calls::{
    Act, AddLargeGalleryView, Answer, ChangeScreenSharingRole, CreateCall, DeleteCall, GetCall, GetOperation,
    KeepAlive, Mute, Redirect, Reject, StartRecording, StartTranscription, StopRecording, StopTranscription,
    SubscribeToTone, Transfer, Unmute, UpdateRecordingStatus,
};
pub(crate) use device_quality::LogTeleconferenceDeviceQuality;
