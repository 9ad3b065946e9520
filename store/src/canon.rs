//! Canonical, versioned, domain-separated encoding for hashing recipe inputs.
//!
//! Encoding (all integers u64 little-endian unless said otherwise):
//! - header: the magic `cargo-dist-canon\0`, then len(domain) + domain, then
//!   the version as u32 LE;
//! - each field: one type-tag byte, len(name) + name, len(value) + value,
//!   where the value's own layout depends on the tag (see the `TAG_*` consts).
//!
//! Because every piece is length-prefixed and tagged, two different call
//! sequences can never produce the same byte stream. Changing any of this
//! changes every recipe key: bump the caller's `version` instead, and the
//! golden tests below will fail to remind you.

use std::collections::BTreeMap;

use crate::digest::{Digest, DigestKind};

const MAGIC: &[u8] = b"cargo-dist-canon\0";

const TAG_STR: u8 = 1;
const TAG_BYTES: u8 = 2;
const TAG_U64: u8 = 3;
const TAG_BOOL: u8 = 4;
const TAG_DIGEST: u8 = 5;
const TAG_STR_LIST: u8 = 6;
const TAG_STR_MAP: u8 = 7;

/// Builds a digest from named, typed fields. Field order matters (it is part
/// of the encoding), so callers should add fields in a fixed order.
#[derive(Clone)]
pub struct CanonHasher {
    hasher: blake3::Hasher,
}

/// A field's tag, length-prefixed name and value length: what precedes its value.
fn field_head(tag: u8, name: &str, value_len: usize) -> Vec<u8> {
    let mut head = Vec::with_capacity(17 + name.len());
    head.push(tag);
    put_len_prefixed(&mut head, name.as_bytes());
    head.extend_from_slice(&(value_len as u64).to_le_bytes());
    head
}

fn put_len_prefixed(out: &mut Vec<u8>, v: &[u8]) {
    out.extend_from_slice(&(v.len() as u64).to_le_bytes());
    out.extend_from_slice(v);
}

impl CanonHasher {
    pub fn new(domain: &str, version: u32) -> Self {
        // One update: each call has a fixed cost, and a plan makes thousands of keys.
        let mut head = Vec::with_capacity(MAGIC.len() + 12 + domain.len());
        head.extend_from_slice(MAGIC);
        put_len_prefixed(&mut head, domain.as_bytes());
        head.extend_from_slice(&version.to_le_bytes());
        let mut hasher = blake3::Hasher::new();
        hasher.update(&head);
        CanonHasher { hasher }
    }

    fn field(&mut self, tag: u8, name: &str, value: &[u8]) -> &mut Self {
        self.hasher.update(&field_head(tag, name, value.len()));
        self.hasher.update(value);
        self
    }

    pub fn str(&mut self, field: &str, v: &str) -> &mut Self {
        self.field(TAG_STR, field, v.as_bytes())
    }

    pub fn bytes(&mut self, field: &str, v: &[u8]) -> &mut Self {
        self.field(TAG_BYTES, field, v)
    }

    pub fn u64(&mut self, field: &str, v: u64) -> &mut Self {
        self.field(TAG_U64, field, &v.to_le_bytes())
    }

    pub fn bool(&mut self, field: &str, v: bool) -> &mut Self {
        self.field(TAG_BOOL, field, &[v as u8])
    }

    /// Value: len(kind name) + kind name + the 32 digest bytes, so a recipe
    /// key and a content digest with equal bytes still hash differently.
    pub fn digest<K: DigestKind>(&mut self, field: &str, v: &Digest<K>) -> &mut Self {
        let mut value = Vec::with_capacity(8 + K::NAME.len() + 32);
        put_len_prefixed(&mut value, K::NAME.as_bytes());
        value.extend_from_slice(v.as_bytes());
        self.field(TAG_DIGEST, field, &value)
    }

