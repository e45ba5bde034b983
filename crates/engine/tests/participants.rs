//! The people in a call as the bot manages them: invitations, removal, mute, hold, the lobby, audio routing groups,
//! content sharing — each from command to the notifications it raises, on the virtual clock.

mod harness;

use std::time::Duration;

use harness::*;
use serde_json::json;
use switchboard_catalogue::ApiVersion;
use switchboard_engine::{
    ActionKind, ActionRequest, Change, Command, Invitee, NotificationKind, PeerAction, Rejection, Replaces,
    RosterEvent, Timer,
    model::{
        AudioRoutingGroup, CallKind, CallState, Direction, EndpointKind, OperationStatus, Peer, PeerStatus, Prompt,
        Response,
    },
};

/// A group call with "a" connected and nobody else, its notifications taken.
fn group_with_a() -> Harness {
    let mut h = group(vec![peer("a", EndpointKind::User, answers_after(0), None)]);
    h.advance(Duration::ZERO);
    h.take();
    h
}

fn act(id: &str, kind: ActionKind) -> Command {
    Command::Action(ActionRequest { operation_id: id.into(), kind, client_context: Some(format!("ctx-{id}")) })
}

fn invitee(id: &str, response: Response) -> Invitee {
    Invitee {
        peer: peer(id, EndpointKind::User, response, None),
        invitation: json!({"identity": {"user": {"id": format!("endpoint-{id}")}}}),
        replaces: None,
    }
}

fn status(h: &Harness, operation: &str) -> OperationStatus {
    h.call.operation(operation).expect("the operation exists").status
}

fn finished(id: &str) -> (NotificationKind, CallState) {
    (NotificationKind::OperationFinished { operation_id: id.into() }, CallState::Established)
}

#[test]
fn an_invitee_who_answers_completes_the_invitation_then_joins_the_roster() {
    let mut h = group_with_a();
    h.send(act("inv", ActionKind::Invite(vec![invitee("b", answers_after(3))]))).unwrap();
    assert_eq!(status(&h, "inv"), OperationStatus::Running);
    assert_eq!(h.call.operation("inv").unwrap().properties["participants"][0]["identity"]["user"]["id"], "endpoint-b");
    assert_eq!(h.take(), [], "nothing until the invitee answers");
    h.advance(secs(3));
    assert_eq!(h.take(), [finished("inv"), roster()], "docs:participant-invite: completion, then the roster");
    assert_eq!(status(&h, "inv"), OperationStatus::Completed);
    assert!(h.call.peer("b").unwrap().is_in_conversation());
}

#[test]
fn failed_invitations_fail_the_operation_with_the_reason() {
    for (response, wait, expected) in [
        (Response::Reject { after: secs(1), declined: true }, secs(1), (603, 0)),
        (Response::Unreachable, Duration::ZERO, (480, 10076)),
        (Response::Ring, RINGING_TIMEOUT, (408, 10057)),
    ] {
        let mut h = group_with_a();
        h.send(act("inv", ActionKind::Invite(vec![invitee("b", response.clone())]))).unwrap();
        h.advance(wait);
        let operation = h.call.operation("inv").unwrap();
        assert_eq!(operation.status, OperationStatus::Failed, "{response:?}");
        let result = operation.result_info.clone().unwrap();
        assert_eq!((result.code, result.subcode), (412, 9999), "live Graph's code for a failed invitation");
        assert!(
            result.message.starts_with("addParticipants failed for participant 8:orgid:endpoint-b.")
                && result.message.ends_with(&format!("DiagCode: {}#{}.@", expected.0, expected.1)),
            "why it failed is in the DiagCode: {}",
            result.message
        );
        assert_eq!(h.take().last(), Some(&finished("inv")), "{response:?}");
        assert_eq!(h.call.state, CallState::Established, "a failed invitation does not end the call");
    }
}

