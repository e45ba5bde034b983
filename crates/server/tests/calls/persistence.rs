//! Calls live in the store: after a restart on the same data directory, calls, their timers and notifications
//! still to deliver carry on where they were.

use serde_json::json;

use crate::support::{Harness, USER_CALL_SETUP, answers_after, user_identity};

#[tokio::test]
async fn a_ringing_call_and_its_timers_survive_a_restart() {
    let mut h = Harness::start().await;
    let alice = h.user("Alice", json!({"response": {"kind": "answer", "afterMs": 5000}, "hangUpAfterMs": 60000})).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    assert_eq!(h.receiver.next().await.summary(), "updated establishing");
    h.advance(2.0).await;

    h.restart().await;
    let got = h.graph("GET", &format!("/v1.0/communications/calls/{id}"), None).await.expect(200);
    assert_eq!(got.body["state"], "establishing");
    h.advance(2.9).await;
    assert_eq!(h.inspect(&id).await["state"], "establishing", "the virtual clock went on from where it was");
    h.advance(0.1).await;
    assert_eq!(h.receiver.summaries(4).await, USER_CALL_SETUP[1..]);

    h.restart().await;
    h.advance(60.0).await;
    assert_eq!(h.receiver.next().await.result(), Some((200, 5002)), "Alice's hang-up timer came through two restarts");
    assert_eq!(h.settled_journal(&id).await.len(), USER_CALL_SETUP.len() + 1, "the journal kept every notification");
}

#[tokio::test]
async fn an_incoming_calls_deadline_survives_a_restart() {
    let mut h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let (_, id) = h.incoming_from(&alice).await;
    h.advance(10.0).await;
    h.restart().await;
    h.advance(4.9).await;
    assert_eq!(h.inspect(&id).await["state"], "incoming");
    h.advance(0.1).await;
    assert_eq!(h.receiver.next().await.result(), Some((408, 1106)));
}

#[tokio::test]
async fn notifications_still_to_deliver_go_out_after_a_restart() {
    let mut h = Harness::start_with_config("[notifications]\ninitial_backoff = \"1s\"\n").await;
    h.receiver.answer_next_with(&[503]);
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    assert_eq!(h.receiver.next().await.summary(), "updated establishing", "the first attempt, answered 503");
    h.restart().await;
    assert_eq!(h.receiver.next().await.summary(), "updated establishing", "retried by the restarted server");
    let journal = h.settled_journal(&id).await;
    assert_eq!((journal[0]["status"].as_str(), journal[0]["attempts"].as_u64()), (Some("delivered"), Some(2)));
}

