//! Graph JSON from the engine's documents: the call entity `GET` and `POST` return, operations, and the bodies of
//! `commsNotifications` (graph-calls.md §c), in the shapes of the docs examples they cite.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use switchboard_catalogue::{ApiVersion, Root};
use switchboard_engine::{
    Change, Notification, NotificationKind,
    model::{
        AudioRoutingGroup, Call, CallKind, CallState, ContentSharingSession, Direction, EndpointKind, IdentityKind,
        IdentitySet, Operation, OperationStatus, Peer, Prompt, ResultInfo,
    },
};
use switchboard_wire::Shapes;
use uuid::Uuid;

use base64::{Engine as _, prelude::BASE64_STANDARD};

use crate::tokens::{ConversationToken, ConversationTokens};

/// Where a call lives, relative to the service root, as notifications name it.
pub fn call_path(call_id: &str) -> String {
    format!("/communications/calls/{call_id}")
}

fn operation_path(call_id: &str, operation_id: &str) -> String {
    format!("/communications/calls/{call_id}/operations/{operation_id}")
}

fn etag(call: &Call) -> String {
    format!("W/\"{}\"", call.version)
}

fn graph_type(name: &str) -> Value {
    Value::String(format!("#microsoft.graph.{name}"))
}

/// A `resultInfo`. Live Graph ends the message of every outcome but plain success with its diagnostic code,
/// `DiagCode: a#b.@` (tests/fixtures/observed: "The conversation has ended. DiagCode: 0#5002.@"; comms-samples
/// #667, #771: "… DiagCode: 3003#7106.@", "… DiagCode: 410#301005.@"); the docs' examples show none.
fn result_info(result: &ResultInfo, shapes: Shapes) -> Value {
    let message = if shapes.observed() && result.subcode != 0 && !result.message.contains("DiagCode:") {
        // The first number is 0 for a normal end, else (as far as the traffic shows) the code's own family.
        let origin = if result.code < 300 { 0 } else { result.code };
        let separator = if result.message.ends_with('.') { " " } else { ". " };
        format!("{}{separator}DiagCode: {origin}#{}.@", result.message, result.subcode)
    } else {
        result.message.clone()
    };
    json!({
        "@odata.type": "#microsoft.graph.resultInfo",
        "code": result.code,
        "subcode": result.subcode,
        "message": message,
    })
}

fn media_state(call: &Call) -> Value {
    json!({"@odata.type": "#microsoft.graph.callMediaState", "audio": if call.audio_active { "active" } else { "inactive" }})
}

/// The properties Graph returns for every call, `null` until known: the docs' v1.0 create-call responses list beta
/// ones too (`ringingTimeoutInSeconds`, `answeredBy`, `terminationReason`, …; docs:application-post-calls examples
/// 2–9), which observed shapes leave to beta (see `call_entity`).
const CALL_PROPERTIES: &[&str] = &[
    "state",
    "direction",
    "callbackUri",
    "callChainId",
    "callRoutes",
    "source",
    "targets",
    "requestedModalities",
    "activeModalities",
    "mediaConfig",
    "chatInfo",
    "meetingInfo",
    "transcription",
    "routingPolicies",
    "tenantId",
    "myParticipantId",
    "id",
    "terminationReason",
    "ringingTimeoutInSeconds",
    "mediaState",
    "subject",
    "resultInfo",
    "answeredBy",
    "meetingCapability",
    "toneInfo",
    "incomingContext",
    "callOptions",
];

