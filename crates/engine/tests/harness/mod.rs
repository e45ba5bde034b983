//! The engine's test harness: one call on a virtual clock, with helpers to build peers and calls and to read the
//! notifications it raises.

#![allow(dead_code, unreachable_pub)]

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, json};
use switchboard_catalogue::ApiVersion;
use switchboard_engine::{
    Call, CallSetup, Command, Effect, NotificationKind, Rejection, RosterEvent, Timer, handle,
    model::{
        Behaviour, CallKind, CallState, Direction, EndpointKind, IdentitySet, Leg, MediaHosting, Peer, PeerRole,
        PeerStatus, Response, ResultInfo, RosterState,
    },
};
use uuid::Uuid;

pub const RINGING_TIMEOUT: Duration = Duration::from_secs(60);
pub const LOBBY_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// One call and a virtual clock: timers fire in time order when the clock is advanced past them.
pub struct Harness {
    pub call: Call,
    pub now: DateTime<Utc>,
    pub timers: BTreeMap<String, (DateTime<Utc>, Timer)>,
    pub notifications: Vec<(NotificationKind, Call)>,
    /// Timers armed for other calls (a consultative transfer's replaced call).
    pub elsewhere: Vec<(String, Timer)>,
    /// Roster changes told to the other bots in the meeting.
    pub broadcasts: Vec<RosterEvent>,
}

pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap()
}

pub fn peer(id: &str, kind: EndpointKind, response: Response, hang_up_after: Option<Duration>) -> Peer {
    Peer {
        participant_id: id.into(),
        kind,
        role: PeerRole::Party,
        endpoint_id: format!("endpoint-{id}"),
        identity: IdentitySet::from_json(&json!({"user": {"id": format!("endpoint-{id}")}})),
        leg: Leg::Simulated(Behaviour { response, hang_up_after }),
        status: PeerStatus::Ringing,
        roster: RosterState::default(),
    }
}

pub fn answers_after(seconds: u64) -> Response {
    Response::Answer { after: Duration::from_secs(seconds) }
}

pub fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

pub fn setup(direction: Direction, kind: CallKind, peers: Vec<Peer>, version: ApiVersion) -> CallSetup {
    CallSetup {
        id: "call-1".into(),
        tenant_id: Uuid::nil(),
        app_id: Uuid::nil(),
        api_version: version,
        direction,
        kind,
        callback_uri: Some("https://bot.example/callback".into()),
        my_participant_id: "bot".into(),
        call_chain_id: "chain".into(),
        scenario_id: "scenario".into(),
        resource: Map::new(),
        media_hosting: MediaHosting::Service,
        application_instance: None,
        peers,
        ringing_timeout: RINGING_TIMEOUT,
        lobby_timeout: Some(LOBBY_TIMEOUT),
        bot_in_lobby: false,
    }
}

impl Harness {
    pub fn start(setup: CallSetup) -> Harness {
        let now = start_time();
        let mut harness = Harness {
            call: Call::new(setup, now),
            now,
            timers: BTreeMap::new(),
            notifications: Vec::new(),
            elsewhere: Vec::new(),
            broadcasts: Vec::new(),
        };
        harness.send(Command::Start).expect("a new call starts");
        harness
    }

    pub fn outgoing(peers: Vec<Peer>) -> Harness {
        Harness::start(setup(Direction::Outgoing, CallKind::PeerToPeer, peers, ApiVersion::V1))
    }

    pub fn incoming(caller: Response, hang_up_after: Option<Duration>) -> Harness {
        let mut caller = peer("caller", EndpointKind::User, caller, hang_up_after);
        caller.status = PeerStatus::Connected;
        Harness::start(setup(Direction::Incoming, CallKind::PeerToPeer, vec![caller], ApiVersion::V1))
    }

    pub fn send(&mut self, command: Command) -> Result<(), Rejection> {
        let version = self.call.version;
        let effects = handle(&mut self.call, command, self.now)?;
        assert!(self.call.version >= version, "invariant: the version never goes back");
        for effect in effects {
            match effect {
                Effect::Notify(notification) => self.notifications.push((notification.kind, *notification.call)),
                Effect::Schedule { call_id, timer, at } if call_id == self.call.id => {
                    assert!(at >= self.now, "invariant: timers are armed for now or later");
                    self.timers.insert(timer.key(), (at, timer));
                }
                Effect::Schedule { call_id, timer, .. } => self.elsewhere.push((call_id, timer)),
                Effect::Broadcast(event) => self.broadcasts.push(event),
                Effect::Cancel { timer } => {
                    self.timers.remove(&timer.key());
                }
            }
        }
        Ok(())
    }

    /// Moves the clock forward, firing each due timer at its own time.
    pub fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        loop {
            let due = self.timers.iter().filter(|(_, (at, _))| *at <= until).min_by_key(|(key, (at, _))| (*at, *key));
            let Some((key, (at, _))) = due.map(|(k, v)| (k.clone(), v.clone())) else { break };
            let (_, timer) = self.timers.remove(&key).unwrap();
            self.now = at;
            self.send(Command::Timer(timer)).expect("timers never fail");
        }
        self.now = until;
    }

    /// The notifications raised since the last call, as (kind, state) pairs; rosters without who changed.
    pub fn take(&mut self) -> Vec<(NotificationKind, CallState)> {
        self.notifications
            .drain(..)
            .map(|(kind, call)| match kind {
                NotificationKind::RosterChanged { .. } => {
                    (NotificationKind::RosterChanged { changed: Vec::new() }, call.state)
                }
                kind => (kind, call.state),
            })
            .collect()
    }

    pub fn ended_with(&self) -> Option<ResultInfo> {
        assert_eq!(self.call.state, CallState::Terminated);
        self.call.result_info.clone()
    }
}

pub fn changed(state: CallState) -> (NotificationKind, CallState) {
    (NotificationKind::StateChanged { result_info: None }, state)
}

pub fn media(state: CallState) -> (NotificationKind, CallState) {
    (NotificationKind::MediaStateChanged, state)
}

/// Graph tells about the conversation of a peer-to-peer call with a Teams user: its chat, then its token.
pub fn announced() -> [(NotificationKind, CallState); 2] {
    [
        (NotificationKind::ConversationAnnounced, CallState::Established),
        (NotificationKind::ConversationAnnounced, CallState::Established),
    ]
}

pub fn roster() -> (NotificationKind, CallState) {
    (NotificationKind::RosterChanged { changed: Vec::new() }, CallState::Established)
}

pub fn ended() -> (NotificationKind, CallState) {
    (NotificationKind::Ended, CallState::Terminated)
}

pub fn code(result: Option<ResultInfo>) -> (i32, i32) {
    let result = result.expect("a resultInfo");
    (result.code, result.subcode)
}

/// An outgoing peer-to-peer call to "alice", answered and established, its notifications taken.
pub fn established_call() -> Harness {
    let mut h = Harness::outgoing(vec![peer("alice", EndpointKind::User, answers_after(0), None)]);
    h.advance(Duration::ZERO);
    assert_eq!(h.call.state, CallState::Established);
    h.take();
    h
}

pub fn group(peers: Vec<Peer>) -> Harness {
    Harness::start(setup(Direction::Outgoing, CallKind::Group, peers, ApiVersion::V1))
}
