//! The call state machine, driven by a virtual clock: every documented lifecycle path, from command to the
//! notifications it raises, in order.

mod harness;

use std::time::Duration;

use harness::*;
use serde_json::{Map, json};
use switchboard_catalogue::ApiVersion;
use switchboard_engine::{
    ActionKind, ActionRequest, Answer, Call, Command, Effect, NotificationKind, PeerAction, Rejection, Replaces, Timer,
    TransferRequest, handle,
    model::{
        CallKind, CallState, Conversation, Direction, EndpointKind, Leg, MediaHosting, OperationStatus, Peer, PeerRole,
        PeerStatus, RemoteLeg, Response, ResultInfo, Transport,
    },
};

#[test]
fn outgoing_call_rings_connects_and_ends_when_the_bot_hangs_up() {
    let mut h = Harness::outgoing(vec![peer("alice", EndpointKind::User, answers_after(3), None)]);
    assert_eq!(h.take(), [changed(CallState::Establishing)], "v1.0 has no ringing state");
    h.advance(secs(2));
    assert_eq!(h.take(), []);
    h.advance(secs(1));
    let [chat, token] = announced();
    assert_eq!(h.take(), [changed(CallState::Established), media(CallState::Established), chat, token]);
    assert!(h.call.audio_active);
    assert_eq!(h.call.conversation, Conversation::ChatAndToken { issued_at: h.now });
    h.send(Command::HangUp).unwrap();
    assert_eq!(h.take(), [changed(CallState::Terminating), ended()]);
    assert_eq!(code(h.ended_with()), (200, 5001));
    assert_eq!(h.send(Command::KeepAlive), Err(Rejection::Ended), "404 after the end (docs:call-keepalive)");
}

#[test]
fn beta_calls_report_ringing() {
    let peers = vec![peer("alice", EndpointKind::User, answers_after(1), None)];
    let mut h = Harness::start(setup(Direction::Outgoing, CallKind::PeerToPeer, peers, ApiVersion::Beta));
    assert_eq!(h.take(), [changed(CallState::Establishing), changed(CallState::Ringing)]);
    h.advance(secs(1));
    let [chat, token] = announced();
    assert_eq!(h.take(), [changed(CallState::Established), media(CallState::Established), chat, token]);
}

#[test]
fn each_way_a_callee_fails_a_call_ends_it_with_its_code() {
    let cases = [
        (Response::Ring, RINGING_TIMEOUT, (408, 10057)),
        (Response::Unreachable, Duration::ZERO, (480, 10076)),
        (Response::Reject { after: secs(2), declined: false }, secs(2), (486, 0)),
        (Response::Reject { after: secs(2), declined: true }, secs(2), (603, 0)),
    ];
    for (response, after, expected) in cases {
        let mut h = Harness::outgoing(vec![peer("alice", EndpointKind::User, response.clone(), None)]);
        if !after.is_zero() {
            h.advance(after - Duration::from_millis(1));
            assert_eq!(h.call.state, CallState::Establishing, "{response:?}");
            h.advance(Duration::from_millis(1));
        }
        assert_eq!(h.take().last(), Some(&ended()), "{response:?}");
        assert_eq!(code(h.ended_with()), expected, "{response:?}");
    }
}

#[test]
fn a_remote_hang_up_ends_the_call_with_the_code_for_who_hung_up() {
    for (kind, expected) in [(EndpointKind::User, (200, 5002)), (EndpointKind::Phone, (200, 540000))] {
        let mut h = Harness::outgoing(vec![peer("alice", kind, answers_after(1), Some(secs(30)))]);
        h.advance(secs(30));
        assert_eq!(h.call.state, CallState::Established);
        h.advance(secs(1));
        assert_eq!(code(h.ended_with()), expected, "{kind:?}");
    }
}

#[test]
fn simulated_people_act_on_command() {
    let mut h = Harness::outgoing(vec![peer("alice", EndpointKind::User, Response::Ring, None)]);
    let act = |action| Command::Peer { participant_id: "alice".into(), action };
    assert!(matches!(h.send(act(PeerAction::HangUp)), Err(Rejection::NotApplicable(_))), "not connected yet");
    h.send(act(PeerAction::Answer)).unwrap();
    assert_eq!(h.call.state, CallState::Established);
    assert!(matches!(h.send(act(PeerAction::Answer)), Err(Rejection::NotApplicable(_))), "already connected");
    h.send(act(PeerAction::HangUp)).unwrap();
    assert_eq!(code(h.ended_with()), (200, 5002));
    let unknown = Command::Peer { participant_id: "nobody".into(), action: PeerAction::Answer };
    assert_eq!(h.send(unknown), Err(Rejection::Ended));
}

