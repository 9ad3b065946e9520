//! Index rows: recording recipes and reading them back.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::digest::{ContentDigest, RecipeKey};
use crate::error::StoreError;
use crate::records::{OutputRecord, RecipeRecord, RecipeSummary};
use crate::{now_secs, Store};

fn bad_row(key: &str, reason: impl Into<String>) -> StoreError {
    StoreError::BadRow {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

/// An `outputs` row of recipe `key` as a record.
fn output_record(
    key: &str,
    name: String,
    digest: &str,
    size: i64,
    sha256: String,
) -> Result<OutputRecord, StoreError> {
    let digest = ContentDigest::from_hex(digest)
        .map_err(|e| bad_row(key, format!("output `{name}`: {e}")))?;
    let size = u64::try_from(size)
        .map_err(|_| bad_row(key, format!("output `{name}` has size {size}")))?;
    Ok(OutputRecord {
        name,
        digest,
        size,
        sha256,
    })
}

/// Sizes are u64 in the API and INTEGER (i64) in SQLite.
fn size_to_sql(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

impl Store {
    /// Starts a write transaction that takes the write lock up front, so
    /// concurrent writers queue on the busy timeout instead of deadlocking.
    pub(crate) fn write_tx(&self) -> Result<Transaction<'_>, StoreError> {
        self.db(Transaction::new_unchecked(
            &self.conn,
            TransactionBehavior::Immediate,
        ))
    }

    /// Records a finished recipe in one transaction, replacing any row with
    /// the same key. It must have at least one output, and every output's
    /// object must already be in the store.
    pub fn record(&self, rec: &RecipeRecord) -> Result<(), StoreError> {
        if rec.outputs.is_empty() {
            return Err(bad_row(&rec.key.to_hex(), "has no outputs"));
        }
        for out in &rec.outputs {
            if !self.layout.has_object(&out.digest, out.size) {
                return Err(StoreError::MissingObject {
                    digest: out.digest,
                    path: self.layout.object_path(&out.digest),
                });
            }
        }
        let now = now_secs();
        let tx = self.write_tx()?;
        self.insert_recipe(&tx, rec, now, now)?;
        self.db(tx.commit())
    }

    pub(crate) fn insert_recipe(
        &self,
        conn: &Connection,
        rec: &RecipeRecord,
        created_at: i64,
        last_used: i64,
    ) -> Result<(), StoreError> {
        let key = rec.key.to_hex();
        self.db(conn.execute("DELETE FROM recipes WHERE key = ?1", params![key]))?;
        self.db(conn.execute(
            "INSERT INTO recipes (key, kind, label, created_at, last_used, isolation)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                key,
                rec.kind,
                rec.label,
                created_at,
                last_used,
                rec.isolation
            ],
        ))?;
        let mut out_stmt = self.db(conn.prepare_cached(
            "INSERT INTO outputs (recipe_key, pos, name, digest, size, sha256)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        ))?;
        for (pos, out) in rec.outputs.iter().enumerate() {
            self.db(out_stmt.execute(params![
                key,
                pos as i64,
                out.name,
                out.digest.to_hex(),
                size_to_sql(out.size),
                out.sha256
            ]))?;
        }
        let mut in_stmt = self.db(
            conn.prepare_cached("INSERT INTO inputs (recipe_key, name, value) VALUES (?1, ?2, ?3)")
        )?;
        for (name, value) in &rec.inputs {
            self.db(in_stmt.execute(params![key, name, value]))?;
        }
        Ok(())
    }

    pub(crate) fn load_outputs(&self, key: &str) -> Result<Vec<OutputRecord>, StoreError> {
        let mut stmt = self.db(self.conn.prepare_cached(
            "SELECT name, digest, size, sha256 FROM outputs
             WHERE recipe_key = ?1 ORDER BY pos, name",
        ))?;
        let rows = self.db(stmt
            .query_map(params![key], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>()))?;
        rows.into_iter()
            .map(|(name, digest, size, sha256)| output_record(key, name, &digest, size, sha256))
            .collect()
    }

    fn load_inputs(&self, key: &str) -> Result<BTreeMap<String, String>, StoreError> {
        let mut stmt = self.db(self
            .conn
            .prepare_cached("SELECT name, value FROM inputs WHERE recipe_key = ?1"))?;
        self.db(stmt
            .query_map(params![key], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect()))
    }

    /// The recorded rows for `key` (no object checks).
    pub fn get(&self, key: &RecipeKey) -> Result<Option<RecipeRecord>, StoreError> {
        let hex = key.to_hex();
        let row: Option<(String, String, Option<String>)> = self.db(self
            .conn
            .query_row(
                "SELECT kind, label, isolation FROM recipes WHERE key = ?1",
                params![hex],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional())?;
        let Some((kind, label, isolation)) = row else {
            return Ok(None);
        };
        Ok(Some(RecipeRecord {
            key: *key,
            kind,
            label,
            inputs: self.load_inputs(&hex)?,
            outputs: self.load_outputs(&hex)?,
            isolation,
        }))
    }

    /// The isolation recorded for `key`'s build (one column: no inputs or outputs loaded).
    pub fn isolation(&self, key: &RecipeKey) -> Result<Option<String>, StoreError> {
        let level: Option<Option<String>> = self.db(self
            .conn
            .query_row(
                "SELECT isolation FROM recipes WHERE key = ?1",
                params![key.to_hex()],
                |r| r.get(0),
            )
            .optional())?;
        Ok(level.flatten())
    }

    /// True if `key` is recorded and every output object exists with the
    /// recorded size. Does not hash (reads verify later).
    pub fn is_cached(&self, key: &RecipeKey) -> Result<bool, StoreError> {
        let hex = key.to_hex();
        let exists: Option<i64> = self.db(self
            .conn
            .query_row("SELECT 1 FROM recipes WHERE key = ?1", params![hex], |r| {
                r.get(0)
            })
            .optional())?;
        if exists.is_none() {
            return Ok(false);
        }
        Ok(self.objects_present(&self.load_outputs(&hex)?))
    }

    /// Whether every output's object is in the store with its recorded size.
    fn objects_present(&self, outputs: &[OutputRecord]) -> bool {
        outputs
            .iter()
            .all(|out| self.layout.has_object(&out.digest, out.size))
    }

    /// The outputs of each of `keys` that is cached (recorded, and every output object present
    /// with its recorded size), in one query: a plan asks this of every artifact, and one
    /// round trip per key was most of a large plan's store time.
    pub fn cached_outputs(
        &self,
        keys: &[RecipeKey],
    ) -> Result<BTreeMap<RecipeKey, Vec<OutputRecord>>, StoreError> {
        let wanted = serde_json::to_string(&keys.iter().map(|k| k.to_hex()).collect::<Vec<_>>())
            .expect("hex strings serialise");
        let mut stmt = self.db(self.conn.prepare_cached(
            // Sorted here, not by SQLite (no index on `pos`).
            "SELECT recipe_key, name, digest, size, sha256, pos FROM outputs
             WHERE recipe_key IN (SELECT value FROM json_each(?1))",
        ))?;
        let mut rows = self.db(stmt
            .query_map(params![wanted], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>()))?;
        rows.sort_by(|a, b| (&a.0, a.5, &a.1).cmp(&(&b.0, b.5, &b.1)));
        let mut found: BTreeMap<RecipeKey, Vec<OutputRecord>> = BTreeMap::new();
        for (hex, name, digest, size, sha256, _) in rows {
            let key = RecipeKey::from_hex(&hex).map_err(|e| bad_row(&hex, e.to_string()))?;
            let output = output_record(&hex, name, &digest, size, sha256)?;
            found.entry(key).or_default().push(output);
        }
        found.retain(|_, outs| self.objects_present(outs));
        Ok(found)
    }

    /// The sha256 of `key`'s first output, if it is recorded (no inputs or objects read).
    pub fn first_sha256(&self, key: &RecipeKey) -> Result<Option<String>, StoreError> {
        let mut stmt = self.db(self.conn.prepare_cached(
            // SQLite takes a bare column from the row that MIN() picked (`pos` is unique per
            // recipe): no sort, which `ORDER BY pos LIMIT 1` needed (no index on `pos`).
            "SELECT sha256, MIN(pos) FROM outputs WHERE recipe_key = ?1",
        ))?;
        self.db(stmt.query_row(params![key.to_hex()], |r| r.get(0)))
    }

    /// The record of `key` when the store holds it whole: its row, and every output's object
    /// with its recorded size (not hashed: reads verify).
    pub fn get_cached(&self, key: &RecipeKey) -> Result<Option<RecipeRecord>, StoreError> {
        Ok(self
            .get(key)?
            .filter(|rec| self.objects_present(&rec.outputs)))
    }

    /// Runs `f` in one read transaction: its queries share one lock instead of taking one
    /// each (a warm build asks the store about every artifact; hundreds of locks showed).
    /// `f` must not write.
    pub fn reading<T>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self.db(Transaction::new_unchecked(
            &self.conn,
            TransactionBehavior::Deferred,
        ))?;
        let out = f(self)?;
        self.db(tx.commit())?;
        Ok(out)
    }

    /// [`Store::get_cached`] of each of `keys`, in one read transaction and three queries (a
    /// warm build asks this of every artifact). Keys it lacks are absent.
    pub fn get_cached_many(
        &self,
        keys: &[RecipeKey],
    ) -> Result<std::collections::HashMap<RecipeKey, RecipeRecord>, StoreError> {
        self.reading(|store| {
            let mut outputs = store.cached_outputs(keys)?;
            let wanted: Vec<String> = outputs.keys().map(|k| k.to_hex()).collect();
            let wanted = serde_json::to_string(&wanted).expect("hex strings serialise");
            let mut inputs = store.inputs_of(&wanted)?;
            let mut stmt = store.db(store.conn.prepare_cached(
                "SELECT key, kind, label, isolation FROM recipes
                 WHERE key IN (SELECT value FROM json_each(?1))",
            ))?;
            let rows = store.db(stmt
                .query_map(params![wanted], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<String>>(3)?,
                    ))
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>()))?;
            let mut found = std::collections::HashMap::with_capacity(rows.len());
            for (hex, kind, label, isolation) in rows {
                let key = RecipeKey::from_hex(&hex).map_err(|e| bad_row(&hex, e.to_string()))?;
                let Some(outputs) = outputs.remove(&key) else {
                    continue;
                };
                let inputs = inputs.remove(&hex).unwrap_or_default();
                found.insert(
                    key,
                    RecipeRecord {
                        key,
                        kind,
                        label,
                        inputs,
                        outputs,
                        isolation,
                    },
                );
            }
            Ok(found)
        })
    }

    /// The inputs of each recipe of `wanted` (a JSON array of hex keys), by hex key.
    fn inputs_of(
        &self,
        wanted: &str,
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, StoreError> {
        let mut stmt = self.db(self.conn.prepare_cached(
            "SELECT recipe_key, name, value FROM inputs
             WHERE recipe_key IN (SELECT value FROM json_each(?1))",
        ))?;
        let rows = self.db(stmt
            .query_map(params![wanted], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>()))?;
        let mut by_key: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (key, name, value) in rows {
            by_key.entry(key).or_default().insert(name, value);
        }
        Ok(by_key)
    }

    /// Marks each of `keys` as used now, in one transaction (one sync, however many).
    pub fn touch_all(&self, keys: &[RecipeKey]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let tx = self.write_tx()?;
        {
            let mut stmt =
                self.db(tx.prepare_cached("UPDATE recipes SET last_used = ?2 WHERE key = ?1"))?;
            let now = now_secs();
            for key in keys {
                self.db(stmt.execute(params![key.to_hex(), now]))?;
            }
        }
        self.db(tx.commit())
    }

    /// Marks `key` as used now (gc keeps recently used recipes).
    pub fn touch(&self, key: &RecipeKey) -> Result<(), StoreError> {
        self.db(self.conn.execute(
            "UPDATE recipes SET last_used = ?2 WHERE key = ?1",
            params![key.to_hex(), now_secs()],
        ))?;
        Ok(())
    }

    /// The most recently created recipe with this label, other than
    /// `except` (for `explain`: "what changed since the last build?").
    pub fn last_recipe_labelled(
        &self,
        label: &str,
        except: Option<&RecipeKey>,
    ) -> Result<Option<RecipeRecord>, StoreError> {
        let except = except.map(|k| k.to_hex()).unwrap_or_default();
        let key: Option<String> = self.db(self
            .conn
            .query_row(
                "SELECT key FROM recipes WHERE label = ?1 AND key != ?2
                     ORDER BY created_at DESC, rowid DESC LIMIT 1",
                params![label, except],
                |r| r.get(0),
            )
            .optional())?;
        match key {
            None => Ok(None),
            Some(hex) => {
                let key = RecipeKey::from_hex(&hex).map_err(|e| bad_row(&hex, e.to_string()))?;
                self.get(&key)
            }
        }
    }

    /// Every recipe, sorted by label then key.
    pub fn list(&self) -> Result<Vec<RecipeSummary>, StoreError> {
        let rows: Vec<(String, String, String, i64, i64)> = {
            let mut stmt = self.db(self.conn.prepare(
                "SELECT key, kind, label, created_at, last_used FROM recipes
                 ORDER BY label, key",
            ))?;
            self.db(stmt
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .and_then(|rows| rows.collect()))?
        };
        rows.into_iter()
            .map(|(hex, kind, label, created_at, last_used)| {
                let key = RecipeKey::from_hex(&hex).map_err(|e| bad_row(&hex, e.to_string()))?;
                let outputs = self.load_outputs(&hex)?;
                Ok(RecipeSummary {
                    key,
                    kind,
                    label,
                    total_size: outputs.iter().map(|o| o.size).sum(),
                    outputs,
                    created_at,
                    last_used,
                })
            })
            .collect()
    }

    /// Test/maintenance hook: set a recipe's timestamps.
    #[doc(hidden)]
    pub fn set_times(
        &self,
        key: &RecipeKey,
        created_at: i64,
        last_used: i64,
    ) -> Result<(), StoreError> {
        self.db(self.conn.execute(
            "UPDATE recipes SET created_at = ?2, last_used = ?3 WHERE key = ?1",
            params![key.to_hex(), created_at, last_used],
        ))?;
        Ok(())
    }
}
