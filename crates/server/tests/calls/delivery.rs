//! How notifications reach bots (graph-calls.md §c): signed with a token the bot validates against Switchboard's
//! published keys, in order per call, retried while the bot fails, given up on when it refuses, journaled.

use jsonwebtoken::{DecodingKey, Validation, jwk::JwkSet};
use serde_json::{Value, json};

use crate::support::{DEV_APP, DEV_TENANT, Harness, answers_after, user_identity};

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
    assert!(headers.contains_key("x-microsoft-skype-message-id") && headers.contains_key("client-request-id"));
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
async fn a_bot_that_refuses_a_notification_or_keeps_failing_is_given_up_on() {
    let h = Harness::start_with_config("[notifications]\ninitial_backoff = \"10ms\"\nmax_attempts = 2\n").await;
    h.receiver.answer_next_with(&[403]);
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.receiver.next().await;
    h.receiver.answer_next_with(&[503, 503]);
    h.advance(0.0).await;
    h.receiver.take(3).await;
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