/// The call entity, as `POST /calls` and `GET /calls/{id}` return it.
pub fn call_entity(call: &Call, version: ApiVersion, base_url: &str, shapes: Shapes) -> Value {
    let mut body = Map::new();
    body.insert("@odata.type".into(), graph_type("call"));
    for name in CALL_PROPERTIES {
        body.insert((*name).into(), call.resource.get(*name).cloned().unwrap_or(Value::Null));
    }
    for (name, value) in call.resource.iter() {
        body.entry(name.clone()).or_insert_with(|| value.clone());
    }
    for empty_list in ["callRoutes", "routingPolicies", "activeModalities"] {
        if body[empty_list].is_null() {
            body.insert(empty_list.into(), json!([]));
        }
    }
    if call.audio_active {
        body.insert("activeModalities".into(), call.resource.get("requestedModalities").cloned().unwrap_or(json!([])));
    }
    let owned = state_properties(call, shapes);
    body.extend(owned);
    if call.audio_active || call.is_terminated() {
        body.insert("mediaState".into(), media_state(call));
    }
    if let Some(transcription) = &call.bot.transcription {
        body.insert(
            "transcription".into(),
            json!({
                "@odata.type": "#microsoft.graph.callTranscriptionInfo",
                "state": if transcription.active { "active" } else { "inactive" },
                "lastModifiedDateTime": transcription.changed_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            }),
        );
    }
    if version == ApiVersion::V1 && shapes.observed() {
        // The docs' v1.0 examples show beta's properties too; v1.0's schema has none of these, and live v1.0 traffic
        // shows only beta's `meetingCapability` and `terminationReason` (docs/fidelity.md).
        for beta_only in ["activeModalities", "answeredBy", "ringingTimeoutInSeconds", "routingPolicies"] {
            body.remove(beta_only);
        }
    }
    body.insert("@odata.context".into(), format!("{base_url}/{}/$metadata#app/calls/$entity", version.as_str()).into());
    Value::Object(body)
}

/// The properties the engine owns, which override anything echoed from the request.
fn state_properties(call: &Call, shapes: Shapes) -> Map<String, Value> {
    let mut properties = Map::new();
    properties.insert("state".into(), call.state.as_str().into());
    properties.insert("direction".into(), direction(call));
    properties.insert("id".into(), call.id.clone().into());
    properties.insert("myParticipantId".into(), call.my_participant_id.clone().into());
    properties.insert("callChainId".into(), call.call_chain_id.clone().into());
    properties.insert("callbackUri".into(), call.callback_uri.clone().map_or(Value::Null, Value::String));
    properties.insert("resultInfo".into(), call.result_info.as_ref().map_or(Value::Null, |r| result_info(r, shapes)));
    properties.insert("terminationReason".into(), call.termination_reason.clone().map_or(Value::Null, Value::String));
    if let Some(answered_by) = &call.answered_by {
        properties.insert(
            "answeredBy".into(),
            json!({"@odata.type": "#microsoft.graph.participantInfo", "identity": answered_by, "endpointType": "default"}),
        );
    }
    properties
}

/// An operation, as an action's response and `GET …/operations/{id}` return it.
pub fn operation_entity(operation: &Operation, version: ApiVersion, base_url: &str, shapes: Shapes) -> Value {
    let mut body = operation_data(operation);
    body.insert(
        "@odata.context".into(),
        format!("{base_url}/{}/$metadata#{}", version.as_str(), operation.odata_type).into(),
    );
    body.insert("resultInfo".into(), operation.result_info.as_ref().map_or(Value::Null, |r| result_info(r, shapes)));
    Value::Object(body)
}

fn operation_data(operation: &Operation) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("@odata.type".into(), graph_type(&operation.odata_type));
    body.insert("id".into(), operation.id.clone().into());
    body.insert(
        "status".into(),
        serde_json::to_value(operation.status).expect("an operation status always serialises"),
    );
    body.insert("clientContext".into(), operation.client_context.clone().map_or(Value::Null, Value::String));
    body.extend(operation.properties.clone());
    body
}

/// One entry of the roster, whoever it is.
struct Entry<'a> {
    call_id: &'a str,
    tenant_id: Uuid,
    id: &'a str,
    /// The bot's own leg: its app, which live Graph names in `info.clientVersion`.
    app_id: Option<Uuid>,
    /// The bot's is read from the request's `source` or `targets` (owned); a peer's is borrowed.
    identity: Cow<'a, IdentitySet>,
    client_muted: bool,
    server_muted: bool,
    in_lobby: bool,
    sequence: u64,
    removed_reason: Option<&'a str>,
    recording_status: Option<&'a str>,
    synthetic_media_malicious: Option<bool>,
    /// Its position, which numbers its media stream (`sourceId`).
    position: usize,
}

fn bot_entry(call: &Call) -> Entry<'_> {
    Entry {
        call_id: &call.id,
        tenant_id: call.tenant_id,
        id: &call.my_participant_id,
        app_id: Some(call.app_id),
        identity: Cow::Owned(call.bot_identity()),
        client_muted: false,
        server_muted: call.bot.muted,
        in_lobby: call.bot.in_lobby,
        sequence: call.bot.sequence,
        removed_reason: None,
        recording_status: call.bot.recording_status.as_deref(),
        synthetic_media_malicious: None,
        position: 0,
    }
}

