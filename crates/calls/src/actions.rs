//! Graph's call and participant actions as the commands they ask of the call: each action's wire body (and the
//! participant its URL names) turned into an [`ActionKind`] and the operation's `clientContext`. With `graph.rs` and
//! `participants.rs` (the requests that resolve people, meetings and other calls) this crate is the one place where
//! the wire becomes commands; the HTTP layer only routes to them.

use switchboard_engine::{ActionKind, model::Prompt};
use switchboard_wire::model as wire;

/// A Graph action answered with an operation (or, for `changeScreenSharingRole`, with nothing).
pub trait Action: Send + 'static {
    /// Its request body, as the wire types parse it.
    type Body;
    /// What it asks of the call; `participant` is the one its URL names, for a participant's action.
    fn command(body: &Self::Body, participant: Option<&str>) -> (ActionKind, Option<String>);
}

/// An action's `clientContext`, as its operation keeps it.
fn context(client_context: &switchboard_wire::Maybe<String>) -> Option<String> {
    client_context.as_ref().cloned()
}

/// The participant a participant's action is for.
fn participant_id(participant: Option<&str>) -> String {
    participant.expect("invariant: a participant action's path names the participant").to_owned()
}

pub struct Mute;
impl Action for Mute {
    type Body = wire::MutePostRequestBody;
    fn command(body: &Self::Body, _: Option<&str>) -> (ActionKind, Option<String>) {
        (ActionKind::SetSelfMuted(true), context(&body.client_context))
    }
}

pub struct Unmute;
impl Action for Unmute {
    type Body = wire::UnmutePostRequestBody;
    fn command(body: &Self::Body, _: Option<&str>) -> (ActionKind, Option<String>) {
        (ActionKind::SetSelfMuted(false), context(&body.client_context))
    }
}

pub struct UpdateRecordingStatus;
impl Action for UpdateRecordingStatus {
    type Body = wire::UpdateRecordingStatusPostRequestBody;
    fn command(body: &Self::Body, _: Option<&str>) -> (ActionKind, Option<String>) {
        let status = body.status.as_ref().map(|s| s.as_str().to_owned()).unwrap_or_default();
        (ActionKind::UpdateRecordingStatus(status), context(&body.client_context))
    }
}

pub struct ChangeScreenSharingRole;
impl Action for ChangeScreenSharingRole {
    type Body = wire::ChangeScreenSharingRolePostRequestBody;
    fn command(body: &Self::Body, _: Option<&str>) -> (ActionKind, Option<String>) {
        let role = body.role.as_ref().map(|r| r.as_str().to_owned()).unwrap_or_default();
        (ActionKind::ChangeScreenSharingRole(role), None)
    }
}

pub struct AddLargeGalleryView;
impl Action for AddLargeGalleryView {
    type Body = wire::AddLargeGalleryViewPostRequestBody;
    fn command(body: &Self::Body, _: Option<&str>) -> (ActionKind, Option<String>) {
        (ActionKind::AddLargeGalleryView, context(&body.client_context))
    }
}

pub struct StartRecording;
impl Action for StartRecording {
    type Body = wire::StartRecordingPostRequestBody;
    fn command(body: &Self::Body, _: Option<&str>) -> (ActionKind, Option<String>) {
        (ActionKind::SetRecording(true), context(&body.client_context))
    }
}

pub struct StopRecording;
impl Action for StopRecording {
    type Body = wire::StopRecordingPostRequestBody;
    fn command(body: &Self::Body, _: Option<&str>) -> (ActionKind, Option<String>) {
        (ActionKind::SetRecording(false), context(&body.client_context))
    }
}

pub struct StartTranscription;
impl Action for StartTranscription {
    type Body = wire::StartTranscriptionPostRequestBody;
    fn command(body: &Self::Body, _: Option<&str>) -> (ActionKind, Option<String>) {
        let language = body.language.as_ref().cloned();
        (ActionKind::SetTranscription { active: true, language }, context(&body.client_context))
    }
}

pub struct StopTranscription;
impl Action for StopTranscription {
    type Body = wire::StopTranscriptionPostRequestBody;
    fn command(body: &Self::Body, _: Option<&str>) -> (ActionKind, Option<String>) {
        let language = body.language.as_ref().cloned();
        (ActionKind::SetTranscription { active: false, language }, context(&body.client_context))
    }
}

pub struct SubscribeToTone;
impl Action for SubscribeToTone {
    type Body = wire::SubscribeToTonePostRequestBody;
    fn command(body: &Self::Body, _: Option<&str>) -> (ActionKind, Option<String>) {
        (ActionKind::SubscribeToTone, context(&body.client_context))
    }
}

