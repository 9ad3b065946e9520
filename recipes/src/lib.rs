//! Recipe kinds for cargo-dist: what each artifact is made from (its inputs and key) and the
//! deterministic writers that make it.

pub mod archive;
pub mod installer;
pub mod recipe;
pub mod target;
