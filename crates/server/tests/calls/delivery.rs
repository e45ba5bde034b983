//! How notifications reach bots (graph-calls.md §c): signed with a token the bot validates against Switchboard's
//! published keys, with Graph's headers, in order per call and never lost — retried while the bot is down, slow or
//! failing (through a crash of the server), dead-lettered when it refuses, replayable, journaled attempt by attempt,
//! counted at /metrics; batched, duplicated, reordered or delayed when asked to.

use std::{collections::HashSet, net::SocketAddr, time::Duration};

use axum::http::Version;
use jsonwebtoken::{DecodingKey, Validation, jwk::JwkSet};
use serde_json::{Value, json};

use crate::support::{
    DEV_APP, DEV_TENANT, Harness, Planned, Received, Receiver, TestCertificate, USER_CALL_SETUP, answers_after,
    user_identity,
};

#[tokio::test]
async fn a_delivered_notification_carries_a_token_the_bot_can_validate() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    h.call(user_identity(&alice)).await;
    let notification = h.receiver.next().await;

    // What a bot does (samples' AuthenticationProvider): discover the keys, check signature, issuer, audience, tenant.
    let openid: Value = h
        .http
        .get(format!("{}/v1/.well-known/OpenIdConfiguration", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwks: JwkSet = h.http.get(openid["jwks_uri"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
    let authorization = notification.headers["authorization"].to_str().unwrap();
    let token = authorization.strip_prefix("Bearer ").expect("a bearer token");
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.expect("a key id");
    let jwk = jwks.find(&kid).expect("the signing key is published");
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[DEV_APP]);
    validation.set_issuer(&[openid["issuer"].as_str().unwrap()]);
    let claims =
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation).expect("valid");
    assert_eq!(claims.claims["tid"], DEV_TENANT, "the tenant claim the samples require");

    let mut wrong_audience = validation.clone();
    wrong_audience.set_audience(&["00000000-0000-0000-0000-000000000000"]);
    assert!(jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &wrong_audience).is_err());

    let headers = &notification.headers;
    assert_eq!(headers["user-agent"], "Microsoft-Skype/3.0,(Calling/1.0)");
    assert_eq!(headers["content-type"], "application/json");
    assert!(headers.contains_key("x-microsoft-skype-message-id"));
    assert!(!headers.contains_key("client-request-id"), "live notification POSTs carry none");
    assert_eq!(notification.body["@odata.type"], "#microsoft.graph.commsNotifications");
    assert_eq!(notification.notification["@odata.type"], "#microsoft.graph.commsNotification");
}

#[tokio::test]
async fn failed_deliveries_are_retried_in_order() {
    let h = Harness::start_with_config("[notifications]\ninitial_backoff = \"20ms\"\n").await;
    h.receiver.answer_next_with(&[503, 500]);
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.advance(0.0).await;
    let attempts = h.receiver.take(5).await;
    let summaries: Vec<String> = attempts.iter().map(|a| a.summary()).collect();
    assert_eq!(
        summaries,
        [
            "updated establishing",
            "updated establishing",
            "updated establishing",
            "updated established",
            "updated established audio active"
        ],
        "the call's later notifications wait until the first is through"
    );
    let message_ids: Vec<_> = attempts[..3].iter().map(|a| a.headers["x-microsoft-skype-message-id"].clone()).collect();
    assert!(message_ids.windows(2).all(|w| w[0] == w[1]), "a retry is the same message");
    let journal = h.settled_journal(&id).await;
    assert_eq!((journal[0]["status"].as_str(), journal[0]["attempts"].as_u64()), (Some("delivered"), Some(3)));
    assert_eq!(journal[0]["lastStatus"], 202);
}

