//! Switchboard's media engine, without I/O: 20 ms frames of 16 kHz mono PCM, one [`Conference`] per call that
//! mixes what each participant hears (N−1, with server mute, hold music and the lobby), plays the bot's prompts,
//! records, sends and detects DTMF, and captures what everyone heard; audio files in and out; and an analysis of
//! captured audio (levels, dominant frequency, DTMF keys, silences) that tests assert on. Time is frames: whoever
//! drives it decides whether a frame is 20 ms of the wall clock or of a virtual one.

pub mod analysis;
pub mod capture;
pub mod codec;
pub mod conference;
pub mod dtmf;
pub mod frame;
pub mod leg;
pub mod synth;

pub use conference::{
    Conference, DtmfJob, Event, Job, JobKind, JobOutcome, Library, Lookup, Person, Plan, RecordEnd, RecordPlan,
};
pub use frame::{Clip, FRAME_MS, FRAME_SAMPLES, Frame, SAMPLE_RATE};
pub use leg::{LegInput, PortError, PortKind, Utterance};
