//! Plain data passed in and out of the store.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::{ContentDigest, RecipeKey};

/// An object just added to the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectInfo {
    pub digest: ContentDigest,
    pub size: u64,
    /// Lowercase hex SHA-256 of the bytes (what release checksums publish).
    pub sha256: String,
}

/// One named output of a recipe, pointing at an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRecord {
    pub name: String,
    pub digest: ContentDigest,
    pub size: u64,
    pub sha256: String,
}

impl OutputRecord {
    pub fn new(name: impl Into<String>, obj: &ObjectInfo) -> Self {
        OutputRecord {
            name: name.into(),
            digest: obj.digest,
            size: obj.size,
            sha256: obj.sha256.clone(),
        }
    }
}

/// A finished recipe: its key, what it was computed from, and its outputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipeRecord {
    pub key: RecipeKey,
    /// e.g. "cargo-build", "archive", "checksum".
    pub kind: String,
    /// Human name, e.g. the artifact file name.
    pub label: String,
    /// The canonical inputs the key was computed from (used by `explain`).
    pub inputs: BTreeMap<String, String>,
    /// Outputs in the order they were recorded; names are unique.
    pub outputs: Vec<OutputRecord>,
    /// How the build that made it was isolated (`full`, `network-only`, `none`), for kinds that
    /// run a sandboxed build. Not part of the key: the same inputs must give the same bytes
    /// under any isolation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<String>,
}

/// A recipe as `list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipeSummary {
    pub key: RecipeKey,
    pub kind: String,
    pub label: String,
    pub outputs: Vec<OutputRecord>,
    pub total_size: u64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub last_used: i64,
}