#[tokio::test]
async fn a_notification_the_webhook_keeps_failing_holds_the_later_ones_back_only_for_a_while() {
    // Every retry comes an hour later; the call's later notifications may wait `hold_back` for one.
    let holding_back = |hold_back: &str| {
        format!("[notifications]\ninitial_backoff = \"1h\"\nmax_backoff = \"1h\"\nmax_hold_back = \"{hold_back}\"\n")
    };
    // An hour is past the 300 ms: it is set aside.
    let h = Harness::start_with_config(&holding_back("300ms")).await;
    h.receiver.answer_next_with(&[503]);
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.advance(0.0).await;
    let arrived = h.receiver.take(USER_CALL_SETUP.len()).await;
    let seen: Vec<(String, String)> =
        arrived.iter().map(|a| (a.summary(), a.header("switchboard-sequence").to_owned())).collect();
    let expected: Vec<(String, String)> =
        USER_CALL_SETUP.iter().enumerate().map(|(n, summary)| ((*summary).to_owned(), (n + 1).to_string())).collect();
    assert_eq!(seen, expected, "the later ones go on; the sequence header shows the gap");
    let journal = h.journal(&id).await;
    let held = h.journal_until_attempts(&journal[0]["seq"], 1).await;
    assert_eq!(held["status"], "pending", "it keeps retrying: {held}");
    assert_eq!(held["deliveryAttempts"][0]["outcome"], "setAside", "{held}");

    // Without a bound worth the name, the call waits behind it, as before.
    let strict = Harness::start_with_config(&holding_back("2h")).await;
    strict.receiver.answer_next_with(&[503]);
    let alice = strict.user("Alice", answers_after(0)).await;
    let id = strict.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    strict.advance(0.0).await;
    assert_eq!(strict.receiver.next().await.summary(), "updated establishing");
    let journal = strict.journal_until(&id, |j| j.len() == USER_CALL_SETUP.len() && j[0]["attempts"] == 1).await;
    let held = strict.journal_until_attempts(&journal[0]["seq"], 1).await;
    assert_eq!(held["deliveryAttempts"][0]["outcome"], "retry", "{held}");
    assert!(journal[1..].iter().all(|n| n["status"] == "pending" && n["attempts"] == 0), "they wait: {journal:?}");
}

#[tokio::test]
async fn a_bot_that_refuses_a_notification_or_keeps_failing_is_given_up_on() {
    let h = Harness::start_with_config("[notifications]\ninitial_backoff = \"10ms\"\nmax_attempts = 2\n").await;
    h.receiver.answer_next_with(&[403]);
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.receiver.next().await;
    h.receiver.answer_next_with(&[503, 503]);
    h.advance(0.0).await;
    h.receiver.take(USER_CALL_SETUP.len()).await;
    let journal = h.settled_journal(&id).await;
    let outcome: Vec<(Option<&str>, Option<u64>, Option<u64>)> =
        journal.iter().map(|n| (n["status"].as_str(), n["attempts"].as_u64(), n["lastStatus"].as_u64())).collect();
    assert_eq!(
        outcome[..2],
        [(Some("deadLettered"), Some(1), Some(403)), (Some("deadLettered"), Some(2), Some(503))],
        "403 is not retried; 503 is, up to max_attempts"
    );
    assert_eq!(journal[2]["status"], "delivered", "and the call's next notification still goes out");
    assert!(journal[0]["lastError"].as_str().unwrap().contains("403"));
}

#[tokio::test]
async fn notifications_with_nowhere_to_go_are_dead_letters_at_once() {
    let h = Harness::start().await;
    h.send("PATCH", &format!("/_admin/apps/{DEV_APP}"), Some(&json!({"callingWebhook": null})), None).await.expect(200);
    let alice = h.user("Alice", answers_after(0)).await;
    let call =
        h.sim("POST", "/calls", Some(&json!({"from": {"user": {"id": alice}}, "appId": DEV_APP}))).await.expect(201);
    let journal = h.journal(call.body["id"].as_str().unwrap()).await;
    assert_eq!(journal.len(), 1);
    assert_eq!((journal[0]["status"].as_str(), journal[0]["url"].as_str()), (Some("deadLettered"), None));
    assert!(journal[0]["lastError"].as_str().unwrap().contains("no calling webhook"), "{}", journal[0]);
    assert_eq!(journal[0]["body"]["value"][0]["changeType"], "created", "what would have been sent");
}

