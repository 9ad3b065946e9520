//! sha256 checksums in the format `sha256sum -c` reads.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::ArchiveError;

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
