//! The compiled-database cache: Hyperscan compiles the built-in rules in about a
//! second, so the serialized database is kept under the user's cache directory, keyed
//! by a hash of every pattern, rule id and the Hyperscan version. Hyperscan checks a
//! serialized database's platform when loading it, and the entry carries a sha256 of
//! the database that is checked first; anything that fails either is recompiled and
//! rewritten.

use super::Compiled;
use crate::rules::RuleSet;
use hyperscan::Serialized as _;
use hyperscan::prelude::*;
use sha2::{Digest as _, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8] = b"LHDB1\n";

#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    prefilter: Vec<usize>,
    excluded: Vec<usize>,
    notes: Vec<String>,
    /// sha256 of the serialized database that follows; checked before loading it,
    /// since Hyperscan does not detect every corruption itself.
    sha256: String,
}

/// The cache key of a ruleset.
pub(super) fn key(rules: &RuleSet) -> String {
    let mut h = Sha256::new();
    h.update(hyperscan::version_str().to_bytes());
    h.update(b"\0block+multiline\0");
    for r in &rules.rules {
        for part in [r.id.as_bytes(), r.origin.as_bytes(), r.pattern.as_bytes()] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
    }
    hex::encode(&h.finalize()[..16])
}

fn path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("hsdb-{key}.bin"))
}

/// The user's default cache directory for layerhound.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("LAYERHOUND_CACHE_DIR").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(d).join("layerhound"));
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".cache/layerhound"))
}

pub(super) fn load(dir: &Path, key: &str, nrules: usize) -> Option<Compiled> {
    let bytes = std::fs::read(path(dir, key)).ok()?;
    let rest = bytes.strip_prefix(MAGIC)?;
    let nl = rest.iter().position(|&b| b == b'\n')?;
    let header: Header = serde_json::from_slice(&rest[..nl]).ok()?;
    let blob = &rest[nl + 1..];
    if hex::encode(Sha256::digest(blob)) != header.sha256 {
        return None;
    }
    let mut prefilter = vec![false; nrules];
    let mut excluded = vec![false; nrules];
    for (list, flags) in [
        (&header.prefilter, &mut prefilter),
        (&header.excluded, &mut excluded),
    ] {
        for &i in list {
            *flags.get_mut(i)? = true;
        }
    }
    let db = if blob.is_empty() {
        None
    } else {
        let db: BlockDatabase = blob.deserialize().ok()?;
        Some(db)
    };
    Some(Compiled {
        db,
        prefilter,
        excluded,
        notes: header.notes,
    })
}

/// Writes the entry atomically (temp file, then rename). Failures are ignored: the
/// cache is an optimisation only.
pub(super) fn store(dir: &Path, key: &str, c: &Compiled) {
    let blob = match &c.db {
        Some(db) => match db.serialize() {
            Ok(b) => b.as_ref().to_vec(),
            Err(_) => return,
        },
        None => Vec::new(),
    };
    let header = Header {
        prefilter: (0..c.prefilter.len()).filter(|&i| c.prefilter[i]).collect(),
        excluded: (0..c.excluded.len()).filter(|&i| c.excluded[i]).collect(),
        notes: c.notes.clone(),
        sha256: hex::encode(Sha256::digest(&blob)),
    };
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::Builder::new().prefix(".hsdb-").tempfile_in(dir)?;
        tmp.write_all(MAGIC)?;
        serde_json::to_writer(&mut tmp, &header)?;
        tmp.write_all(b"\n")?;
        tmp.write_all(&blob)?;
        tmp.persist(path(dir, key)).map_err(|e| e.error)?;
        Ok(())
    };
    let _ = write();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::Matcher;

    const RULES: &str =
        "[[rules]]\nid = \"tok\"\nregex = '''tok_([A-Za-z0-9]{20})'''\nconfidence = \"high\"\n";

    #[test]
    fn cached_database_matches_like_a_fresh_one_and_corruption_recompiles() {
        let dir = tempfile::tempdir().unwrap();
        let set = RuleSet::parse(RULES, "t.toml").unwrap();
        let data = b"x tok_Zr8vQ2mN7pL4xK9wT1bY y";
        let fresh = Matcher::with_cache(set.clone(), Some(dir.path())).unwrap();
        let file = path(dir.path(), &key(&set));
        assert!(file.exists(), "cache entry written");
        let cached = Matcher::with_cache(set.clone(), Some(dir.path())).unwrap();
        assert_eq!(
            fresh.scan_bytes(data, None).unwrap(),
            cached.scan_bytes(data, None).unwrap()
        );
        assert_eq!(cached.scan_bytes(data, None).unwrap().len(), 1);
        // Corrupt the serialized database: it is recompiled, not trusted.
        let mut bytes = std::fs::read(&file).unwrap();
        let n = bytes.len();
        bytes[n - 40] ^= 0xff;
        std::fs::write(&file, &bytes).unwrap();
        assert!(load(dir.path(), &key(&set), 1).is_none());
        let again = Matcher::with_cache(set, Some(dir.path())).unwrap();
        assert_eq!(again.scan_bytes(data, None).unwrap().len(), 1);
    }

    #[test]
    fn key_changes_with_any_pattern() {
        let a = RuleSet::parse(RULES, "t.toml").unwrap();
        let b = RuleSet::parse(&RULES.replace("{20}", "{21}"), "t.toml").unwrap();
        assert_ne!(key(&a), key(&b));
    }
}