fn peer_entry<'a>(call: &'a Call, peer: &'a Peer, position: usize) -> Entry<'a> {
    Entry {
        call_id: &call.id,
        tenant_id: call.tenant_id,
        id: &peer.participant_id,
        app_id: None,
        identity: Cow::Borrowed(&peer.identity),
        client_muted: peer.roster.client_muted,
        server_muted: peer.roster.server_muted,
        in_lobby: peer.roster.in_lobby,
        sequence: peer.roster.sequence,
        removed_reason: peer.roster.removed_reason.as_deref(),
        recording_status: None,
        synthetic_media_malicious: peer.roster.synthetic_media_malicious,
        position,
    }
}

/// A participant (res:participant), with the v1.0 properties; beta adds its own. Live Graph's entries differ from
/// the docs' (tests/fixtures/observed/sambetts/p2p-roster-user-and-bot.json, comms-samples #513, #599): their
/// identities name a tenant and provider, `info` has an endpoint id, a client version and a replacement link, they
/// add `publishedStates`, `meetingRole` and `isIdentityAnonymized`, and they leave out what is unset.
fn participant(version: ApiVersion, entry: &Entry<'_>, shapes: Shapes) -> Value {
    let observed = shapes.observed();
    let mut info = Map::new();
    info.insert("@odata.type".into(), "#microsoft.graph.participantInfo".into());
    info.insert(
        "identity".into(),
        if observed {
            entry.identity.observed(&entry.tenant_id.to_string()).to_json()
        } else {
            entry.identity.to_json()
        },
    );
    info.insert("endpointType".into(), "default".into());
    if observed {
        let endpoint = Uuid::new_v5(&Uuid::NAMESPACE_URL, format!("switchboard:endpoint:{}", entry.id).as_bytes());
        info.insert("endpointId".into(), endpoint.to_string().into());
        // Live Graph gives people a language and the bot none.
        if entry.identity.get(&IdentityKind::User).is_some() {
            info.insert("languageId".into(), "en-US".into());
        }
        let client_version = match entry.app_id {
            Some(app_id) => format!("Switchboard (appid:{app_id})"),
            None => "Switchboard simulated endpoint".to_owned(),
        };
        info.insert("clientVersion".into(), client_version.into());
        info.insert("participantId".into(), entry.id.into());
        info.insert("replacementLink".into(), replacement_link(entry.call_id, entry.id).into());
    } else {
        info.insert("languageId".into(), "en-US".into());
        info.insert("region".into(), Value::Null);
        info.insert("countryCode".into(), Value::Null);
        info.insert("participantId".into(), entry.id.into());
    }
    let mut body = Map::new();
    body.insert("@odata.type".into(), "#microsoft.graph.participant".into());
    if !observed {
        body.insert("id".into(), entry.id.into());
    }
    body.insert("info".into(), Value::Object(info));
    body.insert(
        "mediaStreams".into(),
        json!([{
            "@odata.type": "#microsoft.graph.mediaStream",
            "mediaType": "audio",
            "label": "main-audio",
            "sourceId": (entry.position + 1).to_string(),
            "direction": "sendReceive",
            "serverMuted": entry.server_muted,
        }]),
    );
    body.insert("isMuted".into(), (entry.client_muted || entry.server_muted).into());
    body.insert("isInLobby".into(), entry.in_lobby.into());
    let recording = entry.recording_status.map(|status| {
        json!({
            "@odata.type": "#microsoft.graph.recordingInfo",
            "initiator": entry.identity,
            "recordingStatus": status,
        })
    });
    let removed =
        entry.removed_reason.map(|reason| json!({"@odata.type": "#microsoft.graph.removedState", "reason": reason}));
    if observed {
        body.insert("publishedStates".into(), json!([]));
        body.insert("meetingRole".into(), "none".into());
        // The same link as `info`'s, as live entries repeat it.
        let link = body["info"]["replacementLink"].clone();
        body.insert("replacementLink".into(), link);
        body.insert("isIdentityAnonymized".into(), false.into());
        body.extend(recording.map(|r| ("recordingInfo".to_owned(), r)));
        body.extend(removed.map(|r| ("removedState".to_owned(), r)));
        body.insert("id".into(), entry.id.into());
    } else {
        body.insert("metadata".into(), Value::Null);
        body.insert("recordingInfo".into(), recording.unwrap_or(Value::Null));
        body.insert("removedState".into(), removed.unwrap_or(Value::Null));
        body.insert("restrictedExperience".into(), Value::Null);
        body.insert("rosterSequenceNumber".into(), entry.sequence.into());
    }
    if version == ApiVersion::Beta
        && let Some(malicious) = entry.synthetic_media_malicious
    {
        body.insert(
            "syntheticMediaDetection".into(),
            json!({"@odata.type": "#microsoft.graph.syntheticMediaDetectionInfo", "isParticipantTrusted": !malicious}),
        );
    }
    Value::Object(body)
}

