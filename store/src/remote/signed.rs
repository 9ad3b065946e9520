//! Signed recipe records: what `ac/<key>` holds on a remote.
//!
//! An object cannot lie (its name is its BLAKE3), but a record can: a poisoned `key -> digest`
//! entry would ship somebody else's bytes under this recipe's name. So every record written to a
//! remote is signed with ed25519, and a reader accepts one only when a key it trusts signed it
//! *for the key it asked about* (a validly signed record copied under another key is refused).

use std::collections::BTreeSet;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::digest::RecipeKey;
use crate::records::RecipeRecord;

const FORMAT: &str = "cargo-dist-remote-record";
const VERSION: u32 = 1;
/// Domain separation: a signature over a record can never be mistaken for one over anything
/// else this key signs.
const DOMAIN: &[u8] = b"cargo-dist remote record v1\n";

/// The envelope, as JSON. `record` is the record's JSON text, kept as a string so the signed
/// bytes are exactly the bytes read back.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    format: String,
    version: u32,
    key: String,
    record: String,
    signer: String,
    signature: String,
}

fn message(key_hex: &str, record_json: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(DOMAIN.len() + key_hex.len() + 1 + record_json.len());
    m.extend_from_slice(DOMAIN);
    m.extend_from_slice(key_hex.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(record_json.as_bytes());
    m
}

/// Why a record read from a remote was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Untrusted {
    /// Not an envelope of this format (garbage, truncated, another tool's entry).
    Malformed(String),
    /// Signed by a key that is not trusted here (hex public key).
    UnknownSigner(String),
    /// The signature does not verify: the record was altered after signing.
    BadSignature(String),
    /// A valid record of another recipe, stored under this key.
    WrongKey(String),
}

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Untrusted::Malformed(why) => write!(f, "not a signed record ({why})"),
            Untrusted::UnknownSigner(k) => {
                write!(f, "signed by {}, which is not a trusted key", short(k))
            }
            Untrusted::BadSignature(k) => write!(
                f,
                "its signature (claimed signer {}) does not verify: it was altered",
                short(k)
            ),
            Untrusted::WrongKey(k) => write!(
                f,
                "it is the record of another recipe ({}), stored under this key",
                short(k)
            ),
        }
    }
}

fn short(hex: &str) -> &str {
    &hex[..hex.len().min(16)]
}

/// The signed form of `rec`.
pub(crate) fn seal(rec: &RecipeRecord, key: &SigningKey) -> Vec<u8> {
    let key_hex = rec.key.to_hex();
    let record = serde_json::to_string(rec).expect("a record serialises");
    let signature = key.sign(&message(&key_hex, &record));
    let env = Envelope {
        format: FORMAT.into(),
        version: VERSION,
        key: key_hex,
        record,
        signer: hex::encode(key.verifying_key().as_bytes()),
        signature: hex::encode(signature.to_bytes()),
    };
    serde_json::to_vec(&env).expect("an envelope serialises")
}

/// The record in `bytes`, if a trusted key signed it for `want`.
pub(crate) fn open(
    bytes: &[u8],
    want: &RecipeKey,
    trusted: &BTreeSet<[u8; 32]>,
) -> Result<RecipeRecord, Untrusted> {
    let env: Envelope = serde_json::from_slice(bytes)
        .map_err(|e| Untrusted::Malformed(format!("{} bytes: {e}", bytes.len())))?;
    if env.format != FORMAT || env.version != VERSION {
        return Err(Untrusted::Malformed(format!(
            "format {:?} version {}",
            env.format, env.version
        )));
    }
    let signer = parse_public_key(&env.signer).map_err(Untrusted::Malformed)?;
    if !trusted.contains(signer.as_bytes()) {
        return Err(Untrusted::UnknownSigner(env.signer));
    }
    let sig: [u8; 64] = hex::decode(&env.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Untrusted::BadSignature(env.signer.clone()))?;
    signer
        .verify(
            &message(&env.key, &env.record),
            &Signature::from_bytes(&sig),
        )
        .map_err(|_| Untrusted::BadSignature(env.signer.clone()))?;
    // Signed, but for which recipe: both the envelope and the record must name the one asked.
    if env.key != want.to_hex() {
        return Err(Untrusted::WrongKey(env.key));
    }
    let rec: RecipeRecord = serde_json::from_str(&env.record)
        .map_err(|e| Untrusted::Malformed(format!("record: {e}")))?;
    if rec.key != *want {
        return Err(Untrusted::WrongKey(rec.key.to_hex()));
    }
    if rec.outputs.is_empty() {
        return Err(Untrusted::Malformed("record has no outputs".into()));
    }
    let names: BTreeSet<&str> = rec.outputs.iter().map(|o| o.name.as_str()).collect();
    if names.len() != rec.outputs.len() {
        return Err(Untrusted::Malformed("record repeats an output name".into()));
    }
    Ok(rec)
}

