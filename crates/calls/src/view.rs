//! A call as the test-control API (`/_sim/calls`), the CLI's `sim show` and the console see it: a view of its own,
//! so that the engine's stored document can change shape without changing what test code and the console read.
//! It shows what a test asks about a call (its state, who is in it and how, the bot's own leg, the operations, the
//! IVR queue); the Graph rendering of the same call is `GET /communications/calls/{id}`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use switchboard_catalogue::ApiVersion;
use switchboard_engine::{
    Call,
    model::{
        Behaviour, CallKind, CallState, Direction, EndpointKind, IdentitySet, Leg, MediaHosting, MediaJobKind,
        OperationStatus, PeerRole, PeerStatus, ResultInfo, Transport,
    },
};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallView {
    pub id: String,
    pub tenant_id: Uuid,
    pub app_id: Uuid,
    pub api_version: ApiVersion,
    pub direction: Direction,
    pub kind: CallKind,
    pub state: CallState,
    pub callback_uri: Option<String>,
    pub my_participant_id: String,
    pub call_chain_id: String,
    pub result_info: Option<ResultInfo>,
    pub termination_reason: Option<String>,
    /// Media flows (`mediaState.audio` is `active`).
    pub audio_active: bool,
    pub media_hosting: MediaHosting,
    pub application_instance: Option<String>,
    pub peers: Vec<PeerView>,
    pub bot: BotView,
    pub operations: Vec<OperationView>,
    /// The IVR queue and the keys the bot is sending, in order: the operation each belongs to.
    pub media_queue: Vec<QueuedMedia>,
    /// The `@odata.etag` of the call: bumped by every change Graph would show.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerView {
    pub participant_id: String,
    pub kind: EndpointKind,
    pub role: PeerRole,
    /// Its id in the simulated world (user object id, E.164 number, app id).
    pub endpoint_id: String,
    /// The Graph `identitySet` that names it.
    pub identity: IdentitySet,
    pub status: PeerStatus,
    pub leg: LegView,
    pub roster: RosterView,
}

/// What answers for a peer: a simulated endpoint's behaviour, or a real person's transport.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum LegView {
    Simulated { behaviour: Behaviour },
    Remote { transport: Transport },
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RosterView {
    pub client_muted: bool,
    pub server_muted: bool,
    pub in_lobby: bool,
    pub on_hold: bool,
    /// The custom prompt it hears on hold, if it is on hold with one.
    pub hold_prompt_uri: Option<String>,
    pub removed_reason: Option<String>,
    /// The invite operation that brought it in, while the invitation is open.
    pub invitation: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BotView {
    pub muted: bool,
    pub in_lobby: bool,
    pub hidden: bool,
    pub recording_status: Option<String>,
    pub recording: bool,
    pub transcribing: bool,
    pub tones_subscribed: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationView {
    pub id: String,
    /// The Graph type without its `#microsoft.graph.` prefix.
    pub odata_type: String,
    pub status: OperationStatus,
    pub client_context: Option<String>,
    pub result_info: Option<ResultInfo>,
    /// Its type's own properties as Graph names them (`recordingLocation`, …).
    pub properties: Map<String, Value>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum QueuedMedia {
    Play { operation_id: String, prompts: Vec<String>, looped: bool },
    Record { operation_id: String },
    SendTones { operation_id: String, keys: String },
}

impl From<&Call> for CallView {
    fn from(call: &Call) -> CallView {
        let peers = call
            .peers
            .iter()
            .map(|peer| PeerView {
                participant_id: peer.participant_id.clone(),
                kind: peer.kind,
                role: peer.role,
                endpoint_id: peer.endpoint_id.clone(),
                identity: peer.identity.clone(),
                status: peer.status,
                leg: match &peer.leg {
                    Leg::Simulated(behaviour) => LegView::Simulated { behaviour: behaviour.clone() },
                    Leg::Remote(remote) => LegView::Remote { transport: remote.transport },
                },
                roster: RosterView {
                    client_muted: peer.roster.client_muted,
                    server_muted: peer.roster.server_muted,
                    in_lobby: peer.roster.in_lobby,
                    on_hold: peer.roster.on_hold,
                    hold_prompt_uri: peer.roster.hold_prompt.as_ref().map(|p| p.uri.clone()),
                    removed_reason: peer.roster.removed_reason.clone(),
                    invitation: peer.roster.invitation.clone(),
                },
            })
            .collect();
        let operations = call
            .operations
            .iter()
            .map(|operation| OperationView {
                id: operation.id.clone(),
                odata_type: operation.odata_type.clone(),
                status: operation.status,
                client_context: operation.client_context.clone(),
                result_info: operation.result_info.clone(),
                properties: operation.properties.clone(),
                created_at: operation.created_at,
            })
            .collect();
        let jobs = call.media_jobs.iter().map(|job| match &job.kind {
            MediaJobKind::Play { prompts, looped } => {
                QueuedMedia::Play { operation_id: job.operation_id.clone(), prompts: prompts.clone(), looped: *looped }
            }
            MediaJobKind::Record(_) => QueuedMedia::Record { operation_id: job.operation_id.clone() },
        });
        let tones = call.dtmf_jobs.iter().map(|job| QueuedMedia::SendTones {
            operation_id: job.operation_id.clone(),
            keys: job.keys.iter().collect(),
        });
        CallView {
            id: call.id.clone(),
            tenant_id: call.tenant_id,
            app_id: call.app_id,
            api_version: call.api_version,
            direction: call.direction,
            kind: call.kind.clone(),
            state: call.state,
            callback_uri: call.callback_uri.clone(),
            my_participant_id: call.my_participant_id.clone(),
            call_chain_id: call.call_chain_id.clone(),
            result_info: call.result_info.clone(),
            termination_reason: call.termination_reason.clone(),
            audio_active: call.audio_active,
            media_hosting: call.media_hosting,
            application_instance: call.application_instance.clone(),
            peers,
            bot: BotView {
                muted: call.bot.muted,
                in_lobby: call.bot.in_lobby,
                hidden: call.bot.hidden,
                recording_status: call.bot.recording_status.clone(),
                recording: call.bot.recording,
                transcribing: call.bot.transcription.as_ref().is_some_and(|t| t.active),
                tones_subscribed: call.bot.tones_subscribed,
            },
            operations,
            media_queue: jobs.chain(tones).collect(),
            version: call.version,
            created_at: call.created_at,
            updated_at: call.updated_at,
        }
    }
}
