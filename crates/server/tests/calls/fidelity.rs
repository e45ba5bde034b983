//! Graph as it behaves (docs/fidelity.md): what Switchboard sends by default has the shape of the notifications
//! recorded from live calls (tests/fixtures/observed), and `[fidelity] shapes = "documented"` brings back the
//! shapes of the docs' examples.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::{DEV_TENANT, Harness, Received, USER_CALL_SETUP, user_identity};

pub(crate) const DOCUMENTED: &str = "[fidelity]\nshapes = \"documented\"\n";

/// A notification recorded from live Graph (tests/fixtures/observed/sambetts, see SOURCES.md there).
fn recorded(name: &str) -> Value {
    let path = format!("{}/../../tests/fixtures/observed/sambetts/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let body: Value = serde_json::from_str(&text).unwrap();
    body["value"][0].clone()
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap_or_else(|| panic!("not an object: {value}")).keys().cloned().collect()
}

/// The notification and its resource data have the keys of the recorded one, no more and no fewer.
fn assert_shaped_like(got: &Received, name: &str) {
    let live = recorded(name);
    assert_eq!(keys(&got.notification), keys(&live), "{name}: envelope {}", got.notification);
    assert_eq!(keys(got.data()), keys(&live["resourceData"]), "{name}: resourceData {}", got.data());
}

/// Alice answers at once and hangs up after 30 s; the bot plays a prompt meanwhile. Live Graph announces the
/// conversation in two more updates once media flows; the docs show none.
async fn a_call_alice_ends(h: &Harness, announced: &[&str]) -> (String, Vec<Received>) {
    let alice = h.user("Alice", json!({"response": {"kind": "answer", "afterMs": 0}, "hangUpAfterMs": 30000})).await;
    let id = h.place("v1.0", &h.call_body(vec![user_identity(&alice)])).await;
    h.advance(0.0).await;
    let mut received = h.receiver.take(3 + announced.len()).await;
    let uri = h.upload_tone("welcome.wav", 440.0, 500).await;
    let prompt = crate::media::prompt(&uri);
    let body = json!({"clientContext": "d45324c1-fcb5-430a-902c-f20af696537c", "prompts": [prompt]});
    h.graph("POST", &format!("/v1.0/communications/calls/{id}/playPrompt"), Some(&body)).await.expect(200);
    h.advance(1.0).await;
    received.push(h.receiver.next().await);
    h.advance(30.0).await;
    received.push(h.receiver.next().await);
    let summaries: Vec<String> = received.iter().map(Received::summary).collect();
    let expected: Vec<&str> = ["updated establishing", "updated established", "updated established audio active"]
        .into_iter()
        .chain(announced.iter().copied())
        .chain(["deleted operation completed", "deleted terminated"])
        .collect();
    assert_eq!(summaries, expected);
    (id, received)
}

#[tokio::test]
async fn a_peer_to_peer_call_notifies_as_live_graph_does() {
    let h = Harness::start().await;
    let (id, received) = a_call_alice_ends(&h, &USER_CALL_SETUP[3..]).await;
    let [establishing, established, media, chat, token, prompt, ended] = &received[..] else { unreachable!() };
    assert_shaped_like(establishing, "p2p-outgoing-establishing");
    assert_shaped_like(established, "p2p-outgoing-established");
    assert_shaped_like(media, "p2p-established-media-active");
    assert_shaped_like(chat, "p2p-established-chatinfo-replacescontext");
    assert_shaped_like(token, "p2p-established-meetinginfo-token");
    assert_shaped_like(prompt, "playprompt-completed");
    // The recorded hang-up is of a call that never got a token; a call that did keeps it to the end, as the
    // recorded group call's terminated update does.
    let mut ended_keys = keys(&recorded("p2p-terminated-by-peer")["resourceData"]);
    ended_keys.insert("meetingInfo".into());
    assert_eq!(keys(ended.data()), ended_keys, "{}", ended.data());
    assert_eq!(ended.data()["meetingInfo"], token.data()["meetingInfo"]);
    assert_conversation_like_live(&id, chat, token);

    assert_eq!(establishing.notification["resource"], format!("/app/calls/{id}"), "the deprecated root, as live");
    assert_eq!(established.data()["direction"], "outgoing");
    let chain = established.data()["callChainId"].as_str().unwrap();
    for update in [establishing, media, chat, token, ended] {
        assert_eq!(update.data()["callChainId"], chain, "every call-state update carries the chain id");
    }
    assert_eq!(
        ended.data()["resultInfo"],
        recorded("p2p-terminated-by-peer")["resourceData"]["resultInfo"],
        "the end of a call the other side hung up, word for word"
    );
    let live_prompt = recorded("playprompt-completed");
    assert_eq!(prompt.data()["completionReason"], live_prompt["resourceData"]["completionReason"]);
    assert_eq!(
        keys(&prompt.data()["prompts"][0]["mediaInfo"]),
        keys(&live_prompt["resourceData"]["prompts"][0]["mediaInfo"])
    );
    assert_eq!(
        prompt.notification["resource"],
        format!("/app/calls/{id}/operations/{}", prompt.data()["id"].as_str().unwrap())
    );

    for notification in &received {
        assert_eq!(notification.header("x-microsoft-skype-caller-region"), "amer");
        assert_eq!(notification.header("x-microsoft-tenant"), "");
        assert_eq!(notification.header("client-request-id"), "");
    }
}

/// The chat and token updates: sub-objects keyed as live ones, a peer-to-peer thread id, the Teams user's
/// replacement link in `replacesContext`, and a token with live Graph's claims.
fn assert_conversation_like_live(call_id: &str, chat: &Received, token: &Received) {
    use base64::{Engine as _, prelude::*};
    let live = recorded("p2p-established-meetinginfo-token");
    let live = &live["resourceData"];
    for object in ["chatInfo", "meetingProperties", "meetingCapability"] {
        assert_eq!(token.data()[object], chat.data()[object], "later updates repeat earlier ones");
        assert_eq!(keys(&token.data()[object]), keys(&live[object]), "{object}");
    }
    assert_eq!(chat.data()["meetingProperties"], live["meetingProperties"]);
    let thread = chat.data()["chatInfo"]["threadId"].as_str().unwrap();
    assert!(thread.starts_with("19:") && !thread.ends_with("@thread.v2"), "a peer-to-peer chat: {thread}");
    let link = BASE64_STANDARD.decode(chat.data()["replacesContext"].as_str().unwrap()).unwrap();
    let link = String::from_utf8(link).unwrap();
    assert!(link.starts_with(&format!("https://switchboard.invalid/cc/v1/callParticipant/{call_id}/")), "{link}");

    let signed = token.data()["meetingInfo"]["token"].as_str().unwrap();
    let part = |jwt: &str, n: usize| -> Value {
        serde_json::from_slice(&BASE64_URL_SAFE_NO_PAD.decode(jwt.split('.').nth(n).unwrap()).unwrap()).unwrap()
    };
    let claims = part(signed, 1);
    assert_eq!(keys(&claims), keys(&part(live["meetingInfo"]["token"].as_str().unwrap(), 1)), "live Graph's claims");
    assert_eq!(part(signed, 0)["alg"], "HS256", "signed, by a key of the server's own (docs/fidelity.md)");
    assert_eq!(claims["activityId"], chat.data()["callChainId"]);
    assert_eq!(claims["http://schemas.microsoft.com/identity/claims/tenantid"], DEV_TENANT);
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["nbf"].as_i64().unwrap(), 86_400, "a day, as Graph's");
}