/// The call a notification is about, from its resource URL.
fn call_of(received: &Received) -> String {
    received.resource_url().split('/').nth(3).unwrap_or_default().to_owned()
}

/// Creates a call to `user` whose notifications go to `callback`; returns its id.
async fn call_with_callback(h: &Harness, user: &str, callback: &str) -> String {
    let mut body = h.call_body(vec![user_identity(user)]);
    body["callbackUri"] = callback.into();
    h.place("v1.0", &body).await
}

/// Each call's notifications arrived in the order they were raised, each once: per call, the sequence numbers are
/// 1, 2, 3 … and the message ids all differ.
fn assert_in_order_once(received: &[Received], calls: &[String]) {
    for call in calls {
        let of_call: Vec<&Received> = received.iter().filter(|r| &call_of(r) == call).collect();
        let numbers: Vec<String> = of_call.iter().map(|r| r.header("switchboard-sequence").to_owned()).collect();
        let expected: Vec<String> = (1..=of_call.len()).map(|n| n.to_string()).collect();
        assert_eq!(numbers, expected, "call {call}");
        let ids: HashSet<&str> = of_call.iter().map(|r| r.header("x-microsoft-skype-message-id")).collect();
        assert_eq!(ids.len(), of_call.len(), "nothing twice");
    }
}

const FAST_RETRIES: &str = "[notifications]\ninitial_backoff = \"20ms\"\nmax_backoff = \"100ms\"\n";

/// Three calls whose bot is down: their notifications are retried until it is up.
async fn calls_to_a_receiver_that_is_down(h: &Harness) -> (SocketAddr, Vec<String>) {
    let address = Receiver::reserve_address();
    let mut calls = Vec::new();
    for name in ["Alice", "Bob", "Carol"] {
        let user = h.user(name, answers_after(0)).await;
        calls.push(call_with_callback(h, &user, &format!("http://{address}/callback")).await);
    }
    h.advance(0.0).await;
    for call in &calls {
        let journal = h.journal_until(call, |j| j.first().is_some_and(|n| n["attempts"].as_u64() >= Some(2))).await;
        assert_eq!(journal[0]["status"], "pending", "refused connections are retried");
        assert!(journal[0]["lastError"].as_str().unwrap().contains("error sending request"), "{}", journal[0]);
    }
    (address, calls)
}

async fn receive_everything(h: &Harness, receiver: &Receiver, calls: &[String]) {
    let mut expected = 0;
    for call in calls {
        expected += h.journal(call).await.len();
    }
    let received = receiver.take(expected).await;
    assert_in_order_once(&received, calls);
    for call in calls {
        let journal = h.settled_journal(call).await;
        assert!(journal.iter().all(|n| n["status"] == "delivered"), "{journal:?}");
    }
    assert!(receiver.drain().await.is_empty(), "nothing more than the journal holds");
}

#[tokio::test]
async fn a_receiver_that_was_down_gets_everything_in_order_once_it_is_up() {
    let h = Harness::start_with_config(FAST_RETRIES).await;
    let (address, calls) = calls_to_a_receiver_that_is_down(&h).await;
    let receiver = Receiver::start_at(address).await;
    receive_everything(&h, &receiver, &calls).await;
}

#[tokio::test]
async fn undelivered_notifications_survive_a_crash() {
    let mut h = Harness::start_with_config(FAST_RETRIES).await;
    let (address, calls) = calls_to_a_receiver_that_is_down(&h).await;
    h.crash_and_restart().await;
    let receiver = Receiver::start_at(address).await;
    receive_everything(&h, &receiver, &calls).await;
}