#[test]
fn a_real_person_answers_and_hangs_up_only_when_their_transport_says_so() {
    let mut alice = peer("alice", EndpointKind::User, answers_after(0), Some(secs(1)));
    alice.leg = Leg::Remote(RemoteLeg { transport: Transport::WebRtc });
    let mut h = Harness::outgoing(vec![alice]);
    h.advance(secs(30));
    assert_eq!(h.call.state, CallState::Establishing, "still ringing: no behaviour answers for a person");
    let act = |action| Command::Peer { participant_id: "alice".into(), action };
    h.send(act(PeerAction::Answer)).unwrap();
    assert_eq!(h.call.state, CallState::Established);
    h.advance(secs(600));
    assert_eq!(h.call.state, CallState::Established, "nothing hangs up for them either");
    h.send(act(PeerAction::HangUp)).unwrap();
    assert_eq!(code(h.ended_with()), (200, 5002));
    // Stored documents keep simulated peers' behaviour where it always was; a remote leg names its transport.
    let stored = serde_json::to_value(&h.call.peers[0]).unwrap();
    assert_eq!(stored["remote"], json!({"transport": "webRtc"}));
    assert!(stored.get("behaviour").is_none());
    let simulated = serde_json::to_value(peer("bob", EndpointKind::User, answers_after(2), None)).unwrap();
    assert_eq!(simulated["behaviour"]["response"], json!({"kind": "answer", "afterMs": 2000}), "{simulated}");
    let read: Peer = serde_json::from_value(stored).unwrap();
    assert_eq!(read, h.call.peers[0]);
}

#[test]
fn incoming_call_unanswered_for_15_seconds_ends() {
    let mut h = Harness::incoming(answers_after(0), None);
    assert_eq!(h.take(), [(NotificationKind::Incoming, CallState::Incoming)]);
    h.advance(secs(14));
    assert_eq!(h.call.state, CallState::Incoming);
    h.advance(secs(1));
    assert_eq!(h.take(), [ended()]);
    assert_eq!(code(h.ended_with()), (408, 1106));
}

#[test]
fn answering_an_incoming_call_establishes_it() {
    let mut h = Harness::incoming(answers_after(0), Some(secs(20)));
    h.take();
    let answer = Answer {
        callback_uri: Some("https://bot.example/answered".into()),
        api_version: ApiVersion::Beta,
        properties: Map::from_iter([("acceptedModalities".to_owned(), json!(["audio"]))]),
        media_hosting: MediaHosting::App,
    };
    h.send(Command::Answer(answer.clone())).unwrap();
    let [chat, token] = announced();
    assert_eq!(
        h.take(),
        [changed(CallState::Establishing), changed(CallState::Established), media(CallState::Established), chat, token]
    );
    assert_eq!(h.call.callback_uri.as_deref(), Some("https://bot.example/answered"));
    assert_eq!(h.call.api_version, ApiVersion::Beta, "answered through beta, the call is a beta call");
    assert_eq!(h.call.resource["acceptedModalities"], json!(["audio"]));
    assert_eq!(h.call.media_hosting, MediaHosting::App, "the media as the answer configured it");
    assert!(matches!(h.send(Command::Answer(answer)), Err(Rejection::WrongState { .. })));
    h.advance(secs(15));
    assert_eq!(h.call.state, CallState::Established, "the answer deadline no longer applies");
    h.advance(secs(5));
    assert_eq!(code(h.ended_with()), (200, 5002), "the caller hangs up 20 s after connecting");
}

#[test]
fn rejecting_an_incoming_call_deletes_it() {
    let mut h = Harness::incoming(answers_after(0), None);
    h.take();
    h.send(Command::Reject { callback_uri: None }).unwrap();
    assert_eq!(h.take(), [(NotificationKind::Rejected, CallState::Terminated)]);
    assert_eq!(h.ended_with(), None);
}

fn redirect_target(id: &str, response: Response) -> Peer {
    Peer { role: PeerRole::RedirectTarget, ..peer(id, EndpointKind::User, response, None) }
}

