//! Integration tests of the `cargo-dist` binary, run against throwaway workspaces.

// The tests set up environments of their own (the tool reads its own in src/env.rs).
#![allow(clippy::disallowed_methods)]

mod act;
mod artifacts;
mod build;
mod ci;
mod compat;
mod esigner;
mod faults;
mod fields;
mod generic;
mod hermetic;
mod installers;
mod layouts;
mod manifests;
mod members;
mod notary;
mod npm;
mod packages;
mod pipeline;
mod plan;
mod publish;
mod remote;
mod remote_faults;
mod selfhost;
mod signing;
mod sources;
mod store;
mod support;
mod verify;
mod vocabulary;
