//! The media operations, proved with audio: what each simulated person heard is analysed by the server (level,
//! dominant frequency, DTMF keys per 100 ms), not read from flags.

use serde_json::{Value, json};

use crate::support::{Harness, USER_CALL_SETUP, answers_after, user_identity};

/// An established peer-to-peer call with Alice; returns the call id and Alice's participant id.
pub(crate) async fn call_with_alice(h: &Harness) -> (String, String) {
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.advance(0.0).await;
    h.receiver.take(USER_CALL_SETUP.len()).await;
    (id, alice)
}

/// An established group call with these people; returns the call id and their user ids.
async fn group_call(h: &Harness, names: &[&str]) -> (String, Vec<String>) {
    let mut users = Vec::new();
    for name in names {
        users.push(h.user(name, answers_after(0)).await);
    }
    let body = h.call_body(users.iter().map(|u| user_identity(u)).collect());
    let id = h.place("v1.0", &body).await;
    h.advance(0.0).await;
    h.receiver.take(4 + names.len()).await;
    (id, users)
}

pub(crate) fn prompt(uri: &str) -> Value {
    json!({"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": {"@odata.type": "#microsoft.graph.mediaInfo", "uri": uri, "resourceId": "1D6DE2D4-CD51-4309-8DAA-70768651088E"}})
}

async fn say(h: &Harness, call: &str, who: &str, what: Value) {
    h.sim("POST", &format!("/calls/{call}/participants/{who}/say"), Some(&what)).await.expect(202);
}

#[tokio::test]
async fn a_prompt_is_heard_by_the_other_party_and_then_completes() {
    let h = Harness::start().await;
    let (id, alice) = call_with_alice(&h).await;
    let uri = h.upload_tone("welcome.wav", 440.0, 1500).await;
    let body = json!({"clientContext": "d45324c1-fcb5-430a-902c-f20af696537c", "prompts": [prompt(&uri)]});
    let started =
        h.graph("POST", &format!("/v1.0/communications/calls/{id}/playPrompt"), Some(&body)).await.expect(200);
    assert_eq!(
        (started.body["@odata.type"].as_str(), started.body["status"].as_str()),
        (Some("#microsoft.graph.playPromptOperation"), Some("running"))
    );
    h.advance(1.0).await;
    assert_eq!(h.journal(&id).await.len(), USER_CALL_SETUP.len(), "still playing after 1 s");
    h.advance(2.0).await;
    let done = h.receiver.next().await;
    assert_eq!(done.summary(), "deleted operation completed");
    assert_eq!(
        (done.data()["resultInfo"]["code"].as_i64(), done.data()["resultInfo"]["subcode"].as_i64()),
        (Some(200), Some(0))
    );
    assert_eq!(done.data()["clientContext"], "d45324c1-fcb5-430a-902c-f20af696537c");
    // Live Graph echoes the prompts and says how it completed, in v1.0 too (docs/fidelity.md).
    assert_eq!(done.data()["completionReason"], "completedSuccessfully");
    assert_eq!(done.data()["prompts"], json!([prompt(&uri)]));
    let heard = h.heard(&id, &alice).await;
    assert!(
        (1400..=1600).contains(&heard.ms_of(440.0)),
        "Alice heard the whole prompt once: {:?}",
        heard.spans_of(440.0)
    );
    assert_eq!(h.heard(&id, "bot").await.ms_audible(), 0, "the bot does not hear its own prompt");
}

