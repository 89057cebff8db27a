//! Known public test keys: takes a secret a rule matched and tells whether it is one of
//! the private keys, certificates or tokens that popular packages publish in their
//! tests and documentation (`rules/known/test-keys.toml`), by the SHA-256 of its text
//! without whitespace.

use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The built-in list, as data.
pub const TEST_KEYS_TOML: &str = include_str!("../rules/known/test-keys.toml");

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    keys: Vec<Entry>,
}

/// One known key: its hash, its name, and where it is published.
#[derive(Clone, Debug, Deserialize)]
pub struct Entry {
    pub sha256: String,
    pub name: String,
    pub source: String,
}

/// The hash the list keys a secret by: SHA-256 of its bytes without ASCII whitespace.
pub fn key_hash(secret: &[u8]) -> String {
    let mut h = Sha256::new();
    for chunk in secret.split(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
        h.update(chunk);
    }
    hex::encode(h.finalize())
}

fn table() -> &'static HashMap<String, Entry> {
    static TABLE: OnceLock<HashMap<String, Entry>> = OnceLock::new();
    TABLE.get_or_init(|| {
        // The list is checked by a unit test; a broken one recognises nothing.
        toml::from_str::<File>(TEST_KEYS_TOML)
            .map(|f| {
                f.keys
                    .into_iter()
                    .map(|e| (e.sha256.to_ascii_lowercase(), e))
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// The known test key `secret` is, if it is one: `name (source)`.
pub fn lookup(secret: &[u8]) -> Option<String> {
    table()
        .get(&key_hash(secret))
        .map(|e| format!("{} ({})", e.name, e.source))
}

/// How many keys the list holds.
pub fn len() -> usize {
    table().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_parses_and_every_entry_is_a_hash_with_a_source() {
        let f: File = toml::from_str(TEST_KEYS_TOML).expect("test-keys.toml parses");
        assert_eq!(f.keys.len(), len());
        for e in &f.keys {
            assert_eq!(e.sha256.len(), 64, "{}", e.name);
            assert!(
                e.sha256.bytes().all(|b| b.is_ascii_hexdigit()),
                "{}",
                e.name
            );
            assert!(!e.source.trim().is_empty(), "{} names its source", e.name);
        }
    }

    #[test]
    fn whitespace_does_not_change_the_hash() {
        assert_eq!(key_hash(b"ab\r\ncd\n"), key_hash(b"abcd"));
        assert_ne!(key_hash(b"abce"), key_hash(b"abcd"));
    }
}
