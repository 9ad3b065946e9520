//! Checksums in the format `sha256sum -c` (and `sha512sum`, `b2sum`, ...) reads, in every
//! style cargo-dist's `checksum` key offers.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::ArchiveError;
use crate::vocab::Vocabulary;

/// sha256 of a file, lowercase hex (streaming).
pub fn sha256_file(path: &Path) -> Result<String, ArchiveError> {
    let hash_err = |source| ArchiveError::Hash {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(hash_err)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(hash_err(err)),
        };
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// One line in `sha256sum -c` format: "<hex>  <file name>\n" (two spaces = text mode, as
/// sha256sum prints). A name with a backslash, newline or carriage return is escaped the way
/// GNU sha256sum does (line prefixed with '\'), so the line still checks.
pub fn checksum_line(sha256_hex: &str, file_name: &str) -> String {
    if file_name.contains(['\\', '\n', '\r']) {
        let escaped = file_name
            .replace('\\', "\\\\")
            .replace('\n', "\\n")
            .replace('\r', "\\r");
        format!("\\{sha256_hex}  {escaped}\n")
    } else {
        format!("{sha256_hex}  {file_name}\n")
    }
}

/// cargo-dist's `checksum` styles: the algorithm, the checksum files' extension
/// (`{artifact}.{name}`) and the unified file (`{name}.sum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum ChecksumStyle {
    #[default]
    Sha256,
    Sha512,
    Sha3_256,
    Sha3_512,
    Blake2s,
    Blake2b,
}

/// The `checksum` names (also the files' extensions).
impl Vocabulary for ChecksumStyle {
    const ALL: &'static [ChecksumStyle] = &[
        ChecksumStyle::Sha256,
        ChecksumStyle::Sha512,
        ChecksumStyle::Sha3_256,
        ChecksumStyle::Sha3_512,
        ChecksumStyle::Blake2s,
        ChecksumStyle::Blake2b,
    ];

    fn spellings(self) -> &'static [&'static str] {
        match self {
            ChecksumStyle::Sha256 => &["sha256"],
            ChecksumStyle::Sha512 => &["sha512"],
            ChecksumStyle::Sha3_256 => &["sha3-256"],
            ChecksumStyle::Sha3_512 => &["sha3-512"],
            ChecksumStyle::Blake2s => &["blake2s"],
            ChecksumStyle::Blake2b => &["blake2b"],
        }
    }
}

impl ChecksumStyle {
    /// The unified checksum file of an announcement, e.g. `sha256.sum`.
    pub fn unified_name(self) -> String {
        format!("{}.sum", self.name())
    }

    /// Lowercase hex digest of `bytes`.
    pub fn digest_hex(self, bytes: &[u8]) -> String {
        fn hex_of<D: Digest>(bytes: &[u8]) -> String {
            hex::encode(D::digest(bytes))
        }
        match self {
            ChecksumStyle::Sha256 => hex_of::<Sha256>(bytes),
            ChecksumStyle::Sha512 => hex_of::<sha2::Sha512>(bytes),
            ChecksumStyle::Sha3_256 => hex_of::<sha3::Sha3_256>(bytes),
            ChecksumStyle::Sha3_512 => hex_of::<sha3::Sha3_512>(bytes),
            ChecksumStyle::Blake2s => hex_of::<blake2::Blake2s256>(bytes),
            ChecksumStyle::Blake2b => hex_of::<blake2::Blake2b512>(bytes),
        }
    }
}

#[cfg(test)]
mod style_tests {
    use super::ChecksumStyle;
    use crate::vocab::Vocabulary;

    /// Digests of "abc" from the algorithms' published test vectors (prefixes).
    #[test]
    fn every_style_hashes_with_its_algorithm() {
        let cases = [
            (ChecksumStyle::Sha256, "ba7816bf8f01cfea"),
            (ChecksumStyle::Sha512, "ddaf35a193617aba"),
            (ChecksumStyle::Sha3_256, "3a985da74fe225b2"),
            (ChecksumStyle::Sha3_512, "b751850b1a57168a"),
            (ChecksumStyle::Blake2s, "508c5e8c327c14e2"),
            (ChecksumStyle::Blake2b, "ba80a53f981c4d0d"),
        ];
        for (style, prefix) in cases {
            let hex = style.digest_hex(b"abc");
            assert!(hex.starts_with(prefix), "{}: {hex}", style.name());
        }
        crate::vocab::check::<ChecksumStyle>().unwrap();
        assert_eq!(ChecksumStyle::Sha3_512.unified_name(), "sha3-512.sum");
    }
}
