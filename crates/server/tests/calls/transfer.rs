//! Transfers (docs:call-transfer): blind, consultative with `replacesCallId`, and from a group call with
//! `transferee`; transferring → transferAccepted → terminated, or back to established on failure.

use serde_json::{Value, json};

use crate::support::{Harness, USER_CALL_SETUP, answers_after, user_identity};

/// An established call from the bot to a new simulated user; returns the call id and the user id.
async fn established(h: &Harness, name: &str) -> (String, String) {
    let user = h.user(name, answers_after(0)).await;
    let id = h.call(user_identity(&user)).await["id"].as_str().unwrap().to_owned();
    h.advance(0.0).await;
    assert_eq!(h.receiver.summaries(5).await, USER_CALL_SETUP);
    (id, user)
}

fn transfer_to(user: &str) -> Value {
    json!({"transferTarget": {"@odata.type": "#microsoft.graph.invitationParticipantInfo", "endpointType": "default", "identity": user_identity(user)}})
}

#[tokio::test]
async fn a_blind_transfer_completes_when_the_target_answers() {
    let h = Harness::start().await;
    let (id, _) = established(&h, "Caller").await;
    let heidi = h.user("Heidi", answers_after(5000)).await;
    h.graph("POST", &format!("/v1.0/communications/calls/{id}/transfer"), Some(&transfer_to(&heidi))).await.expect(202);
    assert_eq!(h.receiver.next().await.summary(), "updated transferring");
    h.advance(5.0).await;
    let notifications = h.receiver.take(3).await;
    assert_eq!(notifications[0].summary(), "updated transferAccepted");
    assert_eq!(notifications[1].summary(), "updated transferAccepted audio inactive");
    assert_eq!(notifications[2].summary(), "deleted terminated");
    assert_eq!(notifications[2].result(), Some((0, 7015)));
    assert_eq!(notifications[2].data()["resultInfo"]["message"], "GracefulTransferCompleted. DiagCode: 0#7015.@");
}

#[tokio::test]
async fn a_failed_transfer_returns_the_call_to_established() {
    let h = Harness::start().await;
    let (id, _) = established(&h, "Caller").await;
    let busy = h.user("Busy", json!({"response": {"kind": "reject", "afterMs": 2000, "declined": false}})).await;
    h.graph("POST", &format!("/v1.0/communications/calls/{id}/transfer"), Some(&transfer_to(&busy))).await.expect(202);
    assert_eq!(h.receiver.next().await.summary(), "updated transferring");
    h.advance(2.0).await;
    let failed = h.receiver.next().await;
    assert_eq!(failed.summary(), "updated established", "docs:call-transfer: back to established");
    assert_eq!(failed.result(), Some((500, 7000)));

    let ringer = h.user("Ringer", json!({"response": {"kind": "ring"}})).await;
    h.graph("POST", &format!("/v1.0/communications/calls/{id}/transfer"), Some(&transfer_to(&ringer)))
        .await
        .expect(202);
    assert_eq!(h.receiver.next().await.summary(), "updated transferring");
    h.advance(60.0).await;
    assert_eq!(h.receiver.next().await.result(), Some((500, 7000)), "the target never answered");
    let got = h.graph("GET", &format!("/v1.0/communications/calls/{id}"), None).await.expect(200);
    assert_eq!(got.body["state"], "established");
}