#[test]
fn the_same_identity_cannot_be_invited_twice() {
    let mut h = group_with_a();
    let again = Invitee {
        peer: Peer { participant_id: "a2".into(), ..peer("a", EndpointKind::User, answers_after(0), None) },
        ..invitee("a", answers_after(0))
    };
    assert!(
        matches!(h.send(act("inv", ActionKind::Invite(vec![again]))), Err(Rejection::NotApplicable(m)) if m.contains("cannot be invited twice"))
    );
    assert!(h.call.operations.is_empty(), "a refused invitation leaves no operation");
}

#[test]
fn inviting_into_a_peer_to_peer_call_escalates_it_and_can_hide_the_bot() {
    let mut h = established_call();
    std::sync::Arc::make_mut(&mut h.call.resource)
        .insert("callOptions".into(), json!({"hideBotAfterEscalation": true}));
    h.send(act("inv", ActionKind::Invite(vec![invitee("b", answers_after(0))]))).unwrap();
    assert_eq!(h.call.kind, CallKind::Group);
    assert!(h.call.bot.hidden, "callOptions.hideBotAfterEscalation");
    h.advance(Duration::ZERO);
    assert_eq!(h.take(), [finished("inv"), roster()]);
}

#[test]
fn an_invitation_replacing_the_bots_other_call_joins_at_once() {
    let mut h = group_with_a();
    let mut moving = invitee("b", Response::Ring);
    moving.replaces = Some(Replaces { call_id: "p2p".into(), problem: None });
    h.send(act("inv", ActionKind::Invite(vec![moving, invitee("ignored", Response::Ring)]))).unwrap();
    assert!(h.call.peer("b").unwrap().is_in_conversation(), "no ringing");
    assert!(h.call.peer("ignored").is_none(), "docs: only the first participant is read with replacesCallId");
    assert_eq!(h.elsewhere, [("p2p".to_owned(), Timer::ReplacedByTransfer { call_id: "call-1".into() })]);
    h.advance(Duration::ZERO);
    assert_eq!(h.take(), [roster(), finished("inv")]);
    assert_eq!(status(&h, "inv"), OperationStatus::Completed);
}

#[test]
fn removing_a_participant_or_cancelling_an_invitation() {
    let mut h = group_with_a();
    h.send(act("inv", ActionKind::Invite(vec![invitee("b", Response::Ring)]))).unwrap();
    h.send(Command::RemoveParticipant { participant_id: "b".into() }).unwrap();
    let result = h.call.operation("inv").unwrap().result_info.clone().unwrap();
    assert_eq!((status(&h, "inv"), result.code), (OperationStatus::Failed, 412), "the open invitation is cancelled");
    assert!(result.message.ends_with("DiagCode: 487#0.@"), "{}", result.message);
    assert_eq!(h.take(), [finished("inv")]);

    let bot = h.call.my_participant_id.clone();
    assert!(matches!(h.send(Command::RemoveParticipant { participant_id: bot }), Err(Rejection::NotApplicable(_))));
    assert!(matches!(
        h.send(Command::RemoveParticipant { participant_id: "nobody".into() }),
        Err(Rejection::UnknownParticipant(_))
    ));
    h.send(Command::RemoveParticipant { participant_id: "a".into() }).unwrap();
    assert_eq!(h.call.peer("a").unwrap().roster.removed_reason.as_deref(), Some("removedByApplication"));
    assert_eq!(h.take(), [roster(), ended()], "the last other participant gone: the group call ends");
    assert_eq!(code(h.call.result_info.clone()), (200, 5010));

    let mut p2p = established_call();
    assert!(matches!(
        p2p.send(Command::RemoveParticipant { participant_id: "alice".into() }),
        Err(Rejection::NotApplicable(_))
    ));
}

