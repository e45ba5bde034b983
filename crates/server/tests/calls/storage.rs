//! When the data directory cannot be written — the disk is full, the directory is read-only — changes are refused
//! with an error that says so, nothing is half-written, nothing acknowledged is lost, and everything carries on once
//! the disk can be written again.

use std::collections::{HashMap, HashSet};

use crate::support::{Harness, USER_CALL_SETUP, answers_after, user_identity};

#[tokio::test]
async fn a_full_disk_refuses_changes_with_507_loses_nothing_and_recovers_when_space_returns() {
    let mut h = Harness::start_on_small_disk("1m").await;
    let alice = h.user("Alice", answers_after(0)).await;
    let body = h.call_body(vec![user_identity(&alice)]);
    let mut acknowledged = Vec::new();
    let refused = loop {
        let reply = h.graph("POST", "/v1.0/communications/calls", Some(&body)).await;
        if reply.status != 201 {
            break reply;
        }
        acknowledged.push(reply.body["id"].as_str().unwrap().to_owned());
        assert!(acknowledged.len() < 10_000, "the disk never filled up");
    };
    assert_eq!((refused.status, refused.error_code()), (507, "InsufficientStorage"), "{}", refused.body);
    assert!(refused.error_message().contains("disk holding the data directory is full"), "{}", refused.body);
    assert!(acknowledged.len() >= 2, "the disk filled up before the test had calls to check: {}", acknowledged.len());

    // Full: reads still work, and the refused call left nothing behind. (A smaller change may still fit.)
    let (hung_up, kept) = acknowledged.split_first().unwrap();
    let path = format!("/v1.0/communications/calls/{hung_up}");
    h.graph("GET", &path, None).await.expect(200);
    let stored = h.sim("GET", "/calls", None).await.expect(200).body["value"].as_array().unwrap().len();
    assert_eq!(stored, acknowledged.len(), "every acknowledged call and nothing else");

    h.disk().remount("size=64m");
    h.graph("DELETE", &path, None).await.expect(204);
    let after = h.graph("POST", "/v1.0/communications/calls", Some(&body)).await.expect(201).body;
    h.advance(1.0).await;
    for id in kept.iter().chain([after["id"].as_str().unwrap().to_owned()].iter()) {
        let call = h.graph("GET", &format!("/v1.0/communications/calls/{id}"), None).await.expect(200).body;
        assert_eq!(call["state"], "established", "{id}: Alice's answer came through once the disk had room");
    }

    // Every notification of the calls acknowledged before the disk filled arrives, each call's in order. Sends the
    // journal could not record may come twice (at least once, same message id): the first arrival is what counts.
    let mut seen = HashSet::new();
    let mut by_call: HashMap<String, Vec<String>> = HashMap::new();
    let complete = |by_call: &HashMap<String, Vec<String>>| {
        kept.iter().all(|id| by_call.get(id).is_some_and(|summaries| summaries.len() == USER_CALL_SETUP.len()))
    };
    while !complete(&by_call) {
        let received = h.receiver.next().await;
        if seen.insert(received.header("X-Microsoft-Skype-Message-ID").to_owned()) {
            let call_id = received.resource_url().split('/').nth(3).unwrap().to_owned();
            by_call.entry(call_id).or_default().push(received.summary());
        }
    }
    for id in kept {
        assert_eq!(by_call[id], USER_CALL_SETUP, "{id}");
    }

    h.stop();
    let (sound, report) = h.check_data_dir();
    assert!(sound, "switchboard check: {report}");
    h.try_start_again().await.unwrap();
    for id in kept {
        h.graph("GET", &format!("/v1.0/communications/calls/{id}"), None).await.expect(200);
    }
}

#[tokio::test]
async fn a_read_only_data_directory_stops_the_start_with_a_clear_error_and_loses_nothing() {
    let mut h = Harness::start_on_small_disk("64m").await;
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.stop();

    h.disk().remount("ro");
    let Err((status, stderr)) = h.try_start_again().await else { panic!("the server started on a read-only disk") };
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("read-only"), "the error says what is wrong: {stderr}");
    assert!(stderr.contains(h.disk().path.to_str().unwrap()), "and where: {stderr}");

    h.disk().remount("rw");
    h.try_start_again().await.unwrap();
    let call = h.graph("GET", &format!("/v1.0/communications/calls/{id}"), None).await.expect(200).body;
    assert_eq!(call["state"], "established", "as it was before the disk went read-only");
    h.stop();
    let (sound, report) = h.check_data_dir();
    assert!(sound, "switchboard check: {report}");
}