/// The URIs of `mediaPrompt`s (checked to be http(s) URLs by the body's validation).
fn prompts(prompts: &switchboard_wire::Maybe<Vec<wire::AnyPrompt>>) -> Vec<Prompt> {
    prompts.as_ref().into_iter().flatten().filter_map(prompt).collect()
}

/// A `mediaPrompt` as what plays it; `None` without a URI.
pub fn prompt(wire::AnyPrompt::MediaPrompt(prompt): &wire::AnyPrompt) -> Option<Prompt> {
    let info = prompt.media_info.as_ref()?;
    Some(Prompt { uri: info.uri.as_ref().cloned()?, resource_id: info.resource_id.as_ref().cloned() })
}

pub struct PlayPrompt;
impl Action for PlayPrompt {
    type Body = wire::PlayPromptPostRequestBody;
    fn command(body: &Self::Body, _: Option<&str>) -> (ActionKind, Option<String>) {
        // beta `loop: true` plays the prompts again and again until cancelled.
        let looped = body.loop_.as_ref().copied().unwrap_or(false);
        (ActionKind::PlayPrompt { prompts: prompts(&body.prompts), looped }, context(&body.client_context))
    }
}

/// recordResponse and beta record take the same parameters; the documented defaults apply (docs:call-record).
macro_rules! record_action {
    ($name:ident, $body:ty) => {
        pub struct $name;
        impl Action for $name {
            type Body = $body;
            fn command(body: &Self::Body, _: Option<&str>) -> (ActionKind, Option<String>) {
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

pub struct CancelMediaProcessing;
impl Action for CancelMediaProcessing {
    type Body = wire::CancelMediaProcessingPostRequestBody;
    fn command(body: &Self::Body, _: Option<&str>) -> (ActionKind, Option<String>) {
        (ActionKind::CancelMediaProcessing, context(&body.client_context))
    }
}

pub struct SendDtmfTones;
impl Action for SendDtmfTones {
    type Body = wire::SendDtmfTonesPostRequestBody;
    fn command(body: &Self::Body, _: Option<&str>) -> (ActionKind, Option<String>) {
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

pub struct MuteParticipant;
impl Action for MuteParticipant {
    type Body = wire::MutePostRequestBody;
    fn command(body: &Self::Body, participant: Option<&str>) -> (ActionKind, Option<String>) {
        (ActionKind::MuteParticipant { participant_id: participant_id(participant) }, context(&body.client_context))
    }
}

pub struct MuteAllParticipants;
impl Action for MuteAllParticipants {
    type Body = wire::MuteAllPostRequestBody;
    fn command(body: &Self::Body, _: Option<&str>) -> (ActionKind, Option<String>) {
        let participants = body.participants.as_ref().cloned().unwrap_or_default();
        (ActionKind::MuteAll { participants }, context(&body.client_context))
    }
}

pub struct StartHoldMusic;
impl Action for StartHoldMusic {
    type Body = wire::ParticipantStartHoldMusicPostRequestBody;
    fn command(body: &Self::Body, participant: Option<&str>) -> (ActionKind, Option<String>) {
        let prompt = body.custom_prompt.as_ref().and_then(prompt);
        let participant_id = participant_id(participant);
        (ActionKind::StartHoldMusic { participant_id, prompt }, context(&body.client_context))
    }
}

pub struct StopHoldMusic;
impl Action for StopHoldMusic {
    type Body = wire::ParticipantStopHoldMusicPostRequestBody;
    fn command(body: &Self::Body, participant: Option<&str>) -> (ActionKind, Option<String>) {
        (ActionKind::StopHoldMusic { participant_id: participant_id(participant) }, context(&body.client_context))
    }
}

pub struct AdmitFromLobby;
impl Action for AdmitFromLobby {
    type Body = wire::ParticipantAdmitFromLobbyPostRequestBody;
    fn command(body: &Self::Body, participant: Option<&str>) -> (ActionKind, Option<String>) {
        (ActionKind::AdmitFromLobby { participant_id: participant_id(participant) }, context(&body.client_context))
    }
}

pub struct AdmitAllFromLobby;
impl Action for AdmitAllFromLobby {
    type Body = wire::AdmitAllFromLobbyPostRequestBody;
    fn command(body: &Self::Body, _: Option<&str>) -> (ActionKind, Option<String>) {
        (ActionKind::AdmitAllFromLobby, context(&body.client_context))
    }
}

pub struct RemoveFromLobby;
impl Action for RemoveFromLobby {
    type Body = wire::ParticipantRemoveFromLobbyPostRequestBody;
    fn command(body: &Self::Body, participant: Option<&str>) -> (ActionKind, Option<String>) {
        (ActionKind::RemoveFromLobby { participant_id: participant_id(participant) }, context(&body.client_context))
    }
}