#[tokio::test]
async fn prompts_queue_in_order_and_cancel_media_processing_cuts_them() {
    let h = Harness::start().await;
    // A bot working in beta: its notifications carry beta's completion reasons.
    let alice = h.user("Alice", answers_after(0)).await;
    let body = h.call_body(vec![user_identity(&alice)]);
    let id = h.place("beta", &body).await;
    h.advance(0.0).await;
    h.receiver.take(USER_CALL_SETUP.len() + 1).await; // and beta's ringing
    let long = h.upload_tone("long.wav", 500.0, 5000).await;
    let next = h.upload_tone("next.wav", 900.0, 1000).await;
    let play = |uri: &str, context: &str| json!({"clientContext": context, "prompts": [prompt(uri)]});
    h.graph("POST", &format!("/beta/communications/calls/{id}/playPrompt"), Some(&play(&long, "first")))
        .await
        .expect(200);
    h.graph("POST", &format!("/beta/communications/calls/{id}/playPrompt"), Some(&play(&next, "second")))
        .await
        .expect(200);
    h.advance(1.0).await;
    let cancel = h
        .graph(
            "POST",
            &format!("/v1.0/communications/calls/{id}/cancelMediaProcessing"),
            Some(&json!({"clientContext": "c"})),
        )
        .await
        .expect(200);
    assert_eq!(cancel.body["status"], "completed");
    let cancelled = h.receiver.take(2).await;
    for (notification, context) in cancelled.iter().zip(["first", "second"]) {
        assert_eq!(notification.summary(), "deleted operation failed");
        assert_eq!(notification.data()["clientContext"], context);
        assert_eq!(notification.data()["resultInfo"]["subcode"], 8508);
        assert_eq!(notification.data()["completionReason"], "mediaOperationCanceled", "beta shows why");
    }
    h.advance(3.0).await;
    let heard = h.heard(&id, &alice).await;
    let prompt_ms = heard.ms_of(500.0);
    assert!((900..=1100).contains(&prompt_ms), "cut off after about 1 s: {:?}", heard.spans_of(500.0));
    assert_eq!(heard.ms_of(900.0), 0, "the queued prompt never played");
}

#[tokio::test]
async fn an_unplayable_prompt_fails_its_operation_not_the_call() {
    let h = Harness::start().await;
    let (id, _) = call_with_alice(&h).await;
    let missing = format!("{}/_sim/media/missing.wav", h.base);
    let body = json!({"prompts": [prompt(&missing)]});
    h.graph("POST", &format!("/v1.0/communications/calls/{id}/playPrompt"), Some(&body)).await.expect(200);
    h.advance(0.1).await;
    let failed = h.receiver.next().await;
    assert_eq!(failed.summary(), "deleted operation failed");
    let message = failed.data()["resultInfo"]["message"].as_str().unwrap();
    assert!(message.contains("404"), "{message}");
    assert_eq!(h.inspect(&id).await["state"], "established");
}