#[test]
fn a_redirected_call_ends_when_a_target_answers() {
    let mut h = Harness::incoming(answers_after(0), None);
    h.take();
    let targets = vec![redirect_target("t1", Response::Ring), redirect_target("t2", answers_after(4))];
    h.send(Command::Redirect { targets, timeout: secs(30), callback_uri: None }).unwrap();
    assert_eq!(h.call.state, CallState::Redirecting);
    assert_eq!(h.take(), [], "Graph shows no notification for redirecting");
    h.advance(secs(4));
    assert_eq!(h.take(), [(NotificationKind::Redirected, CallState::Terminated)]);
    assert_eq!(
        h.call.answered_by.as_ref().map(switchboard_engine::model::IdentitySet::to_json),
        Some(json!({"user": {"id": "endpoint-t2"}}))
    );
    assert_eq!(h.ended_with(), None);
}

#[test]
fn a_redirect_nobody_answers_ends_at_its_timeout() {
    let mut h = Harness::incoming(answers_after(0), None);
    let targets = vec![redirect_target("t1", Response::Ring)];
    h.send(Command::Redirect { targets, timeout: secs(20), callback_uri: None }).unwrap();
    h.advance(secs(20));
    assert_eq!(code(h.ended_with()), (408, 10057));
    let mut h = Harness::incoming(answers_after(0), None);
    let targets = vec![redirect_target("t1", Response::Unreachable), redirect_target("t2", Response::Unreachable)];
    h.send(Command::Redirect { targets, timeout: secs(20), callback_uri: None }).unwrap();
    assert_eq!(code(h.ended_with()), (480, 10076), "every target unreachable ends it at once");
}

fn transfer_to(response: Response) -> TransferRequest {
    TransferRequest {
        target: Peer { role: PeerRole::TransferTarget, ..peer("target", EndpointKind::User, response, None) },
        transferee: None,
        replaces: None,
    }
}

#[test]
fn a_blind_transfer_the_target_accepts_ends_the_call() {
    let mut h = established_call();
    h.send(Command::Transfer(transfer_to(answers_after(5)))).unwrap();
    assert_eq!(h.take(), [changed(CallState::Transferring)]);
    h.advance(secs(5));
    assert_eq!(h.take(), [changed(CallState::TransferAccepted), media(CallState::TransferAccepted), ended()]);
    assert_eq!(h.ended_with(), Some(ResultInfo::new(0, 7015, "GracefulTransferCompleted")));
    assert_eq!(h.call.termination_reason, None);
}

#[test]
fn a_failed_transfer_returns_the_call_to_established() {
    for (response, wait) in [
        (Response::Reject { after: secs(1), declined: false }, secs(1)),
        (Response::Unreachable, Duration::ZERO),
        (Response::Ring, RINGING_TIMEOUT),
    ] {
        let mut h = established_call();
        h.send(Command::Transfer(transfer_to(response.clone()))).unwrap();
        h.advance(wait);
        let notifications = h.take();
        let (kind, state) = notifications.last().unwrap();
        assert_eq!(*state, CallState::Established, "{response:?}");
        let NotificationKind::StateChanged { result_info: Some(result) } = kind else { panic!("{kind:?}") };
        assert_eq!((result.code, result.subcode), (500, 7000), "{response:?}");
        assert_eq!(h.call.transfer, None);
        h.send(Command::Transfer(transfer_to(answers_after(1)))).expect("the bot can try again");
    }
}

#[test]
fn a_consultative_transfer_replaces_the_other_call() {
    let mut h = established_call();
    let mut request = transfer_to(Response::Ring);
    request.replaces = Some(Replaces { call_id: "consult".into(), problem: None });
    h.send(Command::Transfer(request)).unwrap();
    assert_eq!(
        h.take(),
        [
            changed(CallState::Transferring),
            changed(CallState::TransferAccepted),
            media(CallState::TransferAccepted),
            ended()
        ]
    );
    assert_eq!(h.call.termination_reason.as_deref(), Some("AppTransferred"));
    assert_eq!(h.elsewhere, [("consult".to_owned(), Timer::ReplacedByTransfer { call_id: "call-1".into() })]);

    let mut consult = established_call();
    consult.send(Command::Timer(Timer::ReplacedByTransfer { call_id: "call-1".into() })).unwrap();
    assert_eq!(code(consult.ended_with()), (0, 7015));

    let mut h = established_call();
    let mut request = transfer_to(Response::Ring);
    request.replaces = Some(Replaces { call_id: "nope".into(), problem: Some("no such call".into()) });
    h.send(Command::Transfer(request)).unwrap();
    assert_eq!(code(h.call.result_info.clone()), (500, 7700));
    assert_eq!(h.call.state, CallState::Established);
    assert!(h.elsewhere.is_empty());
}