/// Where Graph would let another endpoint take this participant's place. Switchboard has no such service: the
/// link has the shape of Graph's, at a host that never resolves.
fn replacement_link(call_id: &str, participant_id: &str) -> String {
    format!("https://switchboard.invalid/cc/v1/callParticipant/{call_id}/{participant_id}/replacement")
}

/// The roster: the bot (unless hidden after an escalation), then everyone on the roster, in the order they came.
fn roster_entries(call: &Call) -> Vec<Entry<'_>> {
    let mut entries = Vec::new();
    if !call.bot.hidden {
        entries.push(bot_entry(call));
    }
    entries.extend(
        call.peers.iter().enumerate().filter(|(_, p)| p.is_on_roster()).map(|(i, p)| peer_entry(call, p, i + 1)),
    );
    entries
}

/// `GET …/participants` and the roster notifications, for a version of the API.
pub fn roster(call: &Call, version: ApiVersion, shapes: Shapes) -> Vec<Value> {
    roster_entries(call).iter().map(|entry| participant(version, entry, shapes)).collect()
}

/// One participant (`GET …/participants/{id}`), the bot's own leg included; `None` if not on the roster.
pub fn participant_entity(call: &Call, version: ApiVersion, participant_id: &str, shapes: Shapes) -> Option<Value> {
    let entries = roster_entries(call);
    entries.iter().find(|e| e.id.eq_ignore_ascii_case(participant_id)).map(|entry| participant(version, entry, shapes))
}

/// A delta roster (`callOptions.isDeltaRosterEnabled`): only who changed, those who left with their
/// `removedState`. Graph documents the resource (`deltaParticipants`: `sequenceNumber`, `participants`), not the
/// notification that carries it; it is sent where the full roster would be.
fn delta_roster(call: &Call, changed: &[String], shapes: Shapes) -> Value {
    let entries: Vec<Value> = changed
        .iter()
        .filter_map(|id| {
            if call.is_bot(id) {
                return Some(participant(call.api_version, &bot_entry(call), shapes));
            }
            let (position, peer) = call.peers.iter().enumerate().find(|(_, p)| p.participant_id == *id)?;
            let mut entry = peer_entry(call, peer, position + 1);
            if !peer.is_on_roster() && entry.removed_reason.is_none() {
                entry.removed_reason = Some("left");
            }
            Some(participant(call.api_version, &entry, shapes))
        })
        .collect();
    json!({
        "@odata.type": "#microsoft.graph.deltaParticipants",
        "sequenceNumber": call.roster_sequence,
        "participants": entries,
    })
}

fn delta_roster_enabled(call: &Call) -> bool {
    call.resource
        .get("callOptions")
        .and_then(|o| o.get("isDeltaRosterEnabled"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// An audio routing group (res:audioroutinggroup).
pub fn audio_routing_group(group: &AudioRoutingGroup) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.audioRoutingGroup",
        "id": group.id,
        "routingMode": group.routing_mode,
        "sources": group.sources,
        "receivers": group.receivers,
    })
}

/// A content sharing session (res:contentsharingsession); beta adds who presents.
pub fn content_sharing_session(version: ApiVersion, session: &ContentSharingSession) -> Value {
    let mut body = json!({"@odata.type": "#microsoft.graph.contentSharingSession", "id": session.id});
    if version == ApiVersion::Beta {
        body["presenterParticipantId"] = session.presenter_participant_id.clone().into();
    }
    body
}

