//! Incoming calls (docs:call-answer, docs:call-reject, docs:call-redirect): a simulated user calls the app, the
//! app's registered webhook gets the call, and the bot answers, rejects, redirects, or lets it time out.

use serde_json::json;

use crate::support::{DEV_APP, DEV_TENANT, Harness, USER_CALL_SETUP, answers_after, user_identity};

fn answer_body(callback: &str) -> serde_json::Value {
    json!({
        "callbackUri": callback,
        "acceptedModalities": ["audio"],
        "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
    })
}

#[tokio::test]
async fn an_incoming_call_reaches_the_registered_webhook_with_the_whole_call() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let (incoming, id) = h.incoming_from(&alice).await;
    assert_eq!(incoming.path, "/incoming", "incoming calls go to the app's registered calling webhook");
    assert_eq!(incoming.resource_url(), format!("/communications/calls/{id}"));
    let call = incoming.data();
    assert_eq!((call["state"].as_str(), call["direction"].as_str()), (Some("incoming"), Some("incoming")));
    assert_eq!(call["@odata.type"], "#microsoft.graph.call");
    assert_eq!(call["source"]["identity"]["user"]["id"], alice.as_str());
    assert_eq!(call["source"]["identity"]["user"]["displayName"], "Alice");
    // As live offers: the caller's leg, its endpoint type and tenant (docs/fidelity.md).
    assert!(call["source"]["id"].is_string() && call["source"]["endpointType"] == "default", "{}", call["source"]);
    assert_eq!(call["source"]["identity"]["user"]["tenantId"], DEV_TENANT);
    assert_eq!(call["targets"][0]["identity"]["application"]["id"], DEV_APP);
    assert_eq!(call["requestedModalities"], json!(["audio"]));
    assert_eq!(call["tenantId"], DEV_TENANT);
    assert_eq!(call["callbackUri"], format!("{}/incoming", h.receiver.url));
    assert!(call["myParticipantId"].is_string() && call["id"] == id.as_str(), "offers carry the call's id");
    assert!(call.get("@odata.etag").is_none() && call.get("@odata.id").is_none(), "live Graph sends neither");
    assert_eq!(incoming.notification["resource"], format!("/app/calls/{id}"));

    let got = h.graph("GET", &format!("/v1.0/communications/calls/{id}"), None).await.expect(200);
    assert_eq!(got.body["state"], "incoming");
}

#[tokio::test]
async fn an_incoming_call_not_acted_on_within_15_seconds_ends() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let (_, id) = h.incoming_from(&alice).await;
    h.advance(14.9).await;
    assert_eq!(h.inspect(&id).await["state"], "incoming");
    h.advance(0.1).await;
    let ended = h.receiver.next().await;
    assert_eq!(ended.summary(), "deleted terminated");
    assert_eq!(ended.result(), Some((408, 1106)));
    let late =
        h.graph("POST", &format!("/v1.0/communications/calls/{id}/answer"), Some(&answer_body(&h.callback()))).await;
    assert_eq!(late.expect(404).error_code(), "8522", "too late: the call is gone");
}

#[tokio::test]
async fn answering_establishes_the_call_on_the_answers_callback() {
    let h = Harness::start().await;
    let alice = h.user("Alice", json!({"response": {"kind": "answer", "afterMs": 0}, "hangUpAfterMs": 60000})).await;
    let (_, id) = h.incoming_from(&alice).await;
    let answered =
        h.graph("POST", &format!("/v1.0/communications/calls/{id}/answer"), Some(&answer_body(&h.callback()))).await;
    assert!(answered.expect(202).body.is_null(), "docs:call-answer: 202 Accepted, no body");
    let notifications = h.receiver.take(USER_CALL_SETUP.len()).await;
    let summaries: Vec<String> = notifications.iter().map(|n| n.summary()).collect();
    assert_eq!(summaries, USER_CALL_SETUP);
    assert!(notifications.iter().all(|n| n.path == "/callback"), "after answering, the answer's callbackUri");

    let twice =
        h.graph("POST", &format!("/v1.0/communications/calls/{id}/answer"), Some(&answer_body(&h.callback()))).await;
    assert_eq!(twice.expect(400).error_code(), "BadRequest");
    h.advance(15.0).await;
    assert_eq!(h.inspect(&id).await["state"], "established", "the 15-second deadline no longer applies");
    h.advance(45.0).await;
    assert_eq!(h.receiver.next().await.result(), Some((200, 5002)), "Alice hangs up after a minute");
}

