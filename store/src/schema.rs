//! Index schema, versioned with `PRAGMA user_version`: migration N (1-based)
//! takes the index from version N-1 to N. Only ever append to this list.

use rusqlite::{Connection, TransactionBehavior};

pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: recipes, their ordered outputs, and the inputs their key was computed from.
    "CREATE TABLE recipes (
        key        TEXT PRIMARY KEY NOT NULL,
        kind       TEXT NOT NULL,
        label      TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_used  INTEGER NOT NULL
    );
    CREATE INDEX recipes_label ON recipes(label, created_at);
    CREATE TABLE outputs (
        recipe_key TEXT NOT NULL REFERENCES recipes(key) ON DELETE CASCADE,
        pos        INTEGER NOT NULL,
        name       TEXT NOT NULL,
        digest     TEXT NOT NULL,
        size       INTEGER NOT NULL,
        sha256     TEXT NOT NULL,
        PRIMARY KEY (recipe_key, name)
    );
    CREATE INDEX outputs_digest ON outputs(digest);
    CREATE TABLE inputs (
        recipe_key TEXT NOT NULL REFERENCES recipes(key) ON DELETE CASCADE,
        name       TEXT NOT NULL,
        value      TEXT NOT NULL,
        PRIMARY KEY (recipe_key, name)
    );",
    // 2: how a recipe's build was isolated (not part of its key).
    "ALTER TABLE recipes ADD COLUMN isolation TEXT;",
];

pub(crate) enum MigrateOutcome {
    Current,
    TooNew(i64),
}

/// Applies missing migrations, each in its own IMMEDIATE transaction so two
/// processes opening a fresh store at once don't both run a step.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<MigrateOutcome> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let supported = MIGRATIONS.len() as i64;
        if version > supported {
            return Ok(MigrateOutcome::TooNew(version));
        }
        if version == supported {
            tx.commit()?;
            return Ok(MigrateOutcome::Current);
        }
        tx.execute_batch(MIGRATIONS[version as usize])?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", version + 1))?;
        tx.commit()?;
    }
}
