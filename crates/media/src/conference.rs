//! One call's media, a frame at a time, with no I/O: who hears whom (N−1 mixing, server mute, hold, lobby), what
//! the bot plays (its IVR queue of prompts and recordings, DTMF it sends), what the simulated people say and the
//! keys they press, and what everyone heard. The call document decides the configuration (a [`Plan`], re-applied
//! after every change of the call); the conference reports what happened as [`Event`]s.

use std::collections::{BTreeMap, HashSet};

use crate::{
    capture::Capture,
    dtmf::Detector,
    frame::{Clip, Frame, Mix},
    leg::{Leg, LegInput, Player, PortError, PortKind, Utterance, frames},
    synth,
};

/// Where prompt and hold-music audio comes from: fetched and decoded outside, looked up by key (a URI).
pub trait Library {
    fn lookup(&self, key: &str) -> Lookup;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Ready(Clip),
    /// Still being fetched: the job waits, silent.
    Pending,
    /// It cannot be played; the reason is the operation's.
    Failed(String),
}

/// The media side of a call, as its document has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The bot's participant id; its leg hears everyone.
    pub bot_id: String,
    /// The bot is in the conversation (not waiting in a lobby).
    pub bot_present: bool,
    /// The bot muted itself: nothing it plays reaches anyone.
    pub bot_muted: bool,
    pub people: Vec<Person>,
    /// The IVR queue, in order: the first job runs, the others wait their turn.
    pub jobs: Vec<Job>,
    /// DTMF the bot sends, in order.
    pub dtmf: Vec<DtmfJob>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    /// Its client sends audio (not muted by itself, not in a lobby): its keys are detected.
    pub sends: bool,
    /// The others hear it (it sends, is not muted by the server, not on hold).
    pub heard: bool,
    /// It hears the conversation (not on hold, not in a lobby).
    pub hears: bool,
    /// On hold: the music it hears instead (`None` for the built-in track, or a prompt's key).
    pub hold: Option<Option<String>>,
    /// What is behind its leg.
    pub port: PortKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub operation_id: String,
    pub kind: JobKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    Play { prompts: Vec<String>, looped: bool },
    Record(RecordPlan),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordPlan {
    pub prompt: Option<String>,
    pub beep: bool,
    pub initial_silence_ms: u64,
    pub max_silence_ms: u64,
    pub max_duration_ms: u64,
    pub stop_keys: Vec<char>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DtmfJob {
    pub operation_id: String,
    pub keys: Vec<char>,
    pub gap_ms: u64,
}

/// What happened in a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    JobDone {
        operation_id: String,
        outcome: JobOutcome,
    },
    DtmfDone {
        operation_id: String,
    },
    /// A person pressed a key (heard in-band, or sent as an RFC 4733 event).
    KeyPressed {
        person: String,
        key: char,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Played,
    /// A prompt could not be played.
    PromptFailed(String),
    Recorded {
        samples: Vec<i16>,
        end: RecordEnd,
    },
    /// Nobody spoke within the initial silence timeout.
    NothingHeard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordEnd {
    StopKey(char),
    MaxDuration,
    MaxSilence,
}

/// How loud a frame must be (RMS, dBFS) to count as someone speaking to a recording.
const SPEECH_DBFS: f64 = -40.0;
/// How long a DTMF digit the bot sends lasts.
pub const SENT_TONE_MS: u64 = 100;
/// Prompts loaded ahead of the one playing (it included).
pub const PROMPTS_AHEAD: usize = 3;

/// The job at the head of the IVR queue, under way.
#[derive(Debug, Clone)]
struct Running {
    operation_id: String,
    kind: JobKind,
    stage: Stage,
}

#[derive(Debug, Clone)]
enum Stage {
    /// Playing prompt `index` (of the job's prompts, or the recording's one prompt).
    Prompt {
        index: usize,
        player: Option<Player>,
    },
    Beep(Player),
    Listening {
        frames: u64,
        spoke: bool,
        since_speech: u64,
        samples: Vec<i16>,
    },
}

/// What a running job does in a frame.
enum Step {
    Play(Frame),
    Quiet,
    Done(JobOutcome),
}

impl Running {
    /// The job's audio for this frame, moving through its prompts (and a recording's beep).
    fn advance(&mut self, library: &dyn Library) -> Step {
        let Running { kind, stage, .. } = self;
        let kind: &JobKind = kind;
        let prompts: &[String] = match kind {
            JobKind::Play { prompts, .. } => prompts,
            JobKind::Record(plan) => plan.prompt.as_slice(),
        };
        loop {
            match stage {
                Stage::Prompt { index, player } => {
                    if *index >= prompts.len() {
                        match kind {
                            JobKind::Play { looped: true, .. } if !prompts.is_empty() => {
                                *index = 0;
                                *player = None;
                                continue;
                            }
                            JobKind::Play { .. } => return Step::Done(JobOutcome::Played),
                            JobKind::Record(plan) if plan.beep => {
                                *stage = Stage::Beep(Player::new(synth::beep()));
                                continue;
                            }
                            JobKind::Record(_) => {
                                *stage = Stage::listening();
                                return Step::Quiet;
                            }
                        }
                    }
                    if player.is_none() {
                        match library.lookup(&prompts[*index]) {
                            Lookup::Ready(clip) => *player = Some(Player::new(clip)),
                            Lookup::Pending => return Step::Quiet,
                            Lookup::Failed(why) => return Step::Done(JobOutcome::PromptFailed(why)),
                        }
                    }
                    match player.as_mut().and_then(Player::next_frame) {
                        Some(frame) => return Step::Play(frame),
                        None => {
                            *index += 1;
                            *player = None;
                        }
                    }
                }
                Stage::Beep(player) => match player.next_frame() {
                    Some(frame) => return Step::Play(frame),
                    None => {
                        *stage = Stage::listening();
                        return Step::Quiet;
                    }
                },
                Stage::Listening { .. } => return Step::Quiet,
            }
        }
    }

    /// A recording hears a frame; its outcome once it ends.
    fn listen(&mut self, heard: &Frame, keys: &[char]) -> Option<JobOutcome> {
        let Running {
            kind: JobKind::Record(plan),
            stage: Stage::Listening { frames: elapsed, spoke, since_speech, samples },
            ..
        } = self
        else {
            return None;
        };
        *elapsed += 1;
        samples.extend_from_slice(&heard.samples());
        if level_dbfs(heard) > SPEECH_DBFS {
            *spoke = true;
            *since_speech = 0;
        } else {
            *since_speech += 1;
        }
        let end = if let Some(key) = keys.iter().find(|k| plan.stop_keys.contains(k)) {
            RecordEnd::StopKey(*key)
        } else if *elapsed >= frames(plan.max_duration_ms) {
            RecordEnd::MaxDuration
        } else if !*spoke && *elapsed >= frames(plan.initial_silence_ms) {
            return Some(JobOutcome::NothingHeard);
        } else if *spoke && *since_speech >= frames(plan.max_silence_ms) {
            RecordEnd::MaxSilence
        } else {
            return None;
        };
        Some(JobOutcome::Recorded { samples: std::mem::take(samples), end })
    }
}

impl Stage {
    fn listening() -> Stage {
        Stage::Listening { frames: 0, spoke: false, since_speech: 0, samples: Vec::new() }
    }
}

#[derive(Debug, Clone)]
struct Sending {
    operation_id: String,
    player: Player,
}

pub struct Conference {
    /// The next engine frame to process.
    frame: u64,
    plan: Plan,
    legs: BTreeMap<String, Leg>,
    running: Option<Running>,
    sending: Option<Sending>,
    /// Jobs this conference finished that the plan may still list until the call takes note.
    finished: HashSet<String>,
    capture_limit_ms: u64,
}

impl Conference {
    /// A conference whose first frame is engine frame `frame`; each leg keeps the last `capture_limit_ms` it heard.
    pub fn new(frame: u64, capture_limit_ms: u64) -> Conference {
        Conference {
            frame,
            plan: Plan::default(),
            legs: BTreeMap::new(),
            running: None,
            sending: None,
            finished: HashSet::new(),
            capture_limit_ms,
        }
    }

    pub fn frame(&self) -> u64 {
        self.frame
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The media to have ready: custom hold music, and the next [`PROMPTS_AHEAD`] prompts from the one playing on —
    /// not every prompt of the queue, which would hold (and, past the cache's budget, load over and over) audio
    /// long before it plays.
    pub fn needed_media(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.plan.people.iter().filter_map(|p| p.hold.clone().flatten()).collect();
        let mut ahead = Vec::new();
        for job in self.plan.jobs.iter().filter(|j| !self.finished.contains(&j.operation_id)) {
            let prompts: &[String] = match &job.kind {
                JobKind::Play { prompts, .. } => prompts,
                JobKind::Record(record) => record.prompt.as_slice(),
            };
            let from = match &self.running {
                Some(Running { operation_id, stage: Stage::Prompt { index, .. }, .. })
                    if *operation_id == job.operation_id =>
                {
                    *index
                }
                Some(Running { operation_id, .. }) if *operation_id == job.operation_id => prompts.len(),
                _ => 0,
            };
            ahead.extend(prompts.iter().skip(from).cloned());
            if ahead.len() >= PROMPTS_AHEAD {
                break;
            }
        }
        ahead.truncate(PROMPTS_AHEAD);
        keys.extend(ahead);
        keys
    }

    pub fn set_plan(&mut self, plan: Plan) {
        let listed: HashSet<&str> = plan
            .jobs
            .iter()
            .map(|j| j.operation_id.as_str())
            .chain(plan.dtmf.iter().map(|d| d.operation_id.as_str()))
            .collect();
        self.finished.retain(|id| listed.contains(id.as_str()));
        let kinds =
            std::iter::once((&plan.bot_id, PortKind::Simulated)).chain(plan.people.iter().map(|p| (&p.id, p.port)));
        for (id, kind) in kinds {
            let capture_limit_ms = self.capture_limit_ms;
            let frame = self.frame;
            self.legs
                .entry(id.clone())
                .or_insert_with(|| Leg::new(kind, Capture::new(frame, capture_limit_ms)))
                .set_kind(kind);
        }
        for person in &plan.people {
            let leg = self.legs.get_mut(&person.id).expect("invariant: every person of the plan has a leg");
            match &person.hold {
                None => leg.hold = None,
                Some(music) if leg.hold.as_ref().is_some_and(|(current, _)| current == music) => {}
                Some(music) => leg.hold = Some((music.clone(), Player::new(Clip::new(Vec::new())))),
            }
        }
        self.plan = plan;
    }

    /// Queues what a simulated person says.
    pub fn say(&mut self, person: &str, utterance: Utterance) -> Result<(), PortError> {
        self.leg_mut(person)?.say(person, utterance)
    }

    /// What a remote leg's transport received from its endpoint, for the next frame it has not sent yet.
    pub fn handle_input(&mut self, leg: &str, input: LegInput) -> Result<(), PortError> {
        self.leg_mut(leg)?.handle_input(leg, input)
    }

    /// The oldest frame a remote leg heard that its transport has not taken yet (`None` when it has taken them all).
    pub fn poll_output(&mut self, leg: &str) -> Result<Option<Frame>, PortError> {
        self.leg_mut(leg)?.poll_output(leg)
    }

    /// The frame the conference must next be run up to, or `None` while it is idle: then nothing sounds until its
    /// plan changes or someone is given something to say.
    pub fn poll_timeout(&self) -> Option<u64> {
        (!self.idle()).then_some(self.frame + 1)
    }

    fn leg_mut(&mut self, leg: &str) -> Result<&mut Leg, PortError> {
        self.legs.get_mut(leg).ok_or_else(|| PortError::UnknownLeg(leg.to_owned()))
    }

    /// What a leg heard: its capture, if the leg has been in the call.
    pub fn capture(&self, leg: &str) -> Option<&Capture> {
        self.legs.get(leg).map(|l| &l.capture)
    }

    /// True when nothing can make a sound: no job, no DTMF, nobody on hold, no simulated person speaking and no
    /// real endpoint in the call (it may speak at any frame).
    pub fn idle(&self) -> bool {
        self.plan.jobs.is_empty()
            && self.plan.dtmf.is_empty()
            && self.running.is_none()
            && self.sending.is_none()
            && self.plan.people.iter().all(|p| p.hold.is_none() && self.legs.get(&p.id).is_none_or(Leg::idle))
    }

    /// Processes frames up to (not including) `until`: at once when idle, else until a frame has events.
    pub fn run(&mut self, until: u64, library: &dyn Library) -> Vec<Event> {
        while self.frame < until {
            if self.idle() {
                let skipped = until - self.frame;
                for id in self.present() {
                    if let Some(leg) = self.legs.get_mut(&id) {
                        leg.capture.push_silence(skipped);
                        leg.detector = Detector::default();
                    }
                }
                self.frame = until;
                break;
            }
            let events = self.tick(library);
            if !events.is_empty() {
                return events;
            }
        }
        Vec::new()
    }

    /// The legs taking part now: the bot and the people of the plan.
    fn present(&self) -> Vec<String> {
        std::iter::once(self.plan.bot_id.clone()).chain(self.plan.people.iter().map(|p| p.id.clone())).collect()
    }

    /// One frame.
    pub fn tick(&mut self, library: &dyn Library) -> Vec<Event> {
        let mut events = Vec::new();
        self.follow_plan();
        // What each person sends, and the keys in it.
        let mut said: Vec<(String, Frame, bool)> = Vec::new();
        for person in &self.plan.people {
            let leg = self.legs.get_mut(&person.id).expect("invariant: every person of the plan has a leg");
            let (frame, event_key) = leg.sent();
            if !person.sends {
                continue;
            }
            let heard_key = leg.detector.feed(&frame);
            for key in event_key.into_iter().chain(heard_key) {
                events.push(Event::KeyPressed { person: person.id.clone(), key });
            }
            said.push((person.id.clone(), frame, person.heard));
        }
        let bot_frame = self.bot_frame(library, &mut events);
        let mut mix = Mix::new();
        for (_, frame, heard) in &said {
            if *heard {
                mix.add(frame);
            }
        }
        let bot_heard = mix.frame();
        let bot_audible = self.plan.bot_present && !self.plan.bot_muted;
        if bot_audible {
            mix.add(&bot_frame);
        }
        for person in &self.plan.people {
            let own = said.iter().find(|(id, _, heard)| *id == person.id && *heard).map(|(_, f, _)| f);
            let leg = self.legs.get_mut(&person.id).expect("invariant: every person of the plan has a leg");
            let output = match (&mut leg.hold, person.hears) {
                (Some((music, player)), _) => {
                    if player.is_empty() {
                        match music
                            .as_deref()
                            .map_or_else(|| Lookup::Ready(default_hold_music()), |key| library.lookup(key))
                        {
                            Lookup::Ready(clip) => *player = Player::new(clip),
                            // A custom track that cannot be played: the built-in one instead.
                            Lookup::Failed(_) => *player = Player::new(default_hold_music()),
                            Lookup::Pending => {}
                        }
                    }
                    player.next_looped()
                }
                (None, true) => mix.without(own.unwrap_or(&Frame::Silence)),
                (None, false) => Frame::Silence,
            };
            leg.hear(output);
        }
        if self.plan.bot_present {
            let leg = self.legs.get_mut(&self.plan.bot_id).expect("invariant: the bot has a leg");
            leg.capture.push(&bot_heard);
        } else if let Some(leg) = self.legs.get_mut(&self.plan.bot_id) {
            leg.capture.push(&Frame::Silence);
        }
        let keys: Vec<char> = events
            .iter()
            .filter_map(|e| match e {
                Event::KeyPressed { key, .. } => Some(*key),
                _ => None,
            })
            .collect();
        self.listen(&bot_heard, &keys, &mut events);
        self.frame += 1;
        events
    }

    /// Drops a job the plan no longer lists (cancelled) and starts the plan's first when nothing runs.
    fn follow_plan(&mut self) {
        let head = self.plan.jobs.iter().find(|j| !self.finished.contains(&j.operation_id));
        if self.running.as_ref().is_some_and(|r| head.is_none_or(|h| h.operation_id != r.operation_id)) {
            self.running = None;
        }
        if self.running.is_none()
            && let Some(job) = head
        {
            self.running = Some(Running {
                operation_id: job.operation_id.clone(),
                kind: job.kind.clone(),
                stage: Stage::Prompt { index: 0, player: None },
            });
        }
        let next_dtmf = self.plan.dtmf.iter().find(|d| !self.finished.contains(&d.operation_id));
        if self.sending.as_ref().is_some_and(|s| next_dtmf.is_none_or(|d| d.operation_id != s.operation_id)) {
            self.sending = None;
        }
        if self.sending.is_none()
            && let Some(job) = next_dtmf
        {
            let player = Player::keys(job.keys.clone(), SENT_TONE_MS, job.gap_ms);
            self.sending = Some(Sending { operation_id: job.operation_id.clone(), player });
        }
    }

    /// What the bot plays this frame: its running job's audio and the DTMF it sends.
    fn bot_frame(&mut self, library: &dyn Library, events: &mut Vec<Event>) -> Frame {
        let mut mix = Mix::new();
        if let Some(sending) = &mut self.sending {
            match sending.player.next_frame() {
                Some(frame) => mix.add(&frame),
                None => {
                    events.push(Event::DtmfDone { operation_id: sending.operation_id.clone() });
                    self.finished.insert(sending.operation_id.clone());
                    self.sending = None;
                }
            }
        }
        if let Some(frame) = self.job_frame(library, events) {
            mix.add(&frame);
        }
        mix.frame()
    }

    fn job_frame(&mut self, library: &dyn Library, events: &mut Vec<Event>) -> Option<Frame> {
        let outcome = match self.running.as_mut()?.advance(library) {
            Step::Play(frame) => return Some(frame),
            Step::Quiet => return None,
            Step::Done(outcome) => outcome,
        };
        self.finish(outcome, events);
        None
    }

    /// Feeds what the bot heard to a recording in progress, and ends it when its time is up or a stop key came.
    fn listen(&mut self, heard: &Frame, keys: &[char], events: &mut Vec<Event>) {
        let Some(running) = self.running.as_mut() else { return };
        if let Some(outcome) = running.listen(heard, keys) {
            self.finish(outcome, events);
        }
    }

    fn finish(&mut self, outcome: JobOutcome, events: &mut Vec<Event>) {
        if let Some(running) = self.running.take() {
            self.finished.insert(running.operation_id.clone());
            events.push(Event::JobDone { operation_id: running.operation_id, outcome });
        }
    }
}

/// The built-in hold music, made once per process.
fn default_hold_music() -> Clip {
    static MUSIC: std::sync::OnceLock<Clip> = std::sync::OnceLock::new();
    MUSIC.get_or_init(synth::hold_music).clone()
}

fn level_dbfs(frame: &Frame) -> f64 {
    match frame {
        Frame::Silence => f64::NEG_INFINITY,
        Frame::Audio(samples) => {
            let mean: f64 = samples.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / samples.len() as f64;
            10.0 * (mean / f64::from(i16::MAX).powi(2)).log10()
        }
    }
}
