//! Call scenarios against the `switchboard` binary: one test per documented behaviour, from the bot's request to
//! the notification a real webhook receiver gets, driven by the virtual clock (no sleeps).

#[path = "../support/process.rs"]
mod process;
mod support;

mod actions;
mod console;
mod delivery;
mod faults;
mod fidelity;
mod group_meeting;
mod incoming;
mod isolation;
mod media;
mod outgoing;
mod participants;
mod persistence;
mod security;
mod sim_cli;
mod small_disk;
mod storage;
mod transfer;