#[test]
fn muting_participants_and_their_own_unmute() {
    let mut h = group(vec![
        peer("a", EndpointKind::User, answers_after(0), None),
        peer("b", EndpointKind::User, answers_after(0), None),
    ]);
    h.advance(Duration::ZERO);
    h.take();
    h.send(act("m", ActionKind::MuteParticipant { participant_id: "a".into() })).unwrap();
    assert_eq!(status(&h, "m"), OperationStatus::Completed, "docs:participant-mute: completed at once");
    assert!(h.call.peer("a").unwrap().roster.server_muted);
    assert_eq!(h.take(), [roster()]);
    h.send(Command::Peer { participant_id: "a".into(), action: PeerAction::Unmute }).unwrap();
    assert!(!h.call.peer("a").unwrap().roster.is_muted(), "a person can unmute themselves");
    h.send(act("all", ActionKind::MuteAll { participants: vec![] })).unwrap();
    assert!(h.call.peers.iter().all(|p| p.roster.server_muted));
    assert!(!h.call.bot.muted, "muteAll leaves the bot alone");
    assert_eq!(h.call.operation("all").unwrap().properties["participants"], json!(["a", "b"]));
    let unknown = h.send(act("x", ActionKind::MuteParticipant { participant_id: "z".into() }));
    assert!(matches!(unknown, Err(Rejection::UnknownParticipant(_))));
}

#[test]
fn one_participant_on_hold_at_a_time() {
    let mut h = group(vec![
        peer("a", EndpointKind::User, answers_after(0), None),
        peer("b", EndpointKind::User, answers_after(0), None),
    ]);
    h.advance(Duration::ZERO);
    h.take();
    let prompt = Prompt { uri: "https://bot.example/hold.wav".into(), resource_id: None };
    h.send(act("h1", ActionKind::StartHoldMusic { participant_id: "a".into(), prompt: Some(prompt.clone()) })).unwrap();
    assert_eq!(status(&h, "h1"), OperationStatus::Running, "docs:participant-startholdmusic: 202 running");
    assert_eq!(h.call.peer("a").unwrap().roster.hold_prompt, Some(prompt));
    h.advance(Duration::ZERO);
    assert_eq!((h.take(), status(&h, "h1")), (vec![finished("h1")], OperationStatus::Completed));
    h.send(act("h2", ActionKind::StartHoldMusic { participant_id: "b".into(), prompt: None })).unwrap();
    h.advance(Duration::ZERO);
    let failed = h.call.operation("h2").unwrap();
    assert_eq!((failed.status, failed.result_info.as_ref().map(|r| r.code)), (OperationStatus::Failed, Some(409)));
    assert!(!h.call.peer("b").unwrap().roster.on_hold);
    h.send(act("s1", ActionKind::StopHoldMusic { participant_id: "a".into() })).unwrap();
    h.advance(Duration::ZERO);
    assert!(!h.call.peer("a").unwrap().roster.on_hold);
    assert_eq!(status(&h, "s1"), OperationStatus::Completed);
}

fn meeting(bot_in_lobby: bool) -> Harness {
    let mut setup = setup(Direction::Outgoing, CallKind::Meeting { meeting_id: "m".into() }, vec![], ApiVersion::Beta);
    setup.bot_in_lobby = bot_in_lobby;
    let mut h = Harness::start(setup);
    h.take();
    h
}

fn lobby_peer(id: &str) -> Peer {
    let mut waiting = peer(id, EndpointKind::User, answers_after(0), None);
    waiting.roster.in_lobby = true;
    waiting
}

