//! Graph JSON from the engine's documents: the call entity `GET` and `POST` return, operations, and the bodies of
//! `commsNotifications` (graph-calls.md §c), in the shapes of the docs examples they cite.

use serde_json::{Map, Value, json};
use switchboard_catalogue::ApiVersion;
use switchboard_engine::{
    Notification, NotificationKind,
    model::{Call, CallKind, Operation, OperationStatus, Peer, ResultInfo},
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

/// A participant of the roster: the bot itself, or a connected party.
fn participant(id: &str, identity: &Value, muted: bool, source_id: usize) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.participant",
        "id": id,
        "info": {
            "@odata.type": "#microsoft.graph.participantInfo",
            "identity": identity,
            "languageId": "en-US",
        },
        "mediaStreams": [{
            "@odata.type": "#microsoft.graph.mediaStream",
            "mediaType": "audio",
            "sourceId": source_id.to_string(),
            "direction": "sendReceive",
            "serverMuted": false,
        }],
        "isMuted": muted,
        "isInLobby": false,
    })
}

/// The roster: the bot, then everyone connected, in the order they came.
pub fn roster(call: &Call) -> Vec<Value> {
    let bot_identity = call.resource.get("source").and_then(|s| s.get("identity")).cloned().unwrap_or(Value::Null);
    let mut roster = vec![participant(&call.my_participant_id, &bot_identity, call.bot.muted, 1)];
    roster.extend(
        call.connected_parties()
            .enumerate()
            .map(|(i, p): (usize, &Peer)| participant(&p.participant_id, &p.identity, false, i + 2)),
    );
    roster
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
        NotificationKind::RosterChanged => {
            resource_url = format!("{}/participants", call_path(&call.id));
            ("updated", Value::Array(roster(call)))
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
