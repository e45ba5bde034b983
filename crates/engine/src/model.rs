//! The call aggregate: everything Switchboard knows about one call, as the engine sees it.
//!
//! It derives serde for one purpose: the store keeps it as a versioned JSON document. The Graph wire format is not
//! this; the runtime renders Graph JSON from it.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use switchboard_catalogue::ApiVersion;
use uuid::Uuid;

pub use crate::identity::{Identity, IdentityKind, IdentitySet};

/// The version of the persisted document; a change of shape bumps it.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    Incoming,
    Outgoing,
}

/// Graph's `callState`. `Ringing` exists only in beta (Graph's v1.0 CSDL has no such member).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CallState {
    Incoming,
    Establishing,
    Ringing,
    Established,
    Hold,
    Transferring,
    TransferAccepted,
    Redirecting,
    Terminating,
    Terminated,
}

impl CallState {
    /// Graph's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Incoming => "incoming",
            CallState::Establishing => "establishing",
            CallState::Ringing => "ringing",
            CallState::Established => "established",
            CallState::Hold => "hold",
            CallState::Transferring => "transferring",
            CallState::TransferAccepted => "transferAccepted",
            CallState::Redirecting => "redirecting",
            CallState::Terminating => "terminating",
            CallState::Terminated => "terminated",
        }
    }
}

/// What kind of conversation the call is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum CallKind {
    PeerToPeer,
    /// A group call the bot created with several targets (docs:application-post-calls example 3).
    Group,
    /// The bot joined an online meeting (`meetingInfo`), known to the simulated world by this id.
    #[serde(rename_all = "camelCase")]
    Meeting {
        meeting_id: String,
    },
}

/// `resultInfo`: why a call or operation ended the way it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultInfo {
    pub code: i32,
    pub subcode: i32,
    pub message: String,
}

impl ResultInfo {
    pub fn new(code: i32, subcode: i32, message: impl Into<String>) -> ResultInfo {
        ResultInfo { code, subcode, message: message.into() }
    }
}

/// How a simulated endpoint treats a call offered to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", deny_unknown_fields)]
pub enum Response {
    /// Answers after the delay.
    Answer {
        #[serde(rename = "afterMs", with = "millis")]
        after: Duration,
    },
    /// Rings and never answers; the caller's ringing timeout ends the attempt.
    Ring,
    /// Refuses after the delay: busy, or declined by the person.
    Reject {
        #[serde(rename = "afterMs", with = "millis")]
        after: Duration,
        declined: bool,
    },
    /// Cannot be reached at all.
    Unreachable,
}

/// A simulated endpoint's behaviour in a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Behaviour {
    pub response: Response,
    /// Hangs up (or leaves the meeting) this long after connecting; `None` stays until the call ends.
    #[serde(default, rename = "hangUpAfterMs", with = "optional_millis")]
    pub hang_up_after: Option<Duration>,
}

impl Behaviour {
    /// Someone already in the conversation when it is seen (a meeting's attendee): it answered at once, and leaves
    /// `leaves_after` it if that is given.
    pub fn present(leaves_after: Option<Duration>) -> Behaviour {
        Behaviour { response: Response::Answer { after: Duration::ZERO }, hang_up_after: leaves_after }
    }
}

impl Default for Behaviour {
    fn default() -> Behaviour {
        Behaviour { response: Response::Answer { after: Duration::from_secs(2) }, hang_up_after: None }
    }
}

/// A peer's leg: what answers, speaks and hears for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Leg {
    /// A simulated endpoint: its behaviour decides when it answers, refuses and hangs up.
    #[serde(rename = "behaviour")]
    Simulated(Behaviour),
    /// A real person's endpoint behind a transport: it answers, refuses, hangs up and mutes itself when its person
    /// does, reported by the transport as [`crate::Command::Peer`]; the engine arms no timers for it.
    Remote(RemoteLeg),
}

/// A real endpoint's leg: its audio goes through the transport that carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoteLeg {
    pub transport: Transport,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Transport {
    /// A browser, over WebRTC.
    WebRtc,
    /// A phone, over SIP and RTP.
    Sip,
}

