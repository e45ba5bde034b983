//! Outgoing peer-to-peer calls (docs:application-post-calls, docs:call-delete, docs:call-keepalive): from the
//! bot's POST to the notifications its webhook receives, on the virtual clock.

use serde_json::{Value, json};

use crate::support::{Harness, USER_CALL_SETUP, answers_after, user_identity};

#[tokio::test]
async fn a_call_to_a_user_rings_connects_and_ends_when_the_bot_hangs_up() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(3000)).await;
    let reply = h.graph("POST", "/v1.0/communications/calls", Some(&h.call_body(vec![user_identity(&alice)]))).await;
    let reply = reply.expect(201);
    let id = reply.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        reply.headers["location"].to_str().unwrap(),
        format!("{}/v1.0/communications/calls/{id}", h.base),
        "docs:application-post-calls: Location of the new call"
    );
    let body = &reply.body;
    assert_eq!(body["@odata.type"], "#microsoft.graph.call");
    assert_eq!(body["@odata.context"], format!("{}/v1.0/$metadata#app/calls/$entity", h.base));
    assert_eq!((body["state"].as_str(), body["direction"].as_str()), (Some("establishing"), Some("outgoing")));
    assert_eq!(body["callbackUri"], h.callback());
    assert_eq!(body["source"]["identity"]["application"]["id"], crate::support::DEV_APP, "the bot is the source");
    assert_eq!(body["targets"][0]["identity"]["user"]["id"], alice.as_str());
    for null in ["resultInfo", "mediaState", "answeredBy", "terminationReason", "toneInfo", "transcription"] {
        assert!(body[null].is_null(), "{null} is null until known: {body}");
    }
    assert!(body["myParticipantId"].is_string() && body["callChainId"].is_string());

    let establishing = h.receiver.next().await;
    assert_eq!(establishing.summary(), "updated establishing");
    assert_eq!(establishing.path, "/callback", "notifications go to the call's callbackUri");
    assert_eq!(establishing.resource_url(), format!("/communications/calls/{id}"));
    assert_eq!(establishing.data()["@odata.type"], "#microsoft.graph.call");

    h.advance(2.9).await;
    let got = h.graph("GET", &format!("/v1.0/communications/calls/{id}"), None).await.expect(200);
    assert_eq!(got.body["state"], "establishing", "Alice has not answered yet");
    h.advance(0.1).await;
    assert_eq!(h.receiver.summaries(4).await, USER_CALL_SETUP[1..]);
    let got = h.graph("GET", &format!("/v1.0/communications/calls/{id}"), None).await.expect(200);
    assert_eq!(
        (got.body["state"].as_str(), got.body["mediaState"]["audio"].as_str()),
        (Some("established"), Some("active"))
    );

    h.graph("DELETE", &format!("/v1.0/communications/calls/{id}"), None).await.expect(204);
    let ended = h.receiver.take(2).await;
    assert_eq!(ended[0].summary(), "updated terminating");
    assert_eq!(ended[1].summary(), "deleted terminated");
    assert_eq!(ended[1].result(), Some((200, 5001)), "docs:call-delete: the terminated notification");
    assert_eq!(
        ended[1].data()["resultInfo"]["message"],
        "The conversation has ended. DiagCode: 0#5001.@",
        "live Graph's messages end with their diagnostic code"
    );

    let after = h.graph("GET", &format!("/v1.0/communications/calls/{id}"), None).await.expect(404);
    assert_eq!(after.error_code(), "8522", "live Graph's code for a call that is gone");
    assert!(after.error_message().starts_with("Call not found."), "{}", after.error_message());
    h.graph("DELETE", &format!("/v1.0/communications/calls/{id}"), None).await.expect(404);
}

#[tokio::test]
async fn beta_reports_ringing_and_honours_the_ringing_timeout() {
    let h = Harness::start().await;
    let bob = h.user("Bob", json!({"response": {"kind": "ring"}})).await;
    let mut body = h.call_body(vec![user_identity(&bob)]);
    body["ringingTimeoutInSeconds"] = json!(20);
    h.graph("POST", "/beta/communications/calls", Some(&body)).await.expect(201);
    assert_eq!(h.receiver.summaries(2).await, ["updated establishing", "updated ringing"]);
    h.advance(19.0).await;
    h.advance(1.0).await;
    let ended = h.receiver.next().await;
    assert_eq!(ended.summary(), "deleted terminated");
    assert_eq!(ended.result(), Some((408, 10057)), "no answer within ringingTimeoutInSeconds");
}