#[test]
fn transfer_rules_follow_the_kind_of_call() {
    let mut h = established_call();
    let mut request = transfer_to(Response::Ring);
    request.transferee = Some("alice".into());
    assert!(matches!(h.send(Command::Transfer(request)), Err(Rejection::NotApplicable(_))));
    let mut h = Harness::incoming(answers_after(0), None);
    assert!(matches!(h.send(Command::Transfer(transfer_to(Response::Ring))), Err(Rejection::WrongState { .. })));
    assert_eq!(h.call.peers.len(), 1, "a refused command changes nothing");
}

#[test]
fn keep_alive_pushes_the_45_minute_deadline() {
    let mut h = established_call();
    h.advance(secs(44 * 60));
    h.send(Command::KeepAlive).unwrap();
    h.advance(secs(44 * 60));
    assert_eq!(h.call.state, CallState::Established);
    h.advance(secs(60));
    assert_eq!(code(h.ended_with()), (408, 8537));
}

#[test]
fn a_group_call_connects_and_reports_its_roster() {
    let mut h = group(vec![
        peer("a", EndpointKind::User, answers_after(2), Some(secs(10))),
        peer("b", EndpointKind::User, Response::Ring, None),
    ]);
    let roster = roster();
    assert_eq!(
        h.take(),
        [
            changed(CallState::Establishing),
            changed(CallState::Established),
            media(CallState::Established),
            roster.clone()
        ]
    );
    h.advance(secs(2));
    assert_eq!(h.take(), std::slice::from_ref(&roster));
    assert_eq!(h.call.connected_parties().count(), 1);
    h.advance(secs(10));
    assert_eq!(h.take(), [roster], "a leaves; b still rings");
    h.advance(RINGING_TIMEOUT);
    assert_eq!(code(h.ended_with()), (200, 5010), "everyone else left");

    let mut h = group(vec![peer("a", EndpointKind::User, Response::Ring, None)]);
    h.advance(RINGING_TIMEOUT);
    assert_eq!(code(h.ended_with()), (200, 5013), "no one joined");
}

#[test]
fn a_meeting_join_establishes_and_tracks_attendees() {
    let mut attendee = peer("organizer", EndpointKind::User, answers_after(0), Some(secs(60)));
    attendee.status = PeerStatus::Connected;
    let kind = CallKind::Meeting { meeting_id: "m1".into() };
    let mut h = Harness::start(setup(Direction::Outgoing, kind, vec![attendee], ApiVersion::V1));
    let roster = roster();
    assert_eq!(
        h.take(),
        [
            changed(CallState::Establishing),
            changed(CallState::Established),
            media(CallState::Established),
            roster.clone()
        ]
    );
    h.advance(secs(60));
    assert_eq!(h.take(), [roster], "the organizer leaves; the bot stays");
    h.send(Command::Terminate { result: ResultInfo::new(200, 5001, "The conversation has ended.") }).unwrap();
    assert_eq!(code(h.ended_with()), (200, 5001));
}

fn action(kind: ActionKind) -> Command {
    Command::Action(ActionRequest { operation_id: "op-1".into(), kind, client_context: Some("ctx".into()) })
}