/// A collection answer: `{"@odata.context", "value"}`.
/// `@odata.context` names the root the request came through (`app/calls('…')/participants`, comms-samples #102).
pub fn collection(
    base_url: &str,
    version: ApiVersion,
    root: Root,
    call_id: &str,
    segment: &str,
    value: Vec<Value>,
) -> Value {
    json!({
        "@odata.context": format!("{base_url}/{}/$metadata#{}('{call_id}')/{segment}", version.as_str(), root.as_str()),
        "value": value,
    })
}

/// The `commsNotifications` body of one notification, sent to `callback_uri`, in the shapes asked for: as live
/// Graph sends them (docs/fidelity.md, with the recordings in tests/fixtures/observed) or as the docs' examples show
/// them (graph-calls.md §c). `None` for a notification only live Graph sends, when the docs' shapes are asked for.
pub fn notification(
    notification: &Notification,
    callback_uri: &str,
    shapes: Shapes,
    tokens: &ConversationTokens,
) -> Option<Value> {
    let call = &notification.call;
    let observed = shapes.observed();
    let mut resource_url = call_path(&call.id);
    let (change_type, resource_data) = match &notification.kind {
        NotificationKind::Incoming => ("created", full_call(call, shapes)),
        NotificationKind::StateChanged { result_info: result } => {
            let mut data = call_change(call, shapes);
            // Live Graph says the direction once, when the call is established.
            if observed && call.state == CallState::Established {
                data.insert("direction".into(), direction(call));
            }
            if let Some(result) = result {
                data.insert("resultInfo".into(), result_info(result, shapes));
            }
            ("updated", call_update(data, call, shapes))
        }
        NotificationKind::ConversationAnnounced if !observed => return None,
        NotificationKind::MediaStateChanged | NotificationKind::ConversationAnnounced => {
            let mut data = call_change(call, shapes);
            data.insert("mediaState".into(), media_state(call));
            if observed {
                conversation(&mut data, call, tokens);
            }
            ("updated", call_update(data, call, shapes))
        }
        NotificationKind::Ended => ("deleted", ended(call, shapes, tokens)),
        NotificationKind::ToneReceived { tone, sequence_id } => {
            // docs:call-subscribetotone: the tone, with no participant id (docs-contrib issue #1130); live Graph
            // sends no callChainId with it.
            let mut data = call_change(call, shapes);
            data.insert(
                "toneInfo".into(),
                json!({"@odata.type": "#microsoft.graph.toneInfo", "sequenceId": sequence_id, "tone": tone}),
            );
            ("updated", Value::Object(data))
        }
        // No rejection was recorded from live Graph: its shape is the terminated notification's.
        NotificationKind::Rejected if observed => ("deleted", ended(call, shapes, tokens)),
        NotificationKind::Rejected => {
            ("deleted", json!({"@odata.type": "#microsoft.graph.call", "@odata.id": call_path(&call.id)}))
        }
        NotificationKind::Redirected => ("deleted", full_call(call, shapes)),
        NotificationKind::RosterChanged { changed } => {
            resource_url = format!("{}/participants", call_path(&call.id));
            let data = if delta_roster_enabled(call) {
                delta_roster(call, changed, shapes)
            } else {
                Value::Array(roster(call, call.api_version, shapes))
            };
            ("updated", data)
        }
        NotificationKind::ContentSharing { change, session_id } => {
            // The docs' example spells the segment in lower case (docs:application-post-calls).
            resource_url = format!("{}/contentsharingsessions", call_path(&call.id));
            let change = match change {
                Change::Created => "created",
                Change::Updated => "updated",
                Change::Deleted => "deleted",
            };
            let session = json!({"@odata.type": "#microsoft.graph.contentSharingSession", "id": session_id});
            (change, json!([session]))
        }
        NotificationKind::OperationFinished { operation_id } => {
            resource_url = operation_path(&call.id, operation_id);
            let operation = call.operation(operation_id).expect("invariant: a finished operation is in its call");
            let mut data = operation_data(operation);
            if observed {
                // Live Graph echoes a playPrompt's prompts (tests/fixtures/observed/sambetts/playprompt-completed.json).
                if !operation.prompts.is_empty() {
                    data.insert("prompts".into(), operation.prompts.iter().map(media_prompt).collect());
                    // … and says how it completed, in v1.0 too (the docs give v1.0's playPromptOperation no reason).
                    if operation.status == OperationStatus::Completed {
                        data.entry("completionReason").or_insert_with(|| "completedSuccessfully".into());
                    }
                }
            } else {
                data.insert("@odata.id".into(), resource_url.clone().into());
                data.insert("@odata.etag".into(), etag(call).into());
            }
            if operation.status != OperationStatus::Running
                && let Some(result) = &operation.result_info
            {
                data.insert("resultInfo".into(), result_info(result, shapes));
            }
            ("deleted", Value::Object(data))
        }
    };
    let mut entry = Map::new();
    entry.insert("@odata.type".into(), "#microsoft.graph.commsNotification".into());
    entry.insert("changeType".into(), change_type.into());
    if observed {
        // Every live notification names its resource twice, by the deprecated root too (2019–2025); some bot
        // libraries read only `resource`. None carries `callbackUri`.
        entry.insert("resource".into(), resource_url.replacen("/communications/calls/", "/app/calls/", 1).into());
        entry.insert("resourceUrl".into(), resource_url.into());
    } else {
        entry.insert("resourceUrl".into(), resource_url.into());
        entry.insert("callbackUri".into(), callback_uri.into());
    }
    entry.insert("resourceData".into(), resource_data);
    Some(json!({"@odata.type": "#microsoft.graph.commsNotifications", "value": [entry]}))
}

