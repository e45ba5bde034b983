//! The people in a call (graph-calls.md §b "Participant lifecycle", §c, §e): the roster, invitations, removal, mute,
//! hold music, the meeting lobby, audio routing groups, content sharing — from the bot's request to the
//! notifications its webhook gets.

use serde_json::{Value, json};
use switchboard_wire::model::Participant;

use crate::support::{
    DEV_APP, DEV_TENANT, Harness, Received, USER_CALL_SETUP, answers_after, join_meeting_id, user_identity,
};

/// An established group call with the given users (each answering at once); returns the call id, its
/// notifications taken.
async fn group_call(h: &Harness, users: &[&str], call_options: Option<Value>) -> String {
    let mut body = h.call_body(users.iter().map(|u| user_identity(u)).collect());
    if let Some(options) = call_options {
        body["callOptions"] = options;
    }
    let id = h.place("v1.0", &body).await;
    h.advance(0.0).await;
    // establishing, established, audio, the bot's roster, one roster per user joining
    h.receiver.take(4 + users.len()).await;
    id
}

/// The participant id of a user in a call, from the roster.
async fn participant_of(h: &Harness, call: &str, user: &str) -> String {
    let roster =
        h.graph("GET", &format!("/v1.0/communications/calls/{call}/participants"), None).await.expect(200).body;
    roster["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["info"]["identity"]["user"]["id"] == user)
        .and_then(|p| p["id"].as_str())
        .unwrap_or_else(|| panic!("{user} is not in the roster {roster}"))
        .to_owned()
}

fn roster_users(notification: &Received) -> Vec<String> {
    assert!(notification.resource_url().ends_with("/participants"), "{:?}", notification.notification);
    notification
        .data()
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["info"]["identity"]["user"]["id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn the_roster_lists_everyone_with_the_participant_properties() {
    // The documented properties only; live Graph's entries (the default) are checked in fidelity.rs.
    let h = Harness::start_with_config(crate::fidelity::DOCUMENTED).await;
    let a = h.user("A", answers_after(0)).await;
    let b = h.user("B", answers_after(0)).await;
    let call = group_call(&h, &[&a, &b], None).await;
    let roster =
        h.graph("GET", &format!("/v1.0/communications/calls/{call}/participants"), None).await.expect(200).body;
    assert_eq!(
        roster["@odata.context"],
        format!("{}/v1.0/$metadata#communications/calls('{call}')/participants", h.base)
    );
    let participants = roster["value"].as_array().unwrap();
    assert_eq!(participants.len(), 3, "the bot, A and B");
    for participant in participants {
        // Participant is a closed type: any property Graph does not define would fail here.
        serde_json::from_value::<Participant>(participant.clone()).unwrap_or_else(|e| panic!("{e}: {participant}"));
        assert_eq!(participant["mediaStreams"][0]["serverMuted"], false);
        assert!(participant["rosterSequenceNumber"].as_u64().is_some());
    }
    assert_eq!(participants[0]["info"]["identity"]["application"]["id"], DEV_APP);
    let a_id = participants[1]["id"].as_str().unwrap();
    let one = h.graph("GET", &format!("/v1.0/communications/calls/{call}/participants/{a_id}"), None).await.expect(200);
    assert_eq!(one.body["info"]["identity"]["user"]["displayName"], "A");
    let missing =
        h.graph("GET", &format!("/v1.0/communications/calls/{call}/participants/nobody"), None).await.expect(404);
    assert!(missing.error_message().contains("no participant 'nobody'"));
}

#[tokio::test]
async fn an_invitation_completes_then_the_roster_shows_the_invitee() {
    let h = Harness::start().await;
    let a = h.user("A", answers_after(0)).await;
    let b = h.user("B", answers_after(0)).await;
    let call = group_call(&h, &[&a, &b], None).await;
    let c = h.user("C", answers_after(2000)).await;
    let invite = json!({
        "participants": [{"@odata.type": "#microsoft.graph.invitationParticipantInfo", "identity": user_identity(&c)}],
        "clientContext": "f2fa86af-3c51-4bc2-8fc0-475452d9764f",
    });
    let reply = h
        .graph("POST", &format!("/v1.0/communications/calls/{call}/participants/invite"), Some(&invite))
        .await
        .expect(200);
    let operation = &reply.body;
    assert_eq!(operation["@odata.type"], "#microsoft.graph.inviteParticipantsOperation");
    assert_eq!(operation["status"], "running", "docs:participant-invite");
    assert_eq!(operation["participants"][0]["identity"]["user"]["id"], c.as_str());
    let operation_id = operation["id"].as_str().unwrap();
    assert!(reply.headers["location"].to_str().unwrap().ends_with(&format!("/operations/{operation_id}")));
    h.advance(2.0).await;
    let completed = h.receiver.next().await;
    assert_eq!(completed.summary(), "deleted operation completed");
    assert_eq!(completed.data()["clientContext"], "f2fa86af-3c51-4bc2-8fc0-475452d9764f");
    let roster = roster_users(&h.receiver.next().await);
    assert!(roster.len() == 3 && roster.ends_with(std::slice::from_ref(&c)), "{roster:?}");

    let twice = h.graph("POST", &format!("/v1.0/communications/calls/{call}/participants/invite"), Some(&invite)).await;
    assert!(twice.expect(400).error_message().contains("cannot be invited twice"));

    let busy = h.user("Busy", json!({"response": {"kind": "reject", "afterMs": 1000, "declined": false}})).await;
    let invite = json!({"participants": [{"identity": user_identity(&busy)}]});
    h.graph("POST", &format!("/v1.0/communications/calls/{call}/participants/invite"), Some(&invite)).await.expect(200);
    h.advance(1.0).await;
    let failed = h.receiver.next().await;
    assert_eq!((failed.summary().as_str(), failed.result()), ("deleted operation failed", Some((412, 9999))));
    let message = failed.data()["resultInfo"]["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("addParticipants failed for participant 8:orgid:{busy}.")), "{message}");
    assert!(message.ends_with("DiagCode: 486#0.@"), "busy, in the DiagCode: {message}");
}

#[tokio::test]
async fn removing_participants_and_cancelling_an_invitation() {
    let h = Harness::start().await;
    let a = h.user("A", answers_after(0)).await;
    let b = h.user("B", answers_after(0)).await;
    let call = group_call(&h, &[&a, &b], None).await;
    // docs:participant-delete example 2: invite with a participantId, then cancel it by that id.
    let ringer = h.user("Ringer", json!({"response": {"kind": "ring"}})).await;
    let invite = json!({"participants": [{"@odata.type": "#microsoft.graph.invitationParticipantInfo", "identity": user_identity(&ringer), "participantId": "a7ebfb2d-871e-419c-87af-27290b22e8db"}], "clientContext": "f2fa86af"});
    h.graph("POST", &format!("/v1.0/communications/calls/{call}/participants/invite"), Some(&invite)).await.expect(200);
    h.graph(
        "DELETE",
        &format!("/v1.0/communications/calls/{call}/participants/a7ebfb2d-871e-419c-87af-27290b22e8db"),
        None,
    )
    .await
    .expect(204);
    let cancelled = h.receiver.next().await;
    assert_eq!((cancelled.summary().as_str(), cancelled.result()), ("deleted operation failed", Some((412, 9999))));
    let message = cancelled.data()["resultInfo"]["message"].as_str().unwrap();
    assert!(message.ends_with("DiagCode: 487#0.@"), "cancelled, in the DiagCode: {message}");

    let a_id = participant_of(&h, &call, &a).await;
    let removed = h.graph("DELETE", &format!("/v1.0/communications/calls/{call}/participants/{a_id}"), None).await;
    assert!(removed.expect(204).body.is_null());
    assert_eq!(roster_users(&h.receiver.next().await), [b.as_str()]);
    h.graph("DELETE", &format!("/v1.0/communications/calls/{call}/participants/{a_id}"), None).await.expect(404);
}

#[tokio::test]
async fn muting_a_participant_shows_in_the_roster_until_they_unmute() {
    let h = Harness::start().await;
    let a = h.user("A", answers_after(0)).await;
    let b = h.user("B", answers_after(0)).await;
    let call = group_call(&h, &[&a, &b], None).await;
    let a_id = participant_of(&h, &call, &a).await;
    let body = json!({"clientContext": "d45324c1-fcb5-430a-902c-f20af696537c"});
    let reply =
        h.graph("POST", &format!("/v1.0/communications/calls/{call}/participants/{a_id}/mute"), Some(&body)).await;
    let reply = reply.expect(200);
    assert_eq!(
        (reply.body["@odata.type"].as_str(), reply.body["status"].as_str()),
        (Some("#microsoft.graph.muteParticipantOperation"), Some("completed"))
    );
    assert!(reply.headers.contains_key("location"));
    let roster = h.receiver.next().await;
    let muted = roster.data().as_array().unwrap().iter().find(|p| p["id"] == a_id.as_str()).unwrap().clone();
    assert_eq!(
        (muted["isMuted"].as_bool(), muted["mediaStreams"][0]["serverMuted"].as_bool()),
        (Some(true), Some(true))
    );

    h.sim("POST", &format!("/calls/{call}/participants/{a}/unmute"), None).await.expect(200);
    let roster = h.receiver.next().await;
    let unmuted = roster.data().as_array().unwrap().iter().find(|p| p["id"] == a_id.as_str()).unwrap().clone();
    assert_eq!(unmuted["isMuted"], false, "A unmuted themselves");

    let all = h
        .graph(
            "POST",
            &format!("/beta/communications/calls/{call}/participants/muteAll"),
            Some(&json!({"clientContext": "x"})),
        )
        .await;
    assert_eq!(all.expect(200).body["@odata.type"], "#microsoft.graph.muteParticipantsOperation");
    let roster = h.receiver.next().await;
    let muted: Vec<bool> = roster.data().as_array().unwrap().iter().map(|p| p["isMuted"].as_bool().unwrap()).collect();
    assert_eq!(muted, [false, true, true], "everyone but the bot");
}

#[tokio::test]
async fn hold_music_runs_then_completes_one_participant_at_a_time() {
    let h = Harness::start().await;
    let a = h.user("A", answers_after(0)).await;
    let b = h.user("B", answers_after(0)).await;
    let call = group_call(&h, &[&a, &b], None).await;
    let (a_id, b_id) = (participant_of(&h, &call, &a).await, participant_of(&h, &call, &b).await);
    // The request of docs:participant-startholdmusic (seed 001), verbatim.
    let start = json!({
        "customPrompt": {"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": {"@odata.type": "#microsoft.graph.mediaInfo", "uri": "https://bot.contoso.com/onHold.wav"}},
        "clientContext": "d45324c1-fcb5-430a-902c-f20af696537c",
    });
    let reply = h
        .graph("POST", &format!("/v1.0/communications/calls/{call}/participants/{a_id}/startHoldMusic"), Some(&start))
        .await;
    let reply = reply.expect(202);
    assert_eq!(
        (reply.body["@odata.type"].as_str(), reply.body["status"].as_str()),
        (Some("#microsoft.graph.startHoldMusicOperation"), Some("running"))
    );
    let completed = h.receiver.next().await;
    assert_eq!(completed.summary(), "deleted operation completed");
    assert_eq!(completed.data()["@odata.type"], "#microsoft.graph.startHoldMusicOperation");
    assert_eq!(completed.data()["clientContext"], "d45324c1-fcb5-430a-902c-f20af696537c");

    let second = h
        .graph(
            "POST",
            &format!("/v1.0/communications/calls/{call}/participants/{b_id}/startHoldMusic"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(second.expect(202).body["status"], "running");
    let failed = h.receiver.next().await;
    assert_eq!((failed.summary().as_str(), failed.result().map(|r| r.0)), ("deleted operation failed", Some(409)));

    // The request of docs:participant-stopholdmusic (seed 000).
    let stop = json!({"clientContext": "d45324c1-fcb5-430a-902c-f20af696537c"});
    let reply = h
        .graph("POST", &format!("/beta/communications/calls/{call}/participants/{a_id}/stopHoldMusic"), Some(&stop))
        .await;
    assert_eq!(reply.expect(202).body["@odata.type"], "#microsoft.graph.stopHoldMusicOperation");
    assert_eq!(h.receiver.next().await.summary(), "deleted operation completed");
    let second = h
        .graph(
            "POST",
            &format!("/v1.0/communications/calls/{call}/participants/{b_id}/startHoldMusic"),
            Some(&json!({})),
        )
        .await;
    second.expect(202);
    assert_eq!(h.receiver.next().await.summary(), "deleted operation completed", "A is off hold: B can be put on hold");
}

async fn meeting(h: &Harness, policy: &str) -> (String, String, Value) {
    let organizer = h.user("Organizer", answers_after(0)).await;
    let body = json!({"organizerId": organizer, "attendees": [{"userId": organizer}], "lobbyBypass": policy, "lobbyTimeoutMs": 600000});
    let meeting = h.sim("POST", "/meetings", Some(&body)).await.expect(201).body;
    let join = h.join_body(join_meeting_id(&meeting), None);
    let call = h.place("beta", &join).await;
    (call, organizer, meeting)
}

#[tokio::test]
async fn guests_wait_in_the_lobby_until_the_bot_admits_them() {
    let h = Harness::start().await;
    let (call, _, meeting) = meeting(&h, "organization").await;
    h.receiver.take(4).await;
    let key = meeting["id"].as_str().unwrap();
    let guest = h.guest("Guest").await;
    h.sim("POST", &format!("/meetings/{key}/join"), Some(&json!({"userId": guest}))).await.expect(200);
    let waiting = h.receiver.next().await;
    let entry = waiting
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["info"]["identity"]["user"]["id"] == guest.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["isInLobby"], true);
    let guest_id = entry["id"].as_str().unwrap();
    let admitted = h
        .graph(
            "POST",
            &format!("/beta/communications/calls/{call}/participants/{guest_id}/admitFromLobby"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(admitted.expect(200).body["@odata.type"], "#microsoft.graph.admitFromLobbyOperation");
    let roster = h.receiver.next().await;
    let entry = roster.data().as_array().unwrap().iter().find(|p| p["id"] == guest_id).unwrap().clone();
    assert_eq!(entry["isInLobby"], false);

    let other = h.guest("Other guest").await;
    h.sim("POST", &format!("/meetings/{key}/join"), Some(&json!({"userId": other}))).await.expect(200);
    h.receiver.next().await;
    let other_id = participant_of(&h, &call, &other).await;
    h.graph(
        "POST",
        &format!("/beta/communications/calls/{call}/participants/{other_id}/removeFromLobby"),
        Some(&json!({})),
    )
    .await
    .expect(200);
    let roster = h.receiver.next().await;
    assert!(!roster_users(&roster).contains(&other), "removed from the lobby");

    let late = h.guest("Late guest").await;
    h.sim("POST", &format!("/meetings/{key}/join"), Some(&json!({"userId": late}))).await.expect(200);
    h.receiver.next().await;
    h.advance(600.0).await;
    let roster = h.receiver.next().await;
    assert!(!roster_users(&roster).contains(&late), "the lobby timed out");
    let refused = h
        .graph(
            "POST",
            &format!("/beta/communications/calls/{call}/participants/{guest_id}/admitFromLobby"),
            Some(&json!({})),
        )
        .await;
    assert!(refused.expect(400).error_message().contains("not in the lobby"));

    let (first, second) = (h.guest("First").await, h.guest("Second").await);
    for guest in [&first, &second] {
        h.sim("POST", &format!("/meetings/{key}/join"), Some(&json!({"userId": guest}))).await.expect(200);
        h.receiver.next().await;
    }
    let all = h
        .graph(
            "POST",
            &format!("/beta/communications/calls/{call}/participants/admitAllFromLobby"),
            Some(&json!({"clientContext": "everyone-in"})),
        )
        .await
        .expect(200);
    assert_eq!(
        (all.body["@odata.type"].as_str(), all.body["clientContext"].as_str()),
        (Some("#microsoft.graph.admitAllFromLobbyOperation"), Some("everyone-in"))
    );
    let roster = h.receiver.next().await;
    let waiting: Vec<_> =
        roster.data().as_array().unwrap().iter().filter(|p| p["isInLobby"] == true).map(|p| p["id"].clone()).collect();
    assert!(waiting.is_empty(), "everyone was admitted: {waiting:?}");
    assert!(roster_users(&roster).contains(&first) && roster_users(&roster).contains(&second));
}

#[tokio::test]
async fn a_bot_joining_as_a_guest_waits_in_the_lobby() {
    let h = Harness::start().await;
    let token = h.another_app(DEV_TENANT, "Guest bot", &["Calls.JoinGroupCallAsGuest.All"]).await;
    let organizer = h.user("Organizer", answers_after(0)).await;
    let meeting = h.meeting(&organizer).await;
    let join = h.join_body(join_meeting_id(&meeting), None);
    let call = h.send("POST", "/v1.0/communications/calls", Some(&join), Some(&token)).await.expect(201).body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let notifications = h.receiver.take(3).await;
    assert_eq!(notifications[1].summary(), "updated established", "connected, to the lobby");
    assert_eq!(notifications[2].data()[0]["isInLobby"], true, "the bot waits");
    h.sim("POST", &format!("/calls/{call}/admit"), None).await.expect(200);
    let admitted = h.receiver.take(2).await;
    assert_eq!(admitted[0].summary(), "updated established audio active", "media flows once admitted");
    assert_eq!(admitted[1].data()[0]["isInLobby"], false);

    // Joining again: the first bot, admitted, sees the second one wait in the lobby, then leave it at the timeout.
    let call = h.send("POST", "/v1.0/communications/calls", Some(&join), Some(&token)).await.expect(201).body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    h.receiver.take(4).await;
    h.advance(15.0 * 60.0).await;
    let notifications = h.receiver.take(2).await;
    let ended = notifications.iter().find(|n| n.resource_url() == format!("/communications/calls/{call}")).unwrap();
    assert_eq!(ended.result(), Some((200, 5855)));
    let first_view = notifications.iter().find(|n| n.resource_url().ends_with("/participants")).unwrap();
    assert_eq!(first_view.data().as_array().unwrap().len(), 2, "the first bot's roster: itself and the organizer");
}

#[tokio::test]
async fn audio_routing_groups_are_kept_per_call() {
    let h = Harness::start().await;
    let a = h.user("A", answers_after(0)).await;
    let b = h.user("B", answers_after(0)).await;
    let call = group_call(&h, &[&a, &b], None).await;
    let (a_id, b_id) = (participant_of(&h, &call, &a).await, participant_of(&h, &call, &b).await);
    let path = format!("/v1.0/communications/calls/{call}/audioRoutingGroups");
    // docs:call-post-audioroutinggroups example 1, with this call's participants.
    let group = json!({"id": "oneToOne", "routingMode": "oneToOne", "sources": [a_id], "receivers": [b_id]});
    let created = h.graph("POST", &path, Some(&group)).await.expect(200).body;
    assert_eq!((created["id"].as_str(), created["routingMode"].as_str()), (Some("oneToOne"), Some("oneToOne")));
    assert_eq!(h.graph("POST", &path, Some(&group)).await.status, 409, "the id is taken");
    let stranger = json!({"routingMode": "multicast", "sources": [a_id], "receivers": ["nobody"]});
    assert!(
        h.graph("POST", &path, Some(&stranger))
            .await
            .expect(400)
            .error_message()
            .contains("'nobody' is not a participant")
    );
    let listed = h.graph("GET", &path, None).await.expect(200).body;
    assert_eq!(listed["value"].as_array().unwrap().len(), 1);
    let update = json!({"receivers": [a_id]});
    let item = format!("{path}/oneToOne");
    let invalid = h.graph("PATCH", &item, Some(&json!({"receivers": [a_id, b_id]}))).await;
    assert_eq!(invalid.status, 400, "oneToOne has one receiver");
    assert_eq!(h.graph("PATCH", &item, Some(&update)).await.expect(200).body["receivers"], json!([a_id]));
    assert_eq!(h.graph("GET", &item, None).await.expect(200).body["receivers"], json!([a_id]));
    h.graph("DELETE", &item, None).await.expect(204);
    h.graph("GET", &item, None).await.expect(404);
}

#[tokio::test]
async fn content_sharing_sessions_and_their_notifications() {
    let h = Harness::start().await;
    let a = h.user("A", answers_after(0)).await;
    let b = h.user("B", answers_after(0)).await;
    let options =
        json!({"@odata.type": "#microsoft.graph.outgoingCallOptions", "isContentSharingNotificationEnabled": true});
    let call = group_call(&h, &[&a, &b], Some(options)).await;
    h.sim("POST", &format!("/calls/{call}/participants/{a}/startSharing"), None).await.expect(200);
    let created = h.receiver.next().await;
    assert_eq!(created.change_type(), "created");
    assert_eq!(created.resource_url(), format!("/communications/calls/{call}/contentsharingsessions"));
    let session_id = created.data()[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(created.data()[0]["@odata.type"], "#microsoft.graph.contentSharingSession");

    let sessions =
        h.graph("GET", &format!("/v1.0/communications/calls/{call}/contentSharingSessions"), None).await.expect(200);
    assert_eq!(sessions.body["value"][0]["id"], session_id.as_str());
    let session = h
        .graph("GET", &format!("/beta/communications/calls/{call}/contentSharingSessions/{session_id}"), None)
        .await
        .expect(200);
    assert_eq!(session.body["presenterParticipantId"], participant_of(&h, &call, &a).await.as_str());
    let png = h
        .http
        .get(format!(
            "{}/beta/communications/calls/{call}/contentSharingSessions/{session_id}/pngOfCurrentSlide",
            h.base
        ))
        .bearer_auth(&h.token)
        .send()
        .await
        .unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    assert!(png.bytes().await.unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));
    h.sim("POST", &format!("/calls/{call}/participants/{a}/stopSharing"), None).await.expect(200);
    assert_eq!(h.receiver.next().await.change_type(), "deleted");
    let none =
        h.graph("GET", &format!("/v1.0/communications/calls/{call}/contentSharingSessions/{session_id}"), None).await;
    none.expect(404);
}

#[tokio::test]
async fn delta_rosters_carry_only_who_changed() {
    let h = Harness::start().await;
    let a = h.user("A", json!({"response": {"kind": "answer", "afterMs": 0}, "hangUpAfterMs": 5000})).await;
    let b = h.user("B", answers_after(0)).await;
    let options = json!({"@odata.type": "#microsoft.graph.outgoingCallOptions", "isDeltaRosterEnabled": true});
    let body = {
        let mut body = h.call_body(vec![user_identity(&a), user_identity(&b)]);
        body["callOptions"] = options;
        body
    };
    h.graph("POST", "/v1.0/communications/calls", Some(&body)).await.expect(201);
    h.advance(0.0).await;
    let notifications = h.receiver.take(6).await;
    let joined = notifications
        .iter()
        .find(|n| {
            n.data()["participants"]
                .as_array()
                .is_some_and(|p| p.len() == 1 && p[0]["info"]["identity"]["user"]["id"] == a.as_str())
        })
        .expect("a delta with A joining");
    assert_eq!(joined.data()["@odata.type"], "#microsoft.graph.deltaParticipants");
    let changed = joined.data()["participants"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "only A");
    assert_eq!(changed[0]["info"]["identity"]["user"]["id"], a.as_str());
    h.advance(5.0).await;
    let left = h.receiver.next().await;
    let gone = &left.data()["participants"][0];
    assert_eq!(gone["info"]["identity"]["user"]["id"], a.as_str());
    assert_eq!(gone["removedState"]["reason"], "left");
    assert!(left.data()["sequenceNumber"].as_u64().unwrap() > joined.data()["sequenceNumber"].as_u64().unwrap());
}

#[tokio::test]
async fn escalating_a_peer_to_peer_call_can_hide_the_bot() {
    let h = Harness::start().await;
    let alice = h.user("Alice", answers_after(0)).await;
    let mut body = h.call_body(vec![user_identity(&alice)]);
    body["callOptions"] =
        json!({"@odata.type": "#microsoft.graph.outgoingCallOptions", "hideBotAfterEscalation": true});
    let call = h.place("v1.0", &body).await;
    h.advance(0.0).await;
    h.receiver.take(USER_CALL_SETUP.len()).await;
    let bob = h.user("Bob", answers_after(0)).await;
    let invite = json!({"participants": [{"identity": user_identity(&bob)}]});
    h.graph("POST", &format!("/v1.0/communications/calls/{call}/participants/invite"), Some(&invite)).await.expect(200);
    h.advance(0.0).await;
    assert_eq!(h.receiver.next().await.summary(), "deleted operation completed");
    let roster = h.receiver.next().await;
    assert!(
        roster.data().as_array().unwrap().iter().all(|p| p["info"]["identity"]["application"].is_null()),
        "the bot is hidden"
    );
    assert_eq!(roster_users(&roster), [alice.as_str(), bob.as_str()]);
}

#[tokio::test]
async fn a_synthetic_media_report_shows_on_the_beta_participant() {
    let h = Harness::start().await;
    let a = h.user("A", answers_after(0)).await;
    let b = h.user("B", answers_after(0)).await;
    let body = h.call_body(vec![user_identity(&a), user_identity(&b)]);
    let call = h.place("beta", &body).await;
    h.advance(0.0).await;
    let a_id = participant_of(&h, &call, &a).await;
    let report = json!({"isMalicious": true});
    h.graph(
        "POST",
        &format!("/beta/communications/calls/{call}/participants/{a_id}/reportSyntheticMedia"),
        Some(&report),
    )
    .await
    .expect(204);
    let participant =
        h.graph("GET", &format!("/beta/communications/calls/{call}/participants/{a_id}"), None).await.expect(200);
    assert_eq!(participant.body["syntheticMediaDetection"]["isParticipantTrusted"], false);
}

#[tokio::test]
async fn bots_in_the_same_meeting_see_each_other_and_each_others_changes() {
    let h = Harness::start().await;
    let second = h.another_app(DEV_TENANT, "Second bot", &["Calls.JoinGroupCall.All"]).await;
    let organizer = h.user("Organizer", answers_after(0)).await;
    let meeting = h.meeting(&organizer).await;
    let join = |callback: String| {
        let mut body = h.join_body(join_meeting_id(&meeting), None);
        body["callbackUri"] = callback.into();
        body
    };
    let first_call = h.graph("POST", "/v1.0/communications/calls", Some(&join(h.callback()))).await.expect(201).body;
    h.receiver.take(4).await;
    let second_callback = format!("{}/second", h.receiver.url);
    let second_call = h
        .send("POST", "/v1.0/communications/calls", Some(&join(second_callback)), Some(&second))
        .await
        .expect(201)
        .body;
    let second_id = second_call["id"].as_str().unwrap();
    let first_id = first_call["id"].as_str().unwrap();
    // The second bot's own four notifications, and the first bot's roster update with the second bot in it.
    let notifications = h.receiver.take(5).await;
    let first_view = notifications.iter().find(|n| n.path == "/callback").expect("the first bot hears of the second");
    let bots: Vec<&Value> = first_view
        .data()
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["info"]["identity"]["application"].is_object())
        .collect();
    assert_eq!(bots.len(), 2, "both bots are on the first bot's roster: {}", first_view.data());
    let second_view =
        notifications.iter().rfind(|n| n.path == "/second" && n.resource_url().ends_with("/participants")).unwrap();
    assert_eq!(
        second_view.data().as_array().unwrap().len(),
        3,
        "the second bot sees itself, the first bot and the organizer"
    );

    let organizer_id = participant_of(&h, first_id, &organizer).await;
    h.graph(
        "POST",
        &format!("/v1.0/communications/calls/{first_id}/participants/{organizer_id}/mute"),
        Some(&json!({})),
    )
    .await
    .expect(200);
    let updates = h.receiver.take(2).await;
    let seen_by_second = updates.iter().find(|n| n.path == "/second").expect("the second bot sees the mute");
    let muted = seen_by_second
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["info"]["identity"]["user"]["id"] == organizer.as_str())
        .unwrap()
        .clone();
    assert_eq!(muted["isMuted"], true);

    h.graph("DELETE", &format!("/v1.0/communications/calls/{first_id}"), None).await.expect(204);
    let updates = h.receiver.take(3).await;
    let seen_by_second = updates.iter().find(|n| n.path == "/second").expect("the second bot sees the first leave");
    let bots = seen_by_second
        .data()
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["info"]["identity"]["application"].is_object())
        .count();
    assert_eq!(bots, 1, "only the second bot is left");
    let roster = h
        .send("GET", &format!("/v1.0/communications/calls/{second_id}/participants"), None, Some(&second))
        .await
        .expect(200);
    assert_eq!(roster.body["value"].as_array().unwrap().len(), 2);
}