#[tokio::test]
async fn a_slow_receiver_times_out_without_holding_up_other_calls() {
    let h = Harness::start_with_config("[notifications]\ntimeout = \"1s\"\ninitial_backoff = \"20ms\"\n").await;
    h.receiver.plan([Planned { delay: Duration::from_secs(2), ..Planned::status(202) }]);
    // They answer only when the test moves the clock, so each call raises one notification here.
    let alice = h.user("Alice", answers_after(60_000)).await;
    let slow = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    let hanging = h.receiver.next().await;
    let bob = h.user("Bob", answers_after(60_000)).await;
    let other = h.call(user_identity(&bob)).await["id"].as_str().unwrap().to_owned();
    let meanwhile = h.receiver.next().await;
    assert_eq!(call_of(&meanwhile), other, "another call's notification goes out while the first hangs");
    let retried = h.receiver.next().await;
    assert_eq!(call_of(&retried), slow);
    assert_eq!(
        retried.header("x-microsoft-skype-message-id"),
        hanging.header("x-microsoft-skype-message-id"),
        "the retry is the same message, so the bot can drop it"
    );
    let journal = h.settled_journal(&slow).await;
    let entry = h.journal_entry(&journal[0]["seq"]).await;
    let attempts = entry["deliveryAttempts"].as_array().unwrap();
    assert_eq!((attempts[0]["outcome"].as_str(), attempts[1]["outcome"].as_str()), (Some("retry"), Some("delivered")));
    assert!(attempts[0]["error"].as_str().unwrap().contains("timed out"), "{}", attempts[0]);
    assert!(attempts[0]["latencyMs"].as_u64().unwrap() >= 1000);
}

/// A webhook that accepts connections and never answers.
async fn hanging_receiver() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callback", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    url
}

#[tokio::test]
async fn a_hanging_webhook_takes_no_delivery_slot_from_other_bots() {
    // Two delivery slots and one connection per host: before, the second call to the hanging webhook took the
    // other slot to wait for that connection, and the healthy bot waited out the timeout.
    let hanging = hanging_receiver().await;
    the_healthy_bot_is_served_while_webhooks_hang(2, vec![hanging.clone(), hanging.clone(), hanging]).await;
}

#[tokio::test]
async fn a_wave_of_hanging_webhooks_holds_the_delivery_slots_for_a_second_not_for_the_timeout() {
    // Four slots for receivers that answer, four webhooks that hang at once: each POST holds its slot until its
    // receiver has kept it waiting a second, then gives it back.
    let mut hanging = Vec::new();
    for _ in 0..4 {
        hanging.push(hanging_receiver().await);
    }
    the_healthy_bot_is_served_while_webhooks_hang(4, hanging).await;
}

/// A call for each of `webhooks` (which hang), then one of the healthy bot: its notification arrives while every
/// hanging POST still waits for its 30 s timeout.
async fn the_healthy_bot_is_served_while_webhooks_hang(concurrency: usize, webhooks: Vec<String>) {
    let config = format!("[notifications]\ntimeout = \"30s\"\nconcurrency = {concurrency}\nconnections_per_host = 1\n");
    let h = Harness::start_with_config(&config).await;
    let mut stuck = Vec::new();
    for (n, webhook) in webhooks.iter().enumerate() {
        let user = h.user(&format!("User {n}"), answers_after(60_000)).await;
        stuck.push(call_with_callback(&h, &user, webhook).await);
    }
    let bob = h.user("Bob", answers_after(60_000)).await;
    let healthy = h.call(user_identity(&bob)).await["id"].as_str().unwrap().to_owned();
    assert_eq!(call_of(&h.receiver.next().await), healthy);
    for call in &stuck {
        let journal = h.journal(call).await;
        assert_eq!(journal[0]["attempts"], 0, "no hanging webhook has timed out yet: {journal:?}");
    }
}

