//! Graph JSON from the engine's documents: the call entity `GET` and `POST` return, operations, and the bodies of
//! `commsNotifications` (graph-calls.md §c), in the shapes of the docs examples they cite.

use serde_json::{Map, Value, json};
use switchboard_catalogue::ApiVersion;
use switchboard_engine::{
    Change, Notification, NotificationKind,
    model::{
        AudioRoutingGroup, Call, CallKind, ContentSharingSession, Direction, Operation, OperationStatus, Peer,
        ResultInfo,
    },
};

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

fn result_info(result: &ResultInfo) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.resultInfo",
        "code": result.code,
        "subcode": result.subcode,
        "message": result.message,
    })
}

fn media_state(call: &Call) -> Value {
    json!({"@odata.type": "#microsoft.graph.callMediaState", "audio": if call.audio_active { "active" } else { "inactive" }})
}

/// The properties Graph returns for every call, `null` until known: the v1.0 create-call responses list beta ones
/// too (`ringingTimeoutInSeconds`, `answeredBy`, `terminationReason`, …; docs:application-post-calls examples 2–9).
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
pub fn call_entity(call: &Call, version: ApiVersion, base_url: &str) -> Value {
    let mut body = Map::new();
    body.insert("@odata.type".into(), graph_type("call"));
    for name in CALL_PROPERTIES {
        body.insert((*name).into(), call.resource.get(*name).cloned().unwrap_or(Value::Null));
    }
    for (name, value) in &call.resource {
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
    let owned = state_properties(call);
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
    body.insert("@odata.context".into(), format!("{base_url}/{}/$metadata#app/calls/$entity", version.as_str()).into());
    Value::Object(body)
}

/// The properties the engine owns, which override anything echoed from the request.
fn state_properties(call: &Call) -> Map<String, Value> {
    let mut properties = Map::new();
    properties.insert("state".into(), call.state.as_str().into());
    properties.insert("direction".into(), serde_json::to_value(call.direction).expect("a direction always serialises"));
    properties.insert("id".into(), call.id.clone().into());
    properties.insert("myParticipantId".into(), call.my_participant_id.clone().into());
    properties.insert("callChainId".into(), call.call_chain_id.clone().into());
    properties.insert("callbackUri".into(), call.callback_uri.clone().map_or(Value::Null, Value::String));
    properties.insert("resultInfo".into(), call.result_info.as_ref().map_or(Value::Null, result_info));
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
pub fn operation_entity(operation: &Operation, version: ApiVersion, base_url: &str) -> Value {
    let mut body = operation_data(operation);
    body.insert(
        "@odata.context".into(),
        format!("{base_url}/{}/$metadata#{}", version.as_str(), operation.odata_type).into(),
    );
    body.insert("resultInfo".into(), operation.result_info.as_ref().map_or(Value::Null, result_info));
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
    id: &'a str,
    identity: Value,
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

/// The identity of the bot's own leg: the source of a call it placed, the target of a call it got.
fn bot_identity(call: &Call) -> Value {
    let identity = match call.direction {
        Direction::Outgoing => call.resource.get("source").and_then(|s| s.get("identity")),
        Direction::Incoming => call.resource.get("targets").and_then(|t| t.get(0)).and_then(|t| t.get("identity")),
    };
    identity.cloned().unwrap_or(Value::Null)
}

fn bot_entry(call: &Call) -> Entry<'_> {
    Entry {
        id: &call.my_participant_id,
        identity: bot_identity(call),
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

fn peer_entry(peer: &Peer, position: usize) -> Entry<'_> {
    Entry {
        id: &peer.participant_id,
        identity: peer.identity.clone(),
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

/// A participant (res:participant), with the v1.0 properties; beta adds its own.
fn participant(version: ApiVersion, entry: &Entry<'_>) -> Value {
    let mut body = json!({
        "@odata.type": "#microsoft.graph.participant",
        "id": entry.id,
        "info": {
            "@odata.type": "#microsoft.graph.participantInfo",
            "identity": entry.identity,
            "endpointType": "default",
            "languageId": "en-US",
            "region": null,
            "countryCode": null,
            "participantId": entry.id,
        },
        "mediaStreams": [{
            "@odata.type": "#microsoft.graph.mediaStream",
            "mediaType": "audio",
            "label": "main-audio",
            "sourceId": (entry.position + 1).to_string(),
            "direction": "sendReceive",
            "serverMuted": entry.server_muted,
        }],
        "isMuted": entry.client_muted || entry.server_muted,
        "isInLobby": entry.in_lobby,
        "metadata": null,
        "recordingInfo": null,
        "removedState": null,
        "restrictedExperience": null,
        "rosterSequenceNumber": entry.sequence,
    });
    if let Some(status) = entry.recording_status {
        body["recordingInfo"] = json!({
            "@odata.type": "#microsoft.graph.recordingInfo",
            "initiator": entry.identity,
            "recordingStatus": status,
        });
    }
    if let Some(reason) = entry.removed_reason {
        body["removedState"] = json!({"@odata.type": "#microsoft.graph.removedState", "reason": reason});
    }
    if version == ApiVersion::Beta
        && let Some(malicious) = entry.synthetic_media_malicious
    {
        body["syntheticMediaDetection"] =
            json!({"@odata.type": "#microsoft.graph.syntheticMediaDetectionInfo", "isParticipantTrusted": !malicious});
    }
    body
}

/// The roster: the bot (unless hidden after an escalation), then everyone on the roster, in the order they came.
fn roster_entries(call: &Call) -> Vec<Entry<'_>> {
    let mut entries = Vec::new();
    if !call.bot.hidden {
        entries.push(bot_entry(call));
    }
    entries.extend(call.peers.iter().enumerate().filter(|(_, p)| p.is_on_roster()).map(|(i, p)| peer_entry(p, i + 1)));
    entries
}

/// `GET …/participants` and the roster notifications, for a version of the API.
pub fn roster(call: &Call, version: ApiVersion) -> Vec<Value> {
    roster_entries(call).iter().map(|entry| participant(version, entry)).collect()
}

/// One participant (`GET …/participants/{id}`), the bot's own leg included; `None` if not on the roster.
pub fn participant_entity(call: &Call, version: ApiVersion, participant_id: &str) -> Option<Value> {
    let entries = roster_entries(call);
    entries.iter().find(|e| e.id.eq_ignore_ascii_case(participant_id)).map(|entry| participant(version, entry))
}

/// A delta roster (`callOptions.isDeltaRosterEnabled`): only who changed, those who left with their
/// `removedState`. Graph documents the resource (`deltaParticipants`: `sequenceNumber`, `participants`), not the
/// notification that carries it; it is sent where the full roster would be.
fn delta_roster(call: &Call, changed: &[String]) -> Value {
    let entries: Vec<Value> = changed
        .iter()
        .filter_map(|id| {
            if call.is_bot(id) {
                return Some(participant(call.api_version, &bot_entry(call)));
            }
            let (position, peer) = call.peers.iter().enumerate().find(|(_, p)| p.participant_id == *id)?;
            let mut entry = peer_entry(peer, position + 1);
            if !peer.is_on_roster() && entry.removed_reason.is_none() {
                entry.removed_reason = Some("left");
            }
            Some(participant(call.api_version, &entry))
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
pub fn collection(base_url: &str, version: ApiVersion, call_id: &str, segment: &str, value: Vec<Value>) -> Value {
    json!({
        "@odata.context": format!("{base_url}/{}/$metadata#communications/calls('{call_id}')/{segment}", version.as_str()),
        "value": value,
    })
}

/// The `commsNotifications` body of one notification, sent to `callback_uri`.
pub fn notification(notification: &Notification, callback_uri: &str) -> Value {
    let call = &notification.call;
    let mut resource_url = call_path(&call.id);
    let (change_type, resource_data) = match &notification.kind {
        NotificationKind::Incoming => ("created", full_call(call)),
        NotificationKind::StateChanged { result_info: result } => {
            let mut data = call_change(call);
            if let Some(result) = result {
                data.insert("resultInfo".into(), result_info(result));
            }
            ("updated", Value::Object(data))
        }
        NotificationKind::MediaStateChanged => {
            let mut data = call_change(call);
            data.insert("mediaState".into(), media_state(call));
            ("updated", Value::Object(data))
        }
        NotificationKind::Ended => {
            let mut data = call_change(call);
            if let Some(result) = &call.result_info {
                data.insert("resultInfo".into(), result_info(result));
            }
            if let Some(reason) = &call.termination_reason {
                data.insert("terminationReason".into(), reason.clone().into());
            }
            ("deleted", Value::Object(data))
        }
        NotificationKind::ToneReceived { tone, sequence_id } => {
            // docs:call-subscribetotone: the tone, with no participant id (docs-contrib issue #1130).
            let mut data = call_change(call);
            data.insert(
                "toneInfo".into(),
                json!({"@odata.type": "#microsoft.graph.toneInfo", "sequenceId": sequence_id, "tone": tone}),
            );
            ("updated", Value::Object(data))
        }
        NotificationKind::Rejected => {
            ("deleted", json!({"@odata.type": "#microsoft.graph.call", "@odata.id": call_path(&call.id)}))
        }
        NotificationKind::Redirected => ("deleted", full_call(call)),
        NotificationKind::RosterChanged { changed } => {
            resource_url = format!("{}/participants", call_path(&call.id));
            let data = if delta_roster_enabled(call) {
                delta_roster(call, changed)
            } else {
                Value::Array(roster(call, call.api_version))
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
            data.insert("@odata.id".into(), resource_url.clone().into());
            data.insert("@odata.etag".into(), etag(call).into());
            if operation.status != OperationStatus::Running
                && let Some(result) = &operation.result_info
            {
                data.insert("resultInfo".into(), result_info(result));
            }
            ("deleted", Value::Object(data))
        }
    };
    json!({
        "@odata.type": "#microsoft.graph.commsNotifications",
        "value": [{
            "@odata.type": "#microsoft.graph.commsNotification",
            "changeType": change_type,
            "resourceUrl": resource_url,
            "callbackUri": callback_uri,
            "resourceData": resource_data,
        }]
    })
}

/// A call state change: the state, the call's id, and for meetings the chat and meeting info
/// (docs:application-post-calls example 5).
fn call_change(call: &Call) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("@odata.type".into(), graph_type("call"));
    data.insert("@odata.id".into(), call_path(&call.id).into());
    data.insert("@odata.etag".into(), etag(call).into());
    data.insert("state".into(), call.state.as_str().into());
    if matches!(call.kind, CallKind::Meeting { .. }) {
        for name in ["chatInfo", "meetingInfo"] {
            if let Some(value) = call.resource.get(name) {
                data.insert(name.into(), value.clone());
            }
        }
    }
    data.insert("id".into(), call.id.clone().into());
    data
}

/// The whole call, as the incoming (docs:call-answer) and redirected (docs:call-redirect) notifications carry it.
fn full_call(call: &Call) -> Value {
    let mut data = call_change(call);
    for name in ["direction", "callbackUri", "source", "targets", "requestedModalities", "tenantId", "incomingContext"]
    {
        if let Some(value) = call.resource.get(name) {
            data.insert(name.into(), value.clone());
        }
    }
    data.extend(state_properties(call).into_iter().filter(|(_, v)| !v.is_null()));
    Value::Object(data)
}
