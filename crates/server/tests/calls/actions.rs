//! Call-level actions that answer with an operation (docs:call-mute, call-unmute, call-updaterecordingstatus,
//! call-addlargegalleryview, call-changescreensharingrole, call-subscribetotone; beta recording and
//! transcription), and `GET …/operations/{id}`.

use serde_json::{Value, json};

use crate::support::{Harness, USER_CALL_SETUP, answers_after, user_identity};

/// An established group call with one participant besides the bot, its notifications taken.
async fn group_call(h: &Harness, media: Value) -> (String, String) {
    let a = h.user("A", answers_after(0)).await;
    let b = h.user("B", json!({"response": {"kind": "ring"}})).await;
    let mut body = h.call_body(vec![user_identity(&a), user_identity(&b)]);
    body["mediaConfig"] = media;
    let id = h.place("v1.0", &body).await;
    h.advance(0.0).await;
    h.receiver.take(5).await;
    (id, a)
}

fn service_hosted() -> Value {
    json!({"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"})
}

#[tokio::test]
async fn mute_answers_with_a_completed_operation_and_updates_the_roster() {
    let h = Harness::start().await;
    let (id, _) = group_call(&h, service_hosted()).await;
    let reply = h
        .graph("POST", &format!("/v1.0/communications/calls/{id}/mute"), Some(&json!({"clientContext": "ctx-1"})))
        .await;
    let reply = reply.expect(200);
    let operation = &reply.body;
    let operation_id = operation["id"].as_str().unwrap();
    assert_eq!(operation["@odata.type"], "#microsoft.graph.muteParticipantOperation");
    assert_eq!(operation["@odata.context"], format!("{}/v1.0/$metadata#muteParticipantOperation", h.base));
    assert_eq!((operation["status"].as_str(), operation["clientContext"].as_str()), (Some("completed"), Some("ctx-1")));
    assert_eq!(
        reply.headers["location"].to_str().unwrap(),
        format!("{}/v1.0/communications/calls/{id}/operations/{operation_id}", h.base),
        "docs:call-mute: Location of the operation"
    );
    let roster = h.receiver.next().await;
    assert!(roster.resource_url().ends_with("/participants"));
    assert_eq!(roster.data()[0]["isMuted"], true, "docs:call-mute: the roster shows the bot muted");

    let got =
        h.graph("GET", &format!("/v1.0/communications/calls/{id}/operations/{operation_id}"), None).await.expect(200);
    assert_eq!((got.body["id"].as_str(), got.body["status"].as_str()), (Some(operation_id), Some("completed")));
    h.graph("GET", &format!("/v1.0/communications/calls/{id}/operations/00000000-0000-0000-0000-000000000000"), None)
        .await
        .expect(404);

    let unmuted =
        h.graph("POST", &format!("/v1.0/communications/calls/{id}/unmute"), Some(&json!({}))).await.expect(200);
    assert_eq!(unmuted.body["@odata.type"], "#microsoft.graph.unmuteParticipantOperation");
    assert_eq!(h.receiver.next().await.data()[0]["isMuted"], false);
}

#[tokio::test]
async fn mute_is_for_group_calls_only() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.advance(0.0).await;
    let refused = h.graph("POST", &format!("/v1.0/communications/calls/{id}/mute"), Some(&json!({}))).await.expect(400);
    assert!(refused.error_message().contains("only supported for group calls"), "{}", refused.error_message());
    let recording = json!({"status": "recording", "clientContext": "c"});
    let reply =
        h.graph("POST", &format!("/v1.0/communications/calls/{id}/updateRecordingStatus"), Some(&recording)).await;
    let operation = reply.expect(200).body;
    assert_eq!(operation["@odata.type"], "#microsoft.graph.updateRecordingStatusOperation");
    assert_eq!(
        (operation["status"].as_str(), operation["resultInfo"]["code"].as_i64()),
        (Some("completed"), Some(200))
    );
}

#[tokio::test]
async fn add_large_gallery_view_completes_with_a_notification() {
    let h = Harness::start().await;
    let (id, _) = group_call(&h, service_hosted()).await;
    let reply = h
        .graph(
            "POST",
            &format!("/v1.0/communications/calls/{id}/addLargeGalleryView"),
            Some(&json!({"clientContext": "785f4929"})),
        )
        .await
        .expect(202);
    assert_eq!(reply.body["status"], "running", "docs:call-addlargegalleryview: 202 with the operation running");
    let operation_id = reply.body["id"].as_str().unwrap().to_owned();
    // Completed in the change that accepted it, as nothing has to wait for it.
    let now = h.graph("GET", &format!("/v1.0/communications/calls/{id}/operations/{operation_id}"), None).await;
    assert_eq!(now.expect(200).body["status"], "completed");
    let completed = h.receiver.next().await;
    assert_eq!(completed.change_type(), "deleted");
    assert_eq!(completed.resource_url(), format!("/communications/calls/{id}/operations/{operation_id}"));
    assert_eq!(completed.data()["@odata.type"], "#microsoft.graph.addLargeGalleryViewOperation");
    assert_eq!(
        (completed.data()["status"].as_str(), completed.data()["clientContext"].as_str()),
        (Some("completed"), Some("785f4929"))
    );
}