fn direction(call: &Call) -> Value {
    serde_json::to_value(call.direction).expect("a direction always serialises")
}

/// The empty `meetingCapability` and `coOrganizers` live Graph adds to media-state and terminated updates.
fn meeting_capability(data: &mut Map<String, Value>) {
    data.insert("meetingCapability".into(), json!({"@odata.type": "#microsoft.graph.meetingCapability"}));
    data.insert("coOrganizers".into(), json!([]));
}

/// What live Graph's `established` updates say about the conversation once media flows: its chat, its token, the
/// empty capabilities and the Teams user's replacement link, in the recordings' order
/// (tests/fixtures/observed/sambetts/p2p-established-*).
fn conversation(data: &mut Map<String, Value>, call: &Call, tokens: &ConversationTokens) {
    let user = call.connected_parties().find(|p| p.kind == EndpointKind::User);
    let announced = call.conversation.has_chat() && call.state == CallState::Established;
    let (Some(user), true) = (user, announced) else {
        return meeting_capability(data);
    };
    // A peer-to-peer chat is `19:<guid>`, without a meeting's `@thread.v2`.
    let thread = Uuid::new_v5(&Uuid::NAMESPACE_URL, format!("switchboard:chat:{}", call.id).as_bytes());
    data.insert(
        "chatInfo".into(),
        json!({"@odata.type": "#microsoft.graph.chatInfo", "threadId": format!("19:{thread}"), "messageId": "0"}),
    );
    if let Some(issued_at) = call.conversation.token_issued_at() {
        data.insert("meetingInfo".into(), token_meeting_info(call, issued_at, tokens));
    }
    data.insert("meetingCapability".into(), json!({"@odata.type": "#microsoft.graph.meetingCapability"}));
    data.insert(
        "meetingProperties".into(),
        json!({"@odata.type": "#microsoft.graph.meetingProperties", "meetingLabel": Uuid::nil().to_string()}),
    );
    data.insert("coOrganizers".into(), json!([]));
    let link = replacement_link(&call.id, &user.participant_id);
    data.insert("replacesContext".into(), BASE64_STANDARD.encode(link).into());
}

fn token_meeting_info(call: &Call, issued_at: DateTime<Utc>, tokens: &ConversationTokens) -> Value {
    let token = tokens.sign(&ConversationToken {
        tenant_id: call.tenant_id,
        app_id: call.app_id,
        activity_id: &call.call_chain_id,
        call_id: &call.id,
        issued_at,
    });
    json!({"@odata.type": "#microsoft.graph.tokenMeetingInfo", "token": token})
}

/// A call update as sent: live Graph ends every call-state update with the call's `callChainId` (2023–2025).
fn call_update(mut data: Map<String, Value>, call: &Call, shapes: Shapes) -> Value {
    if shapes.observed() {
        data.insert("callChainId".into(), call.call_chain_id.clone().into());
    }
    Value::Object(data)
}