#[test]
fn call_level_actions_answer_with_operations() {
    let mut h = established_call();
    assert!(matches!(h.send(action(ActionKind::SetSelfMuted(true))), Err(Rejection::NotApplicable(_))));
    h.send(action(ActionKind::UpdateRecordingStatus("recording".into()))).unwrap();
    let operation = h.call.operation("OP-1").expect("operation ids match without regard to case");
    assert_eq!((operation.status, operation.client_context.as_deref()), (OperationStatus::Completed, Some("ctx")));
    assert_eq!(h.take(), [], "a completed operation raises no notification");

    let mut h = group(vec![peer("a", EndpointKind::User, answers_after(0), None)]);
    h.advance(Duration::ZERO);
    h.take();
    h.send(action(ActionKind::SetSelfMuted(true))).unwrap();
    assert!(h.call.bot.muted);
    assert_eq!(h.take(), [roster()]);
    h.send(Command::Action(ActionRequest {
        operation_id: "op-2".into(),
        kind: ActionKind::AddLargeGalleryView,
        client_context: None,
    }))
    .unwrap();
    assert_eq!(h.call.operation("op-2").unwrap().status, OperationStatus::Running);
    h.advance(Duration::ZERO);
    assert_eq!(h.call.operation("op-2").unwrap().status, OperationStatus::Completed);
    assert_eq!(
        h.take(),
        [(NotificationKind::OperationFinished { operation_id: "op-2".into() }, CallState::Established)]
    );
    let not_app_hosted = h.send(action(ActionKind::ChangeScreenSharingRole("sharer".into())));
    assert!(matches!(not_app_hosted, Err(Rejection::NotApplicable(message)) if message.contains("app-hosted")));
}

#[test]
fn every_notification_carries_a_newer_version() {
    let mut h = established_call();
    h.send(Command::HangUp).unwrap();
    let versions: Vec<u64> = h.notifications.iter().map(|(_, call)| call.version).collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    assert_eq!(versions.last(), Some(&h.call.version));
}

#[test]
fn the_document_survives_a_round_trip_through_json() {
    let mut h = established_call();
    h.send(Command::Transfer(transfer_to(Response::Ring))).unwrap();
    let text = serde_json::to_string(&h.call).unwrap();
    let back: Call = serde_json::from_str(&text).unwrap();
    assert_eq!(back, h.call);
    for timer in h.timers.values().map(|(_, t)| t) {
        assert_eq!(&Timer::from_key(&timer.key()).unwrap(), timer);
    }
}

#[test]
fn a_call_that_cannot_be_set_up_ends_after_establishing() {
    let now = start_time();
    let mut call = Call::new(
        setup(Direction::Outgoing, CallKind::Meeting { meeting_id: "m".into() }, vec![], ApiVersion::Beta),
        now,
    );
    let effects = handle(&mut call, Command::StartFailing { result: ResultInfo::new(480, 10037, "x") }, now).unwrap();
    let kinds: Vec<_> = effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::Notify(n) => Some((n.kind, n.call.state)),
            Effect::Broadcast(_) => panic!("a bot that never joined leaves nobody's roster"),
            Effect::Schedule { .. } | Effect::Cancel { .. } => None,
        })
        .collect();
    assert_eq!(kinds, [changed(CallState::Establishing), ended()], "no ringing, no roster");
    assert_eq!(code(call.result_info), (480, 10037));
}

#[test]
fn someone_joining_a_meeting_appears_in_the_roster() {
    let kind = CallKind::Meeting { meeting_id: "m1".into() };
    let mut h = Harness::start(setup(Direction::Outgoing, kind, vec![], ApiVersion::V1));
    h.take();
    let late = peer("late", EndpointKind::User, answers_after(0), Some(secs(10)));
    h.send(Command::Join(late)).unwrap();
    assert_eq!(h.take(), [roster()]);
    assert_eq!(h.call.connected_parties().count(), 1);
    h.advance(secs(10));
    assert_eq!(h.take(), [roster()], "left after 10 s");

    let mut p2p = established_call();
    let joining = peer("x", EndpointKind::User, answers_after(0), None);
    assert!(matches!(p2p.send(Command::Join(joining)), Err(Rejection::NotApplicable(_))));
}

#[test]
fn a_long_call_keeps_its_newest_finished_operations_only() {
    let mut h = group(vec![peer("a", EndpointKind::User, answers_after(0), None)]);
    h.advance(Duration::ZERO);
    for n in 0..250 {
        let kind = ActionKind::SetSelfMuted(n % 2 == 0);
        h.send(Command::Action(ActionRequest { operation_id: format!("op-{n}"), kind, client_context: None })).unwrap();
    }
    assert_eq!(h.call.operations.len(), 20, "the document does not grow with every operation");
    assert!(h.call.operation("op-249").is_some() && h.call.operation("op-230").is_some());
    assert!(h.call.operation("op-229").is_none(), "the oldest finished ones are forgotten first");
}

