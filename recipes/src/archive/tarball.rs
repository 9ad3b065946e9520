//! Tar streams with every header field set by hand, wrapped in gzip, xz or zstd.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use flate2::{Compression, GzBuilder};
use tar::{Builder, EntryType, Header};

use super::{
    compress_threads, write_err, xz_block_size, ArchiveError, PlanItem, SourceReader,
    COMPRESS_BLOCK_SIZE, FIXED_MTIME, GZIP_LEVEL, GZIP_OS, MODE_EXECUTABLE, MODE_REGULAR,
    XZ_PRESET, ZSTD_CHECKSUM, ZSTD_LEVEL,
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

/// `.tar.xz`: liblzma's multithreaded encoder, CRC64 check, blocks sized to the stream.
pub(super) fn write_tar_xz(
    sink: BufWriter<File>,
    root_dir: &str,
    items: &[PlanItem<'_>],
    out: &Path,
) -> Result<(), ArchiveError> {
    let block = xz_block_size(stream_bound(root_dir, items)?);
    let encoder =
        xz_encoder(sink, compress_threads(), block).map_err(|e| write_err(out)(e.into()))?;
    let sink = write_tar(encoder, root_dir, items, out)?
        .finish()
        .map_err(write_err(out))?;
    finish_file(sink, out)
}

/// An upper bound on the length of the tar stream [`write_tar`] makes of `items`: every file's
/// data in 512-byte records, plus 1 KiB per entry (its header, and a long-name entry for names
/// up to 511 bytes) and the end marker. Only sizes the xz blocks, so it need not be exact;
/// erring high avoids a tiny last block.
fn stream_bound(root_dir: &str, items: &[PlanItem<'_>]) -> Result<u64, ArchiveError> {
    let mut len = 1024 * (items.len() as u64 + 2) + root_dir.len() as u64;
    for item in items {
        if let PlanItem::File(entry) = item {
            let meta =
                std::fs::metadata(&entry.source).map_err(|source| ArchiveError::ReadSource {
                    path: entry.source.clone(),
                    source,
                })?;
            len += meta.len().next_multiple_of(512) + entry.path.len() as u64;
        }
    }
    Ok(len)
}

/// An xz writer whose bytes depend on `block_size` and the preset, not on `threads`. A block is
/// compressed on its own, so a dictionary larger than it is never used: it is capped there
/// (less memory to set up per block; same compression).
pub(crate) fn xz_encoder<W: Write>(
    sink: W,
    threads: u32,
    block_size: u64,
) -> Result<liblzma::write::XzEncoder<W>, liblzma::stream::Error> {
    let mut lzma = liblzma::stream::LzmaOptions::new_preset(XZ_PRESET)?;
    let preset_dict = 8 << 20; // xz -6's dictionary
    lzma.dict_size(block_size.min(preset_dict) as u32);
    let mut filters = liblzma::stream::Filters::new();
    filters.lzma2(&lzma);
    let stream = liblzma::stream::MtStreamBuilder::new()
        .threads(threads)
        .block_size(block_size)
        .filters(filters)
        .check(liblzma::stream::Check::Crc64)
        .encoder()?;
    Ok(liblzma::write::XzEncoder::new_stream(sink, stream))
}

/// `.tar.zst`: zstd's multithreaded mode with a fixed job size.
pub(super) fn write_tar_zst(
    sink: BufWriter<File>,
    root_dir: &str,
    items: &[PlanItem<'_>],
    out: &Path,
) -> Result<(), ArchiveError> {
    let werr = write_err(out);
    let encoder = zstd_encoder(sink, compress_threads(), COMPRESS_BLOCK_SIZE).map_err(&werr)?;
    let sink = write_tar(encoder, root_dir, items, out)?
        .finish()
        .map_err(werr)?;
    finish_file(sink, out)
}

/// A zstd writer whose frames depend on `job_size` and the level, not on `threads`: always in
/// zstd's multithreaded mode (at least one worker; its single-threaded mode lays frames out
/// differently), with the job size and overlap pinned.
pub(crate) fn zstd_encoder<W: Write>(
    sink: W,
    threads: u32,
    job_size: u64,
) -> std::io::Result<zstd::stream::write::Encoder<'static, W>> {
    use zstd::zstd_safe::CParameter;
    let mut encoder = zstd::stream::write::Encoder::new(sink, ZSTD_LEVEL)?;
    encoder.include_checksum(ZSTD_CHECKSUM)?;
    encoder.multithread(threads.max(1))?;
    encoder.set_parameter(CParameter::JobSize(job_size as u32))?;
    encoder.set_parameter(CParameter::OverlapSizeLog(ZSTD_OVERLAP_LOG))?;
    Ok(encoder)
}

/// zstd's overlap between jobs: 9 means a full window (its default at level 19, pinned here).
const ZSTD_OVERLAP_LOG: u32 = 9;

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

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    /// Compressible, not trivially: words drawn from a small vocabulary by a fixed LCG.
    fn sample(len: usize) -> Vec<u8> {
        let words: Vec<Vec<u8>> = (0..512u32)
            .map(|i| format!("w{}x{} ", i * 7919 % 1000, i % 13).into_bytes())
            .collect();
        let mut state: u64 = 7;
        let mut out = Vec::with_capacity(len + 16);
        while out.len() < len {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            out.extend_from_slice(&words[(state >> 33) as usize % words.len()]);
        }
        out.truncate(len);
        out
    }

    /// Blocks are a quarter of the stream, in 64 KiB steps, between 128 KiB and 8 MiB.
    #[test]
    fn xz_blocks_follow_the_stream_length() {
        use crate::archive::xz_block_size;
        assert_eq!(xz_block_size(0), 128 << 10);
        assert_eq!(xz_block_size(430_000), 128 << 10);
        assert_eq!(xz_block_size(600_000), 192 << 10);
        assert_eq!(xz_block_size(2 << 20), 512 << 10);
        assert_eq!(xz_block_size(25_600_000), 6_422_528);
        assert_eq!(xz_block_size(1 << 30), 8 << 20);
    }

    /// The bound sizing the blocks is never below the stream written, names long and short.
    #[test]
    fn stream_bound_is_an_upper_bound() {
        use crate::archive::{ArchiveEntry, EntryMode};
        let dir = tempfile::tempdir().unwrap();
        let mut entries = Vec::new();
        for (i, len) in [0usize, 1, 511, 512, 513, 70_000].into_iter().enumerate() {
            let source = dir.path().join(i.to_string());
            std::fs::write(&source, sample(len)).unwrap();
            let path = if i % 2 == 0 {
                format!("f{i}")
            } else {
                format!("deep/{}/f{i}", "d".repeat(150))
            };
            entries.push(ArchiveEntry {
                path,
                source,
                mode: EntryMode::Regular,
            });
        }
        let items = crate::archive::plan(&entries).unwrap();
        let root = "app-1.0.0";
        let written = super::write_tar(Vec::new(), root, &items, dir.path()).unwrap();
        let bound = super::stream_bound(root, &items).unwrap();
        assert!(bound >= written.len() as u64, "{bound} < {}", written.len());
        assert!(
            bound < written.len() as u64 + 16 * 1024,
            "{bound} is far too high"
        );
    }

    /// Several blocks' worth of input: 1 thread and 4 threads give the same bytes, which
    /// decompress to the input.
    #[test]
    fn xz_and_zstd_bytes_do_not_depend_on_the_thread_count() {
        let data = sample(2 << 20);
        let block = 512 << 10;
        let xz = |threads| {
            let mut e = super::xz_encoder(Vec::new(), threads, block).unwrap();
            e.write_all(&data).unwrap();
            e.finish().unwrap()
        };
        let zst = |threads| {
            let mut e = super::zstd_encoder(Vec::new(), threads, block).unwrap();
            e.write_all(&data).unwrap();
            e.finish().unwrap()
        };
        let (xz1, xz4) = (xz(1), xz(4));
        assert!(xz1 == xz4, "xz bytes differ between 1 and 4 threads");
        let (zst1, zst4) = (zst(1), zst(4));
        assert!(zst1 == zst4, "zstd bytes differ between 1 and 4 threads");
        let mut back = Vec::new();
        liblzma::read::XzDecoder::new(&xz1[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back == data);
        assert!(zstd::decode_all(&zst1[..]).unwrap() == data);
        // And the input really was split: more than one xz block.
        assert!(xz1.len() < data.len() / 2);
        assert_ne!(xz(1), {
            let mut e = super::xz_encoder(Vec::new(), 1, 1 << 20).unwrap();
            e.write_all(&data).unwrap();
            e.finish().unwrap()
        });
    }
}
