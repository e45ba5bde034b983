//! Stored call documents of earlier schemas read as this build's.

mod harness;

use std::time::Duration;

use harness::*;
use serde_json::{Value, json};
use switchboard_catalogue::ApiVersion;
use switchboard_engine::{
    ActionKind, ActionRequest, Call, Command,
    model::{CallKind, CallState, Direction, EndpointKind, MediaHosting, Prompt, SCHEMA_VERSION, upgrade},
};

/// A call document as schema 1 stored it: hold prompts as Graph's `mediaPrompt`, the media hosting and the
/// application instance only in `resource`.
fn as_schema_1(call: &Call) -> Value {
    let mut document = serde_json::to_value(call).unwrap();
    let object = document.as_object_mut().unwrap();
    object.remove("mediaHosting");
    object.remove("applicationInstance");
    object.insert("schemaVersion".into(), 1.into());
    object.insert("operations".into(), serde_json::to_value(&call.operations).unwrap());
    for peer in document["peers"].as_array_mut().unwrap() {
        if let Some(Value::Object(prompt)) = peer["roster"].get("holdPrompt").cloned() {
            peer["roster"]["holdPrompt"] = json!({"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": {"uri": prompt["uri"], "resourceId": prompt["resourceId"]}});
        }
    }
    document
}

#[test]
fn a_schema_1_document_upgrades_to_what_this_build_would_have_written() {
    let mut setup = setup(
        Direction::Outgoing,
        CallKind::Group,
        vec![
            peer("a", EndpointKind::User, answers_after(0), None),
            peer("b", EndpointKind::User, answers_after(0), None),
        ],
        ApiVersion::V1,
    );
    setup.resource.insert(
        "source".into(),
        json!({"identity": {"applicationInstance": {"id": "instance-1", "displayName": "IVR"}}}),
    );
    setup.resource.insert("mediaConfig".into(), json!({"@odata.type": "#microsoft.graph.appHostedMediaConfig"}));
    setup.media_hosting = MediaHosting::App;
    setup.application_instance = Some("instance-1".into());
    let mut h = Harness::start(setup);
    h.advance(Duration::ZERO);
    assert_eq!(h.call.state, CallState::Established);
    let prompt = Prompt { uri: "https://bot.example/hold.wav".into(), resource_id: Some("r1".into()) };
    let hold = ActionKind::StartHoldMusic { participant_id: "a".into(), prompt: Some(prompt) };
    h.send(Command::Action(ActionRequest { operation_id: "h".into(), kind: hold, client_context: None })).unwrap();

    let mut document = as_schema_1(&h.call);
    upgrade(&mut document);
    assert_eq!(document["schemaVersion"], SCHEMA_VERSION);
    let upgraded: Call = serde_json::from_value(document).unwrap();
    assert_eq!(upgraded, h.call);

    // An incoming call's instance is the one it was placed to; a service-hosted call stays one.
    let mut incoming = Harness::incoming(answers_after(0), None).call;
    std::sync::Arc::make_mut(&mut incoming.resource)
        .insert("targets".into(), json!([{"identity": {"applicationInstance": {"id": "instance-2"}}}]));
    incoming.application_instance = Some("instance-2".into());
    let mut document = as_schema_1(&incoming);
    upgrade(&mut document);
    assert_eq!(serde_json::from_value::<Call>(document).unwrap(), incoming);
}