#[tokio::test]
async fn roster_entries_have_the_properties_of_live_ones() {
    let h = Harness::start().await;
    let a = h.user("A", json!({"response": {"kind": "answer", "afterMs": 0}, "hangUpAfterMs": 10000})).await;
    let b = h.user("B", json!({"response": {"kind": "answer", "afterMs": 0}, "hangUpAfterMs": 20000})).await;
    let id = h.place("v1.0", &h.call_body(vec![user_identity(&a), user_identity(&b)])).await;
    h.advance(0.0).await;
    let start = h.receiver.take(6).await;
    let live = recorded("p2p-roster-user-and-bot");
    assert_eq!(keys(&start[5].notification), keys(&live), "the roster notification's envelope");
    let roster = start[5].data().as_array().unwrap();
    let (live_user, live_bot) = (&live["resourceData"][0], &live["resourceData"][1]);
    let bot = &roster[0];
    let user = &roster[1];
    assert_eq!(keys(bot), keys(live_bot), "the bot's entry: {bot}");
    assert_eq!(keys(&bot["info"]), keys(&live_bot["info"]), "the bot's info");
    assert_eq!(keys(user), keys(live_user), "a person's entry: {user}");
    assert_eq!(keys(&user["info"]), keys(&live_user["info"]), "a person's info");
    assert_eq!(keys(&user["info"]["identity"]["user"]), keys(&live_user["info"]["identity"]["user"]));
    assert_eq!(user["info"]["identity"]["user"]["tenantId"], DEV_TENANT);
    assert_eq!(bot["info"]["identity"]["application"]["identityProvider"], "AAD");

    let listed = h.graph("GET", &format!("/v1.0/communications/calls/{id}/participants"), None).await.expect(200);
    assert_eq!(keys(&listed.body["value"][1]), keys(live_user), "GET answers the same entries");
    let through_app = h.graph("GET", &format!("/v1.0/app/calls/{id}/participants"), None).await.expect(200);
    assert_eq!(
        through_app.body["@odata.context"],
        format!("{}/v1.0/$metadata#app/calls('{id}')/participants", h.base),
        "the context names the root the bot used"
    );

    h.advance(20.0).await;
    let end = h.receiver.take(3).await;
    let live_end = recorded("group-terminated-last-participant");
    assert_eq!(end[2].data()["resultInfo"], live_end["resourceData"]["resultInfo"], "a group call left to the bot");
}