#[tokio::test]
async fn hold_music_is_heard_by_the_held_participant_only_until_stopped() {
    let h = Harness::start().await;
    let (id, users) = group_call(&h, &["Ann", "Ben", "Cat"]).await;
    let participants =
        h.graph("GET", &format!("/v1.0/communications/calls/{id}/participants"), None).await.expect(200).body;
    let participant_of = |user: &str| {
        participants["value"].as_array().unwrap().iter().find(|p| p["info"]["identity"]["user"]["id"] == user).unwrap()
            ["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let ben = participant_of(&users[1]);
    say(&h, &id, &users[0], json!({"toneHz": 600, "durationMs": 8000})).await;
    say(&h, &id, &users[1], json!({"toneHz": 1100, "durationMs": 8000})).await;
    h.advance(1.0).await;
    h.graph("POST", &format!("/v1.0/communications/calls/{id}/participants/{ben}/startHoldMusic"), Some(&json!({})))
        .await
        .expect(202);
    h.advance(3.0).await;
    h.graph("POST", &format!("/v1.0/communications/calls/{id}/participants/{ben}/stopHoldMusic"), Some(&json!({})))
        .await
        .expect(202);
    h.advance(2.0).await;
    let ben_heard = h.heard(&id, &users[1]).await;
    let cat_heard = h.heard(&id, &users[2]).await;
    // Ben heard Ann for the first second, music for three, and Ann again.
    let ann_for_ben = ben_heard.spans_of(600.0);
    assert_eq!(ann_for_ben.len(), 2, "{ann_for_ben:?}");
    assert!(ann_for_ben[1].0 - ann_for_ben[0].1 >= 2900, "a gap of 3 s on hold: {ann_for_ben:?}");
    let (gap_from, gap_to) = (ann_for_ben[0].1, ann_for_ben[1].0);
    let music_ms: u64 = ben_heard.0["windows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| (gap_from..gap_to).contains(&w["atMs"].as_u64().unwrap()))
        .filter(|w| w["levelDbfs"].as_f64().is_some_and(|l| l > -45.0))
        .count() as u64
        * 100;
    assert!(music_ms >= 2800, "music all through the hold: {music_ms} ms");
    // Cat never heard the music, and while Ben was on hold heard Ann alone.
    let ben_for_cat = cat_heard.spans_of(1100.0);
    assert!(ben_for_cat.iter().all(|(from, to)| *to <= gap_from + 100 || *from >= gap_to - 100), "{ben_for_cat:?}");
    let ann_alone: u64 =
        cat_heard.spans_of(600.0).iter().map(|(from, to)| to.min(&gap_to).saturating_sub(*from.max(&gap_from))).sum();
    assert!(ann_alone >= 2800, "Cat heard Ann alone during the hold: {:?}", cat_heard.spans_of(600.0));
}

#[tokio::test]
async fn a_muted_participant_is_not_heard() {
    let h = Harness::start().await;
    let (id, users) = group_call(&h, &["Ann", "Ben"]).await;
    let participants =
        h.graph("GET", &format!("/v1.0/communications/calls/{id}/participants"), None).await.expect(200).body;
    let ann = participants["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["info"]["identity"]["user"]["id"] == users[0].as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    say(&h, &id, &users[0], json!({"toneHz": 750, "durationMs": 4000})).await;
    h.advance(1.0).await;
    h.graph("POST", &format!("/v1.0/communications/calls/{id}/participants/{ann}/mute"), Some(&json!({})))
        .await
        .expect(200);
    h.advance(2.0).await;
    let ben_heard = h.heard(&id, &users[1]).await;
    let spans = ben_heard.spans_of(750.0);
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert!((900..=1100).contains(&(spans[0].1 - spans[0].0)), "heard until muted: {spans:?}");
    assert!(h.heard(&id, "bot").await.ms_of(750.0) <= 1100, "the bot does not hear her either");
}

#[tokio::test]
async fn record_response_keeps_what_was_said_until_the_stop_tone() {
    let h = Harness::start().await;
    let (id, alice) = call_with_alice(&h).await;
    let body = json!({
        "bargeInAllowed": true,
        "clientContext": "d45324c1-fcb5-430a-902c-f20af696537c",
        "maxRecordDurationInSeconds": 10,
        "initialSilenceTimeoutInSeconds": 5,
        "maxSilenceTimeoutInSeconds": 2,
        "playBeep": true,
        "stopTones": ["#", "1", "*"],
    });
    let started =
        h.graph("POST", &format!("/v1.0/communications/calls/{id}/recordResponse"), Some(&body)).await.expect(200);
    assert_eq!((started.body["status"].as_str(), &started.body["recordingLocation"]), (Some("running"), &Value::Null));
    say(&h, &id, &alice, json!({"silenceMs": 600})).await;
    say(&h, &id, &alice, json!({"toneHz": 700, "durationMs": 1200})).await;
    h.sim("POST", &format!("/calls/{id}/participants/{alice}/pressKeys"), Some(&json!({"keys": "#"})))
        .await
        .expect(202);
    h.advance(5.0).await;
    let done = h.receiver.next().await;
    assert_eq!(done.summary(), "deleted operation completed");
    assert_eq!(done.data()["completionReason"], "stopToneDetected");
    assert!(h.heard(&id, &alice).await.ms_of(1000.0) >= 300, "Alice heard the beep");
    let location = done.data()["recordingLocation"].as_str().unwrap();
    let token = done.data()["recordingAccessToken"].as_str().unwrap();
    let wav = h.http.get(location).bearer_auth(token).send().await.unwrap();
    assert_eq!(wav.headers()["content-type"], "application/octet-stream");
    let recording = switchboard_media::codec::decode(wav.bytes().await.unwrap().to_vec(), Some("wav"), 120).unwrap();
    let analysis = switchboard_media::analysis::analyze(recording.samples());
    let tone_ms =
        analysis.windows.iter().filter(|w| w.dominant_hz.is_some_and(|f| (f - 700.0).abs() < 5.0)).count() * 100;
    assert!((1100..=1300).contains(&tone_ms), "what Alice said is in it: {tone_ms} ms");
    assert!(analysis.duration_ms < 2500, "and it stopped at the stop tone: {} ms", analysis.duration_ms);
    let refused = h.http.get(location).bearer_auth("not-the-token").send().await.unwrap();
    assert_eq!(refused.status(), 404);
    assert_eq!(h.http.get(location).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn a_recording_that_hears_nobody_fails_after_the_initial_silence() {
    let h = Harness::start().await;
    let (id, _) = call_with_alice(&h).await;
    let body = json!({"initialSilenceTimeoutInSeconds": 2, "playBeep": false});
    h.graph("POST", &format!("/beta/communications/calls/{id}/record"), Some(&body)).await.expect(200);
    h.advance(1.9).await;
    assert_eq!(h.journal(&id).await.len(), USER_CALL_SETUP.len());
    h.advance(0.2).await;
    let failed = h.receiver.next().await;
    assert_eq!(failed.summary(), "deleted operation failed");
    assert_eq!(failed.data()["completionReason"], "initialSilenceTimeout");
}

#[tokio::test]
async fn dtmf_the_bot_sends_is_heard_and_keys_pressed_in_band_are_notified_in_order() {
    let h = Harness::start().await;
    let (id, alice) = call_with_alice(&h).await;
    let tones = json!({"tones": ["tone1", "tone2", "pound"], "delayBetweenTonesMs": 200, "clientContext": "dtmf"});
    let sending =
        h.graph("POST", &format!("/v1.0/communications/calls/{id}/sendDtmfTones"), Some(&tones)).await.expect(200);
    assert_eq!(sending.body["status"], "running");
    h.advance(2.0).await;
    let sent = h.receiver.next().await;
    assert_eq!(
        (sent.summary().as_str(), sent.data()["completionReason"].as_str()),
        ("deleted operation completed", Some("completedSuccessfully"))
    );
    assert_eq!(h.heard(&id, &alice).await.keys(), "12#", "Alice heard the keys");

    h.graph("POST", &format!("/v1.0/communications/calls/{id}/subscribeToTone"), Some(&json!({}))).await.expect(200);
    let press = json!({"keys": "9*0", "inBand": true});
    h.sim("POST", &format!("/calls/{id}/participants/{alice}/pressKeys"), Some(&press)).await.expect(202);
    h.advance(1.0).await;
    let notified: Vec<(String, i64)> = h
        .receiver
        .take(3)
        .await
        .iter()
        .map(|n| {
            (
                n.data()["toneInfo"]["tone"].as_str().unwrap().to_owned(),
                n.data()["toneInfo"]["sequenceId"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(notified, [("tone9".to_owned(), 1), ("star".to_owned(), 2), ("tone0".to_owned(), 3)]);
    assert_eq!(h.heard(&id, "bot").await.keys(), "9*0", "the bot heard them as audio");
}

#[tokio::test]
async fn media_operations_are_refused_for_app_hosted_media() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let mut body = h.call_body(vec![user_identity(&alice)]);
    body["mediaConfig"] = json!({"@odata.type": "#microsoft.graph.appHostedMediaConfig", "blob": "<media config>"});
    let id = h.place("v1.0", &body).await;
    h.advance(0.0).await;
    let uri = h.upload_tone("p.wav", 440.0, 100).await;
    let refused = h
        .graph(
            "POST",
            &format!("/v1.0/communications/calls/{id}/playPrompt"),
            Some(&json!({"prompts": [prompt(&uri)]})),
        )
        .await;
    assert!(refused.expect(400).error_message().contains("service-hosted"));
    let refused = h.graph("POST", &format!("/v1.0/communications/calls/{id}/recordResponse"), Some(&json!({}))).await;
    assert!(refused.expect(400).error_message().contains("service-hosted"));
}

#[tokio::test]
async fn pre_fetch_media_is_fetched_when_the_call_is_created() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(60_000)).await;
    let mut body = h.call_body(vec![user_identity(&alice)]);
    let uri = format!("{}/media/hold.wav", h.receiver.url);
    body["mediaConfig"] = json!({"@odata.type": "#microsoft.graph.serviceHostedMediaConfig", "preFetchMedia": [{"uri": uri, "resourceId": "r"}]});
    h.graph("POST", "/v1.0/communications/calls", Some(&body)).await.expect(201);
    let mut paths = Vec::new();
    for _ in 0..2 {
        paths.push(h.receiver.next().await.path);
    }
    assert!(paths.contains(&"/media/hold.wav".to_owned()), "{paths:?}");
}

#[tokio::test]
async fn on_the_wall_clock_the_scheduler_plays_prompts_in_real_time() {
    let h = Harness::start().await;
    h.sim("PUT", "/clock", Some(&json!({"mode": "realtime"}))).await.expect(200);
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.receiver.take(USER_CALL_SETUP.len()).await;
    let uri = h.upload_tone("short.wav", 440.0, 300).await;
    let started = std::time::Instant::now();
    h.graph("POST", &format!("/v1.0/communications/calls/{id}/playPrompt"), Some(&json!({"prompts": [prompt(&uri)]})))
        .await
        .expect(200);
    assert_eq!(h.receiver.next().await.summary(), "deleted operation completed");
    assert!(started.elapsed() >= std::time::Duration::from_millis(300), "it took the prompt's time to play");
    let heard = h.heard(&id, &alice).await;
    assert!((200..=400).contains(&heard.ms_of(440.0)), "{:?}", heard.spans_of(440.0));
}