/// What a simulated endpoint is, which decides how Graph names it and the codes its actions end calls with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EndpointKind {
    User,
    /// A PSTN number.
    Phone,
    /// Another bot: an application or application instance.
    Application,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PeerStatus {
    /// Offered the call, not answered yet.
    Ringing,
    Connected,
    /// Was connected, then hung up, left, or was transferred away.
    Left,
    /// Never connected: declined, unreachable, or stopped ringing.
    Gone,
}

/// Why a peer is in the call's document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PeerRole {
    /// A party to the conversation: the other end of a peer-to-peer call, a group-call target, a meeting attendee.
    Party,
    /// A target the bot redirected an incoming call to.
    RedirectTarget,
    /// The target of a transfer.
    TransferTarget,
}

/// Someone else in the call: a simulated person, phone or bot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Peer {
    pub participant_id: String,
    pub kind: EndpointKind,
    pub role: PeerRole,
    /// The endpoint's id in the simulated world (user object id, E.164 number, app id).
    pub endpoint_id: String,
    /// Who it is, as rendered in rosters and `source`/`targets`.
    pub identity: IdentitySet,
    /// Stored as `"behaviour": {…}` for a simulated endpoint (as documents have always had it) or `"remote": {…}`.
    #[serde(flatten)]
    pub leg: Leg,
    pub status: PeerStatus,
    /// What the roster shows about it.
    #[serde(default)]
    pub roster: RosterState,
}

/// A participant's state as the roster shows it (res:participant).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RosterState {
    /// The person muted themselves (client mute).
    pub client_muted: bool,
    /// A bot muted them: "the server will drop all audio packets" (docs:participant-mute).
    pub server_muted: bool,
    pub in_lobby: bool,
    /// On hold with music (docs:participant-startholdmusic).
    pub on_hold: bool,
    /// The `customPrompt` it hears on hold instead of the default music.
    pub hold_prompt: Option<Prompt>,
    /// Why it left the conversation (`removedState.reason`), once it has.
    pub removed_reason: Option<String>,
    /// The invite operation that brought it in, while the invitation is open.
    pub invitation: Option<String>,
    /// beta `reportSyntheticMedia`: what the bot reported.
    pub synthetic_media_malicious: Option<bool>,
    /// The roster sequence number of its last change (`rosterSequenceNumber`).
    pub sequence: u64,
}

impl RosterState {
    pub fn is_muted(&self) -> bool {
        self.client_muted || self.server_muted
    }
}

impl Peer {
    /// How it acts, when it is simulated.
    pub fn behaviour(&self) -> Option<&Behaviour> {
        match &self.leg {
            Leg::Simulated(behaviour) => Some(behaviour),
            Leg::Remote(_) => None,
        }
    }

    /// In the conversation: connected, and not waiting in the lobby.
    pub fn is_in_conversation(&self) -> bool {
        self.is_on_roster() && !self.roster.in_lobby
    }

    /// How Teams names the endpoint in diagnostics: `8:orgid:{user}`, `4:{number}`, `28:{app}`.
    pub fn mri(&self) -> String {
        match self.kind {
            EndpointKind::User => format!("8:orgid:{}", self.endpoint_id),
            EndpointKind::Phone => format!("4:{}", self.endpoint_id),
            EndpointKind::Application => format!("28:{}", self.endpoint_id),
        }
    }

    /// On the roster: in the conversation or waiting in its lobby.
    pub fn is_on_roster(&self) -> bool {
        self.role == PeerRole::Party && self.status == PeerStatus::Connected
    }
}

/// A transfer under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transfer {
    /// The target's entry in `peers`.
    pub target: String,
    /// Consultative transfer: the bot's other call that the transfer replaces.
    pub replaces_call_id: Option<String>,
    /// Group calls: the participant being transferred.
    pub transferee: Option<String>,
}

/// `commsOperation.status`. Graph's CSDL spells the members in PascalCase, its examples in camelCase; Switchboard
/// writes camelCase (graph-calls.md §b).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OperationStatus {
    NotStarted,
    Running,
    Completed,
    Failed,
}

