//! Integration tests of the `cargo-dist` binary, run against throwaway workspaces.

mod plan;
mod support;
