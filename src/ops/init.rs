//! (in progress)
#[derive(Debug, thiserror::Error)]
pub enum InitError {}
