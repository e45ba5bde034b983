//! A participant's leg: the one interface every kind of participant has. What it sends comes in through its
//! [`Port`], what it hears goes out through it, and the conference keeps what it heard ([`Capture`]) and listens for
//! its keys ([`Detector`]) the same way whatever is behind the port — a simulated person the conference speaks for,
//! or a real endpoint whose transport (WebRTC, SIP/RTP) hands frames in and takes frames out (str0m's model:
//! input in, output polled, time given by whoever drives it).

use std::collections::VecDeque;

use crate::{
    capture::Capture,
    dtmf::Detector,
    frame::{Clip, FRAME_MS, Frame},
    synth,
};

/// What is behind a leg.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PortKind {
    /// A simulated person: the conference makes what it says from the [`Utterance`]s queued for it; what it hears
    /// is only captured.
    #[default]
    Simulated,
    /// A real endpoint behind a transport: what it says arrives with [`crate::Conference::handle_input`], one frame
    /// per engine frame; what it hears waits in [`crate::Conference::poll_output`].
    Remote,
}

/// What a transport hands the conference for a remote leg, decoded to the engine's frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegInput {
    /// The next 20 ms it sent (after the transport's jitter buffer and loss concealment).
    Audio(Frame),
    /// A key it sent as an RFC 4733 event, which carries no audio.
    Key(char),
}

/// Why a leg cannot take what was asked of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("'{0}' has not been in the conference")]
    UnknownLeg(String),
    #[error("'{0}' is a real endpoint: what it says comes from its transport")]
    NotSimulated(String),
    #[error("'{0}' is simulated: it has no transport")]
    NotRemote(String),
}

/// How many frames a remote port holds each way (one second). A transport that runs ahead of the conference's
/// clock, or one that stops taking what its leg hears, loses the oldest frames instead of growing the delay.
pub const REMOTE_QUEUE_FRAMES: usize = 50;

/// What a simulated person says next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Utterance {
    Audio(Clip),
    /// Keys pressed one after the other: as DTMF audio (`in_band`) or as RFC 4733 events, which carry no audio.
    Keys {
        keys: Vec<char>,
        in_band: bool,
        tone_ms: u64,
        gap_ms: u64,
    },
}

pub(crate) fn frames(ms: u64) -> u64 {
    ms.div_ceil(FRAME_MS)
}

/// A clip being played, frame by frame.
#[derive(Debug, Clone)]
pub(crate) struct Player {
    sound: Sound,
    next: usize,
}

/// What a player plays: a clip, or DTMF keys made as they play.
#[derive(Debug, Clone)]
enum Sound {
    Clip(Clip),
    Keys(synth::DtmfSequence),
}

impl Player {
    pub(crate) fn new(clip: Clip) -> Player {
        Player { sound: Sound::Clip(clip), next: 0 }
    }

    pub(crate) fn keys(keys: Vec<char>, tone_ms: u64, gap_ms: u64) -> Player {
        Player { sound: Sound::Keys(synth::DtmfSequence::new(keys, tone_ms, gap_ms)), next: 0 }
    }

    pub(crate) fn next_frame(&mut self) -> Option<Frame> {
        let frame = match &mut self.sound {
            Sound::Clip(clip) => clip.frame(self.next),
            Sound::Keys(keys) => keys.frame(self.next),
        }?;
        self.next += 1;
        Some(frame)
    }

    /// Whether there is nothing to play (a hold track not loaded yet).
    pub(crate) fn is_empty(&self) -> bool {
        matches!(&self.sound, Sound::Clip(clip) if clip.frames() == 0)
    }

    /// Looping: back to the start at the end.
    pub(crate) fn next_looped(&mut self) -> Frame {
        self.next_frame()
            .or_else(|| {
                self.next = 0;
                self.next_frame()
            })
            .unwrap_or(Frame::Silence)
    }
}

/// A simulated person's mouth.
#[derive(Debug, Clone, Default)]
struct Speaker {
    queue: VecDeque<Utterance>,
    playing: Option<Player>,
    /// RFC 4733 keys still to send: (frames to wait first, key).
    events: VecDeque<(u64, char)>,
}

impl Speaker {
    fn idle(&self) -> bool {
        self.queue.is_empty() && self.playing.is_none() && self.events.is_empty()
    }

