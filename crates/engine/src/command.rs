//! What can happen to a call (commands) and what the engine asks the world to do about it (effects).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use switchboard_catalogue::ApiVersion;

use crate::model::{AudioRoutingGroup, Call, EndpointKind, IdentitySet, MediaHosting, Peer, Prompt, ResultInfo};

/// Something that happens to a call: a bot's request, a simulated endpoint's action, a timer, or an outside event.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// The call was just created (outgoing) or offered to the app (incoming): ring, notify, arm the timers.
    Start,
    /// An outgoing call was created but cannot be set up (unknown callee, unroutable number, no such meeting):
    /// Graph notifies `establishing`, then ends it with the reason.
    StartFailing { result: ResultInfo },
    /// The bot answers an incoming call (docs:call-answer).
    Answer(Answer),
    /// The bot rejects an incoming call (docs:call-reject).
    Reject { callback_uri: Option<String> },
    /// The bot redirects an incoming call to other endpoints, ringing them at once (docs:call-redirect).
    Redirect { targets: Vec<Peer>, timeout: Duration, callback_uri: Option<String> },
    /// The bot transfers the call (docs:call-transfer).
    Transfer(TransferRequest),
    /// `keepAlive` (docs:call-keepalive).
    KeepAlive,
    /// `DELETE /calls/{id}` (docs:call-delete).
    HangUp,
    /// A simulated endpoint in the call acts (the test-control API).
    Peer { participant_id: String, action: PeerAction },
    /// Someone joins the conversation of a group call or meeting (a simulated user joining the meeting); a peer
    /// whose roster state says so waits in the lobby.
    Join(Peer),
    /// The bot, waiting in a meeting's lobby, is admitted by someone in the meeting.
    AdmitBot,
    /// `DELETE …/participants/{id}` (docs:participant-delete): an active participant is dropped, an open
    /// invitation is cancelled.
    RemoveParticipant { participant_id: String },
    /// beta `reportSyntheticMedia` of a participant.
    ReportSyntheticMedia { participant_id: String, malicious: bool },
    /// `POST …/audioRoutingGroups` (docs:call-post-audioroutinggroups).
    CreateAudioRoutingGroup(AudioRoutingGroup),
    /// `PATCH …/audioRoutingGroups/{id}`: the new receivers (and sources, if given).
    UpdateAudioRoutingGroup { id: String, sources: Option<Vec<String>>, receivers: Option<Vec<String>> },
    /// `DELETE …/audioRoutingGroups/{id}`.
    DeleteAudioRoutingGroup { id: String },
    /// A timer the engine armed is due.
    Timer(Timer),
    /// The call ends for a reason outside it: an injected fault, the meeting ended.
    Terminate { result: ResultInfo },
    /// A call-level action that completes at once (mute, recording status, …), as an operation.
    Action(ActionRequest),
    /// The media engine reports on the call's audio.
    Media(MediaReport),
}

/// What the media engine reports about a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaReport {
    /// The job at the head of the IVR queue ended.
    JobFinished { operation_id: String, result: JobResult },
    /// All the keys of a `sendDtmfTones` were sent.
    DtmfSent { operation_id: String },
    /// A participant pressed a key (heard in-band, or sent as an RFC 4733 event).
    KeyPressed { participant_id: String, key: char },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobResult {
    Played,
    /// A prompt could not be fetched or decoded.
    PromptFailed {
        reason: String,
    },
    /// A recording ended; it is stored at `location`, readable with `access_token`.
    Recorded {
        location: String,
        access_token: String,
        completion: RecordCompletion,
    },
    /// Nobody spoke within the initial silence timeout.
    NothingHeard,
}

/// Why a recording that kept something ended (beta `recordCompletionReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordCompletion {
    StopToneDetected,
    MaxRecordDurationReached,
    MaxSilenceTimeout,
}

/// The parameters of `answer` the engine acts on; the rest of the body is kept for `GET`.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Where the call's notifications go from now on; without it, where they went before (the app's calling
    /// webhook, docs:call-answer).
    pub callback_uri: Option<String>,
    /// The API version the bot answered through: the call is rendered for it from then on.
    pub api_version: ApiVersion,
    /// `acceptedModalities`, `mediaConfig`, `callOptions`, `participantCapacity`, as sent.
    pub properties: Map<String, Value>,
    /// What the answer's `mediaConfig` is.
    pub media_hosting: MediaHosting,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TransferRequest {
    /// The target, as a peer of the call; for a consultative transfer it is the party of the replaced call.
    pub target: Peer,
    /// Group calls: the participant to transfer.
    pub transferee: Option<String>,
    pub replaces: Option<Replaces>,
}

