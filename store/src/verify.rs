//! `verify`: re-hash every object and check every index row against them.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use crate::digest::{is_digest_hex, ContentDigest};
use crate::error::{IoContext, StoreError};
use crate::Store;

/// One thing wrong with a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// An object whose bytes don't hash to its name.
    CorruptObject {
        path: PathBuf,
        actual: ContentDigest,
    },
    /// An object that could not be read.
    UnreadableObject { path: PathBuf, error: String },
    /// Something in objects/ that is not `ab/ab<62 hex>` regular file.
    StrayFile { path: PathBuf },
    /// An output row whose object file is absent.
    MissingObject {
        recipe: String,
        output: String,
        path: PathBuf,
    },
    /// An output row whose object has another size than recorded.
    WrongSize {
        recipe: String,
        output: String,
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    /// A row that does not parse (bad digest, negative size).
    BadRow { recipe: String, reason: String },
    /// SQLite's own consistency check failed.
    Index { message: String },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::CorruptObject { path, actual } => write!(
                f,
                "object {} is corrupt: its bytes hash to {actual}",
                path.display()
            ),
            Problem::UnreadableObject { path, error } => {
                write!(f, "object {} cannot be read: {error}", path.display())
            }
            Problem::StrayFile { path } => {
                write!(f, "{} is not a store object", path.display())
            }
            Problem::MissingObject {
                recipe,
                output,
                path,
            } => write!(
                f,
                "recipe {recipe} output `{output}`: object {} is missing",
                path.display()
            ),
            Problem::WrongSize {
                recipe,
                output,
                path,
                expected,
                actual,
            } => write!(
                f,
                "recipe {recipe} output `{output}`: object {} has {actual} bytes, expected {expected}",
                path.display()
            ),
            Problem::BadRow { recipe, reason } => write!(f, "recipe {recipe}: {reason}"),
            Problem::Index { message } => write!(f, "index check failed: {message}"),
        }
    }
}

/// What `verify` looked at and what it found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub objects_checked: u64,
    pub bytes_hashed: u64,
    pub outputs_checked: u64,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

fn sorted_entries(dir: &Path) -> Result<Vec<fs::DirEntry>, StoreError> {
    let mut v = fs::read_dir(dir)
        .and_then(|rd| rd.collect::<Result<Vec<_>, _>>())
        .at(dir)?;
    v.sort_by_key(|e| e.file_name());
    Ok(v)
}

impl Store {
    /// Re-hashes every object (its name must be the BLAKE3 of its bytes),
    /// checks that every output row points at an existing object of the
    /// recorded size, and that objects/ holds nothing else. `tmp/` is ignored.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let mut report = VerifyReport::default();
        self.verify_objects(&mut report)?;
        self.verify_rows(&mut report)?;
        Ok(report)
    }

    fn verify_objects(&self, report: &mut VerifyReport) -> Result<(), StoreError> {
        for fan in sorted_entries(&self.layout.objects)? {
            let fan_path = fan.path();
            let fan_name = fan.file_name().to_string_lossy().into_owned();
            let is_dir = fan.file_type().at(&fan_path)?.is_dir();
            if !is_dir
                || fan_name.len() != 2
                || !fan_name
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            {
                report.problems.push(Problem::StrayFile { path: fan_path });
                continue;
            }
            for obj in sorted_entries(&fan_path)? {
                let path = obj.path();
                let name = obj.file_name().to_string_lossy().into_owned();
                let is_file = obj.file_type().at(&path)?.is_file();
                if !is_file || !is_digest_hex(&name) || !name.starts_with(&fan_name) {
                    report.problems.push(Problem::StrayFile { path });
                    continue;
                }
                match ContentDigest::of_file(&path) {
                    Ok((actual, size)) => {
                        report.objects_checked += 1;
                        report.bytes_hashed += size;
                        if actual.to_hex() != name {
                            report
                                .problems
                                .push(Problem::CorruptObject { path, actual });
                        }
                    }
                    Err(e) => report.problems.push(Problem::UnreadableObject {
                        path,
                        error: e.to_string(),
                    }),
                }
            }
        }
        Ok(())
    }

    fn verify_rows(&self, report: &mut VerifyReport) -> Result<(), StoreError> {
        let check: Vec<String> = {
            let mut stmt = self.db(self.conn.prepare("PRAGMA quick_check"))?;
            self.db(stmt
                .query_map([], |r| r.get(0))
                .and_then(|rows| rows.collect()))?
        };
        if check != ["ok"] {
            report.problems.push(Problem::Index {
                message: check.join("; "),
            });
        }
        let rows: Vec<(String, String, String, i64)> = {
            let mut stmt = self.db(self.conn.prepare(
                "SELECT recipe_key, name, digest, size FROM outputs ORDER BY recipe_key, pos",
            ))?;
            self.db(stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .and_then(|rows| rows.collect()))?
        };
        for (recipe, output, digest, size) in rows {
            report.outputs_checked += 1;
            let (Ok(digest), Ok(expected)) =
                (ContentDigest::from_hex(&digest), u64::try_from(size))
            else {
                report.problems.push(Problem::BadRow {
                    reason: format!("output `{output}` has digest `{digest}` and size {size}"),
                    recipe,
                });
                continue;
            };
            let path = self.layout.object_path(&digest);
            match fs::metadata(&path) {
                Ok(m) if m.len() == expected => {}
                Ok(m) => report.problems.push(Problem::WrongSize {
                    recipe,
                    output,
                    path,
                    expected,
                    actual: m.len(),
                }),
                Err(_) => report.problems.push(Problem::MissingObject {
                    recipe,
                    output,
                    path,
                }),
            }
        }
        Ok(())
    }
}
