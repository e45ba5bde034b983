//! The HTTP surface over real loopback HTTP, against a server with a real SQLite file.

mod compat;
mod errors;
mod support;
mod surface;
mod validation;