#[tokio::test]
async fn each_way_a_callee_fails_ends_the_call_with_its_code() {
    let h = Harness::start().await;
    let cases = [
        (json!({"response": {"kind": "ring"}}), 60.0, (408, 10057)),
        (json!({"response": {"kind": "unreachable"}}), 0.0, (480, 10076)),
        (json!({"response": {"kind": "reject", "afterMs": 1500, "declined": false}}), 1.5, (486, 0)),
        (json!({"response": {"kind": "reject", "afterMs": 1500, "declined": true}}), 1.5, (603, 0)),
        (json!({"response": {"kind": "answer", "afterMs": 0}, "hangUpAfterMs": 30000}), 30.0, (200, 5002)),
    ];
    for (behaviour, wait, expected) in cases {
        let callee = h.user("Callee", behaviour.clone()).await;
        let created = h.call(user_identity(&callee)).await;
        h.advance(wait).await;
        let mut last = h.receiver.next().await;
        while last.change_type() != "deleted" {
            last = h.receiver.next().await;
        }
        assert_eq!(last.result(), Some(expected), "{behaviour}");
        assert_eq!(last.resource_url(), format!("/communications/calls/{}", created["id"].as_str().unwrap()));
    }
}

#[tokio::test]
async fn phone_numbers_are_called_from_an_application_instance() {
    let h = Harness::start().await;
    let phone = json!({"number": "+14255550100", "behaviour": {"response": {"kind": "answer", "afterMs": 0}, "hangUpAfterMs": 5000}});
    h.sim("POST", "/phones", Some(&phone)).await.expect(201);
    let target = json!({"@odata.type": "#microsoft.graph.identitySet", "phone": {"@odata.type": "#microsoft.graph.identity", "id": "+14255550100"}});

    // Without an application instance as the source, Graph cannot route a PSTN call.
    h.call(target.clone()).await;
    assert_eq!(h.receiver.next().await.summary(), "updated establishing");
    assert_eq!(h.receiver.next().await.result(), Some((480, 10134)));

    let mut body = h.call_body(vec![target]);
    body["source"] = json!({
        "@odata.type": "#microsoft.graph.participantInfo",
        "identity": {"@odata.type": "#microsoft.graph.identitySet", "applicationInstance": {"@odata.type": "#microsoft.graph.identity", "displayName": "Calling Bot", "id": "3d913abb-aec0-4964-8fa6-3c6850c4f278"}},
    });
    let created = h.graph("POST", "/v1.0/communications/calls", Some(&body)).await.expect(201).body;
    assert_eq!(
        created["source"]["identity"]["applicationInstance"]["displayName"], "Calling Bot",
        "the source is kept"
    );
    h.advance(0.0).await;
    assert_eq!(
        h.receiver.summaries(3).await,
        ["updated establishing", "updated established", "updated established audio active"]
    );
    h.advance(5.0).await;
    assert_eq!(h.receiver.next().await.result(), Some((200, 540000)), "ended by the PSTN user");
}

#[tokio::test]
async fn unknown_callees_are_created_in_dev_mode_and_fail_in_strict_mode() {
    let h = Harness::start().await;
    let stranger = "0c0ffee0-0000-4000-8000-000000000001";
    h.call(user_identity(stranger)).await;
    h.advance(2.0).await;
    assert_eq!(h.receiver.summaries(5).await, USER_CALL_SETUP, "the default behaviour answers after 2 s");
    let provisioned = h.sim("GET", &format!("/users/{stranger}"), None).await.expect(200);
    assert!(provisioned.body["behaviour"].is_null(), "created with the tenant's default behaviour");

    let defaults = h.sim("GET", "/defaults", None).await.expect(200).body;
    let strict = json!({"strict": true, "behaviour": defaults["behaviour"]});
    h.sim("PUT", "/defaults", Some(&strict)).await.expect(200);
    h.call(user_identity("0c0ffee0-0000-4000-8000-000000000002")).await;
    let notifications = h.receiver.take(2).await;
    assert_eq!(notifications[1].summary(), "deleted terminated");
    assert_eq!(notifications[1].result(), Some((480, 10037)), "no callee endpoints were found");
    h.sim("GET", "/users/0c0ffee0-0000-4000-8000-000000000002", None).await.expect(404);
}

#[tokio::test]
async fn a_bot_can_call_another_bot() {
    let h = Harness::start().await;
    let bot = json!({"displayName": "Echo bot", "behaviour": answers_after(500)});
    let bot_id = h.sim("POST", "/bots", Some(&bot)).await.expect(201).body["id"].as_str().unwrap().to_owned();
    let target = json!({"@odata.type": "#microsoft.graph.identitySet", "application": {"@odata.type": "#microsoft.graph.identity", "id": bot_id}});
    h.call(target).await;
    h.advance(0.5).await;
    assert_eq!(h.receiver.summaries(2).await, ["updated establishing", "updated established"]);
}