    /// Value: count, then each item length-prefixed, in the given order.
    pub fn str_list(&mut self, field: &str, v: &[String]) -> &mut Self {
        let mut value = Vec::new();
        value.extend_from_slice(&(v.len() as u64).to_le_bytes());
        for s in v {
            put_len_prefixed(&mut value, s.as_bytes());
        }
        self.field(TAG_STR_LIST, field, &value)
    }

    /// Value: count, then key and value of each entry length-prefixed, in
    /// key order (a BTreeMap iterates sorted).
    pub fn str_map(&mut self, field: &str, v: &BTreeMap<String, String>) -> &mut Self {
        let entries: Vec<([&[u8]; 2], &[u8])> = v
            .iter()
            .map(|(k, val)| ([k.as_bytes(), &[][..]], val.as_bytes()))
            .collect();
        self.str_map_sorted(field, &entries)
    }

    /// [`Self::str_map`] of entries already sorted by name, with no two names equal; each name
    /// is the concatenation of its two parts (a prefix and the rest), so callers need not
    /// build it.
    pub fn str_map_sorted(&mut self, field: &str, entries: &[([&[u8]; 2], &[u8])]) -> &mut Self {
        let size: usize = entries
            .iter()
            .map(|([a, b], v)| 16 + a.len() + b.len() + v.len())
            .sum::<usize>()
            + 8;
        // The field's head and value in one buffer, hashed in one update.
        let mut value = field_head(TAG_STR_MAP, field, size);
        value.reserve(size);
        value.extend_from_slice(&(entries.len() as u64).to_le_bytes());
        for ([a, b], val) in entries {
            value.extend_from_slice(&((a.len() + b.len()) as u64).to_le_bytes());
            value.extend_from_slice(a);
            value.extend_from_slice(b);
            put_len_prefixed(&mut value, val);
        }
        self.hasher.update(&value);
        self
    }