#[tokio::test]
async fn documented_shapes_are_there_for_the_asking() {
    let h = Harness::start_with_config(DOCUMENTED).await;
    let (id, received) = a_call_alice_ends(&h, &[]).await;
    for notification in &received {
        let envelope = &notification.notification;
        assert!(envelope.get("resource").is_none() && envelope["callbackUri"] == h.callback(), "{envelope}");
        assert_eq!(notification.header("x-microsoft-tenant"), DEV_TENANT);
        assert!(!notification.header("client-request-id").is_empty());
        assert!(notification.header("x-microsoft-skype-caller-region").is_empty());
    }
    let [establishing, _, _, prompt, ended] = &received[..] else { unreachable!() };
    assert!(ended.data().get("meetingInfo").is_none(), "nor a conversation token");
    assert_eq!(establishing.data()["@odata.id"], format!("/communications/calls/{id}"));
    assert_eq!(establishing.data()["id"], id.as_str());
    assert!(establishing.data()["@odata.etag"].is_string() && establishing.data().get("callChainId").is_none());
    assert_eq!(prompt.data()["@odata.id"], prompt.resource_url());
    assert!(prompt.data().get("prompts").is_none() && prompt.data().get("completionReason").is_none());
    assert_eq!(ended.data()["resultInfo"]["message"], "The conversation has ended.", "no DiagCode in the docs");
    assert!(ended.data().get("meetingCapability").is_none());

    let listed = h.graph("GET", &format!("/v1.0/communications/calls/{id}/participants"), None).await;
    assert_eq!(listed.status, 404, "the call is over");

    // A rejection, as docs:call-reject shows it: only its type and id.
    let alice = h.user("Alice", json!({"response": {"kind": "answer", "afterMs": 0}})).await;
    let (_, offered) = h.incoming_from(&alice).await;
    h.graph("POST", &format!("/v1.0/communications/calls/{offered}/reject"), Some(&json!({"reason": "busy"})))
        .await
        .expect(202);
    let rejected = h.receiver.next().await;
    assert_eq!(
        rejected.data(),
        &json!({"@odata.type": "#microsoft.graph.call", "@odata.id": format!("/communications/calls/{offered}")})
    );
}