#[test]
fn an_answered_call_disarms_its_ringing_timeout() {
    let mut h = Harness::outgoing(vec![peer("a", EndpointKind::User, answers_after(2), None)]);
    assert!(h.timers.contains_key(&Timer::RingingTimeout.key()), "ringing is bounded");
    h.advance(secs(2));
    assert_eq!(h.call.state, CallState::Established);
    assert!(!h.timers.contains_key(&Timer::RingingTimeout.key()), "nobody rings: the timeout is disarmed");
}

#[test]
fn only_a_peer_to_peer_call_with_a_teams_user_announces_its_conversation() {
    let mut phone = Harness::outgoing(vec![peer("+15550100", EndpointKind::Phone, answers_after(0), None)]);
    phone.advance(Duration::ZERO);
    assert_eq!(
        phone.take(),
        [changed(CallState::Establishing), changed(CallState::Established), media(CallState::Established)]
    );
    assert_eq!(phone.call.conversation, Conversation::Unannounced);

    let users = ["a", "b"].map(|id| peer(id, EndpointKind::User, answers_after(0), None));
    let mut group = group(users.to_vec());
    group.advance(Duration::ZERO);
    let kinds: Vec<NotificationKind> = group.take().into_iter().map(|(kind, _)| kind).collect();
    assert!(kinds.contains(&NotificationKind::MediaStateChanged), "{kinds:?}");
    assert!(!kinds.contains(&NotificationKind::ConversationAnnounced), "a group call has a roster instead");
}

/// A timer's key is how the store keeps it: a key that changes (a renamed variant or field) would leave every timer
/// stored by an earlier build unreadable, dropped at its due time. Changing one needs a migration of `call_timer`.
#[test]
fn timer_keys_are_a_stored_format() {
    use switchboard_engine::RosterEvent;
    let id = || "x".to_owned();
    let cases = [
        (Timer::AnswerDeadline, r#"{"timer":"answerDeadline"}"#),
        (Timer::KeepAliveDeadline, r#"{"timer":"keepAliveDeadline"}"#),
        (Timer::RingingTimeout, r#"{"timer":"ringingTimeout"}"#),
        (Timer::RedirectTimeout, r#"{"timer":"redirectTimeout"}"#),
        (Timer::TransferTimeout, r#"{"timer":"transferTimeout"}"#),
        (Timer::PeerResponds { participant_id: id() }, r#"{"timer":"peerResponds","participantId":"x"}"#),
        (Timer::PeerHangsUp { participant_id: id() }, r#"{"timer":"peerHangsUp","participantId":"x"}"#),
        (Timer::OperationDue { operation_id: id() }, r#"{"timer":"operationDue","operationId":"x"}"#),
        (Timer::InviteTimeout { operation_id: id() }, r#"{"timer":"inviteTimeout","operationId":"x"}"#),
        (Timer::LobbyTimeout { participant_id: id() }, r#"{"timer":"lobbyTimeout","participantId":"x"}"#),
        (Timer::BotLobbyTimeout, r#"{"timer":"botLobbyTimeout"}"#),
        (
            Timer::RosterSync { id: id(), event: RosterEvent::Left { endpoint_id: id(), reason: None } },
            r#"{"timer":"rosterSync","id":"x","event":{"change":"left","endpointId":"x","reason":null}}"#,
        ),
        (Timer::ReplacedByTransfer { call_id: id() }, r#"{"timer":"replacedByTransfer","callId":"x"}"#),
    ];
    // A new kind of timer does not compile here until it has its case above.
    let _every_kind_has_a_case = |timer: &Timer| match timer {
        Timer::AnswerDeadline
        | Timer::KeepAliveDeadline
        | Timer::RingingTimeout
        | Timer::RedirectTimeout
        | Timer::TransferTimeout
        | Timer::PeerResponds { .. }
        | Timer::PeerHangsUp { .. }
        | Timer::OperationDue { .. }
        | Timer::InviteTimeout { .. }
        | Timer::LobbyTimeout { .. }
        | Timer::BotLobbyTimeout
        | Timer::RosterSync { .. }
        | Timer::ReplacedByTransfer { .. } => (),
    };
    for (timer, key) in cases {
        assert_eq!(timer.key(), key);
        assert_eq!(Timer::from_key(key).unwrap(), timer, "{key}");
    }
}
