//! The layer results cache: what reading and matching one layer blob produced, kept
//! under the cache directory so that a layer already scanned (a shared base image, the
//! same image scanned again) is not decompressed or matched again.
//!
//! An entry is keyed by the sha256 digest of the stored blob, under a directory named
//! by a hash of everything else that decides the result: the program version, the
//! ruleset (every field of every rule) and the content and layer limits. An entry is
//! used only after the blob at hand has been hashed and found equal to that digest, so
//! a manifest that claims another layer's digest gets no cached result. Entries carry
//! a sha256 of their own bytes, checked before decoding; anything that fails is
//! ignored and rewritten. Entries never hold secret values: only their first four
//! characters and their fingerprints, so a `--reveal` scan reads a layer with findings
//! again. Layers whose reading raised an error are never cached.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8] = b"LHLC1\n";
/// Bumped whenever the entry format or what a layer scan produces changes.
const FORMAT: &str = "layer-results-4";

/// The sources of what an entry holds (the layer result and the types in it, the
/// masking of secrets): any change to them makes a new cache, so an entry can never
/// be read back in a shape, or with a masking, other than the one it was written in.
const SOURCES: [&str; 7] = [
    include_str!("scan/layer.rs"),
    include_str!("rules/filters.rs"),
    include_str!("matcher/mod.rs"),
    include_str!("overlay.rs"),
    include_str!("packages.rs"),
    include_str!("redact.rs"),
    include_str!("testkeys.rs"),
];

/// A directory of cached layer results for one ruleset and set of options.
#[derive(Clone, Debug)]
pub struct LayerCache {
    dir: PathBuf,
}

impl LayerCache {
    /// The cache under `root` for results that depend on `parts` (ruleset and option
    /// fingerprints).
    pub fn new(root: &Path, parts: &[&[u8]]) -> LayerCache {
        let mut h = Sha256::new();
        for p in [FORMAT.as_bytes(), env!("CARGO_PKG_VERSION").as_bytes()]
            .into_iter()
            .chain(SOURCES.iter().map(|s| s.as_bytes()))
            .chain(parts.iter().copied())
        {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p);
        }
        LayerCache {
            dir: root.join("layers").join(hex::encode(&h.finalize()[..12])),
        }
    }

    /// The cache for scans with these rules and limits: everything that decides what a
    /// layer scan yields (the rules, the content and layer limits, the known test
    /// keys) keys it, so an entry is only ever read back by a scan that would have
    /// produced it.
    pub fn for_scan(
        root: &Path,
        rules: &crate::rules::RuleSet,
        limits: &crate::content::Limits,
        caps: &crate::layer::LayerCaps,
    ) -> LayerCache {
        let rules = format!("{:?}\n{:?}", rules.rules, rules.global_allowlists);
        let options = format!(
            "{limits:?}\n{} {}\n{}",
            caps.max_bytes,
            caps.max_ratio,
            crate::testkeys::TEST_KEYS_TOML
        );
        LayerCache::new(root, &[rules.as_bytes(), options.as_bytes()])
    }

    /// The directory entries are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, digest: &str) -> Option<PathBuf> {
        let hex = digest.strip_prefix("sha256:")?;
        (hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        .then(|| self.dir.join(format!("{hex}.bin")))
    }

    /// Whether an entry exists for `digest` (without reading it).
    pub fn contains(&self, digest: &str) -> bool {
        self.path(digest).is_some_and(|p| p.is_file())
    }

    /// The entry for `digest`, if present and intact.
    pub fn load<T: DeserializeOwned>(&self, digest: &str) -> Option<T> {
        let bytes = std::fs::read(self.path(digest)?).ok()?;
        let rest = bytes.strip_prefix(MAGIC)?;
        if rest.len() < 32 {
            return None;
        }
        let (sum, payload) = rest.split_at(32);
        if Sha256::digest(payload).as_slice() != sum {
            return None;
        }
        postcard::from_bytes(payload).ok()
    }

    /// Writes the entry for `digest` (atomically; failures only cost a later rescan).
    pub fn store<T: Serialize>(&self, digest: &str, value: &T) {
        let Some(path) = self.path(digest) else {
            return;
        };
        let Ok(payload) = postcard::to_stdvec(value) else {
            return;
        };
        if create_private_dir(&self.dir).is_err() {
            return;
        }
        let Ok(mut tmp) = tempfile::Builder::new()
            .prefix(".entry-")
            .tempfile_in(&self.dir)
        else {
            return;
        };
        let ok = tmp
            .write_all(MAGIC)
            .and_then(|_| tmp.write_all(&Sha256::digest(&payload)))
            .and_then(|_| tmp.write_all(&payload))
            .is_ok();
        if ok {
            let _ = tmp.persist(path);
        }
    }
}

/// Creates `dir` and its missing parents, readable by the owner only.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_covers_rules_limits_and_caps() {
        let root = tempfile::tempdir().unwrap();
        let rules = crate::rules::RuleSet::builtin().unwrap();
        let limits = crate::content::Limits {
            max_depth: 3,
            max_bytes: 1 << 30,
            max_ratio: 100,
            max_entries: 10_000,
        };
        let caps = crate::layer::LayerCaps {
            max_bytes: 1 << 40,
            max_ratio: 1000,
            in_memory: 1 << 28,
            min_free: 0,
        };
        let base = LayerCache::for_scan(root.path(), &rules, &limits, &caps);
        let again = LayerCache::for_scan(root.path(), &rules, &limits, &caps);
        assert_eq!(base.dir(), again.dir());
        let mut fewer = rules.clone();
        fewer.rules.pop();
        let deeper = crate::content::Limits {
            max_depth: 4,
            ..limits
        };
        let tighter = crate::layer::LayerCaps {
            max_bytes: 1 << 30,
            ..caps
        };
        let spool_only = crate::layer::LayerCaps {
            in_memory: 1 << 20,
            ..caps
        };
        assert_ne!(
            base.dir(),
            LayerCache::for_scan(root.path(), &fewer, &limits, &caps).dir()
        );
        assert_ne!(
            base.dir(),
            LayerCache::for_scan(root.path(), &rules, &deeper, &caps).dir()
        );
        assert_ne!(
            base.dir(),
            LayerCache::for_scan(root.path(), &rules, &limits, &tighter).dir()
        );
        assert_eq!(
            base.dir(),
            LayerCache::for_scan(root.path(), &rules, &limits, &spool_only).dir(),
            "where bytes are held does not change what is found"
        );
    }

    #[test]
    fn round_trip_and_rejects_damage_and_other_keys() {
        let root = tempfile::tempdir().unwrap();
        let a = LayerCache::new(root.path(), &[b"rules-a"]);
        let b = LayerCache::new(root.path(), &[b"rules-b"]);
        let d = format!("sha256:{}", "ab".repeat(32));
        a.store(&d, &(1u32, "x".to_string()));
        assert!(a.contains(&d));
        assert_eq!(a.load::<(u32, String)>(&d), Some((1, "x".into())));
        assert!(!b.contains(&d), "another ruleset must not see the entry");
        // Not a digest: never a path.
        assert!(!a.contains("sha256:../../etc/passwd"));
        a.store("sha256:../x", &1u32);
        assert!(!root.path().join("layers/x").exists());
        // A flipped byte is detected.
        let p = a.path(&d).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&p, bytes).unwrap();
        assert_eq!(a.load::<(u32, String)>(&d), None);
    }
}
