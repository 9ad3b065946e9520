//! A content-addressed object store with an SQLite index, for cargo-dist.
//! Depends on nothing else of cargo-dist's.
//!
//! # On-disk layout
//!
//! ```text
//! <root>/CACHEDIR.TAG            standard cache-directory tag (backup tools skip the store)
//! <root>/index.sqlite            recipes/outputs/inputs tables; WAL mode; schema
//!                                versioned by PRAGMA user_version (see `schema`)
//! <root>/objects/ab/abcdef…      an object, named by the lowercase hex BLAKE3 of its
//!                                bytes, under a 2-character fan-out dir; mode 0444
//! <root>/tmp/                    temp files being written (ignored by verify, swept by gc)
//! <root>/locks/<key>.lock        per-recipe build locks (flock; never deleted)
//! <root>/locks/store.lock        builds hold it shared, gc alone (flock; never deleted)
//! <root>/quarantine/<hex>        objects found corrupt, moved aside for inspection
//! ```
//!
//! # Invariants
//!
//! - The store never shows a partial object: bytes are written to a file in
//!   `tmp/`, fsynced, renamed into `objects/`, the directory fsynced, and only
//!   then is the index updated (`record` refuses outputs whose object file is
//!   missing or has the wrong size).
//! - Hence a crash or `kill -9` at any point leaves a store that
//!   [`Store::verify`] passes: at worst there are leftovers in `tmp/` or an
//!   object that no recipe references yet (gc removes both).
//! - Every object read (`materialize`, `read_verified`, `export`) is checked
//!   against its BLAKE3 and size while it is read.
//! - A corrupt object is never materialised: it is moved to `quarantine/`, the
//!   recipes that reference it are dropped from the index, and it is treated
//!   as missing (so the next build rebuilds it).
//! - Anything hashed or exported is in sorted order (BTreeMap, sorted keys),
//!   so the same content gives the same digests and the same bundle bytes.

// The library never prints: events go to a reporter, results are returned (clippy enforces it).
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

mod bundle;
mod canon;
mod digest;
mod error;
mod gc;
mod index;
mod layout;
mod lock;
mod object;
mod records;
pub mod remote;
mod schema;
mod verify;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

pub use bundle::{
    ExportReport, ImportReport, OutputProblem, Rejection, BUNDLE_FORMAT, BUNDLE_INDEX,
    BUNDLE_VERSION,
};
pub use canon::CanonHasher;
pub use digest::{
    ContentDigest, ContentKind, Digest, DigestKind, DigestParseError, RecipeKey, RecipeKind,
};
pub use error::StoreError;
pub use gc::{GcOptions, GcReport, RemovedRecipe};
pub use lock::{RecipeLock, StoreHold};
pub use records::{ObjectInfo, OutputRecord, RecipeRecord, RecipeSummary};
pub use verify::{Problem, VerifyReport};

use layout::Layout;

/// An open store: a root directory plus a connection to its index.
///
/// One handle per thread; several handles (in one or many processes) may
/// share a root.
pub struct Store {
    layout: Layout,
    conn: Connection,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("root", &self.layout.root)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The store root: `cli`, else `CARGO_DIST_STORE`, else
    /// `$XDG_CACHE_HOME/cargo-dist/store`, else `$HOME/.cache/cargo-dist/store`; `var` looks
    /// the variables up (the caller reads its environment: this crate reads none).
    pub fn resolve_root(
        cli: Option<&Path>,
        var: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<PathBuf, StoreError> {
        layout::resolve_root_with(cli, var)
    }

    /// Opens (creating if needed) the store at `root` and brings its index
    /// schema up to date.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        let layout = Layout::new(root);
        layout.create()?;
        let db = |source| StoreError::Sqlite {
            path: layout.index.clone(),
            source,
        };
        let mut conn = Connection::open(&layout.index).map_err(db)?;
        // Other processes may hold write locks briefly; wait rather than fail.
        conn.busy_timeout(BUSY_WAIT).map_err(db)?;
        // FULL: a committed row survives power loss, matching the fsynced objects.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
        // Switching a fresh index to WAL, and its first migration, can answer "busy" at once
        // while another process does the same: SQLite does not wait on the busy timeout there.
        let outcome = retry_busy(|| {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            schema::migrate(&mut conn)
        })
        .map_err(db)?;
        match outcome {
            schema::MigrateOutcome::Current => {}
            schema::MigrateOutcome::TooNew(found) => {
                return Err(StoreError::SchemaTooNew {
                    path: layout.index.clone(),
                    found,
                    supported: schema::MIGRATIONS.len() as i64,
                })
            }
        }
        Ok(Store { layout, conn })
    }

    pub fn root(&self) -> &Path {
        &self.layout.root
    }

    /// Path of the object file for `digest` (which may not exist).
    pub fn object_path(&self, digest: &ContentDigest) -> PathBuf {
        self.layout.object_path(digest)
    }

    fn db_err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.layout.index.clone(),
            source,
        }
    }

    fn db<T>(&self, r: rusqlite::Result<T>) -> Result<T, StoreError> {
        r.map_err(|e| self.db_err(e))
    }
}

/// Current time in unix seconds.
pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

// Store is moved into worker threads by callers.
#[allow(dead_code)]
fn _assert_send() {
    fn is_send<T: Send>() {}
    is_send::<Store>();
}

/// How long a store operation waits for another process's lock before giving up.
const BUSY_WAIT: Duration = Duration::from_secs(60);

/// Runs `f` again while SQLite answers "busy" without having waited (the few places where it
/// does not use the busy timeout), for up to [`BUSY_WAIT`].
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let start = std::time::Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        match f() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && start.elapsed() < BUSY_WAIT =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}