#[tokio::test]
async fn a_gone_receiver_makes_a_dead_letter_that_can_be_replayed() {
    let h = Harness::start().await;
    h.receiver.answer_next_with(&[410]);
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    let gone = h.receiver.next().await;
    h.advance(0.0).await;
    assert_eq!(
        h.receiver.summaries(4).await,
        USER_CALL_SETUP[1..],
        "a dead letter does not hold the call's later notifications back"
    );
    let journal = h.settled_journal(&id).await;
    let seq = journal[0]["seq"].clone();
    assert_eq!((journal[0]["status"].as_str(), journal[0]["lastStatus"].as_u64()), (Some("deadLettered"), Some(410)));
    let dead = h.sim("GET", &format!("/notifications?callId={id}&status=deadLettered"), None).await.expect(200);
    assert_eq!(dead.body["value"].as_array().unwrap().len(), 1);

    let replayed = h.sim("POST", &format!("/notifications/{seq}/replay"), None).await.expect(200);
    assert!(replayed.body["replayedAt"].is_string());
    let again = h.receiver.next().await;
    assert_eq!(again.header("x-microsoft-skype-message-id"), gone.header("x-microsoft-skype-message-id"));
    assert_eq!(again.header("switchboard-sequence"), "1");
    let journal = h.settled_journal(&id).await;
    assert_eq!((journal[0]["status"].as_str(), journal[0]["attempts"].as_u64()), (Some("delivered"), Some(2)));

    let entry = h.journal_entry(&seq).await;
    let attempts = entry["deliveryAttempts"].as_array().unwrap();
    let outcomes: Vec<_> = attempts.iter().map(|a| (a["outcome"].as_str(), a["status"].as_u64())).collect();
    assert_eq!(outcomes, [(Some("deadLettered"), Some(410)), (Some("delivered"), Some(202))]);
    let headers = &attempts[0]["requestHeaders"];
    assert_eq!(headers["authorization"], "Bearer (left out of the journal)", "no token in the journal");
    assert_eq!(headers["x-microsoft-skype-message-id"], gone.header("x-microsoft-skype-message-id"));
    assert_eq!(headers["user-agent"], "Microsoft-Skype/3.0,(Calling/1.0)");

    let twice = h.sim("POST", &format!("/notifications/{seq}/replay"), None).await.expect(409);
    assert!(twice.error_message().contains("is delivered; only dead letters are replayed"), "{}", twice.body);
    h.sim("POST", "/notifications/987654/replay", None).await.expect(404);
    h.sim("GET", "/notifications/987654", None).await.expect(404);
}

#[tokio::test]
async fn dead_letters_with_nowhere_to_go_are_replayed_to_a_url_given_then() {
    let h = Harness::start().await;
    h.send("PATCH", &format!("/_admin/apps/{DEV_APP}"), Some(&json!({"callingWebhook": null})), None).await.expect(200);
    let alice = h.user("Alice", answers_after(0)).await;
    let call = h.sim("POST", "/calls", Some(&json!({"from": {"user": {"id": alice}}, "appId": DEV_APP}))).await;
    let id = call.expect(201).body["id"].as_str().unwrap().to_owned();
    let nothing = h.sim("POST", "/notifications/replay", Some(&json!({}))).await.expect(200);
    assert_eq!(nothing.body["replayed"], 0, "no URL to go to yet");
    let to_receiver = json!({"appId": DEV_APP, "url": format!("{}/incoming", h.receiver.url)});
    let replayed = h.sim("POST", "/notifications/replay", Some(&to_receiver)).await.expect(200);
    assert_eq!(replayed.body["replayed"], 1);
    let incoming = h.receiver.next().await;
    assert_eq!((incoming.path.as_str(), incoming.change_type(), call_of(&incoming)), ("/incoming", "created", id));
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let h = Harness::start_with_config("[notifications]\ninitial_backoff = \"10ms\"\n").await;
    h.receiver.plan([Planned::with_header(429, "retry-after", "2")]);
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.receiver.take(2).await;
    let journal = h.settled_journal(&id).await;
    let entry = h.journal_entry(&journal[0]["seq"]).await;
    let first = &entry["deliveryAttempts"][0];
    let at = |name: &str| chrono::DateTime::parse_from_rfc3339(first[name].as_str().unwrap()).unwrap();
    assert_eq!((first["outcome"].as_str(), first["status"].as_u64()), (Some("retry"), Some(429)));
    assert!(at("nextAttemptAt") - at("startedAt") >= chrono::Duration::seconds(2), "not the 10 ms backoff: {first}");
}

