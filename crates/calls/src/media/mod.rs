//! The calls' media: one [`Conference`] per established call, configured from the call document after every
//! change, stepped in 20 ms frames of the simulation clock by one scheduler for all calls (the runtime's media
//! worker in real time, [`crate::Calls::advance`] on a virtual clock), with what each leg heard kept for `/_sim`.

pub mod fetch;
pub mod library;
mod worker;

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use switchboard_engine::{
    Call,
    model::{CallState, Leg, MediaJobKind, PeerStatus},
};
use switchboard_media::{
    Conference, DtmfJob, Event, FRAME_MS, Frame, Job, JobKind, LegInput, Person, Plan, PortError, PortKind, RecordPlan,
    Utterance,
};

use self::library::{ClipLibrary, LibraryConfig};

#[derive(Debug, Clone)]
pub struct MediaConfig {
    pub library: LibraryConfig,
    /// How much of what each leg heard is kept (the most recent).
    pub capture_limit: Duration,
    /// How many ended calls keep their captures for `/_sim`.
    pub kept_calls: usize,
    /// How long recordings are kept after their call ends.
    pub recording_retention: Duration,
}

impl Default for MediaConfig {
    /// Dev-mode defaults: prompts from anywhere, uploads kept in memory.
    fn default() -> MediaConfig {
        MediaConfig {
            library: LibraryConfig {
                fetch: fetch::FetchPolicy::open(),
                files: None,
                max_seconds: 600,
                cache_samples: 128 * 1024 * 1024,
                fetches: library::FetchLimits::default(),
            },
            capture_limit: Duration::from_secs(30 * 60),
            kept_calls: 100,
            recording_retention: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MediaError {
    #[error("call {0} has no media: it is not established, or has no audio yet")]
    NoMedia(String),
    #[error("'{leg}' has not been in the media of call {call_id}")]
    UnknownLeg { call_id: String, leg: String },
    /// A simulated person was given a real endpoint's input, or the other way round.
    #[error("call {call_id}: {error}")]
    WrongPort { call_id: String, error: PortError },
    #[error("{0}")]
    Media(String),
}

impl MediaError {
    fn of_port(call_id: &str, error: PortError) -> MediaError {
        match error {
            PortError::UnknownLeg(leg) => MediaError::UnknownLeg { call_id: call_id.to_owned(), leg },
            error => MediaError::WrongPort { call_id: call_id.to_owned(), error },
        }
    }
}

/// An event of a call's media, at the simulation time it happened.
#[derive(Debug, Clone)]
pub(crate) struct Happening {
    pub(crate) at: DateTime<Utc>,
    pub(crate) call_id: String,
    pub(crate) event: Event,
}

struct Conferences {
    live: BTreeMap<String, Conference>,
    /// The app of each live conference's call, whose prompt fetches it counts against.
    apps: BTreeMap<String, uuid::Uuid>,
    /// The live conferences that are not idle: the only ones the scheduler steps, so it costs nothing per idle call.
    busy: BTreeSet<String>,
    /// Calls that ended, newest last, so their captures can still be listened to.
    ended: VecDeque<(String, Conference)>,
}

pub struct Media {
    conferences: Mutex<Conferences>,
    /// Signalled when a call's media gets something to do, so the real-time scheduler can sleep while none has.
    woken: tokio::sync::Notify,
    pub(crate) library: Arc<ClipLibrary>,
    config: MediaConfig,
}

const POISON: &str = "invariant: nothing panics while holding the conferences lock";

/// The engine frame a simulation time falls in.
pub(crate) fn frame_at(time: DateTime<Utc>) -> u64 {
    u64::try_from(time.timestamp_millis()).unwrap_or_default() / FRAME_MS
}

/// The simulation time at which a frame has been heard (its end).
fn frame_end(frame: u64) -> DateTime<Utc> {
    let millis = i64::try_from((frame + 1) * FRAME_MS).unwrap_or(i64::MAX);
    Utc.timestamp_millis_opt(millis).single().unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn frame_start(frame: u64) -> DateTime<Utc> {
    let millis = i64::try_from(frame * FRAME_MS).unwrap_or(i64::MAX);
    Utc.timestamp_millis_opt(millis).single().unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Whether the call has a conference: established, with media flowing.
pub(crate) fn has_media(call: &Call) -> bool {
    call.state == CallState::Established && call.audio_active
}

/// What a call's document says about its media, or `None` when it has none (not established, no audio yet).
fn plan_of(call: &Call) -> Option<Plan> {
    if !has_media(call) {
        return None;
    }
    let people = call
        .peers
        .iter()
        .filter(|p| p.status == PeerStatus::Connected && (p.is_in_conversation() || p.roster.in_lobby))
        .map(|p| {
            let roster = &p.roster;
            let sends = !roster.client_muted && !roster.in_lobby;
            Person {
                id: p.participant_id.clone(),
                sends,
                heard: sends && !roster.server_muted && !roster.on_hold,
                hears: !roster.in_lobby && !roster.on_hold,
                hold: roster.on_hold.then(|| roster.hold_prompt.as_ref().map(|p| p.uri.clone())),
                port: match p.leg {
                    Leg::Simulated(_) => PortKind::Simulated,
                    Leg::Remote(_) => PortKind::Remote,
                },
            }
        })
        .collect();
    let jobs = call
        .media_jobs
        .iter()
        .map(|job| Job {
            operation_id: job.operation_id.clone(),
            kind: match &job.kind {
                MediaJobKind::Play { prompts, looped } => JobKind::Play { prompts: prompts.clone(), looped: *looped },
                MediaJobKind::Record(record) => JobKind::Record(RecordPlan {
                    prompt: record.prompt.clone(),
                    beep: record.play_beep,
                    initial_silence_ms: u64::from(record.initial_silence_timeout_s) * 1000,
                    max_silence_ms: u64::from(record.max_silence_timeout_s) * 1000,
                    max_duration_ms: u64::from(record.max_record_duration_s) * 1000,
                    stop_keys: record.stop_tones.clone(),
                }),
            },
        })
        .collect();
    let dtmf = call
        .dtmf_jobs
        .iter()
        .map(|job| DtmfJob {
            operation_id: job.operation_id.clone(),
            keys: job.keys.clone(),
            gap_ms: u64::from(job.delay_between_tones_ms),
        })
        .collect();
    Some(Plan {
        bot_id: call.my_participant_id.clone(),
        bot_present: !call.bot.in_lobby,
        bot_muted: call.bot.muted,
        people,
        jobs,
        dtmf,
    })
}

/// What a leg heard: its samples for the range asked, and the simulation time its capture starts at.
pub struct Heard {
    pub samples: Vec<i16>,
    pub capture_started_at: DateTime<Utc>,
    pub capture_ms: u64,
}

impl Media {
    pub fn new(config: MediaConfig) -> Media {
        Media {
            conferences: Mutex::new(Conferences {
                live: BTreeMap::new(),
                apps: BTreeMap::new(),
                busy: BTreeSet::new(),
                ended: VecDeque::new(),
            }),
            woken: tokio::sync::Notify::new(),
            library: ClipLibrary::new(config.library.clone()),
            config,
        }
    }

    pub fn config(&self) -> &MediaConfig {
        &self.config
    }

    /// Brings the call's conference in line with its document: starts it when the call has media, ends it when
    /// the call has none any more, and starts loading what it will play (and, at any time, `preFetchMedia`).
    pub(crate) fn sync(&self, call: &Call, now: DateTime<Utc>) {
        for uri in prefetch_uris(call) {
            self.library.request(&uri, Some(call.app_id));
        }
        let plan = plan_of(call);
        let mut conferences = self.conferences.lock().expect(POISON);
        match plan {
            Some(plan) => {
                let limit = u64::try_from(self.config.capture_limit.as_millis()).unwrap_or(u64::MAX);
                let Conferences { live, busy, apps, .. } = &mut *conferences;
                apps.insert(call.id.clone(), call.app_id);
                let conference =
                    live.entry(call.id.clone()).or_insert_with(|| Conference::new(frame_at(now) + 1, limit));
                self.catch_up(conference, now);
                conference.set_plan(plan);
                for key in conference.needed_media() {
                    self.library.request(&key, Some(call.app_id));
                }
                self.track(busy, &call.id, conference);
            }
            None => {
                conferences.busy.remove(&call.id);
                conferences.apps.remove(&call.id);
                if let Some(mut conference) = conferences.live.remove(&call.id) {
                    self.catch_up(&mut conference, now);
                    conferences.ended.push_back((call.id.clone(), conference));
                    while conferences.ended.len() > self.config.kept_calls {
                        conferences.ended.pop_front();
                    }
                }
            }
        }
    }

    /// Steps every conference to `until`; each stops early at a frame with events. Returns the events in time
    /// order (frame by frame: a conference that stopped continues from there on the next call).
    pub(crate) fn run_until(&self, until: DateTime<Utc>) -> Vec<Happening> {
        let target = frame_at(until);
        let mut conferences = self.conferences.lock().expect(POISON);
        let Conferences { live, busy, apps, .. } = &mut *conferences;
        let mut happenings = Vec::new();
        busy.retain(|call_id| {
            let Some(conference) = live.get_mut(call_id) else { return false };
            for key in conference.needed_media() {
                // As the queue moves on, the next prompts (and what the cache let go of).
                self.library.request(&key, apps.get(call_id).copied());
            }
            if conference.frame() < target {
                let events = conference.run(target, self.library.as_ref());
                let at = frame_end(conference.frame().saturating_sub(1));
                happenings.extend(events.into_iter().map(|event| Happening { at, call_id: call_id.clone(), event }));
            }
            !conference.idle()
        });
        happenings.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.call_id.cmp(&b.call_id)));
        happenings
    }

    /// How many calls' conferences this node runs.
    pub(crate) fn conferences(&self) -> usize {
        self.conferences.lock().expect(POISON).live.len()
    }

    /// The calls whose conferences this node runs.
    pub(crate) fn conference_ids(&self) -> Vec<String> {
        self.conferences.lock().expect(POISON).live.keys().cloned().collect()
    }

    /// Stops running a call's conference: this node lost the call, whose media is now mixed by its new owner.
    pub(crate) fn release(&self, call_id: &str) {
        let mut conferences = self.conferences.lock().expect(POISON);
        conferences.live.remove(call_id);
        conferences.busy.remove(call_id);
        conferences.apps.remove(call_id);
    }

    /// Whether any call's media has something to play, record or hear now (the others wait, see [`Media::catch_up`]).
    pub(crate) fn busy(&self) -> bool {
        !self.conferences.lock().expect(POISON).busy.is_empty()
    }

    /// Waits until a call's media has something to do.
    pub(crate) async fn woken(&self) {
        self.woken.notified().await;
    }

    /// Puts a conference that has something to do among the busy ones, and wakes the scheduler for it.
    fn track(&self, busy: &mut BTreeSet<String>, call_id: &str, conference: &Conference) {
        if !conference.idle() {
            busy.insert(call_id.to_owned());
            // A permit is kept if the scheduler is not waiting yet, so this wake-up cannot be missed.
            self.woken.notify_one();
        }
    }

    /// Brings an idle conference up to `now`. The scheduler leaves idle conferences where they are, so a call with
    /// nothing to play or hear costs nothing while it lasts; before anything changes or reads such a conference it
    /// skips the frames it missed (silence, at once) so the change lands at `now`, not in the past.
    fn catch_up(&self, conference: &mut Conference, now: DateTime<Utc>) {
        if conference.idle() {
            let events = conference.run(frame_at(now), self.library.as_ref());
            debug_assert!(events.is_empty(), "invariant: an idle conference has no events");
        }
    }

    /// Waits for the media being loaded (on a virtual clock, loading takes no time).
    pub(crate) async fn settled(&self) {
        self.library.settled().await;
    }

    /// Queues what a simulated person says.
    pub(crate) fn say(
        &self,
        call: &Call,
        leg: &str,
        utterance: Utterance,
        now: DateTime<Utc>,
    ) -> Result<(), MediaError> {
        // A restart rebuilds conferences in the background; one asked for first is built now.
        self.sync(call, now);
        self.with_live(&call.id, now, |conference| conference.say(leg, utterance))
    }

    /// A real endpoint's leg, from its transport's side: what it sent, decoded to engine frames (audio after the
    /// transport's jitter buffer, one frame per 20 ms; keys from RFC 4733 events).
    pub fn handle_input(
        &self,
        call_id: &str,
        leg: &str,
        input: LegInput,
        now: DateTime<Utc>,
    ) -> Result<(), MediaError> {
        self.with_live(call_id, now, |conference| conference.handle_input(leg, input))
    }

    /// A real endpoint's leg, from its transport's side: the oldest frame it heard that the transport has not
    /// taken yet, to encode and send. A transport takes one every 20 ms of its own clock; up to a second waits.
    pub fn poll_output(&self, call_id: &str, leg: &str) -> Result<Option<Frame>, MediaError> {
        let mut conferences = self.conferences.lock().expect(POISON);
        let conference = conferences.live.get_mut(call_id).ok_or_else(|| MediaError::NoMedia(call_id.to_owned()))?;
        conference.poll_output(leg).map_err(|error| MediaError::of_port(call_id, error))
    }

    /// Gives a live conference something, brought up to `now` first, and wakes the scheduler if it has work now.
    fn with_live(
        &self,
        call_id: &str,
        now: DateTime<Utc>,
        give: impl FnOnce(&mut Conference) -> Result<(), PortError>,
    ) -> Result<(), MediaError> {
        let mut conferences = self.conferences.lock().expect(POISON);
        let Conferences { live, busy, .. } = &mut *conferences;
        let conference = live.get_mut(call_id).ok_or_else(|| MediaError::NoMedia(call_id.to_owned()))?;
        self.catch_up(conference, now);
        give(conference).map_err(|error| MediaError::of_port(call_id, error))?;
        self.track(busy, call_id, conference);
        Ok(())
    }

    /// What a leg heard between two offsets (ms) of its capture, live or kept after the call.
    pub fn heard(
        &self,
        call_id: &str,
        leg: &str,
        from_ms: u64,
        to_ms: u64,
        now: DateTime<Utc>,
    ) -> Result<Heard, MediaError> {
        let mut conferences = self.conferences.lock().expect(POISON);
        if let Some(live) = conferences.live.get_mut(call_id) {
            self.catch_up(live, now);
        }
        let conference = conferences
            .live
            .get(call_id)
            .or_else(|| conferences.ended.iter().rev().find(|(id, _)| id == call_id).map(|(_, c)| c))
            .ok_or_else(|| MediaError::NoMedia(call_id.to_owned()))?;
        let capture = conference
            .capture(leg)
            .ok_or_else(|| MediaError::UnknownLeg { call_id: call_id.to_owned(), leg: leg.to_owned() })?;
        Ok(Heard {
            samples: capture.samples(from_ms, to_ms),
            capture_started_at: frame_start(capture.first_frame()),
            capture_ms: capture.duration_ms(),
        })
    }

    pub(crate) fn reset(&self) {
        let mut conferences = self.conferences.lock().expect(POISON);
        conferences.live.clear();
        conferences.apps.clear();
        conferences.busy.clear();
        conferences.ended.clear();
    }
}

/// `mediaConfig.preFetchMedia[].uri` of a service-hosted call (res:servicehostedmediaconfig).
fn prefetch_uris(call: &Call) -> Vec<String> {
    call.resource
        .get("mediaConfig")
        .and_then(|c| c.get("preFetchMedia"))
        .and_then(Value::as_array)
        .map(|media| media.iter().filter_map(|m| m.get("uri").and_then(Value::as_str).map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use switchboard_engine::{
        Command, PeerAction, handle,
        model::{Behaviour, EndpointKind, IdentityKind, IdentitySet, Leg, Peer, PeerRole, RemoteLeg, Transport},
    };
    use switchboard_media::{
        analysis::analyze,
        synth::{silence, tone},
    };

    use super::*;
    use crate::world::Endpoint;

    fn person(id: &str, leg: Leg) -> Peer {
        let endpoint = Endpoint {
            kind: EndpointKind::User,
            endpoint_id: id.into(),
            identity: IdentitySet::one(IdentityKind::User, id, None),
            behaviour: Behaviour::default(),
        };
        Peer { leg, ..endpoint.into_peer(id.into(), PeerRole::Party, PeerStatus::Ringing) }
    }

    /// A group call with a person on a WebRTC leg and a simulated one, both answered.
    fn established(now: DateTime<Utc>) -> Call {
        let peers = vec![
            person("alice", Leg::Remote(RemoteLeg { transport: Transport::WebRtc })),
            person("bob", Leg::Simulated(Behaviour::default())),
        ];
        let setup = crate::testing::group_call("call", peers);
        let mut call = Call::new(setup, now);
        handle(&mut call, Command::Start, now).unwrap();
        for who in ["alice", "bob"] {
            handle(&mut call, Command::Peer { participant_id: who.into(), action: PeerAction::Answer }, now).unwrap();
        }
        assert!(call.state == CallState::Established && call.audio_active);
        call
    }

    #[tokio::test]
    async fn a_transport_hands_a_real_persons_audio_in_and_takes_what_they_heard() {
        let media = Media::new(MediaConfig::default());
        let start = frame_start(1_000_000);
        let call = established(start);
        media.sync(&call, start);
        assert!(media.busy(), "a call with a real person's leg is stepped every frame");
        media.say(&call, "bob", Utterance::Audio(tone(440.0, 2000)), start).unwrap();
        let alice_says = tone(1000.0, 2000);
        let mut taken = Vec::new();
        for index in 0..50 {
            let now = frame_start(1_000_001 + index);
            let frame = alice_says.frame(usize::try_from(index).unwrap()).unwrap_or(Frame::Silence);
            media.handle_input("call", "alice", LegInput::Audio(frame), now).unwrap();
            assert!(media.run_until(now).is_empty());
            while let Some(frame) = media.poll_output("call", "alice").unwrap() {
                taken.extend_from_slice(&frame.samples());
            }
        }
        let alice_heard = analyze(&taken);
        assert!(alice_heard.windows[5].dominant_hz.is_some_and(|hz| (hz - 440.0).abs() < 5.0), "alice hears bob");
        let end = frame_start(1_000_051);
        let bob_heard = media.heard("call", "bob", 0, 1000, end).unwrap();
        let bob_heard = analyze(&bob_heard.samples);
        assert!(bob_heard.windows[5].dominant_hz.is_some_and(|hz| (hz - 1000.0).abs() < 5.0), "bob hears alice");
        // Each side refuses what belongs to the other kind of leg.
        let wrong = media.say(&call, "alice", Utterance::Audio(silence(100)), end).unwrap_err();
        assert!(matches!(wrong, MediaError::WrongPort { .. }), "{wrong}");
        assert!(matches!(media.poll_output("call", "bob"), Err(MediaError::WrongPort { .. })));
        assert!(matches!(media.poll_output("call", "carol"), Err(MediaError::UnknownLeg { .. })));
    }
}