/// An operation a bot started on the call (`/calls/{id}/operations/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub id: String,
    /// The Graph type, without the `#microsoft.graph.` prefix (`muteParticipantOperation`, …).
    pub odata_type: String,
    pub status: OperationStatus,
    pub client_context: Option<String>,
    pub result_info: Option<ResultInfo>,
    /// Type-specific properties (`recordingStatus`, `role`, `participants`, …), as Graph names them.
    pub properties: Map<String, Value>,
    pub created_at: DateTime<Utc>,
    /// Invite operations: the invitees that have not answered or failed yet.
    #[serde(default)]
    pub awaiting: Vec<String>,
    /// How it ends when it finishes: `None` completes it, a result fails it.
    #[serde(default)]
    pub failure: Option<ResultInfo>,
    /// A `playPrompt`'s prompts, which live Graph echoes in the completion notification (docs/fidelity.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompts: Vec<Prompt>,
}

/// A media prompt as the bot gave it (`mediaPrompt.mediaInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Prompt {
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
}

/// The bot's own leg: what it set about itself with call-level actions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BotLeg {
    /// Server-muted by `mute` (docs:call-mute); the roster shows it as `isMuted`.
    pub muted: bool,
    /// The last status the bot reported with `updateRecordingStatus` (docs:call-updaterecordingstatus).
    pub recording_status: Option<String>,
    /// `viewer` or `sharer`, from `changeScreenSharingRole` (docs:call-changescreensharingrole).
    pub screen_sharing_role: Option<String>,
    /// beta `startRecording` / `stopRecording`.
    pub recording: bool,
    /// beta `startTranscription` / `stopTranscription`; `GET` shows it as the call's `transcription` state.
    pub transcription: Option<TranscriptionState>,
    /// `addLargeGalleryView` was requested.
    pub large_gallery_view: bool,
    /// `subscribeToTone` succeeded: keys pressed in the call are notified (docs:call-subscribetotone).
    pub tones_subscribed: bool,
    /// The `sequenceId` of the last tone notified.
    pub tone_sequence: u32,
    /// Waiting in the meeting's lobby until someone admits it.
    #[serde(default)]
    pub in_lobby: bool,
    /// Hidden from the roster: `callOptions.hideBotAfterEscalation` after a peer-to-peer call was escalated.
    #[serde(default)]
    pub hidden: bool,
    /// The roster sequence number of its last change.
    #[serde(default)]
    pub sequence: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptionState {
    pub active: bool,
    pub language: Option<String>,
    pub changed_at: DateTime<Utc>,
}

/// A job of the IVR queue, as the bot asked for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaJob {
    pub operation_id: String,
    pub kind: MediaJobKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum MediaJobKind {
    /// `playPrompt`: the prompts' media URIs, in order; beta `loop` repeats them until cancelled.
    #[serde(rename_all = "camelCase")]
    Play { prompts: Vec<String>, looped: bool },
    /// `recordResponse` (beta also `record`).
    Record(RecordJob),
}

/// `recordResponse`'s parameters, with the documented defaults applied (docs:call-record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordJob {
    pub prompt: Option<String>,
    pub play_beep: bool,
    pub initial_silence_timeout_s: u32,
    pub max_silence_timeout_s: u32,
    pub max_record_duration_s: u32,
    /// DTMF keys that end the recording (`0`-`9`, `*`, `#`, `A`-`D`).
    pub stop_tones: Vec<char>,
}

/// `sendDtmfTones`: the keys to send and the pause between them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DtmfJob {
    pub operation_id: String,
    pub keys: Vec<char>,
    pub delay_between_tones_ms: u32,
}

/// A private audio route (res:audioroutinggroup): `sources` are heard only by `receivers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AudioRoutingGroup {
    pub id: String,
    /// `oneToOne` or `multicast`.
    pub routing_mode: String,
    pub sources: Vec<String>,
    pub receivers: Vec<String>,
}

/// Content a participant shares (res:contentsharingsession).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentSharingSession {
    pub id: String,
    pub presenter_participant_id: String,
    /// beta `pngOfCurrentSlide`, base64.
    pub png_of_current_slide: Option<String>,
}