#[test]
fn people_wait_in_the_lobby_until_admitted_or_timed_out() {
    let mut h = meeting(false);
    h.send(Command::Join(lobby_peer("guest"))).unwrap();
    h.send(Command::Join(lobby_peer("late"))).unwrap();
    assert_eq!(h.take(), [roster(), roster()]);
    assert!(h.call.peer("guest").unwrap().is_on_roster() && !h.call.peer("guest").unwrap().is_in_conversation());
    let muting = h.send(act("m", ActionKind::MuteParticipant { participant_id: "guest".into() }));
    assert!(matches!(muting, Err(Rejection::NotApplicable(m)) if m.contains("lobby")));
    h.send(act("a", ActionKind::AdmitFromLobby { participant_id: "guest".into() })).unwrap();
    assert!(h.call.peer("guest").unwrap().is_in_conversation());
    assert_eq!(h.take(), [roster()]);
    h.advance(LOBBY_TIMEOUT);
    let late = h.call.peer("late").unwrap();
    assert_eq!((late.status, late.roster.removed_reason.as_deref()), (PeerStatus::Left, Some("lobbyTimeout")));
    assert_eq!(h.take(), [roster()]);
    assert!(h.call.peer("guest").unwrap().is_in_conversation(), "admitted people are not timed out");

    let mut h = meeting(false);
    h.send(Command::Join(lobby_peer("x"))).unwrap();
    h.send(Command::Join(lobby_peer("y"))).unwrap();
    h.send(act("all", ActionKind::AdmitAllFromLobby)).unwrap();
    assert!(h.call.peer("x").unwrap().is_in_conversation() && h.call.peer("y").unwrap().is_in_conversation());
    h.send(Command::Join(lobby_peer("z"))).unwrap();
    h.send(act("r", ActionKind::RemoveFromLobby { participant_id: "z".into() })).unwrap();
    assert_eq!(h.call.peer("z").unwrap().roster.removed_reason.as_deref(), Some("removedFromLobby"));
}

#[test]
fn a_bot_in_the_lobby_is_admitted_or_removed_after_the_timeout() {
    let mut h = meeting(true);
    assert!(h.call.bot.in_lobby && !h.call.audio_active, "connected to the lobby, no media yet");
    h.send(Command::AdmitBot).unwrap();
    assert_eq!(h.take(), [media(CallState::Established), roster()]);
    h.advance(LOBBY_TIMEOUT);
    assert_eq!(h.call.state, CallState::Established, "admitted in time");

    let mut h = meeting(true);
    h.advance(LOBBY_TIMEOUT);
    assert_eq!(code(h.ended_with()), (200, 5855));
}

#[test]
fn audio_routing_groups_route_between_existing_participants() {
    let mut h = group(vec![
        peer("a", EndpointKind::User, answers_after(0), None),
        peer("b", EndpointKind::User, answers_after(0), None),
    ]);
    h.advance(Duration::ZERO);
    h.take();
    let group = |id: &str, mode: &str, sources: &[&str], receivers: &[&str]| AudioRoutingGroup {
        id: id.into(),
        routing_mode: mode.into(),
        sources: sources.iter().map(|s| (*s).to_owned()).collect(),
        receivers: receivers.iter().map(|s| (*s).to_owned()).collect(),
    };
    let bot = h.call.my_participant_id.clone();
    h.send(Command::CreateAudioRoutingGroup(group("g", "oneToOne", &["a"], &[&bot]))).unwrap();
    let again = h.send(Command::CreateAudioRoutingGroup(group("g", "oneToOne", &["a"], &["b"])));
    assert!(matches!(again, Err(Rejection::Conflict(_))));
    let stranger = h.send(Command::CreateAudioRoutingGroup(group("h", "multicast", &["a"], &["nobody"])));
    assert!(matches!(stranger, Err(Rejection::NotApplicable(m)) if m.contains("'nobody' is not a participant")));
    let too_many = Command::UpdateAudioRoutingGroup {
        id: "g".into(),
        sources: None,
        receivers: Some(vec!["a".into(), "b".into()]),
    };
    assert!(matches!(h.send(too_many), Err(Rejection::NotApplicable(_))), "oneToOne has one receiver");
    h.send(Command::UpdateAudioRoutingGroup { id: "g".into(), sources: None, receivers: Some(vec!["b".into()]) })
        .unwrap();
    assert_eq!(h.call.audio_routing_groups[0].receivers, ["b"]);
    h.send(Command::DeleteAudioRoutingGroup { id: "g".into() }).unwrap();
    assert!(matches!(h.send(Command::DeleteAudioRoutingGroup { id: "g".into() }), Err(Rejection::NotFound(_))));
    assert_eq!(h.take(), [], "audio routing groups raise no notifications");
}