    /// The next frame it says, and a key it sends as an event at this frame.
    fn next(&mut self) -> (Frame, Option<char>) {
        if let Some((wait, key)) = self.events.front_mut() {
            if *wait == 0 {
                let key = *key;
                self.events.pop_front();
                return (Frame::Silence, Some(key));
            }
            *wait -= 1;
            return (Frame::Silence, None);
        }
        loop {
            if let Some(player) = &mut self.playing {
                if let Some(frame) = player.next_frame() {
                    return (frame, None);
                }
                self.playing = None;
            }
            match self.queue.pop_front() {
                None => return (Frame::Silence, None),
                Some(Utterance::Audio(clip)) => self.playing = Some(Player::new(clip)),
                Some(Utterance::Keys { keys, in_band: true, tone_ms, gap_ms }) => {
                    self.playing = Some(Player::keys(keys, tone_ms, gap_ms));
                }
                Some(Utterance::Keys { keys, in_band: false, tone_ms, gap_ms }) => {
                    let spacing = frames(tone_ms + gap_ms).saturating_sub(1);
                    self.events =
                        keys.into_iter().enumerate().map(|(i, key)| (if i == 0 { 0 } else { spacing }, key)).collect();
                    return self.next();
                }
            }
        }
    }
}

/// A real endpoint's side of the conference: frames and keys its transport handed in, frames it has yet to take.
#[derive(Debug, Clone, Default)]
struct RemotePort {
    inbound: VecDeque<Frame>,
    keys: VecDeque<char>,
    outbound: VecDeque<Frame>,
}

/// Pushes onto a bounded queue, dropping the oldest entry when it is full.
fn push_bounded<T>(queue: &mut VecDeque<T>, item: T) {
    if queue.len() == REMOTE_QUEUE_FRAMES {
        queue.pop_front();
    }
    queue.push_back(item);
}

#[derive(Debug, Clone)]
enum Port {
    Simulated(Speaker),
    Remote(RemotePort),
}

impl Port {
    fn new(kind: PortKind) -> Port {
        match kind {
            PortKind::Simulated => Port::Simulated(Speaker::default()),
            PortKind::Remote => Port::Remote(RemotePort::default()),
        }
    }

    fn kind(&self) -> PortKind {
        match self {
            Port::Simulated(_) => PortKind::Simulated,
            Port::Remote(_) => PortKind::Remote,
        }
    }
}

/// One participant in a conference.
#[derive(Debug, Clone)]
pub(crate) struct Leg {
    pub(crate) capture: Capture,
    pub(crate) detector: Detector,
    /// Hold music, while on hold.
    pub(crate) hold: Option<(Option<String>, Player)>,
    port: Port,
}

impl Leg {
    pub(crate) fn new(kind: PortKind, capture: Capture) -> Leg {
        Leg { capture, detector: Detector::default(), hold: None, port: Port::new(kind) }
    }

    /// A leg whose endpoint was replaced by one of another kind starts with an empty port.
    pub(crate) fn set_kind(&mut self, kind: PortKind) {
        if self.port.kind() != kind {
            self.port = Port::new(kind);
        }
    }

    /// Nothing more will come from it until someone acts: a simulated person with nothing left to say. A remote
    /// leg is never idle — its endpoint may speak at any frame.
    pub(crate) fn idle(&self) -> bool {
        match &self.port {
            Port::Simulated(speaker) => speaker.idle(),
            Port::Remote(_) => false,
        }
    }

    /// What it sends this frame, and a key it sends as an event at this frame.
    pub(crate) fn sent(&mut self) -> (Frame, Option<char>) {
        match &mut self.port {
            Port::Simulated(speaker) => speaker.next(),
            // A frame the transport did not deliver in time is silence here; concealing loss is the transport's.
            Port::Remote(remote) => (remote.inbound.pop_front().unwrap_or(Frame::Silence), remote.keys.pop_front()),
        }
    }

    /// What it heard this frame: captured, and queued for its transport.
    pub(crate) fn hear(&mut self, frame: Frame) {
        self.capture.push(&frame);
        if let Port::Remote(remote) = &mut self.port {
            push_bounded(&mut remote.outbound, frame);
        }
    }

    pub(crate) fn say(&mut self, leg: &str, utterance: Utterance) -> Result<(), PortError> {
        match &mut self.port {
            Port::Simulated(speaker) => {
                speaker.queue.push_back(utterance);
                Ok(())
            }
            Port::Remote(_) => Err(PortError::NotSimulated(leg.to_owned())),
        }
    }

    pub(crate) fn handle_input(&mut self, leg: &str, input: LegInput) -> Result<(), PortError> {
        let Port::Remote(remote) = &mut self.port else { return Err(PortError::NotRemote(leg.to_owned())) };
        match input {
            LegInput::Audio(frame) => push_bounded(&mut remote.inbound, frame),
            LegInput::Key(key) => push_bounded(&mut remote.keys, key),
        }
        Ok(())
    }

    pub(crate) fn poll_output(&mut self, leg: &str) -> Result<Option<Frame>, PortError> {
        match &mut self.port {
            Port::Remote(remote) => Ok(remote.outbound.pop_front()),
            Port::Simulated(_) => Err(PortError::NotRemote(leg.to_owned())),
        }
    }
}
