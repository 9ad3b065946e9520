//! Tar streams with every header field set by hand, wrapped in gzip, xz or zstd.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use flate2::{Compression, GzBuilder};
use tar::{Builder, EntryType, Header};

use super::{
    write_err, ArchiveError, PlanItem, SourceReader, FIXED_MTIME, GZIP_LEVEL, GZIP_OS,
    MODE_EXECUTABLE, MODE_REGULAR, XZ_PRESET, ZSTD_CHECKSUM, ZSTD_LEVEL,
};

/// Room for a name in the header itself; longer names go in a GNU long-name entry before it.
const NAME_FIELD_LEN: usize = 100;

/// `.tar.gz`: no file name, mtime 0 and a fixed OS byte, so nothing about the host is in the header.
pub(super) fn write_tar_gz(
    sink: BufWriter<File>,
    root_dir: &str,
    items: &[PlanItem<'_>],
    out: &Path,
) -> Result<(), ArchiveError> {
    let encoder = GzBuilder::new()
        .mtime(0)
        .operating_system(GZIP_OS)
        .write(sink, Compression::new(GZIP_LEVEL));
    let sink = write_tar(encoder, root_dir, items, out)?
        .finish()
        .map_err(write_err(out))?;
    finish_file(sink, out)
}

/// `.tar.xz`: liblzma's single-threaded easy encoder with a CRC64 check.
pub(super) fn write_tar_xz(
    sink: BufWriter<File>,
    root_dir: &str,
    items: &[PlanItem<'_>],
    out: &Path,
) -> Result<(), ArchiveError> {
    let encoder = liblzma::write::XzEncoder::new(sink, XZ_PRESET);
    let sink = write_tar(encoder, root_dir, items, out)?
        .finish()
        .map_err(write_err(out))?;
    finish_file(sink, out)
}

/// `.tar.zst`: single-threaded (no `multithread` call) so the frames never depend on core count.
pub(super) fn write_tar_zst(
    sink: BufWriter<File>,
    root_dir: &str,
    items: &[PlanItem<'_>],
    out: &Path,
) -> Result<(), ArchiveError> {
    let werr = write_err(out);
    let mut encoder = zstd::stream::write::Encoder::new(sink, ZSTD_LEVEL).map_err(&werr)?;
    encoder.include_checksum(ZSTD_CHECKSUM).map_err(&werr)?;
    let sink = write_tar(encoder, root_dir, items, out)?
        .finish()
        .map_err(werr)?;
    finish_file(sink, out)
}

fn finish_file(sink: BufWriter<File>, out: &Path) -> Result<(), ArchiveError> {
    sink.into_inner()
        .map(drop)
        .map_err(|err| write_err(out)(err.into_error()))
}

fn write_tar<W: Write>(
    sink: W,
    root_dir: &str,
    items: &[PlanItem<'_>],
    out: &Path,
) -> Result<W, ArchiveError> {
    let werr = write_err(out);
    let mut builder = Builder::new(sink);
    append_header(
        &mut builder,
        format!("{root_dir}/"),
        EntryType::Directory,
        MODE_EXECUTABLE,
        0,
    )
    .map_err(&werr)?;
    for item in items {
        match item {
            PlanItem::Dir(dir) => append_header(
                &mut builder,
                format!("{root_dir}/{dir}/"),
                EntryType::Directory,
                MODE_EXECUTABLE,
                0,
            )
            .map_err(&werr)?,
            PlanItem::File(entry) => {
                let mut source = SourceReader::open(&entry.source)?;
                let name = format!("{root_dir}/{}", entry.path);
                let header = header(
                    &mut builder,
                    name,
                    EntryType::Regular,
                    entry.mode.bits(),
                    source.expected,
                )
                .map_err(&werr)?;
                builder
                    .append(&header, &mut source)
                    .map_err(|err| source.classify(err, out))?;
                source.check_complete()?;
            }
        }
    }
    builder.into_inner().map_err(werr)
}

fn append_header<W: Write>(
    builder: &mut Builder<W>,
    name: String,
    kind: EntryType,
    mode: u32,
    size: u64,
) -> std::io::Result<()> {
    let header = header(builder, name, kind, mode, size)?;
    builder.append(&header, std::io::empty())
}

/// A GNU header with every field fixed. Names longer than the header's field are preceded by a
/// GNU long-name entry (itself made of fixed fields), never by a pax header.
fn header<W: Write>(
    builder: &mut Builder<W>,
    name: String,
    kind: EntryType,
    mode: u32,
    size: u64,
) -> std::io::Result<Header> {
    let name = name.into_bytes();
    if name.len() > NAME_FIELD_LEN {
        let mut data = name.clone();
        data.push(0); // GNU tar counts and writes the terminating NUL
        let long = fixed_header(
            b"././@LongLink",
            EntryType::GNULongName,
            MODE_REGULAR,
            data.len() as u64,
        )?;
        builder.append(&long, data.as_slice())?;
    }
    fixed_header(&name[..name.len().min(NAME_FIELD_LEN)], kind, mode, size)
}

fn fixed_header(name: &[u8], kind: EntryType, mode: u32, size: u64) -> std::io::Result<Header> {
    let mut header = Header::new_gnu();
    // Written directly: `set_path` would drop a directory's trailing slash and reject long names.
    let gnu = header
        .as_gnu_mut()
        .expect("a header made by new_gnu is a GNU header");
    gnu.name = [0; NAME_FIELD_LEN];
    gnu.name[..name.len()].copy_from_slice(name);
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_username("")?;
    header.set_groupname("")?;
    header.set_mtime(FIXED_MTIME);
    header.set_size(size);
    header.set_cksum();
    Ok(header)
}
