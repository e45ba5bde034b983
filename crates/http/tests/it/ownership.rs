//! Call ownership (ARCHITECTURE.md, "Ownership"): two nodes on one store, each serving Graph over loopback. A call is
//! changed only by the node holding its lease; a node that lost it (its heartbeat expired, another node took the call
//! over) can change nothing and send nothing.

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use switchboard_store::{NodeRecord, NotificationFilter, Store};

use crate::support::{Reply, TestServer};

const CALLS: &str = "/v1.0/communications/calls";

fn call_to_a_user() -> Value {
    let identity = json!({"@odata.type": "#microsoft.graph.identitySet", "user": {"@odata.type": "#microsoft.graph.identity", "id": "9a7e0000-0000-4000-8000-000000000001"}});
    json!({
        "callbackUri": "https://bot.example/callback",
        "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        "targets": [{"@odata.type": "#microsoft.graph.invitationParticipantInfo", "identity": identity}],
        "requestedModalities": ["audio"],
    })
}

async fn journal_of(store: &dyn Store, call_id: &str) -> usize {
    let filter = NotificationFilter { call_id: Some(call_id.into()), limit: 1000, ..NotificationFilter::default() };
    store.notifications(filter).await.unwrap().len()
}

/// Makes `node`'s heartbeat look as if it stopped a second ago (it hung, or its network went): its leases lapse.
async fn lapse_heartbeat(node: &TestServer) {
    let lapsed = Utc::now() - Duration::seconds(1);
    let heartbeat = NodeRecord {
        node_id: "test-node".into(),
        address: String::new(),
        started_at: lapsed - Duration::seconds(20),
        heartbeat_at: lapsed - Duration::seconds(10),
        expires_at: lapsed,
    };
    node.store.heartbeat(heartbeat).await.unwrap();
}

fn assert_owned_elsewhere(reply: &Reply) {
    assert_eq!(reply.status, 503, "{:?}", reply.body);
    assert_eq!(reply.graph_error().0, "ServiceUnavailable");
    assert_eq!(reply.headers["retry-after"], "1", "the client tries again, and the owner answers");
}

#[tokio::test]
async fn a_node_that_lost_a_call_can_neither_change_it_nor_send_anything() {
    let a = TestServer::start().await;
    let b = a.another_node("node-b").await;
    let created = a.send("POST", CALLS, Some(&call_to_a_user())).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let keep_alive = format!("{CALLS}/{id}/keepAlive");

    // While a is alive, the call is a's: b reads it, but changes nothing.
    assert_eq!(b.send("GET", &format!("{CALLS}/{id}"), None).await.status, 200);
    assert_owned_elsewhere(&b.send("POST", &keep_alive, None).await);
    assert_eq!(a.send("POST", &keep_alive, None).await.status, 200);

    // a's heartbeats stop (it hangs, or its network goes): its lease expires, and b takes the call over.
    let store: &dyn Store = &*a.store;
    lapse_heartbeat(&a).await;
    assert_eq!(b.send("POST", &keep_alive, None).await.status, 200, "b owns the call now");

    // a still believes it owns the call: whatever it tries is refused, and nothing of it is kept or sent.
    let version = store.call(&id).await.unwrap().unwrap().version;
    let queued = journal_of(store, &id).await;
    assert_owned_elsewhere(&a.send("DELETE", &format!("{CALLS}/{id}"), None).await);
    let after = b.send("GET", &format!("{CALLS}/{id}"), None).await;
    assert_eq!(after.body["state"], "establishing", "the call goes on");
    assert_eq!(store.call(&id).await.unwrap().unwrap().version, version, "unchanged");
    assert_eq!(journal_of(store, &id).await, queued, "a's hang-up raised no notification");
    assert_owned_elsewhere(&a.send("POST", &keep_alive, None).await);

    // The owner hangs up.
    assert_eq!(b.send("DELETE", &format!("{CALLS}/{id}"), None).await.status, 204);
    assert!(journal_of(store, &id).await > queued, "the owner's hang-up is notified");
    b.stop().await.unwrap();
    a.stop().await.unwrap();
}

/// Each call's media is mixed on one node: a node that starts on the store rebuilds the conferences of the calls it
/// may own (its own, or held by no live node) and takes their leases, not those of another live node's calls; a node
/// back after its heartbeat lapsed stops mixing the calls taken from it.
#[tokio::test]
async fn a_starting_node_rebuilds_only_the_conferences_of_calls_it_may_own() {
    let a = TestServer::start().await;
    let created = a.send("POST", CALLS, Some(&call_to_a_user())).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    // The person answers and media flows (the default behaviour's timers, on the virtual clock).
    assert_eq!(a.send("POST", "/_sim/clock/advance", Some(&json!({"seconds": 10}))).await.status, 200);
    let heard = format!("/_sim/calls/{id}/participants/bot/heard");
    assert_eq!(a.send("GET", &heard, None).await.status, 200, "a mixes the call's media");

    let b = a.another_node("node-b").await;
    let on_b = b.send("GET", &heard, None).await;
    assert_eq!(on_b.status, 404, "b runs no conference for a's call: {:?}", on_b.body);

    // a's heartbeats stop: a node starting now may own the call, and rebuilds its conference.
    lapse_heartbeat(&a).await;
    let c = a.another_node("node-c").await;
    assert_eq!(c.send("GET", &heard, None).await.status, 200, "c took over the call's media");
    let c_now = switchboard_store::Claimant { node_id: "node-c".into(), at: Utc::now() };
    let claimable = a.store.claimable_calls_after(&c_now, None, 10).await.unwrap();
    assert_eq!(claimable[0].1.as_ref().map(|lease| lease.node_id.as_str()), Some("node-c"), "and its lease");

    // a comes back (its next heartbeat): the call is c's, so a stops mixing it and cannot change it.
    a.calls.register_node().await.unwrap();
    assert_eq!(a.send("GET", &heard, None).await.status, 404, "a mixes it no more");
    assert_owned_elsewhere(&a.send("POST", &format!("{CALLS}/{id}/keepAlive"), None).await);
    assert_eq!(c.send("GET", &heard, None).await.status, 200);
    c.stop().await.unwrap();
    b.stop().await.unwrap();
    a.stop().await.unwrap();
}