#[tokio::test]
async fn one_call_keeps_one_connection_and_carries_graphs_headers() {
    let h = Harness::start().await;
    let users = [
        h.user("A", answers_after(0)).await,
        h.user("B", answers_after(1000)).await,
        h.user("C", answers_after(2000)).await,
    ];
    let body = h.call_body(users.iter().map(|u| user_identity(u)).collect());
    let created = h
        .http
        .post(format!("{}/v1.0/communications/calls", h.base))
        .bearer_auth(&h.token)
        .header("scenario-id", "5f2b4a2c-0000-4000-8000-00000000005c")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let call: Value = created.json().await.unwrap();
    for _ in 0..3 {
        h.advance(1.0).await;
    }
    let journal = h.settled_journal(call["id"].as_str().unwrap()).await;
    assert!(journal.len() >= 5, "{journal:?}");
    let received = h.receiver.take(journal.len()).await;
    assert_in_order_once(&received, &[call["id"].as_str().unwrap().to_owned()]);
    let connections: HashSet<SocketAddr> = received.iter().map(|r| r.remote).collect();
    assert_eq!(connections.len(), 1, "kept alive: {connections:?}");
    for r in &received {
        assert_eq!(r.header("scenario-id"), "5f2b4a2c-0000-4000-8000-00000000005c", "the scenario the bot gave");
        assert_eq!(r.header("x-microsoft-skype-chain-id"), call["callChainId"].as_str().unwrap());
        assert_eq!(r.header("x-microsoft-skype-caller-region"), "amer", "as live Graph's POSTs");
        assert_eq!(r.header("x-microsoft-tenant"), "", "a header of the docs only");
    }
}

#[tokio::test]
async fn an_https_receiver_that_offers_http2_gets_it() {
    let certificate = TestCertificate::issue();
    let trusted = tempfile::tempdir().unwrap();
    let ca = trusted.path().join("ca.pem");
    std::fs::write(&ca, &certificate.ca_pem).unwrap();
    let h = Harness::start_with_config(&format!("[notifications]\ntrust = [{:?}]\n", ca.display().to_string())).await;
    let receiver = Receiver::start_tls(&certificate).await;
    let alice = h.user("Alice", answers_after(0)).await;
    call_with_callback(&h, &alice, &format!("{}/callback", receiver.url)).await;
    let received = receiver.next().await;
    assert_eq!(received.version, Version::HTTP_2);
    assert_eq!(received.change_type(), "updated");
}