/// The call a consultative transfer replaces (`replacesCallId`), as the runtime found it.
#[derive(Debug, Clone, PartialEq)]
pub struct Replaces {
    pub call_id: String,
    /// Why it cannot be replaced (not a call of the app, not established); the transfer then fails the way Graph
    /// fails a consultative transfer (500/7700).
    pub problem: Option<String>,
}

/// What a simulated endpoint does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum PeerAction {
    Answer,
    Reject {
        declined: bool,
    },
    HangUp,
    /// Mutes itself (client mute).
    Mute,
    /// Unmutes itself; this also lifts a bot's server mute, as a Teams user can.
    Unmute,
    /// Starts sharing content (a new content sharing session with this id), optionally with a slide (PNG, base64).
    #[serde(rename_all = "camelCase")]
    StartSharing {
        session_id: String,
        png: Option<String>,
    },
    /// Shows another slide in its sharing session.
    ShowSlide {
        png: String,
    },
    StopSharing,
}

/// A call-level action that Graph completes at once, answering with an operation.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRequest {
    /// The new operation's id, minted by the caller.
    pub operation_id: String,
    pub kind: ActionKind,
    pub client_context: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ActionKind {
    /// `mute` / `unmute` of the bot itself (docs:call-mute, call-unmute).
    SetSelfMuted(bool),
    /// `updateRecordingStatus` (docs:call-updaterecordingstatus): the status the bot reports.
    UpdateRecordingStatus(String),
    /// `changeScreenSharingRole` (docs:call-changescreensharingrole): `viewer` or `sharer`.
    ChangeScreenSharingRole(String),
    /// `addLargeGalleryView` (docs:call-addlargegalleryview).
    AddLargeGalleryView,
    /// beta `startRecording` / `stopRecording`.
    SetRecording(bool),
    /// beta `startTranscription` / `stopTranscription`, with the language asked for.
    SetTranscription { active: bool, language: Option<String> },
    /// `subscribeToTone` (docs:call-subscribetotone).
    SubscribeToTone,
    /// `participants/invite` (docs:participant-invite).
    Invite(Vec<Invitee>),
    /// `participants/{id}/mute` (docs:participant-mute).
    MuteParticipant { participant_id: String },
    /// beta `participants/muteAll`: the participants to mute, or everyone but the bot when empty.
    MuteAll { participants: Vec<String> },
    /// `participants/{id}/startHoldMusic` (docs:participant-startholdmusic), with the custom prompt if any.
    StartHoldMusic { participant_id: String, prompt: Option<Prompt> },
    /// `participants/{id}/stopHoldMusic` (docs:participant-stopholdmusic).
    StopHoldMusic { participant_id: String },
    /// beta `participants/{id}/admitFromLobby`.
    AdmitFromLobby { participant_id: String },
    /// beta `participants/admitAllFromLobby`.
    AdmitAllFromLobby,
    /// beta `participants/{id}/removeFromLobby`.
    RemoveFromLobby { participant_id: String },
    /// `playPrompt` (docs:call-playprompt): the prompts; beta `loop`.
    PlayPrompt { prompts: Vec<Prompt>, looped: bool },
    /// `recordResponse` (docs:call-record) and beta `record`; `barge_in` is `bargeInAllowed`.
    Record { job: crate::model::RecordJob, barge_in: bool },
    /// `cancelMediaProcessing` (docs:call-cancelmediaprocessing).
    CancelMediaProcessing,
    /// `sendDtmfTones` (docs:call-senddtmftones).
    SendDtmfTones { keys: Vec<char>, delay_between_tones_ms: u32 },
}

/// Someone a bot invites, as a peer of the call, with the invitation as the bot sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct Invitee {
    pub peer: Peer,
    /// `invitationParticipantInfo` as sent, echoed in the operation.
    pub invitation: Value,
    /// `replacesCallId`: the bot's peer-to-peer call with this participant, which the invitation moves into this
    /// call without ringing.
    pub replaces: Option<Replaces>,
}

