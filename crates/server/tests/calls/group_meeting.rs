//! Group calls and meetings (docs:application-post-calls examples 3–9): the bot's leg connects, the roster
//! follows who is in the conversation, and the ends Graph documents for them.

use serde_json::{Value, json};

use crate::support::{Harness, Received, answers_after, join_meeting_id, user_identity};

fn roster_ids(notification: &Received) -> Vec<String> {
    assert!(notification.resource_url().ends_with("/participants"), "{:?}", notification.notification);
    notification
        .data()
        .as_array()
        .expect("a roster is an array of participants")
        .iter()
        .map(|p| {
            let identity = &p["info"]["identity"];
            identity["user"]["id"].as_str().or(identity["application"]["id"].as_str()).unwrap_or_default().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_group_call_reports_its_roster_as_people_join_and_leave() {
    let h = Harness::start().await;
    let a = h.user("A", json!({"response": {"kind": "answer", "afterMs": 1000}, "hangUpAfterMs": 10000})).await;
    let b = h.user("B", json!({"response": {"kind": "answer", "afterMs": 2000}, "hangUpAfterMs": 20000})).await;
    let body = h.call_body(vec![user_identity(&a), user_identity(&b)]);
    h.graph("POST", "/v1.0/communications/calls", Some(&body)).await.expect(201);
    let start = h.receiver.take(4).await;
    assert_eq!(start[0].summary(), "updated establishing");
    assert_eq!(start[1].summary(), "updated established", "the bot's leg of the new group call connects");
    assert_eq!(roster_ids(&start[3]), [crate::support::DEV_APP], "at first only the bot");
    let participant = &start[3].data()[0];
    assert_eq!(participant["@odata.type"], "#microsoft.graph.participant");
    assert_eq!(participant["mediaStreams"][0]["mediaType"], "audio");
    assert_eq!((participant["isMuted"].as_bool(), participant["isInLobby"].as_bool()), (Some(false), Some(false)));

    h.advance(1.0).await;
    assert_eq!(roster_ids(&h.receiver.next().await), [crate::support::DEV_APP, a.as_str()]);
    h.advance(1.0).await;
    assert_eq!(roster_ids(&h.receiver.next().await), [crate::support::DEV_APP, a.as_str(), b.as_str()]);
    h.advance(9.0).await;
    assert_eq!(roster_ids(&h.receiver.next().await), [crate::support::DEV_APP, b.as_str()], "A leaves after 10 s");
    h.advance(11.0).await;
    let last = h.receiver.take(2).await;
    assert_eq!(roster_ids(&last[0]), [crate::support::DEV_APP]);
    assert_eq!(last[1].result(), Some((200, 5010)), "everyone else left: live Graph's 5010");
}

#[tokio::test]
async fn a_group_call_nobody_joins_ends_at_the_ringing_timeout() {
    let h = Harness::start().await;
    let a = h.user("A", json!({"response": {"kind": "ring"}})).await;
    let b = h.user("B", json!({"response": {"kind": "reject", "afterMs": 1000, "declined": true}})).await;
    let body = h.call_body(vec![user_identity(&a), user_identity(&b)]);
    h.graph("POST", "/v1.0/communications/calls", Some(&body)).await.expect(201);
    h.receiver.take(4).await;
    h.advance(60.0).await;
    assert_eq!(h.receiver.next().await.result(), Some((200, 5013)), "no one else joined the group call");
}

#[tokio::test]
async fn group_calls_take_at_most_five_targets() {
    let h = Harness::start().await;
    let targets: Vec<Value> = (0..6).map(|i| user_identity(&format!("0c0ffee0-0000-4000-8000-{i:012}"))).collect();
    let reply = h.graph("POST", "/v1.0/communications/calls", Some(&h.call_body(targets))).await.expect(400);
    assert!(reply.error_message().contains("'targets' has 6 entries"), "{}", reply.error_message());
}

#[tokio::test]
async fn joining_a_meeting_by_join_id_and_passcode() {
    let h = Harness::start().await;
    let organizer = h.user("Bob", answers_after(0)).await;
    let guest = h.user("Carol", answers_after(0)).await;
    let meeting = json!({
        "joinMeetingId": "1234567",
        "passcode": "psw123",
        "organizerId": organizer,
        "attendees": [{"userId": organizer}, {"userId": guest, "leaveAfterMs": 30000}],
    });
    let meeting = h.sim("POST", "/meetings", Some(&meeting)).await.expect(201).body;

    let info = json!({"@odata.type": "#microsoft.graph.joinMeetingIdMeetingInfo", "joinMeetingId": "1234567", "passcode": "psw123"});
    let created = h.graph("POST", "/v1.0/communications/calls", Some(&h.join_body(info, None))).await.expect(201).body;
    assert_eq!(created["state"], "establishing");
    assert_eq!(created["chatInfo"]["threadId"], meeting["threadId"], "the meeting's chat");
    let notifications = h.receiver.take(4).await;
    assert_eq!(notifications[0].summary(), "updated establishing");
    assert_eq!(notifications[0].data()["chatInfo"]["threadId"], meeting["threadId"], "docs example 5: chat info");
    assert_eq!(notifications[1].summary(), "updated established");
    assert_eq!(roster_ids(&notifications[3]), [crate::support::DEV_APP, organizer.as_str(), guest.as_str()]);
    h.advance(30.0).await;
    assert_eq!(roster_ids(&h.receiver.next().await), [crate::support::DEV_APP, organizer.as_str()], "Carol left");

    let wrong = json!({"@odata.type": "#microsoft.graph.joinMeetingIdMeetingInfo", "joinMeetingId": "1234567", "passcode": "nope"});
    h.graph("POST", "/v1.0/communications/calls", Some(&h.join_body(wrong, None))).await.expect(201);
    let refused = h.receiver.take(2).await;
    assert_eq!(refused[1].result(), Some((480, 10037)), "a wrong passcode finds no meeting to join");
}

#[tokio::test]
async fn joining_by_organizer_and_chat_creates_the_meeting_in_dev_mode_and_the_meeting_can_end() {
    let h = Harness::start().await;
    let organizer = "5810cede-f3cc-42eb-b2c1-e9bd5d53ec96";
    let info = json!({
        "@odata.type": "#microsoft.graph.organizerMeetingInfo",
        "organizer": {"@odata.type": "#microsoft.graph.identitySet", "user": {"@odata.type": "#microsoft.graph.identity", "id": organizer, "displayName": "Bob"}},
        "allowConversationWithoutHost": true,
    });
    let chat = json!({"@odata.type": "#microsoft.graph.chatInfo", "threadId": "19:meeting_Win6Ydo4wsMijFjZS00ZGVjLTk5MGUtOTRjNWY2NmNkYTFm@thread.v2", "messageId": "0"});
    let id = h.place("v1.0", &h.join_body(info.clone(), Some(chat))).await;
    let notifications = h.receiver.take(4).await;
    assert_eq!(notifications[1].data()["meetingInfo"]["organizer"]["user"]["id"], organizer);
    assert_eq!(roster_ids(&notifications[3]), [crate::support::DEV_APP, organizer], "the organizer is in it");
    let meetings = h.sim("GET", "/meetings", None).await.expect(200).body;
    let meeting_id = meetings["value"][0]["id"].as_str().unwrap().to_owned();

    let reply = h.graph("POST", "/v1.0/communications/calls", Some(&h.join_body(info, None))).await.expect(400);
    assert!(reply.error_message().contains("chatInfo.threadId"), "{}", reply.error_message());

    let ended = h.sim("POST", &format!("/meetings/{meeting_id}/end"), None).await.expect(200).body;
    assert_eq!(ended["endedCalls"], json!([id]));
    assert_eq!(h.receiver.next().await.result(), Some((200, 5001)));
}

#[tokio::test]
async fn people_join_and_leave_a_meeting_the_bot_is_in() {
    let h = Harness::start().await;
    let organizer = h.user("Bob", answers_after(0)).await;
    let late = h.user("Late", answers_after(0)).await;
    let meeting = h.meeting(&organizer).await;
    let key = meeting["id"].as_str().unwrap();
    let id = h.place("v1.0", &h.join_body(join_meeting_id(&meeting), None)).await;
    h.receiver.take(4).await;

    let joined =
        h.sim("POST", &format!("/meetings/{key}/join"), Some(&json!({"userId": late, "leaveAfterMs": 20000}))).await;
    assert_eq!(joined.expect(200).body["calls"], json!([id]));
    assert_eq!(roster_ids(&h.receiver.next().await), [crate::support::DEV_APP, organizer.as_str(), late.as_str()]);
    h.sim("POST", &format!("/meetings/{key}/leave"), Some(&json!({"userId": organizer}))).await.expect(200);
    assert_eq!(roster_ids(&h.receiver.next().await), [crate::support::DEV_APP, late.as_str()]);
    h.advance(20.0).await;
    assert_eq!(roster_ids(&h.receiver.next().await), [crate::support::DEV_APP], "Late leaves after 20 s");
    assert_eq!(h.inspect(&id).await["state"], "established", "the bot stays in an empty meeting");

    let stranger = h
        .sim("POST", &format!("/meetings/{key}/join"), Some(&json!({"userId": "0c0ffee0-0000-4000-8000-0000000000ff"})))
        .await;
    assert_eq!(stranger.expect(404).error_code(), "NotFound");
}