/// The terminated notification; live Graph re-sends an incoming call's direction, callback, caller and reason.
fn ended(call: &Call, shapes: Shapes, tokens: &ConversationTokens) -> Value {
    let mut data = call_change(call, shapes);
    if let Some(result) = &call.result_info {
        data.insert("resultInfo".into(), result_info(result, shapes));
    }
    if shapes.observed() {
        if let Some(issued_at) = call.conversation.token_issued_at() {
            // Live Graph's terminated updates keep the conversation's token (group-terminated-last-participant).
            data.insert("meetingInfo".into(), token_meeting_info(call, issued_at, tokens));
        }
        meeting_capability(&mut data);
        if call.direction == Direction::Incoming {
            data.insert("direction".into(), direction(call));
            if let Some(uri) = &call.callback_uri {
                data.insert("callbackUri".into(), uri.clone().into());
            }
            if let Some(source) = call.resource.get("source") {
                data.insert("source".into(), source.clone());
            }
        }
    }
    if let Some(reason) = &call.termination_reason {
        data.insert("terminationReason".into(), reason.clone().into());
    }
    call_update(data, call, shapes)
}

fn media_prompt(prompt: &Prompt) -> Value {
    let mut info = json!({"@odata.type": "#microsoft.graph.mediaInfo", "uri": prompt.uri});
    if let Some(id) = &prompt.resource_id {
        info["resourceId"] = id.clone().into();
    }
    json!({"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": info})
}

/// A call state change: the state and, for meetings, the chat and meeting info (docs:application-post-calls
/// example 5); the docs' examples add the call's `@odata.id`, `@odata.etag` and `id`, which live Graph does not
/// send (none in 2021–2025).
fn call_change(call: &Call, shapes: Shapes) -> Map<String, Value> {
    let documented = !shapes.observed();
    let mut data = Map::new();
    data.insert("@odata.type".into(), graph_type("call"));
    if documented {
        data.insert("@odata.id".into(), call_path(&call.id).into());
        data.insert("@odata.etag".into(), etag(call).into());
    }
    data.insert("state".into(), call.state.as_str().into());
    if matches!(call.kind, CallKind::Meeting { .. }) {
        for name in ["chatInfo", "meetingInfo"] {
            if let Some(value) = call.resource.get(name) {
                data.insert(name.into(), value.clone());
            }
        }
    }
    if documented {
        data.insert("id".into(), call.id.clone().into());
    }
    data
}

/// The whole call, as the incoming (docs:call-answer) and redirected (docs:call-redirect) notifications carry it;
/// live Graph's offers carry the call's `id` but no `@odata.id` or `@odata.etag`.
fn full_call(call: &Call, shapes: Shapes) -> Value {
    let mut data = call_change(call, shapes);
    for name in ["direction", "callbackUri", "source", "targets", "requestedModalities", "tenantId", "incomingContext"]
    {
        if let Some(value) = call.resource.get(name) {
            data.insert(name.into(), value.clone());
        }
    }
    data.extend(state_properties(call, shapes).into_iter().filter(|(_, v)| !v.is_null()));
    if shapes.observed() {
        observed_offer(&mut data, call);
    }
    Value::Object(data)
}

/// Live offers name the caller's leg (`source.id`, `endpointType`) and tenant, and give an application instance
/// target an empty region and language (comms-samples #191, #417, msteams-docs#9159, #9170).
fn observed_offer(data: &mut Map<String, Value>, call: &Call) {
    if call.direction == Direction::Incoming
        && let Some(Value::Object(source)) = data.get_mut("source")
    {
        if let Some(caller) = call.peers.first() {
            source.entry("id").or_insert_with(|| caller.participant_id.clone().into());
        }
        source.entry("endpointType").or_insert_with(|| "default".into());
        if let Some(identity) = source.get("identity") {
            let identity = IdentitySet::from_json(identity).observed(&call.tenant_id.to_string()).to_json();
            source.insert("identity".into(), identity);
        }
    }
    for target in data.get_mut("targets").and_then(Value::as_array_mut).into_iter().flatten() {
        if target["identity"].get("applicationInstance").is_some()
            && let Some(target) = target.as_object_mut()
        {
            target.entry("region").or_insert_with(|| "".into());
            target.entry("languageId").or_insert_with(|| "".into());
        }
    }
}