#[test]
fn content_sharing_is_notified_only_when_asked_for() {
    let share = |png: Option<&str>| PeerAction::StartSharing { session_id: "s".into(), png: png.map(str::to_owned) };
    let mut h = group_with_a();
    h.send(Command::Peer { participant_id: "a".into(), action: share(None) }).unwrap();
    assert_eq!(h.call.content_sharing_sessions.len(), 1);
    assert_eq!(h.take(), [], "callOptions.isContentSharingNotificationEnabled is off");

    let mut h = group_with_a();
    std::sync::Arc::make_mut(&mut h.call.resource)
        .insert("callOptions".into(), json!({"isContentSharingNotificationEnabled": true}));
    h.send(Command::Peer { participant_id: "a".into(), action: share(Some("iVBORw0KGgo=")) }).unwrap();
    h.send(Command::Peer { participant_id: "a".into(), action: PeerAction::ShowSlide { png: "AAAA".into() } }).unwrap();
    h.send(Command::Peer { participant_id: "a".into(), action: PeerAction::StopSharing }).unwrap();
    let changes: Vec<Change> = h
        .take()
        .into_iter()
        .filter_map(|(kind, _)| match kind {
            NotificationKind::ContentSharing { change, session_id } if session_id == "s" => Some(change),
            _ => None,
        })
        .collect();
    assert_eq!(changes, [Change::Created, Change::Updated, Change::Deleted]);
    h.send(Command::Peer { participant_id: "a".into(), action: share(None) }).unwrap();
    h.send(Command::Peer { participant_id: "a".into(), action: PeerAction::HangUp }).unwrap();
    assert!(h.call.content_sharing_sessions.is_empty(), "leaving ends the presenter's session");
}

#[test]
fn every_roster_change_numbers_the_participants_it_touched() {
    let mut h = group_with_a();
    let before = h.call.roster_sequence;
    h.send(act("m", ActionKind::MuteParticipant { participant_id: "a".into() })).unwrap();
    assert_eq!(h.call.roster_sequence, before + 1);
    assert_eq!(h.call.peer("a").unwrap().roster.sequence, before + 1);
    assert!(h.call.bot.sequence < before + 1, "the bot did not change");
    let changed = match &h.notifications.last().unwrap().0 {
        NotificationKind::RosterChanged { changed } => changed.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(changed, ["a"]);
}

#[test]
fn bots_in_the_same_meeting_see_each_others_roster_changes() {
    let mut first = meeting(false);
    let mut second = meeting(false);
    second.call.my_participant_id = "second-bot".into();
    second.broadcasts.clear();
    let first_bot = first.call.my_participant_id.clone();
    // Each bot's join is told to the other meetings' calls.
    let joined = first.broadcasts.drain(..).collect::<Vec<_>>();
    assert!(matches!(&joined[..], [RosterEvent::Present { endpoint_id, .. }] if *endpoint_id == first_bot));
    let sync = |event: RosterEvent| Command::Timer(Timer::RosterSync { id: "e".into(), event });
    second.send(sync(joined[0].clone())).unwrap();
    assert_eq!(second.take(), [roster()]);
    assert!(second.broadcasts.is_empty(), "a synced change is not told back");
    second.send(sync(joined[0].clone())).unwrap();
    assert_eq!(second.take(), [], "the same state again changes nothing");

    first.send(act("m", ActionKind::SetSelfMuted(true))).unwrap();
    let muted = first.broadcasts.drain(..).next().unwrap();
    second.send(sync(muted)).unwrap();
    assert!(second.call.peers.iter().any(|p| p.endpoint_id == first_bot && p.roster.server_muted));

    first.send(Command::HangUp).unwrap();
    let left = first.broadcasts.pop().unwrap();
    assert_eq!(left, RosterEvent::Left { endpoint_id: first_bot.clone(), reason: None });
    second.send(sync(left)).unwrap();
    assert!(!second.call.peers.iter().any(|p| p.endpoint_id == first_bot && p.is_on_roster()));
}
