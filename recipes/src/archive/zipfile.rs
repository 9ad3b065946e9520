//! Flat zips with fixed DOS timestamps, unix modes and no extra fields or comments.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use super::{write_err, ArchiveError, PlanItem, SourceReader, MODE_EXECUTABLE, ZIP_DEFLATE_LEVEL};

/// Files at or above this size need zip64 records; deciding from the size alone keeps the
/// layout a function of the contents.
const ZIP64_THRESHOLD: u64 = u32::MAX as u64;

pub(super) fn write_zip(
    sink: BufWriter<File>,
    items: &[PlanItem<'_>],
    out: &Path,
) -> Result<(), ArchiveError> {
    let zerr = |source| ArchiveError::WriteZip {
        path: out.to_owned(),
        source,
    };
    // Every field that would otherwise come from the host (clock, OS) is pinned here.
    // `SimpleFileOptions` carries no extra fields, so no extended-timestamp field is written.
    let base = SimpleFileOptions::default()
        .last_modified_time(DateTime::DEFAULT) // 1980-01-01 00:00:00 == FIXED_MTIME
        .system(System::Unix)
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(ZIP_DEFLATE_LEVEL));
    let mut zip = ZipWriter::new(sink);
    for item in items {
        match item {
            PlanItem::Dir(dir) => zip
                .add_directory(format!("{dir}/"), base.unix_permissions(MODE_EXECUTABLE))
                .map_err(zerr)?,
            PlanItem::File(entry) => {
                let mut source = SourceReader::open(&entry.source)?;
                let options = base
                    .unix_permissions(entry.mode.bits())
                    .large_file(source.expected >= ZIP64_THRESHOLD);
                zip.start_file(entry.path.as_str(), options).map_err(zerr)?;
                io::copy(&mut source, &mut zip).map_err(|err| source.classify(err, out))?;
                source.check_complete()?;
            }
        }
    }
    let sink = zip.finish().map_err(zerr)?;
    sink.into_inner()
        .map(drop)
        .map_err(|err| write_err(out)(err.into_error()))
}
