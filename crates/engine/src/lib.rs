//! The call engine, free of I/O: each call is a [`model::Call`] document, and [`handle`] applies one [`Command`]
//! to it at a given time, returning the [`Effect`]s the runtime must carry out (notifications to send, timers to
//! arm). There is no clock, network, database or async runtime in here; time and ids come in as arguments, so tests
//! drive it with any clock they like.

pub mod codes;
mod command;
pub mod identity;
mod machine;
pub mod model;
pub mod tones;

pub use model::{Call, CallSetup};

pub use command::{
    ActionKind, ActionRequest, Answer, Change, Command, Effect, Invitee, JobResult, MediaReport, Notification,
    NotificationKind, PeerAction, RecordCompletion, Replaces, RosterEvent, Timer, TransferRequest,
};
pub use machine::{ANSWER_DEADLINE, KEEP_ALIVE_PERIOD, Rejection, default_redirect_timeout, handle};
