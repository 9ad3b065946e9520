//! Per-recipe build locks, so two processes never build the same key at once.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::digest::RecipeKey;
use crate::error::StoreError;
use crate::Store;

/// An exclusive lock on `locks/<key>.lock`, released when dropped (or when
/// the process dies: the OS drops file locks with the descriptor).
#[derive(Debug)]
pub struct RecipeLock {
    file: File,
    path: PathBuf,
}

impl RecipeLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RecipeLock {
    fn drop(&mut self) {
        // Closing the file would release it too; unlock explicitly for clarity.
        // Lock files are never deleted: deleting races with a waiter that
        // already opened the old inode.
        let _ = self.file.unlock();
    }
}

impl Store {
    /// Opens (creating) the lock file `locks/{name}`.
    fn open_lock(&self, name: &str) -> Result<(File, PathBuf), StoreError> {
        let path = self.layout.locks.join(name);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| StoreError::Locked {
                path: path.clone(),
                source,
            })?;
        Ok((file, path))
    }

    fn open_lock_file(&self, key: &RecipeKey) -> Result<(File, PathBuf), StoreError> {
        self.open_lock(&format!("{}.lock", key.to_hex()))
    }

    /// Blocks until this handle holds the exclusive lock for `key`.
    pub fn lock(&self, key: &RecipeKey) -> Result<RecipeLock, StoreError> {
        let (file, path) = self.open_lock_file(key)?;
        file.lock().map_err(|source| StoreError::Locked {
            path: path.clone(),
            source,
        })?;
        Ok(RecipeLock { file, path })
    }

    /// Takes the lock for `key` if nobody holds it; `None` if somebody does.
    pub fn try_lock(&self, key: &RecipeKey) -> Result<Option<RecipeLock>, StoreError> {
        let (file, path) = self.open_lock_file(key)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(RecipeLock { file, path })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(source)) => Err(StoreError::Locked { path, source }),
        }
    }
}

/// A hold on the whole store (`locks/store.lock`): every build shares it for as long as it
/// runs, `gc` takes it alone, so a collection never removes what a running build has made or
/// is about to read. Released when dropped (or when the process dies).
#[derive(Debug)]
pub struct StoreHold {
    file: File,
}

impl Drop for StoreHold {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

impl Store {
    fn open_store_lock(&self) -> Result<(File, PathBuf), StoreError> {
        // Recipe locks are named by hex keys, so this name is never one of theirs.
        self.open_lock("store.lock")
    }

    /// A build's hold: shared with other builds; waits only while a `gc` runs.
    pub fn hold_shared(&self) -> Result<StoreHold, StoreError> {
        let (file, path) = self.open_store_lock()?;
        file.lock_shared()
            .map_err(|source| StoreError::Locked { path, source })?;
        Ok(StoreHold { file })
    }

    /// A `gc`'s hold, if no build holds the store; `None` while builds run (then
    /// [`Store::hold_exclusive`] waits for them).
    pub fn try_hold_exclusive(&self) -> Result<Option<StoreHold>, StoreError> {
        let (file, path) = self.open_store_lock()?;
        match file.try_lock() {
            Ok(()) => Ok(Some(StoreHold { file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(source)) => Err(StoreError::Locked { path, source }),
        }
    }

    /// Waits until no build holds the store, then holds it alone.
    pub fn hold_exclusive(&self) -> Result<StoreHold, StoreError> {
        let (file, path) = self.open_store_lock()?;
        file.lock()
            .map_err(|source| StoreError::Locked { path, source })?;
        Ok(StoreHold { file })
    }
}
