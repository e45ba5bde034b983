//! Switchboard's calls: the sans-IO engine ([`switchboard_engine`]) driven by a clock, persisted through the store,
//! against a simulated world of users, phones, bots and meetings.
//!
//! Every change of a call is one store transaction: the new call document, the timers it arms and the
//! notifications it raises commit together ([`runtime`]). Graph requests are translated in [`graph`], the world's
//! side of calls in [`simulation`], and Graph JSON is rendered in [`render`].

pub mod actions;
pub mod activity;
pub mod clock;
mod error;
pub mod graph;
pub mod media;
mod ownership;
pub mod participants;
pub mod render;
mod runtime;
pub mod simulation;
#[cfg(test)]
mod testing;
mod tokens;
pub mod view;
pub mod world;

pub use error::CallsError;
pub use ownership::NodeConfig;
pub use runtime::{Caller, Calls, CallsConfig};
pub use tokens::{ConversationToken, ConversationTokens};