#[tokio::test]
async fn screen_sharing_role_needs_app_hosted_media() {
    let h = Harness::start().await;
    let (id, _) = group_call(&h, service_hosted()).await;
    let role = json!({"role": "sharer"});
    let refused =
        h.graph("POST", &format!("/v1.0/communications/calls/{id}/changeScreenSharingRole"), Some(&role)).await;
    assert!(refused.expect(400).error_message().contains("app-hosted media"));
    let (id, _) =
        group_call(&h, json!({"@odata.type": "#microsoft.graph.appHostedMediaConfig", "blob": "<config>"})).await;
    let accepted =
        h.graph("POST", &format!("/v1.0/communications/calls/{id}/changeScreenSharingRole"), Some(&role)).await;
    assert!(accepted.expect(202).body.is_null(), "202 with no body");
}

#[tokio::test]
async fn pressed_keys_are_notified_after_subscribe_to_tone() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.advance(0.0).await;
    h.receiver.take(USER_CALL_SETUP.len()).await;
    let press = json!({"keys": "1#"});
    h.sim("POST", &format!("/calls/{id}/participants/{alice}/pressKeys"), Some(&press)).await.expect(202);
    // Each key lasts 100 ms with 100 ms after it: the media engine hears them as time passes.
    h.advance(1.0).await;
    assert!(h.journal(&id).await.len() == USER_CALL_SETUP.len(), "without a subscription Graph sends no tones");

    let reply = h
        .graph(
            "POST",
            &format!("/v1.0/communications/calls/{id}/subscribeToTone"),
            Some(&json!({"clientContext": "t"})),
        )
        .await;
    assert_eq!(reply.expect(200).body["@odata.type"], "#microsoft.graph.subscribeToToneOperation");
    h.sim("POST", &format!("/calls/{id}/participants/{alice}/pressKeys"), Some(&press)).await.expect(202);
    h.advance(1.0).await;
    let tones = h.receiver.take(2).await;
    assert_eq!(tones[0].summary(), "updated established");
    assert_eq!(
        tones[0].data()["toneInfo"],
        json!({"@odata.type": "#microsoft.graph.toneInfo", "sequenceId": 1, "tone": "tone1"})
    );
    assert_eq!(tones[1].data()["toneInfo"]["tone"], "pound");
    assert_eq!(tones[1].data()["toneInfo"]["sequenceId"], 2);
    let bad = h.sim("POST", &format!("/calls/{id}/participants/{alice}/pressKeys"), Some(&json!({"keys": "x"}))).await;
    assert!(bad.expect(400).error_message().contains("not a DTMF key"));
}

#[tokio::test]
async fn beta_transcription_shows_in_the_call() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.advance(0.0).await;
    let started = h
        .graph(
            "POST",
            &format!("/beta/communications/calls/{id}/startTranscription"),
            Some(&json!({"language": "en-US"})),
        )
        .await;
    assert_eq!(started.expect(200).body["language"], "en-US");
    let call = h.graph("GET", &format!("/beta/communications/calls/{id}"), None).await.expect(200).body;
    assert_eq!(call["transcription"]["state"], "active");
    h.graph("POST", &format!("/beta/communications/calls/{id}/stopTranscription"), Some(&json!({}))).await.expect(200);
    let call = h.graph("GET", &format!("/beta/communications/calls/{id}"), None).await.expect(200).body;
    assert_eq!(call["transcription"]["state"], "inactive");
    h.graph("POST", &format!("/beta/communications/calls/{id}/startRecording"), Some(&json!({}))).await.expect(200);
    let stopped =
        h.graph("POST", &format!("/beta/communications/calls/{id}/stopRecording"), Some(&json!({}))).await.expect(200);
    assert_eq!(stopped.body["@odata.type"], "#microsoft.graph.stopRecordingOperation");
}

#[tokio::test]
async fn actions_need_an_established_call() {
    let h = Harness::start().await;
    let ringer = h.user("Ringer", json!({"response": {"kind": "ring"}})).await;
    let id = h.call(user_identity(&ringer)).await["id"].as_str().unwrap().to_owned();
    let recording = json!({"status": "recording"});
    let refused =
        h.graph("POST", &format!("/v1.0/communications/calls/{id}/updateRecordingStatus"), Some(&recording)).await;
    assert!(
        refused.expect(400).error_message().contains("needs a call that is established; this call is establishing")
    );
}