/// A moment the engine wants to be told about. Serialised, it is the timer's key in the store: arming a timer with
/// the same value again moves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "timer")]
pub enum Timer {
    /// An incoming call must be answered, rejected or redirected within 15 s (docs:call-answer).
    AnswerDeadline,
    /// A call with no `keepAlive` for 45 minutes ends (docs:call-keepalive).
    KeepAliveDeadline,
    /// The parties of an outgoing call stop ringing.
    RingingTimeout,
    /// The targets of a redirect stop ringing (docs:call-redirect `timeout`).
    RedirectTimeout,
    /// The target of a blind transfer stops ringing.
    TransferTimeout,
    /// A ringing simulated endpoint answers or refuses, as its behaviour says.
    #[serde(rename_all = "camelCase")]
    PeerResponds { participant_id: String },
    /// A connected simulated endpoint hangs up, as its behaviour says.
    #[serde(rename_all = "camelCase")]
    PeerHangsUp { participant_id: String },
    /// An operation that answered `running` finishes.
    #[serde(rename_all = "camelCase")]
    OperationDue { operation_id: String },
    /// The invitees of an invite operation still ringing stop ringing.
    #[serde(rename_all = "camelCase")]
    InviteTimeout { operation_id: String },
    /// Someone waiting in the lobby has waited too long.
    #[serde(rename_all = "camelCase")]
    LobbyTimeout { participant_id: String },
    /// The bot has waited in the lobby too long (docs:call-delete 200/5855).
    BotLobbyTimeout,
    /// A change of the meeting's roster seen by another bot's call in the same meeting (`id` keeps each event's
    /// timer apart).
    RosterSync { id: String, event: RosterEvent },
    /// Another call of the app took this one over: a consultative transfer, or an invitation with
    /// `replacesCallId`.
    #[serde(rename_all = "camelCase")]
    ReplacedByTransfer { call_id: String },
}

impl Timer {
    /// The timer's identity in the store.
    pub fn key(&self) -> String {
        serde_json::to_string(self).expect("a timer is plain data and always serialises")
    }

    pub fn from_key(key: &str) -> Result<Timer, serde_json::Error> {
        serde_json::from_str(key)
    }
}

/// A change of a meeting's roster that every bot in the meeting sees: each bot is in a call of its own, so the
/// runtime delivers the change to the other calls in the same meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "change")]
pub enum RosterEvent {
    /// Someone is on the roster with these flags; joins the roster if not on it yet.
    #[serde(rename_all = "camelCase")]
    Present {
        participant_id: String,
        kind: EndpointKind,
        endpoint_id: String,
        identity: IdentitySet,
        in_lobby: bool,
        client_muted: bool,
        server_muted: bool,
    },
    /// Someone left the roster.
    #[serde(rename_all = "camelCase")]
    Left { endpoint_id: String, reason: Option<String> },
}

/// What the engine asks of the world after a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send the app a notification.
    Notify(Notification),
    /// Deliver `timer` to the call `call_id` at `at` (re-arming it if already armed).
    Schedule { call_id: String, timer: Timer, at: DateTime<Utc> },
    /// Disarm this call's `timer`: it can no longer matter, and firing it would cost a load and a write for nothing.
    Cancel { timer: Timer },
    /// Tell the other bots in the same meeting about a change of its roster.
    Broadcast(RosterEvent),
}

/// A Graph `changeType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Deleted,
}

/// A notification, with the call as it was when it was raised.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub kind: NotificationKind,
    pub call: Box<Call>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NotificationKind {
    /// `created`: an incoming call offered to the app, with the whole call (docs:call-answer).
    Incoming,
    /// `updated` on the call: its new state, with the `resultInfo` that came with the change, if any.
    StateChanged { result_info: Option<ResultInfo> },
    /// `updated` on the call: `mediaState` changed.
    MediaStateChanged,
    /// `updated` on the call: Graph told more about the conversation (see [`Conversation`](crate::model::Conversation)).
    ConversationAnnounced,
    /// `deleted` on the call: it ended; state, `resultInfo` and `terminationReason` (docs:call-delete).
    Ended,
    /// `deleted` with only `@odata.type` and `@odata.id`: the bot rejected the call (docs:call-reject).
    Rejected,
    /// `deleted` with the whole call: the bot redirected it (docs:call-redirect).
    Redirected,
    /// `updated` on `/participants`: the roster (docs:application-post-calls); these participants changed (for
    /// delta rosters).
    RosterChanged { changed: Vec<String> },
    /// On `/contentsharingsessions`, when the bot asked for them (`isContentSharingNotificationEnabled`).
    ContentSharing { change: Change, session_id: String },
    /// `deleted` on `/operations/{id}`: an operation finished (graph-calls.md §c).
    OperationFinished { operation_id: String },
    /// `updated` on the call with `toneInfo`: a key was pressed (docs:call-subscribetotone).
    ToneReceived { tone: &'static str, sequence_id: u32 },
}