#[tokio::test]
async fn a_consultative_transfer_replaces_the_bots_other_call() {
    let h = Harness::start().await;
    let (original, _) = established(&h, "Customer").await;
    let (consultation, heidi) = established(&h, "Heidi").await;
    let mut body = transfer_to(&heidi);
    body["transferTarget"]["replacesCallId"] = json!(consultation);
    h.graph("POST", &format!("/v1.0/communications/calls/{original}/transfer"), Some(&body)).await.expect(202);
    let notifications = h.receiver.take(5).await;
    let of = |call: &str| -> Vec<String> {
        notifications.iter().filter(|n| n.resource_url().ends_with(call)).map(|n| n.summary()).collect()
    };
    assert_eq!(
        of(&original),
        [
            "updated transferring",
            "updated transferAccepted",
            "updated transferAccepted audio inactive",
            "deleted terminated"
        ]
    );
    let completed =
        notifications.iter().find(|n| n.resource_url().ends_with(&original) && n.change_type() == "deleted").unwrap();
    assert_eq!(completed.data()["terminationReason"], "AppTransferred", "docs:call-transfer example 2");
    assert_eq!(of(&consultation), ["deleted terminated"], "the replaced call ends");
    h.graph("GET", &format!("/v1.0/communications/calls/{consultation}"), None).await.expect(404);
}

#[tokio::test]
async fn a_consultative_transfer_naming_no_call_of_the_app_fails() {
    let h = Harness::start().await;
    let (id, _) = established(&h, "Customer").await;
    let heidi = h.user("Heidi", answers_after(0)).await;
    let mut body = transfer_to(&heidi);
    body["transferTarget"]["replacesCallId"] = json!("00000000-0000-4000-8000-00000000dead");
    h.graph("POST", &format!("/v1.0/communications/calls/{id}/transfer"), Some(&body)).await.expect(202);
    assert_eq!(h.receiver.next().await.summary(), "updated transferring");
    let failed = h.receiver.next().await;
    assert_eq!((failed.summary().as_str(), failed.result()), ("updated established", Some((500, 7700))));
}

#[tokio::test]
async fn transfer_rules_depend_on_the_kind_of_call() {
    let h = Harness::start().await;
    let (id, caller) = established(&h, "Caller").await;
    let heidi = h.user("Heidi", answers_after(0)).await;
    let mut body = transfer_to(&heidi);
    body["transferee"] = json!({"identity": user_identity(&caller)});
    let refused = h.graph("POST", &format!("/v1.0/communications/calls/{id}/transfer"), Some(&body)).await.expect(400);
    assert!(refused.error_message().contains("only for transfers from a group call"), "{}", refused.error_message());

    let alice = h.user("Alice", answers_after(0)).await;
    let incoming = h.incoming_from(&alice).await.1;
    let refused =
        h.graph("POST", &format!("/v1.0/communications/calls/{incoming}/transfer"), Some(&transfer_to(&heidi))).await;
    assert!(refused.expect(400).error_message().contains("needs a call that is established"));
}

#[tokio::test]
async fn a_group_call_transfers_one_participant_and_continues() {
    let h = Harness::start().await;
    let a = h.user("A", answers_after(0)).await;
    let b = h.user("B", answers_after(0)).await;
    let heidi = h.user("Heidi", answers_after(1000)).await;
    let body = h.call_body(vec![user_identity(&a), user_identity(&b)]);
    let id = h.place("v1.0", &body).await;
    h.advance(0.0).await;
    // establishing, established, audio, roster (bot), roster (+a), roster (+b)
    h.receiver.take(6).await;
    let mut transfer = transfer_to(&heidi);
    transfer["transferee"] = json!({"identity": user_identity(&a)});
    h.graph("POST", &format!("/v1.0/communications/calls/{id}/transfer"), Some(&transfer)).await.expect(202);
    assert_eq!(h.receiver.next().await.summary(), "updated transferring");
    h.advance(1.0).await;
    let notifications = h.receiver.take(3).await;
    assert_eq!(notifications[0].summary(), "updated transferAccepted");
    assert_eq!(
        (notifications[1].summary().as_str(), notifications[1].result()),
        ("updated established", Some((0, 7015)))
    );
    let roster = notifications[2].data().as_array().unwrap().clone();
    let ids: Vec<&str> = roster.iter().filter_map(|p| p["info"]["identity"]["user"]["id"].as_str()).collect();
    assert_eq!(ids, [b.as_str()], "A left for Heidi; B stays with the bot");
}
