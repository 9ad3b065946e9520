//! cargo-dist, rebuilt as a hermetic, content-addressed release tool.
//!
//! Data flows one way: [`workspace`] (cargo metadata) -> [`config`] (raw tables -> resolved) ->
//! [`announce`] (tag -> Apps) -> [`plan`] (pure: the Universe) -> execute -> [`manifest`].
//! [`ops`] wires the stages for each command; the library never prints: progress and summaries
//! go to a [`report::Reporter`], results are returned.

// The library never prints: events go to a reporter, results are returned (clippy enforces it).
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]
// Errors carry the names and paths their messages need; they are returned once per run, so
// their size does not matter.
#![allow(clippy::result_large_err)]

pub mod announce;
pub mod atomic;
pub mod authenticode;
pub mod changelog;
pub mod ci;
pub mod cli;
pub mod config;
pub mod env;
pub mod error;
pub mod esigner;
pub mod execute;
pub mod graph;
pub mod isolation;
pub mod lockfile;
pub mod manifest;
pub mod notary;
pub mod ops;
pub mod plan;
pub mod platform;
pub mod provenance;
pub mod read;
pub mod registry;
pub mod report;
pub mod signing;
pub mod sources;
pub mod toolchain;
pub mod wix;
pub mod workspace;

pub use error::Error;