/// Live Graph tells a bot in a peer-to-peer call with a Teams user about the conversation in two more `established`
/// updates once media flows: first its chat (`chatInfo`, `meetingProperties`, `replacesContext`), then its token
/// (`tokenMeetingInfo`); later updates repeat them (tests/fixtures/observed/sambetts/p2p-established-*).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Conversation {
    #[default]
    Unannounced,
    Chat,
    #[serde(rename_all = "camelCase")]
    ChatAndToken {
        /// When its token was issued: the token is the same in every later update.
        issued_at: DateTime<Utc>,
    },
}

impl Conversation {
    pub fn has_chat(self) -> bool {
        self != Conversation::Unannounced
    }

    pub fn token_issued_at(self) -> Option<DateTime<Utc>> {
        match self {
            Conversation::ChatAndToken { issued_at } => Some(issued_at),
            _ => None,
        }
    }
}

/// Where a call's media is processed (its `mediaConfig`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MediaHosting {
    /// `serviceHostedMediaConfig`: the service plays prompts, records, sends and hears tones.
    #[default]
    Service,
    /// `appHostedMediaConfig`: the bot processes the audio itself (the real-time media platform).
    App,
}

/// One call, from the owning app's point of view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    pub schema_version: u32,
    pub id: String,
    pub tenant_id: Uuid,
    pub app_id: Uuid,
    /// The Graph version the bot works in (from the request that created or answered the call); notifications are
    /// rendered for it (`ringing` exists only in beta).
    pub api_version: ApiVersion,
    pub direction: Direction,
    pub kind: CallKind,
    pub state: CallState,
    /// Where this call's notifications go; `None` means the app's registered calling webhook.
    pub callback_uri: Option<String>,
    pub my_participant_id: String,
    pub call_chain_id: String,
    /// The `scenario-id` the call's notifications carry: the one the bot sent when it created the call, or one
    /// Switchboard made up. Empty in documents stored before it existed.
    #[serde(default)]
    pub scenario_id: String,
    pub result_info: Option<ResultInfo>,
    /// beta `terminationReason` (the consultative-transfer example shows `AppTransferred`).
    pub termination_reason: Option<String>,
    /// `mediaState.audio`: Graph reports `active` once media flows; bots wait for it before playing prompts.
    pub audio_active: bool,
    /// Who answered a redirected call (beta `answeredBy`, shown in docs:call-redirect example 3).
    pub answered_by: Option<IdentitySet>,
    /// The properties the bot sent (or Graph sent it, for an incoming call) that the engine does not interpret:
    /// `source`, `targets`, `requestedModalities`, `mediaConfig`, `chatInfo`, `meetingInfo`, `callOptions`,
    /// `subject`, `tenantId`, undeclared open properties — echoed back by `GET`.
    /// Shared, not copied, when the engine keeps the call as it was before a command (it rarely changes).
    pub resource: Arc<Map<String, Value>>,
    pub media_hosting: MediaHosting,
    /// The application instance the bot takes part as: the source's of an outgoing call, the called one's of an
    /// incoming call. Calls to and from phone numbers need one (graph-calls.md §e, PSTN).
    pub application_instance: Option<String>,
    pub peers: Vec<Peer>,
    pub bot: BotLeg,
    pub transfer: Option<Transfer>,
    /// Each shared, not copied, when the engine keeps the call as it was before a command: a finished operation
    /// never changes again, and a call keeps up to 20 of them. Stored beside the document, one record each, so a
    /// change writes only the operations it started or changed: never serialised with the call, and read from a
    /// document only where one of schema 1 or 2 still holds them.
    #[serde(default, skip_serializing)]
    pub operations: Vec<Arc<Operation>>,
    /// Bumped by every roster change; each participant carries the value of its last change.
    #[serde(default)]
    pub roster_sequence: u64,
    /// Private audio routes between participants (res:audioroutinggroup).
    #[serde(default)]
    pub audio_routing_groups: Vec<AudioRoutingGroup>,
    /// Screen or content someone shares in the call (res:contentsharingsession).
    #[serde(default)]
    pub content_sharing_sessions: Vec<ContentSharingSession>,
    /// The IVR queue: `playPrompt` and `recordResponse` jobs, processed in order (docs:call-cancelmediaprocessing).
    #[serde(default)]
    pub media_jobs: Vec<MediaJob>,
    /// `sendDtmfTones` jobs, in order; independent of the IVR queue.
    #[serde(default)]
    pub dtmf_jobs: Vec<DtmfJob>,
    /// How long someone waits in a meeting's lobby before being removed (docs:call-delete 200/5855).
    #[serde(default, rename = "lobbyTimeoutMs", with = "optional_millis")]
    pub lobby_timeout: Option<Duration>,
    /// How long an unanswered outgoing call rings (beta `ringingTimeoutInSeconds`, else the default).
    #[serde(rename = "ringingTimeoutMs", with = "millis")]
    pub ringing_timeout: Duration,
    /// A ringing-timeout timer is armed (cancelled once nobody rings any more).
    #[serde(default)]
    pub ringing_timer_armed: bool,
    /// What Graph has told the bot about the conversation behind a peer-to-peer call with a Teams user.
    #[serde(default)]
    pub conversation: Conversation,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; the `@odata.etag` of the call and the store's optimistic-concurrency check.
    pub version: u64,
}