    pub fn finish<K: DigestKind>(&self) -> Digest<K> {
        Digest::from_bytes(*self.hasher.finalize().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::{ContentDigest, RecipeKey};

    fn sample() -> CanonHasher {
        let mut h = CanonHasher::new("cargo-dist/test", 1);
        let map: BTreeMap<String, String> = [("b", "2"), ("a", "1")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        h.str("target", "x86_64-unknown-linux-gnu")
            .bytes("blob", &[0, 1, 2, 255])
            .u64("n", 42)
            .bool("flag", true)
            .digest("src", &ContentDigest::of_bytes(b"src"))
            .str_list("features", &["a".to_owned(), "b".to_owned()])
            .str_map("env", &map);
        h
    }

    fn hex(h: &CanonHasher) -> String {
        h.finish::<crate::digest::RecipeKind>().to_hex()
    }

    // Golden digests: if one of these fails, the encoding changed and every
    // stored recipe key would silently change with it.
    #[test]
    fn golden_empty() {
        assert_eq!(
            hex(&CanonHasher::new("cargo-dist/test", 1)),
            "33c7ad0a31369e9c0ca774a265f542bbdf4d2e3aff0742542613c0bf2e49da3e"
        );
    }

    #[test]
    fn golden_all_field_types() {
        assert_eq!(
            hex(&sample()),
            "3b82762ba66c5de288e002d77060656c7f078052d525abcfd0c9ee6f6da6ca67"
        );
    }

    // The documented byte layout, spelled out by hand for one field.
    #[test]
    fn encoding_matches_documented_layout() {
        let mut expected = Vec::new();
        expected.extend_from_slice(b"cargo-dist-canon\0");
        expected.extend_from_slice(&3u64.to_le_bytes());
        expected.extend_from_slice(b"dom");
        expected.extend_from_slice(&7u32.to_le_bytes());
        expected.push(TAG_STR);
        expected.extend_from_slice(&1u64.to_le_bytes());
        expected.extend_from_slice(b"k");
        expected.extend_from_slice(&2u64.to_le_bytes());
        expected.extend_from_slice(b"vv");
        expected.push(TAG_U64);
        expected.extend_from_slice(&1u64.to_le_bytes());
        expected.extend_from_slice(b"n");
        expected.extend_from_slice(&8u64.to_le_bytes());
        expected.extend_from_slice(&5u64.to_le_bytes());
        let mut h = CanonHasher::new("dom", 7);
        h.str("k", "vv").u64("n", 5);
        assert_eq!(hex(&h), blake3::hash(&expected).to_hex().as_str());
    }

    #[test]
    fn finish_is_repeatable_and_typed() {
        let h = sample();
        let a: RecipeKey = h.finish();
        let b: RecipeKey = h.finish();
        assert_eq!(a, b);
        let c: ContentDigest = h.finish();
        assert_eq!(a.as_bytes(), c.as_bytes());
    }

    #[test]
    fn domain_and_version_separate() {
        let a = hex(&CanonHasher::new("d", 1));
        assert_ne!(a, hex(&CanonHasher::new("d", 2)));
        assert_ne!(a, hex(&CanonHasher::new("e", 1)));
        // Moving bytes between domain and first field must not collide.
        let mut x = CanonHasher::new("ab", 1);
        x.str("c", "");
        let mut y = CanonHasher::new("a", 1);
        y.str("bc", "");
        assert_ne!(hex(&x), hex(&y));
    }

    #[test]
    fn reordering_fields_changes_digest() {
        let mut x = CanonHasher::new("d", 1);
        x.str("a", "1").str("b", "2");
        let mut y = CanonHasher::new("d", 1);
        y.str("b", "2").str("a", "1");
        assert_ne!(hex(&x), hex(&y));
    }

    #[test]
    fn moving_bytes_between_name_and_value_changes_digest() {
        let mut x = CanonHasher::new("d", 1);
        x.str("ab", "c");
        let mut y = CanonHasher::new("d", 1);
        y.str("a", "bc");
        assert_ne!(hex(&x), hex(&y));
        // ...or between two adjacent fields.
        let mut x = CanonHasher::new("d", 1);
        x.str("a", "xy").str("b", "z");
        let mut y = CanonHasher::new("d", 1);
        y.str("a", "x").str("b", "yz");
        assert_ne!(hex(&x), hex(&y));
    }

    #[test]
    fn type_tags_separate_equal_bytes() {
        let mut x = CanonHasher::new("d", 1);
        x.str("v", "\u{1}");
        let mut y = CanonHasher::new("d", 1);
        y.bytes("v", &[1]);
        let mut z = CanonHasher::new("d", 1);
        z.bool("v", true);
        assert_ne!(hex(&x), hex(&y));
        assert_ne!(hex(&y), hex(&z));
        let bytes = *ContentDigest::of_bytes(b"q").as_bytes();
        let mut a = CanonHasher::new("d", 1);
        a.digest("v", &ContentDigest::from_bytes(bytes));
        let mut b = CanonHasher::new("d", 1);
        b.digest("v", &RecipeKey::from_bytes(bytes));
        assert_ne!(hex(&a), hex(&b));
    }

    #[test]
    fn lists_are_count_prefixed_and_ordered() {
        let l = |items: &[&str]| {
            let mut h = CanonHasher::new("d", 1);
            h.str_list(
                "l",
                &items.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            );
            hex(&h)
        };
        assert_ne!(l(&["a", "b"]), l(&["b", "a"]));
        assert_ne!(l(&["ab"]), l(&["a", "b"]));
        assert_ne!(l(&[]), l(&[""]));
        let m = |items: &[(&str, &str)]| {
            let mut h = CanonHasher::new("d", 1);
            let map = items
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            h.str_map("m", &map);
            hex(&h)
        };
        assert_eq!(m(&[("a", "1"), ("b", "2")]), m(&[("b", "2"), ("a", "1")]));
        assert_ne!(m(&[("a", "12")]), m(&[("a1", "2")]));
    }
}