#[tokio::test]
async fn rejecting_deletes_the_call_with_only_its_id() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let (_, id) = h.incoming_from(&alice).await;
    let body = json!({"reason": "busy", "callbackUri": h.callback()});
    h.graph("POST", &format!("/v1.0/communications/calls/{id}/reject"), Some(&body)).await.expect(202);
    let deleted = h.receiver.next().await;
    assert_eq!(deleted.change_type(), "deleted");
    assert_eq!(deleted.path, "/callback", "the reject's callbackUri");
    // No rejection was recorded from live Graph; the documented shape is tested in fidelity.rs.
    assert_eq!(deleted.state(), "terminated");
    assert!(deleted.data().get("@odata.id").is_none());
}

fn redirect_target(id: &str) -> serde_json::Value {
    json!({"@odata.type": "#microsoft.graph.invitationParticipantInfo", "identity": user_identity(id)})
}

#[tokio::test]
async fn a_redirected_call_ends_when_a_target_answers() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let slow = h.user("Slow", json!({"response": {"kind": "ring"}})).await;
    let quick = h.user("Quick", answers_after(4000)).await;
    let (_, id) = h.incoming_from(&alice).await;
    let body = json!({"targets": [redirect_target(&slow), redirect_target(&quick)], "callbackUri": h.callback()});
    h.graph("POST", &format!("/v1.0/communications/calls/{id}/redirect"), Some(&body)).await.expect(202);
    h.advance(4.0).await;
    let deleted = h.receiver.next().await;
    assert_eq!(deleted.summary(), "deleted terminated");
    let call = deleted.data();
    assert_eq!(call["direction"], "incoming", "docs:call-redirect: the whole call");
    assert_eq!(call["source"]["identity"]["user"]["id"], alice.as_str());
    assert_eq!(call["answeredBy"]["identity"]["user"]["id"], quick.as_str(), "who picked up");
    assert!(call.get("resultInfo").is_none(), "{call}");
}

#[tokio::test]
async fn a_redirect_nobody_takes_ends_with_the_reason() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let ringer = h.user("Ringer", json!({"response": {"kind": "ring"}})).await;
    let (_, id) = h.incoming_from(&alice).await;
    let body = json!({"targets": [redirect_target(&ringer)], "timeout": 20});
    h.graph("POST", &format!("/v1.0/communications/calls/{id}/redirect"), Some(&body)).await.expect(202);
    h.advance(15.0).await;
    assert_eq!(h.inspect(&id).await["state"], "redirecting", "the answer deadline no longer applies");
    h.advance(5.0).await;
    let deleted = h.receiver.next().await;
    assert_eq!(deleted.result(), Some((408, 10057)), "the redirect timeout passed");

    let busy = h.user("Busy", json!({"response": {"kind": "reject", "afterMs": 1000, "declined": false}})).await;
    let (_, id) = h.incoming_from(&alice).await;
    let body = json!({"targets": [redirect_target(&busy)]});
    h.graph("POST", &format!("/v1.0/communications/calls/{id}/redirect"), Some(&body)).await.expect(202);
    h.advance(1.0).await;
    assert_eq!(h.receiver.next().await.result(), Some((486, 0)), "the only target was busy");
}

#[tokio::test]
async fn redirect_limits_are_checked_before_anything_happens() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let (_, id) = h.incoming_from(&alice).await;
    let too_many: Vec<_> = (0..26).map(|i| redirect_target(&format!("0c0ffee0-0000-4000-8000-{i:012}"))).collect();
    let reply = h
        .graph("POST", &format!("/v1.0/communications/calls/{id}/redirect"), Some(&json!({"targets": too_many})))
        .await;
    assert!(reply.expect(400).error_message().contains("'targets' has 26 entries"));
    let reply = h
        .graph(
            "POST",
            &format!("/v1.0/communications/calls/{id}/redirect"),
            Some(&json!({"targets": [redirect_target(&alice)], "timeout": 10})),
        )
        .await;
    assert!(reply.expect(400).error_message().contains("15 to 90 seconds"));
    assert_eq!(h.inspect(&id).await["state"], "incoming", "nothing happened to the call");
}

#[tokio::test]
async fn the_caller_hanging_up_before_the_answer_ends_the_call() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let (_, id) = h.incoming_from(&alice).await;
    h.sim("POST", &format!("/calls/{id}/participants/{alice}/hangUp"), None).await.expect(200);
    let ended = h.receiver.next().await;
    assert_eq!(ended.result(), Some((200, 5002)));
}