#[tokio::test]
async fn notifications_queued_together_can_share_a_post() {
    let h = Harness::start_with_config("[notifications]\nbatch_size = 10\n").await;
    // Answering a second later: its notifications are a change of their own (answering at once, they would share
    // the change that placed the call).
    let alice = h.user("Alice", answers_after(1)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    let alone = h.receiver.next().await;
    assert_eq!(alone.header("switchboard-sequence"), "1");
    h.advance(1.0).await;
    let together = h.receiver.next().await;
    assert_eq!(together.header("switchboard-sequence"), "2-5", "the notifications of one change, one POST");
    let states: Vec<_> =
        together.body["value"].as_array().unwrap().iter().map(|n| n["resourceData"]["state"].clone()).collect();
    assert_eq!(states, ["established"; 4]);
    let journal = h.settled_journal(&id).await;
    let entry = h.journal_entry(&journal[2]["seq"]).await;
    assert_eq!(entry["deliveryAttempts"][0]["batchSize"], 4);
}

#[tokio::test]
async fn disorder_knobs_duplicate_and_delay_deliveries() {
    let h = Harness::start().await;
    let refused = h.sim("PUT", "/delivery", Some(&json!({"duplicateRate": 2}))).await.expect(400);
    assert!(refused.error_message().contains("between 0 and 1"), "{}", refused.body);
    assert_eq!(h.sim("GET", "/delivery", None).await.expect(200).body["duplicateRate"], 0.0);

    h.sim("PUT", "/delivery", Some(&json!({"duplicateRate": 1}))).await.expect(200);
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    let twice = h.receiver.take(2).await;
    assert_eq!(twice[0].header("x-microsoft-skype-message-id"), twice[1].header("x-microsoft-skype-message-id"));
    let journal = h.journal_until(&id, |j| j.first().is_some_and(|n| n["status"] == "delivered")).await;
    let entry = h.journal_until_attempts(&journal[0]["seq"], 2).await;
    let outcomes: Vec<_> = entry["deliveryAttempts"].as_array().unwrap().iter().map(|a| a["outcome"].clone()).collect();
    assert_eq!(outcomes, ["delivered", "duplicate"]);
    assert_eq!(entry["attempts"], 1, "a duplicate is not an attempt at delivery");

    h.sim("PUT", "/delivery", Some(&json!({"delay": "300ms"}))).await.expect(200);
    let started = std::time::Instant::now();
    let late = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    while call_of(&h.receiver.next().await) != late {}
    assert!(started.elapsed() >= Duration::from_millis(300), "held back by the delay knob");
}

#[tokio::test]
async fn the_journal_filters_and_pages_and_metrics_count_deliveries() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.advance(5.0).await;
    h.graph("DELETE", &format!("/v1.0/communications/calls/{id}"), None).await.expect(204);
    let journal = h.settled_journal(&id).await;
    h.receiver.take(journal.len()).await;
    let page = h.sim("GET", &format!("/notifications?callId={id}&limit=2"), None).await.expect(200).body;
    assert_eq!(page["value"].as_array().unwrap().len(), 2);
    let rest = h.sim("GET", &format!("/notifications?callId={id}&after={}", page["next"]), None).await.expect(200).body;
    assert_eq!(rest["value"].as_array().unwrap().len(), journal.len() - 2);
    let since = journal.last().unwrap()["raisedAt"].as_str().unwrap().to_owned();
    let late = h.sim("GET", &format!("/notifications?callId={id}&raisedSince={since}"), None).await.expect(200).body;
    assert!(late["value"].as_array().unwrap().iter().all(|n| n["raisedAt"].as_str().unwrap() >= since.as_str()));
    assert!(late["value"].as_array().unwrap().len() < journal.len(), "the clock moved 5 s between them");
    let numbers: Vec<_> = journal.iter().map(|n| n["sequenceNumber"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (1..=journal.len() as u64).collect::<Vec<_>>());
    let bad = h.sim("GET", "/notifications?status=lost", None).await.expect(400);
    assert!(bad.error_message().contains("pending, delivered, deadLettered"), "{}", bad.body);

    let metrics = h.http.get(format!("{}/metrics", h.base)).send().await.unwrap().text().await.unwrap();
    let value = |name: &str| -> f64 {
        let line = metrics.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name} in {metrics}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(value("switchboard_notifications_delivered_total") >= journal.len() as f64);
    assert_eq!(value("switchboard_notifications_queued"), 0.0);
    assert!(metrics.contains("switchboard_notification_delivery_seconds_bucket{le=\"0.005\"}"), "{metrics}");
    assert!(metrics.contains("switchboard_notification_attempts_total{answer=\"2xx\"}"));
}

#[tokio::test]
async fn the_journal_keeps_at_most_what_it_is_told_to() {
    let mut h = Harness::start_with_config("[notifications]\njournal_max_entries = 2\n").await;
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.advance(0.0).await;
    assert_eq!(h.settled_journal(&id).await.len(), USER_CALL_SETUP.len());
    // The journal is pruned when the dispatcher starts and every minute after.
    h.restart().await;
    let kept = h.journal_until(&id, |j| j.len() <= 2).await;
    assert_eq!(kept.iter().map(|n| n["sequenceNumber"].clone()).collect::<Vec<_>>(), [4, 5], "the newest are kept");
}

#[tokio::test]
async fn the_disorder_knob_reorders_a_calls_notifications() {
    let h = Harness::start_with_config(FAST_RETRIES).await;
    h.sim("PUT", "/delivery", Some(&json!({"reorderWindow": 8, "seed": 11}))).await.expect(200);
    // The bot is down while four people answer its group call, so every notification of the call waits at once;
    // whatever the timing, the first eight then go out in one of 8! orders, only one of which is the original.
    let address = Receiver::reserve_address();
    let mut users = Vec::new();
    for name in ["B", "C", "D", "E"] {
        users.push(h.user(name, answers_after(0)).await);
    }
    let mut body = h.call_body(users.iter().map(|u| user_identity(u)).collect());
    body["callbackUri"] = json!(format!("http://{address}/callback"));
    let group = h.place("v1.0", &body).await;
    h.advance(0.0).await;
    let queued = h.journal(&group).await.len();
    assert!(queued >= 8, "{queued} notifications");
    let receiver = Receiver::start_at(address).await;
    let journal = h.settled_journal(&group).await;
    let received: Vec<Received> = receiver.take(journal.len()).await;
    let numbers: Vec<u64> = received.iter().map(|r| r.header("switchboard-sequence").parse().unwrap()).collect();
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=journal.len() as u64).collect::<Vec<_>>(), "each once");
    assert_ne!(numbers, sorted, "out of order");
}

