//! What an attack on the server found, each fixed and kept fixed (issue 14): a test per finding against the binary
//! on loopback, each failing without its fix. Load cases measure the server's memory or its answers, never time.

mod callbacks;
mod connections;
mod data_dir;
mod hosts;
mod media_files;
mod media_limits;
mod misconfiguration;
mod paths;
mod tokens;