/// The record an envelope carries, unchecked: gc keeps what any signer's record names (another
/// reader may trust that signer).
pub(crate) fn peek(bytes: &[u8]) -> Option<RecipeRecord> {
    let env: Envelope = serde_json::from_slice(bytes).ok()?;
    if env.format != FORMAT {
        return None;
    }
    serde_json::from_str(&env.record).ok()
}

/// A signing key from its 32-byte secret seed in hex (64 characters; surrounding whitespace
/// is ignored, so a key file may end with a newline).
pub fn parse_signing_key(text: &str) -> Result<SigningKey, String> {
    let seed = hex32(text.trim())
        .ok_or("a signing key is 64 hex characters (the 32-byte ed25519 seed)")?;
    Ok(SigningKey::from_bytes(&seed))
}

/// A public key in hex (64 characters).
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    let bytes = hex32(text.trim())
        .ok_or_else(|| format!("{text:?} is not a public key (64 hex characters)"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("{text:?} is not an ed25519 key: {e}"))
}

fn hex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    hex::decode(text).ok()?.try_into().ok()
}

/// A fresh key pair from the OS's random source: (secret seed hex, public key hex).
pub fn generate_key_pair() -> Result<(String, String), String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("no randomness from the OS: {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    Ok((
        hex::encode(seed),
        hex::encode(key.verifying_key().as_bytes()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::ContentDigest;
    use crate::records::OutputRecord;

    fn record(key: RecipeKey) -> RecipeRecord {
        RecipeRecord {
            key,
            kind: "archive".into(),
            label: "app.tar.xz".into(),
            inputs: Default::default(),
            outputs: vec![OutputRecord {
                name: "app.tar.xz".into(),
                digest: ContentDigest::of_bytes(b"bytes"),
                size: 5,
                sha256: "00".repeat(32),
            }],
            isolation: None,
        }
    }

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn trust(keys: &[&SigningKey]) -> BTreeSet<[u8; 32]> {
        keys.iter().map(|k| k.verifying_key().to_bytes()).collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 1024, ..Default::default() })]

        /// A sealed record with bytes overwritten, cut or extended at random, or bytes from
        /// nowhere: opening never panics, and whatever opens is exactly the record that was
        /// signed (a remote cannot forge another one).
        #[test]
        fn only_the_signed_record_ever_opens(
            edits in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>()), 0..4),
            cut in proptest::option::of(proptest::prelude::any::<proptest::sample::Index>()),
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            from_nowhere in proptest::prelude::any::<bool>(),
        ) {
            let k = RecipeKey::from_bytes([1; 32]);
            let rec = record(k);
            let mut bytes = if from_nowhere { noise.clone() } else { seal(&rec, &key(7)) };
            if !bytes.is_empty() {
                for (at, b) in &edits {
                    let i = at.index(bytes.len());
                    bytes[i] = *b;
                }
            }
            if let Some(at) = cut.filter(|_| !bytes.is_empty()) {
                bytes.truncate(at.index(bytes.len()));
            }
            if !from_nowhere {
                bytes.extend_from_slice(&noise);
            }
            let _ = peek(&bytes);
            if let Ok(opened) = open(&bytes, &k, &trust(&[&key(7)])) {
                proptest::prop_assert_eq!(opened, rec);
            }
        }
    }

    #[test]
    fn a_trusted_record_opens_and_nothing_else_does() {
        let k = RecipeKey::from_bytes([1; 32]);
        let rec = record(k);
        let sealed = seal(&rec, &key(7));
        assert_eq!(open(&sealed, &k, &trust(&[&key(7)])), Ok(rec.clone()));
        assert!(matches!(
            open(&sealed, &k, &trust(&[&key(8)])),
            Err(Untrusted::UnknownSigner(_))
        ));
        // Stored under another key: refused even though the signature is good.
        let other = RecipeKey::from_bytes([2; 32]);
        assert!(matches!(
            open(&sealed, &other, &trust(&[&key(7)])),
            Err(Untrusted::WrongKey(_))
        ));
        // One altered byte of the record: the signature no longer verifies.
        let text = String::from_utf8(sealed).unwrap();
        let altered = text.replacen("app.tar.xz", "app.tar.gz", 1);
        assert!(matches!(
            open(altered.as_bytes(), &k, &trust(&[&key(7)])),
            Err(Untrusted::BadSignature(_))
        ));
        assert!(matches!(
            open(b"{\"truncated", &k, &trust(&[&key(7)])),
            Err(Untrusted::Malformed(_))
        ));
    }

    #[test]
    fn keys_round_trip_through_hex() {
        let (secret, public) = generate_key_pair().unwrap();
        let sk = parse_signing_key(&format!("{secret}\n")).unwrap();
        assert_eq!(hex::encode(sk.verifying_key().as_bytes()), public);
        assert!(parse_public_key(&public).is_ok());
        assert!(parse_signing_key("abc").is_err());
        assert!(parse_public_key(&"zz".repeat(32)).is_err());
    }
}