impl Call {
    pub fn is_terminated(&self) -> bool {
        self.state == CallState::Terminated
    }

    pub fn peer(&self, participant_id: &str) -> Option<&Peer> {
        self.peers.iter().find(|p| p.participant_id == participant_id)
    }

    pub(crate) fn peer_mut(&mut self, participant_id: &str) -> Option<&mut Peer> {
        self.peers.iter_mut().find(|p| p.participant_id == participant_id)
    }

    /// The parties currently in the conversation besides the bot.
    pub fn connected_parties(&self) -> impl Iterator<Item = &Peer> {
        self.peers.iter().filter(|p| p.is_in_conversation())
    }

    /// Whether `participant_id` is the bot's own leg.
    pub fn is_bot(&self, participant_id: &str) -> bool {
        self.my_participant_id.eq_ignore_ascii_case(participant_id)
    }

    /// The identity set of the bot's own leg, as the request gave it: the source of a call it placed, the target of
    /// a call it got.
    pub fn bot_identity(&self) -> IdentitySet {
        let identity = match self.direction {
            Direction::Outgoing => self.resource.get("source").and_then(|s| s.get("identity")),
            Direction::Incoming => self.resource.get("targets").and_then(|t| t.get(0)).and_then(|t| t.get("identity")),
        };
        identity.map(IdentitySet::from_json).unwrap_or_default()
    }

    /// Operation `operation_id` to change, if `wanted` holds for it; copied first if a snapshot shares it.
    pub fn operation_mut(&mut self, operation_id: &str, wanted: impl Fn(&Operation) -> bool) -> Option<&mut Operation> {
        self.operations.iter_mut().find(|o| o.id == operation_id && wanted(o)).map(Arc::make_mut)
    }

    pub fn operation(&self, operation_id: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.id.eq_ignore_ascii_case(operation_id)).map(|o| &**o)
    }

    /// Whether Graph sends roster notifications for the call: meetings and group calls do, peer-to-peer calls get
    /// "notifications for call state changes only" (docs:application-post-calls).
    pub fn has_roster(&self) -> bool {
        !matches!(self.kind, CallKind::PeerToPeer)
    }

    pub fn meeting_id(&self) -> Option<&str> {
        match &self.kind {
            CallKind::Meeting { meeting_id } => Some(meeting_id),
            _ => None,
        }
    }
}

/// A `Duration` as whole milliseconds, for `#[serde(with = …)]`.
pub mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

pub(crate) mod optional_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => super::millis::serialize(duration, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(deserializer).map(|v| v.map(Duration::from_millis))
    }
}

/// What the runtime knows about a call when it creates it.
#[derive(Debug, Clone)]
pub struct CallSetup {
    pub id: String,
    pub tenant_id: Uuid,
    pub app_id: Uuid,
    pub api_version: ApiVersion,
    pub direction: Direction,
    pub kind: CallKind,
    pub callback_uri: Option<String>,
    pub my_participant_id: String,
    pub call_chain_id: String,
    pub scenario_id: String,
    pub resource: Map<String, Value>,
    pub media_hosting: MediaHosting,
    pub application_instance: Option<String>,
    /// Outgoing calls: the targets (ringing) or meeting attendees (connected); incoming calls: the caller.
    pub peers: Vec<Peer>,
    pub ringing_timeout: Duration,
    /// Meetings: how long people wait in the lobby before being removed.
    pub lobby_timeout: Option<Duration>,
    /// Meetings: the bot waits in the lobby until admitted.
    pub bot_in_lobby: bool,
}

