//! The one error type of the store. Every message names the file or key
//! involved and what the user can do about it.

use std::io;
use std::path::{Path, PathBuf};

use crate::digest::{ContentDigest, RecipeKey};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the file system holding the store is full (writing {path}): the file was not kept and the index is unchanged; free space (e.g. `cargo dist store gc --max-size 2G`) or pass another --store, then build again")]
    Full {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("store I/O error on {path}: {source}; check the path exists and is writable, or pass another --store")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("store index {path}: {source}; if this persists, run `cargo dist store verify`, or delete the index to start an empty store")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("store index {path} has schema version {found}, newer than this cargo-dist understands ({supported}); upgrade cargo-dist or use another --store")]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error("store object {digest} at {path} is corrupt ({reason}); it was moved to quarantine and will be rebuilt; run `cargo dist store verify` to check the rest")]
    Corrupt {
        digest: ContentDigest,
        path: PathBuf,
        reason: String,
    },

    #[error("store object {digest} is missing at {path}; the recipes that used it were dropped from the index and will be rebuilt")]
    MissingObject {
        digest: ContentDigest,
        path: PathBuf,
    },

    #[error(
        "store index row for recipe {key} is invalid ({reason}); run `cargo dist store verify`"
    )]
    BadRow { key: String, reason: String },

    #[error("recipe {key} is not in the store; run `cargo dist store ls` to see what is")]
    UnknownRecipe { key: RecipeKey },

    #[error("bundle {bundle}: entry `{entry}`: {reason}; the store was left unchanged")]
    Bundle {
        bundle: PathBuf,
        entry: String,
        reason: Box<crate::bundle::Rejection>,
    },

    #[error(
        "could not lock {path}: {source}; check that the store's locks/ directory is writable"
    )]
    Locked {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("no store location: pass --store, or set CARGO_DIST_STORE, XDG_CACHE_HOME or HOME")]
    NoRoot,
}

/// Attach a path to an `io::Error`.
pub(crate) trait IoContext<T> {
    fn at(self, path: &Path) -> Result<T, StoreError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: &Path) -> Result<T, StoreError> {
        self.map_err(|source| match source.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => StoreError::Full {
                path: path.to_owned(),
                source,
            },
            _ => StoreError::Io {
                path: path.to_owned(),
                source,
            },
        })
    }
}
