//! The HTTP surface over real loopback HTTP, against a server with a real SQLite file.

mod auth;
mod compat;
mod errors;
mod identity;
mod ownership;
mod support;
mod surface;
mod validation;
