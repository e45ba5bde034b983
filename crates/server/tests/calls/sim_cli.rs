//! `switchboard sim …` drives the test-control API of a running server from the shell.

use std::process::Command;

use serde_json::Value;

use crate::{
    process::BINARY,
    support::{DEV_APP, Harness, Heard, USER_CALL_SETUP, answers_after, user_identity},
};

/// Runs `switchboard sim <args>` against the harness's server; returns the printed JSON, or the error text.
fn sim(h: &Harness, args: &[&str]) -> Result<Value, String> {
    let output = Command::new(BINARY).args(["sim", "--url", &h.base]).args(args).output().unwrap();
    if output.status.success() {
        let text = String::from_utf8(output.stdout).unwrap();
        Ok(if text.trim().is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
    } else {
        Err(String::from_utf8(output.stderr).unwrap())
    }
}

#[tokio::test]
async fn the_cli_plays_a_call_from_a_simulated_user() {
    let h = Harness::start().await;
    let alice = sim(&h, &["users", "add", "--name", "Alice", "--answer-after", "1s", "--hang-up-after", "1m"]).unwrap();
    let alice_id = alice["id"].as_str().unwrap();
    assert_eq!(alice["behaviour"]["response"]["afterMs"], 1000);
    let changed = sim(&h, &["users", "set-behaviour", alice_id, "--busy-after", "3s"]).unwrap();
    assert_eq!(
        (changed["displayName"].as_str(), changed["behaviour"]["response"]["kind"].as_str()),
        (Some("Alice"), Some("reject"))
    );

    let call = sim(&h, &["call", "--from", &format!("user:{alice_id}"), "--app", DEV_APP]).unwrap();
    let call_id = call["id"].as_str().unwrap();
    assert_eq!(h.receiver.next().await.change_type(), "created");
    let listed = sim(&h, &["calls"]).unwrap();
    assert_eq!(listed["value"][0]["id"], call_id);
    sim(&h, &["act", call_id, alice_id, "hang-up"]).unwrap();
    assert_eq!(h.receiver.next().await.result(), Some((200, 5002)));
    let journal = sim(&h, &["notifications", "--call", call_id]).unwrap();
    assert_eq!(journal["value"].as_array().unwrap().len(), 2);

    let clock = sim(&h, &["clock", "advance", "90s"]).unwrap();
    assert_eq!(clock["mode"], "virtual");
    let fault = sim(&h, &["fault", "answer", "--status", "500", "--count", "2"]).unwrap();
    assert_eq!(fault["count"], 2);
    let missing = sim(&h, &["show", "00000000-0000-4000-8000-000000000000"]).unwrap_err();
    assert!(missing.contains("404") && missing.contains("Call not found."), "{missing}");
    let bad = sim(&h, &["call", "--from", "alice", "--app", DEV_APP]).unwrap_err();
    assert!(bad.contains("user:<id>"), "{bad}");
    sim(&h, &["reset"]).unwrap();
    assert_eq!(sim(&h, &["users", "list"]).unwrap()["value"], serde_json::json!([]));
}

#[tokio::test]
async fn the_cli_sets_up_lobbies_guests_and_admits_a_waiting_bot() {
    let h = Harness::start().await;
    let guest = sim(&h, &["users", "add", "--name", "Gina", "--guest"]).unwrap();
    assert_eq!(guest["guest"], true);
    let host = sim(&h, &["users", "add", "--name", "Hana"]).unwrap();
    assert_eq!(host["guest"], false);
    let meeting =
        sim(&h, &["meetings", "add", "--organizer", host["id"].as_str().unwrap(), "--lobby-bypass", "organizer"])
            .unwrap();
    assert_eq!(meeting["lobbyBypass"], "organizer");
    let refused =
        sim(&h, &["meetings", "add", "--organizer", host["id"].as_str().unwrap(), "--lobby-bypass", "nobody"])
            .unwrap_err();
    assert!(refused.contains("nobody"), "{refused}");
    let not_waiting = sim(&h, &["admit", "00000000-0000-4000-8000-000000000000"]).unwrap_err();
    assert!(not_waiting.contains("404"), "{not_waiting}");
}

#[tokio::test]
async fn the_cli_reads_the_journal_replays_dead_letters_and_turns_the_delivery_knobs() {
    let h = Harness::start().await;
    h.receiver.answer_next_with(&[410]);
    let alice = sim(&h, &["users", "add", "--name", "Alice"]).unwrap();
    let call = sim(&h, &["call", "--from", &format!("user:{}", alice["id"].as_str().unwrap()), "--app", DEV_APP]);
    let call_id = call.unwrap()["id"].as_str().unwrap().to_owned();
    h.receiver.next().await;
    let dead = h.journal_until(&call_id, |j| j.first().is_some_and(|n| n["status"] == "deadLettered")).await;
    let listed = sim(&h, &["notifications", "--status", "deadLettered", "--call", &call_id]).unwrap();
    assert_eq!(listed["value"][0]["seq"], dead[0]["seq"]);
    let seq = dead[0]["seq"].to_string();
    let one = sim(&h, &["notification", &seq]).unwrap();
    assert_eq!(one["deliveryAttempts"][0]["status"], 410);
    let replayed = sim(&h, &["replay", &seq]).unwrap();
    assert!(replayed["replayedAt"].is_string());
    assert_eq!(h.receiver.next().await.change_type(), "created", "delivered again");
    assert_eq!(sim(&h, &["replay", "--call", &call_id]).unwrap()["replayed"], 0, "nothing dead any more");
    assert!(sim(&h, &["notification", "999999"]).unwrap_err().contains("404"));

    let knobs = sim(&h, &["delivery", "--duplicate-rate", "0.5", "--delay", "10ms"]).unwrap();
    assert_eq!((knobs["duplicateRate"].as_f64(), knobs["delay"].as_str()), (Some(0.5), Some("10ms")));
    assert_eq!(sim(&h, &["delivery"]).unwrap(), knobs);
    assert!(sim(&h, &["delivery", "--reorder-window", "1000"]).unwrap_err().contains("at most 64"));
}

#[tokio::test]
async fn the_cli_makes_a_person_speak_press_keys_and_mute_and_shows_what_the_bot_heard() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let id = h.call(user_identity(&alice)).await["id"].as_str().unwrap().to_owned();
    h.advance(0.0).await;
    h.receiver.take(USER_CALL_SETUP.len()).await;
    sim(&h, &["act", &id, &alice, "say", "--tone-hz", "440", "--duration", "600ms"]).unwrap();
    sim(&h, &["act", &id, &alice, "press-keys", "--keys", "42", "--in-band"]).unwrap();
    sim(&h, &["clock", "advance", "2s"]).unwrap();
    let heard = Heard(sim(&h, &["heard", &id, "bot"]).unwrap());
    assert!((500..=700).contains(&heard.ms_of(440.0)), "{:?}", heard.spans_of(440.0));
    assert_eq!(heard.keys(), "42");
    let muted = sim(&h, &["act", &id, &alice, "mute"]).unwrap();
    assert!(muted.to_string().contains("\"clientMuted\":true"), "{muted}");
    let no_speech = sim(&h, &["act", &id, &alice, "say"]).unwrap_err();
    assert!(no_speech.contains("--tone-hz"), "{no_speech}");
}
