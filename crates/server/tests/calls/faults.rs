//! Injected faults: failing the next requests of an operation, losing an answer so the deadline passes, and
//! ending a call with any code the service uses.

use serde_json::json;

use crate::support::{Harness, USER_CALL_SETUP, answers_after, user_identity};

#[tokio::test]
async fn the_next_requests_of_an_operation_fail_as_injected() {
    let h = Harness::start().await;
    let fault = json!({"operation": "createCall", "count": 2, "effect": {"kind": "fail", "status": 503, "code": "ServiceUnavailable", "message": "Injected outage"}});
    h.sim("POST", "/faults", Some(&fault)).await.expect(201);
    let alice = h.user("Alice", answers_after(0)).await;
    let body = h.call_body(vec![user_identity(&alice)]);
    for _ in 0..2 {
        let failed = h.graph("POST", "/v1.0/communications/calls", Some(&body)).await.expect(503);
        assert_eq!((failed.error_code(), failed.error_message()), ("ServiceUnavailable", "Injected outage"));
        assert!(failed.body["error"]["innerError"]["request-id"].is_string(), "Graph's error shape");
    }
    h.graph("POST", "/v1.0/communications/calls", Some(&body)).await.expect(201);
    assert_eq!(h.sim("GET", "/faults", None).await.expect(200).body["value"], json!([]), "used up");

    let bad = h.graph("POST", "/v1.0/communications/calls", Some(&json!({"callbackUri": "nope"}))).await;
    assert_eq!(bad.status, 400, "bad input is reported before any fault applies");
}

#[tokio::test]
async fn a_lost_answer_lets_the_deadline_pass() {
    let h = Harness::start().await;
    h.sim("POST", "/faults", Some(&json!({"operation": "answer", "count": 1, "effect": {"kind": "lose"}})))
        .await
        .expect(201);
    let alice = h.user("Alice", answers_after(0)).await;
    let (_, id) = h.incoming_from(&alice).await;
    let answer = json!({"callbackUri": h.callback(), "acceptedModalities": ["audio"], "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"}});
    h.graph("POST", &format!("/v1.0/communications/calls/{id}/answer"), Some(&answer)).await.expect(202);
    h.advance(15.0).await;
    let ended = h.receiver.next().await;
    assert_eq!((ended.summary().as_str(), ended.result()), ("deleted terminated", Some((408, 1106))));
}

#[tokio::test]
async fn faults_are_checked_when_injected() {
    let h = Harness::start().await;
    let unknown =
        h.sim("POST", "/faults", Some(&json!({"operation": "dance", "count": 1, "effect": {"kind": "lose"}}))).await;
    assert!(unknown.expect(400).error_message().contains("'dance' is not an operation"));
    let with_body = json!({"operation": "createCall", "count": 1, "effect": {"kind": "lose"}});
    let refused = h.sim("POST", "/faults", Some(&with_body)).await.expect(400);
    assert!(refused.error_message().contains("cannot be lost"), "{}", refused.error_message());
    let zero = json!({"operation": "answer", "count": 0, "effect": {"kind": "lose"}});
    h.sim("POST", "/faults", Some(&zero)).await.expect(400);
    h.sim("POST", "/faults", Some(&json!({"operation": "answer", "count": 3, "effect": {"kind": "lose"}})))
        .await
        .expect(201);
    h.sim("DELETE", "/faults/answer", None).await.expect(204);
    h.sim("DELETE", "/faults/answer", None).await.expect(404);
}

#[tokio::test]
async fn a_call_ends_with_any_injected_code() {
    let h = Harness::start().await;
    for (code, subcode) in [(410, 301005), (500, 3002)] {
        let alice = h.user("Alice", answers_after(0)).await;
        let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
        h.advance(0.0).await;
        h.receiver.take(USER_CALL_SETUP.len()).await;
        let body = json!({"code": code, "subcode": subcode, "message": "Media connectivity failure."});
        let after = h.sim("POST", &format!("/calls/{id}/terminate"), Some(&body)).await.expect(200).body;
        assert_eq!(after["state"], "terminated");
        let ended = h.receiver.next().await;
        assert_eq!(ended.result(), Some((code, subcode)));
        h.sim("POST", &format!("/calls/{id}/terminate"), Some(&body)).await.expect(404);
    }
}

#[tokio::test]
async fn graph_requests_past_the_limit_are_shed_with_503_and_retry_after() {
    use tokio::io::AsyncWriteExt;
    let h = Harness::start_with_config("max_requests_in_flight = 1\n").await;
    // The only slot is held by a request whose body is still on its way.
    let address = h.base.trim_start_matches("http://").to_owned();
    let head = format!(
        "POST /v1.0/communications/calls HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\n\r\n{{",
        h.token
    );
    let hold = || async {
        let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
        slow.write_all(head.as_bytes()).await.unwrap();
        slow
    };
    let mut slow = hold().await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let shed = loop {
        assert!(tokio::time::Instant::now() < deadline, "the slow request never held the slot");
        let reply = h.graph("GET", "/v1.0/communications/calls/unknown", None).await;
        if reply.status == 503 {
            break reply;
        }
        assert_eq!(reply.status, 404, "{}", reply.body);
        // A request of ours held the slot when the slow one arrived, which was then shed itself: again.
        let mut answer = [0u8; 1];
        if slow.try_read(&mut answer).is_ok() {
            slow = hold().await;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(shed.error_code(), "ServiceUnavailable");
    assert!(shed.error_message().contains("at capacity (1 requests in progress)"), "{}", shed.body);
    assert_eq!(shed.headers["retry-after"], "1");
    drop(slow);
    while h.graph("GET", "/v1.0/communications/calls/unknown", None).await.status != 404 {
        assert!(tokio::time::Instant::now() < deadline, "the slot never came back");
        tokio::task::yield_now().await;
    }
}