#[tokio::test]
async fn someone_who_answers_at_once_answers_in_the_change_that_rang_them() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let created = h.call(user_identity(&alice)).await;
    assert_eq!(created["state"], "establishing", "the 201 shows the call as it was created");
    let id = created["id"].as_str().unwrap();
    let got = h.graph("GET", &format!("/v1.0/communications/calls/{id}"), None).await.expect(200);
    assert_eq!(got.body["state"], "established");
    assert_eq!(h.receiver.summaries(USER_CALL_SETUP.len()).await, USER_CALL_SETUP, "notified in the order raised");
    // One change, not one for the call and one more for a timer that fired at once.
    let entries = h.sim("GET", &format!("/activity?callId={id}"), None).await.expect(200).body["value"].clone();
    let changes: Vec<&Value> = entries.as_array().unwrap().iter().filter(|e| e["kind"] == "change").collect();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!((changes[0]["state"].as_str(), changes[0]["notifications"].as_u64()), (Some("established"), Some(5)));
    let cause = changes[0]["cause"].as_str().unwrap();
    assert!(cause.contains("Start") && cause.contains("PeerResponds"), "{cause}");
    // The simulation's view of it: who answers for Alice, and how.
    let seen = h.inspect(id).await;
    assert_eq!((seen["state"].as_str(), seen["mediaHosting"].as_str()), (Some("established"), Some("service")));
    let alice_seen = &seen["peers"][0];
    assert_eq!(
        (alice_seen["endpointId"].as_str(), alice_seen["status"].as_str()),
        (Some(alice.as_str()), Some("connected"))
    );
    assert_eq!(alice_seen["leg"]["kind"], "simulated");
    assert_eq!(alice_seen["leg"]["behaviour"]["response"], json!({"kind": "answer", "afterMs": 0}));
    assert_eq!(alice_seen["roster"]["clientMuted"], false);
    assert!(seen["bot"]["muted"] == false && seen["mediaQueue"] == json!([]), "{seen}");
}

#[tokio::test]
async fn keep_alive_extends_the_call_and_45_minutes_without_one_end_it() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.advance(0.0).await;
    h.receiver.take(USER_CALL_SETUP.len()).await;

    h.advance(44.0 * 60.0).await;
    let alive = h.graph("POST", &format!("/v1.0/communications/calls/{id}/keepAlive"), None).await.expect(200);
    assert!(alive.body.is_null(), "docs:call-keepalive: 200 with an empty body");
    h.advance(44.0 * 60.0).await;
    assert_eq!(h.inspect(&id).await["state"], "established", "still alive 44 minutes after the keepAlive");
    h.advance(60.0).await;
    let ended = h.receiver.next().await;
    assert_eq!(ended.result(), Some((408, 8537)), "Keep Alive timeout, cleaned up inactive call.");
    let after = h.graph("POST", &format!("/v1.0/communications/calls/{id}/keepAlive"), None).await.expect(404);
    assert_eq!(after.error_code(), "8522", "docs:call-keepalive: 404 after the call ended");
}

#[tokio::test]
async fn creating_a_call_needs_the_permission_for_its_kind() {
    let h = Harness::start().await;
    let token = h.another_app(crate::support::DEV_TENANT, "Group-only bot", &["Calls.InitiateGroupCall.All"]).await;
    let alice = h.user("Alice", answers_after(0)).await;
    let bob = h.user("Bob", answers_after(0)).await;

    let p2p = h.call_body(vec![user_identity(&alice)]);
    let refused = h.send("POST", "/v1.0/communications/calls", Some(&p2p), Some(&token)).await.expect(403);
    assert_eq!(refused.error_code(), "7504");
    assert!(refused.error_message().contains("Calls.Initiate.All"), "{}", refused.error_message());
    let group = h.call_body(vec![user_identity(&alice), user_identity(&bob)]);
    h.send("POST", "/v1.0/communications/calls", Some(&group), Some(&token)).await.expect(201);

    let mut app_hosted = h.call_body(vec![user_identity(&alice), user_identity(&bob)]);
    app_hosted["mediaConfig"] =
        json!({"@odata.type": "#microsoft.graph.appHostedMediaConfig", "blob": "<media config>"});
    let refused = h.send("POST", "/v1.0/communications/calls", Some(&app_hosted), Some(&token)).await.expect(403);
    assert!(refused.error_message().contains("Calls.AccessMedia.All"), "{}", refused.error_message());
}

/// On the wall clock the timer worker sleeps until the earliest timer it knows of; a commit that arms an earlier one
/// wakes it, so that one fires when due, not with the later one: Bob's answer is 45 s away, and the receiver waits
/// 20 s at most for each of Alice's notifications.
#[tokio::test]
async fn on_the_wall_clock_a_timer_armed_later_but_due_sooner_fires_when_due() {
    let h = Harness::start().await;
    h.sim("PUT", "/clock", Some(&json!({"mode": "realtime"}))).await.expect(200);
    let bob = h.user("Bob", answers_after(45_000)).await;
    let alice = h.user("Alice", answers_after(200)).await;
    h.call(user_identity(&bob)).await;
    assert_eq!(h.receiver.next().await.summary(), "updated establishing");
    let soon = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    let arrived = h.receiver.take(USER_CALL_SETUP.len()).await;
    assert_eq!(arrived.iter().map(|r| r.summary()).collect::<Vec<_>>(), USER_CALL_SETUP);
    assert!(arrived.iter().all(|r| r.resource_url().ends_with(&soon)), "all of them Alice's call's");
}
