//! BLAKE3 digests typed by what they name, so a recipe key can never be
//! passed where a content digest is expected (and vice versa).

use std::cmp::Ordering;
use std::fmt;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{self, Read};
use std::marker::PhantomData;
use std::path::Path;
use std::str::FromStr;

/// Marker naming what a [`Digest`] identifies. `NAME` is mixed into canonical
/// hashes so digests of different kinds never encode the same way.
pub trait DigestKind {
    const NAME: &'static str;
}

/// Marker: the key of a recipe (a hash of its canonical inputs).
pub enum RecipeKind {}
impl DigestKind for RecipeKind {
    const NAME: &'static str = "recipe";
}

/// Marker: the BLAKE3 of an object's bytes.
pub enum ContentKind {}
impl DigestKind for ContentKind {
    const NAME: &'static str = "content";
}

pub type RecipeKey = Digest<RecipeKind>;
pub type ContentDigest = Digest<ContentKind>;

/// 32 BLAKE3 bytes tagged with their kind.
pub struct Digest<K: DigestKind> {
    bytes: [u8; 32],
    // fn() -> K keeps Digest Send/Sync/Copy whatever K is.
    _k: PhantomData<fn() -> K>,
}

/// A string that is not 64 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestParseError {
    #[error("digest `{input}` has {len} characters; expected 64 lowercase hex characters")]
    Length { input: String, len: usize },
    #[error("digest `{input}` is not lowercase hex; expected 64 characters from 0-9a-f")]
    NotHex { input: String },
}

impl<K: DigestKind> Digest<K> {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Digest {
            bytes,
            _k: PhantomData,
        }
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        String::from_utf8(self.hex_digits().to_vec()).expect("hex digits are ASCII")
    }

    /// [`Self::to_hex`]'s characters, without allocating (a plan lists thousands of digests).
    pub fn hex_digits(&self) -> [u8; 64] {
        let mut buf = [0u8; 64];
        hex::encode_to_slice(self.bytes, &mut buf).expect("32 bytes are 64 hex digits");
        buf
    }

    /// The first 12 hex characters, for humans.
    pub fn short(&self) -> String {
        let mut s = self.to_hex();
        s.truncate(12);
        s
    }

    /// Parses exactly 64 lowercase hex characters; uppercase is refused so
    /// every digest has one spelling (it is used as a file name).
    pub fn from_hex(s: &str) -> Result<Self, DigestParseError> {
        if s.len() != 64 {
            return Err(DigestParseError::Length {
                input: s.to_owned(),
                len: s.chars().count(),
            });
        }
        if !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(DigestParseError::NotHex {
                input: s.to_owned(),
            });
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| DigestParseError::NotHex {
            input: s.to_owned(),
        })?;
        Ok(Self::from_bytes(bytes))
    }
}

/// True if `s` is a well-formed digest spelling (used to vet file names).
pub(crate) fn is_digest_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl ContentDigest {
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self::from_bytes(*blake3::hash(bytes).as_bytes())
    }

    /// Hashes a file, returning its digest and the number of bytes hashed.
    /// Large files are memory-mapped (BLAKE3's SIMD path runs at GB/s that
    /// way); small ones are read, where mapping costs more than it saves.
    pub fn of_file(path: &Path) -> io::Result<(ContentDigest, u64)> {
        let mut hasher = blake3::Hasher::new();
        let len = std::fs::metadata(path)?.len();
        if len >= 256 * 1024 {
            hasher.update_mmap(path)?;
        } else {
            let mut f = File::open(path)?;
            let mut buf = [0u8; 64 * 1024];
            loop {
                let n = match f.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                hasher.update(&buf[..n]);
            }
        }
        Ok((
            ContentDigest::from_bytes(*hasher.finalize().as_bytes()),
            hasher.count(),
        ))
    }
}

// Manual impls: derives would demand K: Clone/Eq/..., and K is uninhabited.
impl<K: DigestKind> Clone for Digest<K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K: DigestKind> Copy for Digest<K> {}
impl<K: DigestKind> PartialEq for Digest<K> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}
impl<K: DigestKind> Eq for Digest<K> {}
impl<K: DigestKind> PartialOrd for Digest<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K: DigestKind> Ord for Digest<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.bytes.cmp(&other.bytes)
    }
}
impl<K: DigestKind> Hash for Digest<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.bytes.hash(state)
    }
}
impl<K: DigestKind> fmt::Debug for Digest<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", K::NAME, self.to_hex())
    }
}
impl<K: DigestKind> fmt::Display for Digest<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl<K: DigestKind> FromStr for Digest<K> {
    type Err = DigestParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}
impl<K: DigestKind> serde::Serialize for Digest<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}
impl<'de, K: DigestKind> serde::Deserialize<'de> for Digest<K> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let d = ContentDigest::of_bytes(b"hello");
        let hex = d.to_hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(ContentDigest::from_hex(&hex).unwrap(), d);
        assert_eq!(hex.parse::<ContentDigest>().unwrap(), d);
        assert_eq!(d.to_string(), hex);
        assert_eq!(d.short(), &hex[..12]);
        assert_eq!(
            hex,
            "ea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f"
        );
        let k = RecipeKey::from_bytes(*d.as_bytes());
        assert_eq!(k.to_hex(), hex);
        assert_eq!(format!("{k:?}"), format!("recipe:{hex}"));
    }

    #[test]
    fn parse_rejects_bad_input() {
        assert!(matches!(
            ContentDigest::from_hex("abc"),
            Err(DigestParseError::Length { .. })
        ));
        let upper = "EA8F163DB38682925E4491C5E58D4BB3506EF8C14EB78A86E908C5624A67200F";
        assert!(matches!(
            ContentDigest::from_hex(upper),
            Err(DigestParseError::NotHex { .. })
        ));
        let bad = format!("{}g", "0".repeat(63));
        assert!(ContentDigest::from_hex(&bad).is_err());
    }

    #[test]
    fn serde_as_hex_string() {
        let d = ContentDigest::of_bytes(b"x");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{}\"", d.to_hex()));
        let back: ContentDigest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
        assert!(serde_json::from_str::<ContentDigest>("\"zz\"").is_err());
    }

    #[test]
    fn of_file_matches_of_bytes_small_and_large() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0usize, 1, 1000, 300 * 1024, 1024 * 1024 + 7] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let p = dir.path().join(format!("f{len}"));
            std::fs::write(&p, &data).unwrap();
            let (d, n) = ContentDigest::of_file(&p).unwrap();
            assert_eq!(n, len as u64);
            assert_eq!(d, ContentDigest::of_bytes(&data));
        }
    }
}
