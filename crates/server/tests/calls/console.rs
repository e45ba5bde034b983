//! What the console is built on: the page itself, and the activity feed — the bot's Graph requests with their
//! bodies, each committed change of a call, each delivery — as JSON and live as server-sent events.

use std::time::Duration;

use serde_json::Value;

use crate::support::{Harness, USER_CALL_SETUP, answers_after, user_identity};

#[tokio::test]
async fn the_console_is_served_with_its_assets() {
    let h = Harness::start().await;
    for (path, kind, marker) in [
        ("/", "text/html", "Switchboard console"),
        ("/console/app.js", "text/javascript", "/_sim/activity/stream"),
        ("/console/app.css", "text/css", "--accent"),
    ] {
        let response = h.http.get(format!("{}{path}", h.base)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        assert!(response.text().await.unwrap().contains(marker), "{path}");
    }
    let missing = h.http.get(format!("{}/console/nope.js", h.base)).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn the_activity_feed_has_the_requests_changes_and_deliveries_of_a_call_and_streams_new_ones() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(1000)).await;
    let mut stream = h.http.get(format!("{}/_sim/activity/stream?after=0", h.base)).send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");

    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.advance(1.0).await;
    h.receiver.take(USER_CALL_SETUP.len()).await;
    // A request is the call's as the catalogue reads its URL, key syntax included.
    h.graph("GET", &format!("/beta/communications/calls('{id}')"), None).await.expect(200);

    let entries = h.sim("GET", &format!("/activity?callId={id}"), None).await.expect(200).body["value"].clone();
    let entries = entries.as_array().unwrap();
    let create = entries.iter().find(|e| e["kind"] == "request").expect("the create request");
    assert_eq!((create["method"].as_str(), create["status"].as_u64()), (Some("POST"), Some(201)));
    assert_eq!(create["path"], "/v1.0/communications/calls");
    assert_eq!(create["requestBody"]["targets"][0]["identity"]["user"]["id"], alice.as_str());
    assert_eq!(create["responseBody"]["id"], id.as_str());
    assert!(
        entries.iter().any(|e| e["kind"] == "request" && e["path"] == format!("/beta/communications/calls('{id}')"))
    );
    let states: Vec<&str> =
        entries.iter().filter(|e| e["kind"] == "change").filter_map(|e| e["state"].as_str()).collect();
    assert_eq!(states.first(), Some(&"establishing"));
    assert_eq!(states.last(), Some(&"established"));
    let established = entries.iter().find(|e| e["kind"] == "change" && e["state"] == "established").unwrap();
    assert_eq!(established["previousState"], "establishing");
    assert!(established["cause"].as_str().unwrap().contains("PeerResponds"), "{established}");
    assert!(
        entries.iter().any(|e| e["kind"] == "delivery" && e["outcome"] == "delivered" && e["status"] == 202),
        "{entries:?}"
    );

    // The stream carried the same entries, in order, each with its seq as the event id.
    let mut seen: Vec<Value> = Vec::new();
    let mut buffer = String::new();
    while !seen.iter().any(|e| e["kind"] == "change" && e["state"] == "established") {
        let chunk = tokio::time::timeout(Duration::from_secs(20), stream.chunk()).await.unwrap().unwrap().unwrap();
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: "))
                && block.contains("event: activity")
            {
                seen.push(serde_json::from_str(data).unwrap());
            }
        }
    }
    let seqs: Vec<u64> = seen.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert!(seen.iter().any(|e| e["kind"] == "request" && e["callId"] == id.as_str()));

    // Resuming after the last one seen gives only what came later.
    let last = *seqs.last().unwrap();
    let later = h.sim("GET", &format!("/activity?after={last}"), None).await.expect(200).body;
    assert!(later["value"].as_array().unwrap().iter().all(|e| e["seq"].as_u64().unwrap() > last));
}