#[tokio::test]
async fn a_bot_answers_without_a_callback_and_through_beta_gets_a_beta_call_at_its_webhook() {
    let h = Harness::start().await;
    let alice = h.user("Alice", json!({"response": {"kind": "answer", "afterMs": 0}, "hangUpAfterMs": 60000})).await;
    let (offer, id) = h.incoming_from(&alice).await;
    assert_eq!(offer.path, "/incoming");
    // docs:call-answer: "If this property has not been set, the bot's global callback URI will be used instead."
    let answer = json!({
        "acceptedModalities": ["audio"],
        "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
    });
    h.graph("POST", &format!("/beta/communications/calls/{id}/answer"), Some(&answer)).await.expect(202);
    let established = h.receiver.take(USER_CALL_SETUP.len()).await;
    assert!(established.iter().all(|n| n.path == "/incoming"), "the app's calling webhook");
    let summaries: Vec<String> = established.iter().map(Received::summary).collect();
    assert_eq!(summaries, USER_CALL_SETUP);

    let uri = h.upload_tone("long.wav", 440.0, 5000).await;
    let play = json!({"clientContext": "first", "prompts": [crate::media::prompt(&uri)]});
    h.graph("POST", &format!("/v1.0/communications/calls/{id}/playPrompt"), Some(&play)).await.expect(200);
    h.graph("POST", &format!("/v1.0/communications/calls/{id}/cancelMediaProcessing"), Some(&json!({})))
        .await
        .expect(200);
    let cancelled = h.receiver.next().await;
    assert_eq!(cancelled.summary(), "deleted operation failed");
    assert_eq!(cancelled.data()["completionReason"], "mediaOperationCanceled", "answered through beta: a beta call");
}

#[tokio::test]
async fn answers_carry_graphs_headers_and_keep_alive_answers_empty_text() {
    let h = Harness::start().await;
    let alice = h.user("Alice", json!({"response": {"kind": "answer", "afterMs": 0}})).await;
    let created = h
        .http
        .post(format!("{}/v1.0/communications/calls", h.base))
        .bearer_auth(&h.token)
        .header("scenario-id", "0e9a4c1d-0000-4000-8000-00000000005c")
        .json(&h.call_body(vec![user_identity(&alice)]))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["scenario-id"], "0e9a4c1d-0000-4000-8000-00000000005c", "echoed");
    assert_eq!(created.headers()["odata-version"], "4.0");
    let id = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    h.advance(0.0).await;

    // Each version keeps to its schema, but for the two beta properties live v1.0 traffic shows.
    let v1 = h.graph("GET", &format!("/v1.0/communications/calls/{id}"), None).await.expect(200).body;
    let beta = h.graph("GET", &format!("/beta/communications/calls/{id}"), None).await.expect(200).body;
    for beta_only in ["activeModalities", "answeredBy", "ringingTimeoutInSeconds", "routingPolicies"] {
        assert!(v1.get(beta_only).is_none(), "{beta_only} in v1.0: {v1}");
        assert!(beta.get(beta_only).is_some(), "{beta_only} in beta: {beta}");
    }
    assert!(v1.get("terminationReason").is_some() && v1.get("meetingCapability").is_some());

    let alive = h
        .http
        .post(format!("{}/v1.0/communications/calls/{id}/keepAlive", h.base))
        .bearer_auth(&h.token)
        .send()
        .await
        .unwrap();
    assert_eq!(alive.status(), 200);
    assert_eq!(alive.headers()["content-type"], "text/plain");
    assert!(alive.headers().get("odata-version").is_none());
    assert!(alive.bytes().await.unwrap().is_empty());
}
