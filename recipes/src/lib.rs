//! Recipe kinds for cargo-dist: what each artifact is made from (its inputs and key) and the
//! deterministic writers that make it.

// The library never prints: events go to a reporter, results are returned (clippy enforces it).
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

pub mod archive;
pub mod config_keys;
pub mod installer;
pub mod recipe;
pub mod target;
mod template;
pub mod vocab;
pub mod workflow;