impl Call {
    /// A new call, before its [`Command::Start`](crate::Command::Start).
    pub fn new(setup: CallSetup, now: DateTime<Utc>) -> Call {
        let state = match setup.direction {
            Direction::Incoming => CallState::Incoming,
            Direction::Outgoing => CallState::Establishing,
        };
        Call {
            schema_version: SCHEMA_VERSION,
            id: setup.id,
            tenant_id: setup.tenant_id,
            app_id: setup.app_id,
            api_version: setup.api_version,
            direction: setup.direction,
            kind: setup.kind,
            state,
            callback_uri: setup.callback_uri,
            my_participant_id: setup.my_participant_id,
            call_chain_id: setup.call_chain_id,
            scenario_id: setup.scenario_id,
            result_info: None,
            termination_reason: None,
            audio_active: false,
            answered_by: None,
            resource: Arc::new(setup.resource),
            media_hosting: setup.media_hosting,
            application_instance: setup.application_instance,
            peers: setup.peers,
            bot: BotLeg { in_lobby: setup.bot_in_lobby, ..BotLeg::default() },
            transfer: None,
            operations: Vec::new(),
            roster_sequence: 0,
            audio_routing_groups: Vec::new(),
            content_sharing_sessions: Vec::new(),
            media_jobs: Vec::new(),
            dtmf_jobs: Vec::new(),
            lobby_timeout: setup.lobby_timeout,
            ringing_timeout: setup.ringing_timeout,
            ringing_timer_armed: false,
            conversation: Conversation::Unannounced,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }
}

/// Brings a stored call document of an earlier schema up to [`SCHEMA_VERSION`], as JSON: each step is the change of
/// one schema version, so a document of any earlier build reads the same as one this build wrote. A document of a
/// newer schema is left as it is (the caller refuses it).
pub fn upgrade(document: &mut Value) {
    let version = document.get("schemaVersion").and_then(Value::as_u64).unwrap_or(1);
    if version < 2 {
        upgrade_to_2(document);
    }
}

/// Schema 2: the media hosting and the application instance are fields of their own, read once from the request
/// instead of probed in `resource` on every use, and a hold prompt keeps only what plays it.
fn upgrade_to_2(document: &mut Value) {
    let resource = document.get("resource");
    let app_hosted = resource
        .and_then(|r| r.pointer("/mediaConfig/@odata.type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t.trim_start_matches('#').eq_ignore_ascii_case("microsoft.graph.appHostedMediaConfig"));
    let bot = match document.get("direction").and_then(Value::as_str) {
        Some("incoming") => "/targets/0/identity/applicationInstance",
        _ => "/source/identity/applicationInstance",
    };
    let instance = resource
        .and_then(|r| r.pointer(bot))
        .filter(|i| i.is_object())
        .map(|i| i.get("id").and_then(Value::as_str).unwrap_or_default().to_owned());
    if let Some(peers) = document.get_mut("peers").and_then(Value::as_array_mut) {
        for roster in peers.iter_mut().filter_map(|p| p.get_mut("roster")) {
            if let Some(prompt) = roster.get_mut("holdPrompt") {
                let info = prompt.get("mediaInfo");
                let uri = info.and_then(|i| i.get("uri")).and_then(Value::as_str);
                let resource_id = info.and_then(|i| i.get("resourceId")).cloned().unwrap_or(Value::Null);
                *prompt = match uri {
                    Some(uri) => serde_json::json!({"uri": uri, "resourceId": resource_id}),
                    None => Value::Null,
                };
            }
        }
    }
    if let Some(call) = document.as_object_mut() {
        call.insert("mediaHosting".into(), (if app_hosted { "app" } else { "service" }).into());
        call.insert("applicationInstance".into(), instance.map_or(Value::Null, Value::from));
        call.insert("schemaVersion".into(), 2.into());
    }
}