#[tokio::test]
async fn a_302_with_a_location_is_followed_as_graph_does() {
    let h = Harness::start().await;
    let elsewhere = Receiver::start().await;
    h.receiver.plan([Planned::with_header(302, "location", &format!("{}/region-2/callback", elsewhere.url))]);
    let alice = h.user("Alice", answers_after(60_000)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    let asked = h.receiver.next().await;
    let reposted = elsewhere.next().await;
    assert_eq!((reposted.path.as_str(), reposted.body.clone()), ("/region-2/callback", asked.body.clone()));
    let journal = h.settled_journal(&id).await;
    let entry = h.journal_entry(&journal[0]["seq"]).await;
    let attempt = &entry["deliveryAttempts"][0];
    assert_eq!((attempt["outcome"].as_str(), attempt["status"].as_u64()), (Some("delivered"), Some(202)));
    assert!(attempt["url"].as_str().unwrap().ends_with("/region-2/callback"), "where it went in the end: {attempt}");
}

#[tokio::test]
async fn an_offer_the_webhook_never_took_is_given_up_when_the_caller_hangs_up() {
    let h = Harness::start_with_config("[notifications]\ninitial_backoff = \"1h\"\nmax_backoff = \"1h\"\n").await;
    h.receiver.answer_next_with(&[503]);
    let alice = h.user("Alice", answers_after(0)).await;
    let (offer, id) = h.incoming_from(&alice).await;
    assert_eq!(offer.change_type(), "created", "the offer, refused with 503");
    let journal = h.journal_until(&id, |j| j.first().is_some_and(|n| n["attempts"] == 1)).await;
    h.sim("POST", &format!("/calls/{id}/participants/{alice}/hangUp"), None).await.expect(200);
    assert_eq!(h.receiver.next().await.summary(), "deleted terminated", "the end goes out");
    let offer = h.journal_entry(&journal[0]["seq"]).await;
    assert_eq!(offer["status"], "deadLettered", "not retried once the call is over: {offer}");
    assert!(offer["lastError"].as_str().unwrap_or_default().contains("call ended before its offer"), "{offer}");
}