#[tokio::test]
async fn a_call_a_newer_build_wrote_is_refused_not_rewritten() {
    let mut h = Harness::start().await;
    let alice = h.user("Alice", answers_after(60_000)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.stop();
    let database = rusqlite::Connection::open(h.data_dir().join("switchboard.sqlite")).unwrap();
    let newer = "UPDATE call SET document = json_set(document, '$.schemaVersion', 99) WHERE call_id = ?";
    assert_eq!(database.execute(newer, [&id]).unwrap(), 1);
    h.try_start_again().await.unwrap();

    let path = format!("/v1.0/communications/calls/{id}");
    assert_eq!(h.graph("GET", &path, None).await.status, 500, "this build cannot read it");
    assert_eq!(h.graph("DELETE", &path, None).await.status, 500, "nor change it");
    let stored: String = database
        .query_row("SELECT json_extract(document, '$.schemaVersion') FROM call WHERE call_id = ?", [&id], |r| {
            r.get(0).map(|v: i64| v.to_string())
        })
        .unwrap();
    assert_eq!(stored, "99", "the newer document is left as it was");
}

#[tokio::test]
async fn a_call_an_earlier_build_wrote_is_upgraded_as_it_is_read() {
    let mut h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let mut body = h.call_body(vec![user_identity(&alice)]);
    body["mediaConfig"] = json!({"@odata.type": "#microsoft.graph.appHostedMediaConfig", "blob": "<config>"});
    let id = h.place("v1.0", &body).await;
    h.advance(0.0).await;
    h.receiver.take(USER_CALL_SETUP.len()).await;
    h.stop();
    // As schema 1 stored it: the media hosting only in the request's mediaConfig.
    let database = rusqlite::Connection::open(h.data_dir().join("switchboard.sqlite")).unwrap();
    let earlier = "UPDATE call SET document = json_remove(json_set(document, '$.schemaVersion', 1), \
                   '$.mediaHosting', '$.applicationInstance') WHERE call_id = ?";
    assert_eq!(database.execute(earlier, [&id]).unwrap(), 1);
    h.try_start_again().await.unwrap();

    let path = format!("/v1.0/communications/calls/{id}");
    assert_eq!(h.graph("GET", &path, None).await.expect(200).body["state"], "established");
    let play = json!({"prompts": [{"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": {"uri": "https://cdn.example/a.wav"}}]});
    let refused = h.graph("POST", &format!("{path}/playPrompt"), Some(&play)).await.expect(400);
    assert!(refused.error_message().contains("service-hosted"), "still app-hosted: {}", refused.error_message());
    h.graph("POST", &format!("{path}/keepAlive"), None).await.expect(200);
    let stored: (i64, String) = database
        .query_row(
            "SELECT json_extract(document, '$.schemaVersion'), json_extract(document, '$.mediaHosting') FROM call \
             WHERE call_id = ?",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        stored,
        (i64::from(switchboard_engine::model::SCHEMA_VERSION), "app".to_owned()),
        "written back upgraded"
    );
}

/// `/metrics` tells what this node holds of its calls: their leases, the documents in memory, the conferences it
/// mixes — and, after a restart, that it rebuilt the conference of the call it still owns.
#[tokio::test]
async fn the_node_counts_the_calls_it_owns_and_the_conferences_it_mixes() {
    let mut h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.receiver.take(USER_CALL_SETUP.len()).await;
    let gauges = ["switchboard_calls_owned", "switchboard_calls_resident", "switchboard_conferences"];
    let mut counted = Vec::new();
    for name in gauges {
        counted.push(h.gauge(name).await);
    }
    assert_eq!(counted, [1.0, 1.0, 1.0]);
    h.restart().await;
    assert_eq!(h.gauge("switchboard_conferences").await, 1.0, "rebuilt at start: the call is this node's");
    h.graph("DELETE", &format!("/v1.0/communications/calls/{id}"), None).await.expect(204);
    assert_eq!(h.gauge("switchboard_conferences").await, 0.0);
    assert_eq!(h.gauge("switchboard_calls_owned").await, 0.0);
}

/// A call keeps its newest 20 finished operations, also when it was read from the store (after a restart) rather
/// than kept in memory: the ones it lets go of are gone for good, not read back with it later.
#[tokio::test]
async fn a_call_read_back_after_a_restart_still_lets_its_oldest_operations_go() {
    let mut h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.receiver.take(USER_CALL_SETUP.len()).await;
    let subscribe = format!("/v1.0/communications/calls/{id}/subscribeToTone");
    let mut operations = Vec::new();
    for _ in 0..21 {
        operations.push(
            h.graph("POST", &subscribe, Some(&json!({}))).await.expect(200).body["id"].as_str().unwrap().to_owned(),
        );
    }
    let operation = |n: usize| format!("/v1.0/communications/calls/{id}/operations/{}", operations[n]);
    h.graph("GET", &operation(0), None).await.expect(404);
    h.graph("GET", &operation(1), None).await.expect(200);
    h.restart().await;
    // Read from the store, the call takes one more operation and lets the oldest it kept go.
    h.graph("POST", &subscribe, Some(&json!({}))).await.expect(200);
    h.restart().await;
    h.graph("GET", &operation(1), None).await.expect(404);
    h.graph("GET", &operation(2), None).await.expect(200);
}
