//! Whole files read in as few system calls as the kernel allows: a plan of 200 Apps reads
//! about 800 small files, and std's `read_to_end` asks for the size again (two more calls) and
//! reads once more to see the end.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// The bytes of `file`, whose metadata says it holds `len`: one `read` when that is still
/// true, since a regular file's read comes back short only at its end.
pub fn sized(file: &mut File, len: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len as usize + 1];
    let mut filled = 0;
    loop {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                if filled == buf.len() {
                    // It grew since its metadata was read: read on.
                    buf.resize(buf.len() * 2, 0);
                } else if filled as u64 == len {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

/// `std::fs::read`, by [`sized`].
pub fn bytes(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    sized(&mut file, len)
}

/// `std::fs::read_to_string`, by [`sized`].
pub fn string(path: &Path) -> io::Result<String> {
    String::from_utf8(bytes(path)?).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_whole_files_whatever_the_size_said() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        for content in [&b""[..], b"x", &[7u8; 10_000][..]] {
            std::fs::write(&path, content).unwrap();
            assert_eq!(bytes(&path).unwrap(), content);
            // A size that is wrong (the file changed after its metadata was read) still reads
            // every byte there is.
            for wrong in [0, 1, 5, 20_000] {
                let mut f = File::open(&path).unwrap();
                assert_eq!(sized(&mut f, wrong).unwrap(), content, "said {wrong}");
            }
        }
        std::fs::write(&path, b"\xff\xfe").unwrap();
        assert_eq!(
            string(&path).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
}
