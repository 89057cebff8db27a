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
//!
//! The cache is bounded. Every entry (in every ruleset directory under `layers/`) counts
//! against one cap, [`DEFAULT_MAX_BYTES`] unless set otherwise; a read marks an entry
//! used (its modification time), and after a scan has written entries the least
//! recently used ones are removed until the rest fit under the cap (one walk of the
//! directory per scan, [`LayerCache::enforce_cap`]). An entry larger than
//! [`LayerCache::entry_limit`] is not written at all: one hostile layer cannot fill the
//! cache. Only names this module writes (ruleset directories, entries, temporary
//! files) are ever counted or removed, whatever else the directory holds.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};
use std::io::{Read as _, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The cap on the layer results under a cache directory when none is given
/// (`--cache-max`): 1 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;
/// The largest entry ever written, 64 MiB (an eighth of the cap when that is smaller):
/// a layer whose result would be larger is simply not cached.
pub const MAX_ENTRY_BYTES: u64 = 64 << 20;

const MAGIC: &[u8] = b"LHLC1\n";
/// What an entry holds besides its payload: the magic and the payload's sha256.
const HEADER: usize = MAGIC.len() + 32;
/// The prefix of the temporary file an entry is written to before it is renamed.
const TEMP_PREFIX: &str = ".entry-";
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
    /// The cache directory (`layers/` is under it).
    root: PathBuf,
    dir: PathBuf,
    /// The cap on everything under `root/layers`.
    max_bytes: u64,
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
            root: root.to_path_buf(),
            dir: root.join("layers").join(hex::encode(&h.finalize()[..12])),
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }

    /// The same cache, with the cap on all layer results under its root set to
    /// `max_bytes` (instead of [`DEFAULT_MAX_BYTES`]).
    pub fn with_max_bytes(mut self, max_bytes: u64) -> LayerCache {
        self.max_bytes = max_bytes;
        self
    }

    /// The cap on all layer results under the cache directory.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The cache directory this cache is under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The largest entry written: [`MAX_ENTRY_BYTES`], or an eighth of the cap when
    /// that is smaller.
    pub fn entry_limit(&self) -> u64 {
        MAX_ENTRY_BYTES.min(self.max_bytes / 8)
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
            caps.spool_max,
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

    /// The entry for `digest`, if present and intact; reading it marks it used (its
    /// modification time), so the least recently used entries are evicted first.
    pub fn load<T: DeserializeOwned>(&self, digest: &str) -> Option<T> {
        let mut file = std::fs::File::open(self.path(digest)?).ok()?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).ok()?;
        let rest = bytes.strip_prefix(MAGIC)?;
        if rest.len() < 32 {
            return None;
        }
        let (sum, payload) = rest.split_at(32);
        if Sha256::digest(payload).as_slice() != sum {
            return None;
        }
        let value = postcard::from_bytes(payload).ok()?;
        // A cache another user owns stays as it is.
        let _ = file.set_modified(SystemTime::now());
        Some(value)
    }

    /// Writes the entry for `digest` atomically (a temporary file beside it, renamed
    /// over it), unless it would be larger than [`LayerCache::entry_limit`]. Gives
    /// whether it was written; failures only cost a later rescan.
    pub fn store<T: Serialize>(&self, digest: &str, value: &T) -> bool {
        let Some(path) = self.path(digest) else {
            return false;
        };
        // Measured before anything is allocated for it.
        let size = postcard::serialize_with_flavor::<T, postcard::ser_flavors::Size, usize>(
            value,
            Default::default(),
        );
        if !size.is_ok_and(|n| (HEADER as u64).saturating_add(n as u64) <= self.entry_limit()) {
            return false;
        }
        let Ok(payload) = postcard::to_stdvec(value) else {
            return false;
        };
        if create_private_dir(&self.dir).is_err() {
            return false;
        }
        let Ok(mut tmp) = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(&self.dir)
        else {
            return false;
        };
        let ok = tmp
            .write_all(MAGIC)
            .and_then(|_| tmp.write_all(&Sha256::digest(&payload)))
            .and_then(|_| tmp.write_all(&payload))
            .is_ok();
        ok && tmp.persist(path).is_ok()
    }

    /// Removes the least recently used entries under the cache directory, in every
    /// ruleset directory, until the rest take at most the cap; one walk of the
    /// directory. Failures are ignored (another scan may be pruning too).
    pub fn enforce_cap(&self) -> Removed {
        walk(&self.root)
            .map(|found| evict(found, self.max_bytes, &self.dir))
            .unwrap_or_default()
    }

    /// `cache prune`: removes the ruleset directories other than this cache's (other
    /// rules, limits or program versions, whose entries its scans never read), then
    /// enforces the cap on the rest.
    pub fn prune(&self) -> std::io::Result<Removed> {
        let mut removed = Removed::default();
        let mut kept = Vec::new();
        for f in walk(&self.root)? {
            if f.path.parent() == Some(self.dir.as_path()) {
                kept.push(f);
            } else {
                remove_found(&f, &mut removed)?;
            }
        }
        remove_empty_dirs(&self.root, &self.dir);
        let evicted = evict(kept, self.max_bytes, &self.dir);
        Ok(Removed {
            entries: removed.entries + evicted.entries,
            bytes: removed.bytes + evicted.bytes,
        })
    }
}

/// What was removed from a cache: entries, and bytes of entries and temporary files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub entries: usize,
    pub bytes: u64,
}

/// What the layer results under a cache directory take, in all and per ruleset
/// directory (`layers/<hash>`, by name).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub entries: usize,
    pub bytes: u64,
    pub dirs: Vec<DirUsage>,
}

/// One ruleset directory's entries and bytes (temporary files included in the bytes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirUsage {
    pub name: String,
    pub entries: usize,
    pub bytes: u64,
}

/// What the layer results under the cache directory `root` take.
pub fn usage(root: &Path) -> std::io::Result<Usage> {
    let mut u = Usage::default();
    for f in walk(root)? {
        let name = f
            .path
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if u.dirs.last().is_none_or(|d| d.name != name) {
            u.dirs.push(DirUsage {
                name,
                ..DirUsage::default()
            });
        }
        if let Some(d) = u.dirs.last_mut() {
            d.entries += usize::from(f.entry);
            d.bytes += f.bytes;
        }
        u.entries += usize::from(f.entry);
        u.bytes += f.bytes;
    }
    Ok(u)
}

/// `cache clear`: removes every layer result under the cache directory `root` (and
/// the ruleset directories they leave empty).
pub fn clear(root: &Path) -> std::io::Result<Removed> {
    let mut removed = Removed::default();
    for f in walk(root)? {
        remove_found(&f, &mut removed)?;
    }
    remove_empty_dirs(root, Path::new(""));
    Ok(removed)
}

/// A file of the layer results: an entry, or a temporary file one is written to.
struct Found {
    path: PathBuf,
    bytes: u64,
    used: SystemTime,
    entry: bool,
}

/// Every file of the layer results under `root/layers`, by directory and name. Only
/// names this module writes are listed; a cache directory that holds something else
/// too (or a mistaken `--cache`) loses nothing else.
fn walk(root: &Path) -> std::io::Result<Vec<Found>> {
    let layers = root.join("layers");
    let mut dirs = match std::fs::read_dir(&layers) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter(|e| is_hex(&e.file_name().to_string_lossy(), 24))
            .map(|e| e.path())
            .collect::<Vec<_>>(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(std::io::Error::new(
                e.kind(),
                format!("{}: {e}", layers.display()),
            ));
        }
    };
    dirs.sort();
    let mut found = Vec::new();
    for dir in dirs {
        // A directory another scan removed meanwhile has nothing to list.
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut here = Vec::new();
        for e in rd.filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            let entry = name.strip_suffix(".bin").is_some_and(|hex| is_hex(hex, 64));
            if !entry && !name.starts_with(TEMP_PREFIX) {
                continue;
            }
            let Ok(meta) = e.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            here.push(Found {
                path: e.path(),
                bytes: meta.len(),
                used: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                entry,
            });
        }
        here.sort_by(|a, b| a.path.cmp(&b.path));
        found.extend(here);
    }
    Ok(found)
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Removes the least recently used of `found` until the rest take at most
/// `max_bytes`, then the ruleset directories left empty (but `keep`).
fn evict(mut found: Vec<Found>, max_bytes: u64, keep: &Path) -> Removed {
    let mut total: u64 = found.iter().map(|f| f.bytes).sum();
    let mut removed = Removed::default();
    if total <= max_bytes {
        return removed;
    }
    found.sort_by(|a, b| a.used.cmp(&b.used).then_with(|| a.path.cmp(&b.path)));
    for f in &found {
        if total <= max_bytes {
            break;
        }
        // Gone already (another scan evicting): it no longer counts either.
        let _ = remove_found(f, &mut removed);
        total -= f.bytes;
    }
    if let Some(root) = keep.parent().and_then(Path::parent) {
        remove_empty_dirs(root, keep);
    }
    removed
}

/// Removes one file; one removed meanwhile is not an error.
fn remove_found(f: &Found, removed: &mut Removed) -> std::io::Result<()> {
    match std::fs::remove_file(&f.path) {
        Ok(()) => {
            removed.entries += usize::from(f.entry);
            removed.bytes += f.bytes;
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", f.path.display()),
        )),
    }
}

/// Removes the empty ruleset directories under `root/layers`, but `keep`.
fn remove_empty_dirs(root: &Path, keep: &Path) {
    let Ok(rd) = std::fs::read_dir(root.join("layers")) else {
        return;
    };
    for e in rd.filter_map(Result::ok) {
        let p = e.path();
        if p != keep
            && e.file_type().is_ok_and(|t| t.is_dir())
            && is_hex(&e.file_name().to_string_lossy(), 24)
        {
            // Fails, as it should, unless empty.
            let _ = std::fs::remove_dir(&p);
        }
    }
}

/// A size as `--cache-max` takes it: bytes, or a number with a suffix K, M, G or T
/// (powers of 1024; `KiB`, `MB` and the like, in any case, mean the same), such as
/// `512M`, `2G` or `1.5G`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let err = || "a size in bytes, or a number with a suffix K, M, G or T (such as 512M or 2G)";
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(err().into()),
    };
    if num.contains('.') {
        let v = num.parse::<f64>().map_err(|_| err())? * mult as f64;
        return if v.is_finite() && v < u64::MAX as f64 {
            Ok(v as u64)
        } else {
            Err(err().into())
        };
    }
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| err().into())
}

/// A byte count for people: `512 B`, `3.4 MiB`, `1.0 GiB`.
pub fn format_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
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
            spool_max: 1 << 32,
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
            spool_max: 1 << 20,
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
        assert_ne!(
            base.dir(),
            LayerCache::for_scan(root.path(), &rules, &limits, &spool_only).dir(),
            "a smaller spool leaves larger archives unexpanded"
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

    fn digest(n: u8) -> String {
        format!("sha256:{}", hex::encode([n; 32]))
    }

    /// Sets the modification time of `digest`'s entry to `secs` after the epoch.
    fn age(c: &LayerCache, digest: &str, secs: u64) {
        let f = std::fs::File::options()
            .write(true)
            .open(c.path(digest).unwrap())
            .unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs))
            .unwrap();
    }

    fn entry_size(c: &LayerCache, digest: &str) -> u64 {
        std::fs::metadata(c.path(digest).unwrap()).unwrap().len()
    }

    #[test]
    fn eviction_removes_the_least_recently_used_across_ruleset_dirs() {
        let root = tempfile::tempdir().unwrap();
        let old_rules = LayerCache::new(root.path(), &[b"old rules"]);
        let cache = LayerCache::new(root.path(), &[b"rules"]);
        let value = vec![7u8; 1000];
        assert!(old_rules.store(&digest(1), &value));
        for n in 2..=5 {
            assert!(cache.store(&digest(n), &value));
        }
        let one = entry_size(&cache, &digest(2));
        // Written in the order 1 (stale ruleset) .. 5; entry 2 is read later than all.
        age(&old_rules, &digest(1), 1_000);
        for n in 2..=5 {
            age(&cache, &digest(n), 1_000 + u64::from(n));
        }
        assert_eq!(cache.load::<Vec<u8>>(&digest(2)), Some(value.clone()));
        assert_eq!(usage(root.path()).unwrap().entries, 5);
        // Room for three entries: the stale one and the oldest unread one go.
        let capped = cache.clone().with_max_bytes(3 * one + one / 2);
        assert_eq!(
            capped.enforce_cap(),
            Removed {
                entries: 2,
                bytes: 2 * one
            }
        );
        assert!(!old_rules.contains(&digest(1)));
        assert!(!old_rules.dir().exists(), "an emptied ruleset dir goes too");
        assert!(!cache.contains(&digest(3)));
        for n in [2, 4, 5] {
            assert!(cache.contains(&digest(n)), "entry {n} kept");
        }
        let u = usage(root.path()).unwrap();
        assert_eq!((u.entries, u.bytes), (3, 3 * one));
        assert!(u.bytes <= capped.max_bytes());
        // Under the cap: nothing to do.
        assert_eq!(capped.enforce_cap(), Removed::default());
        // A cap of nothing empties the cache.
        assert_eq!(cache.clone().with_max_bytes(0).enforce_cap().entries, 3);
        assert_eq!(usage(root.path()).unwrap(), Usage::default());
    }

    #[test]
    fn an_entry_over_the_bound_is_not_written() {
        let root = tempfile::tempdir().unwrap();
        let cache = LayerCache::new(root.path(), &[b"rules"]);
        assert_eq!(cache.entry_limit(), MAX_ENTRY_BYTES);
        // A small cap bounds entries to an eighth of it.
        let small = cache.clone().with_max_bytes(80_000);
        assert_eq!(small.entry_limit(), 10_000);
        assert!(small.store(&digest(1), &vec![1u8; 9_000]));
        assert!(!small.store(&digest(2), &vec![1u8; 10_000]));
        assert!(!small.contains(&digest(2)));
        assert_eq!(small.load::<Vec<u8>>(&digest(2)), None);
        // The layer is simply not cached: no entry, and no temporary file left.
        let names: Vec<_> = std::fs::read_dir(small.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        // Without a cap entries can still not grow past the fixed bound.
        let unbounded = cache.with_max_bytes(u64::MAX);
        assert_eq!(unbounded.entry_limit(), MAX_ENTRY_BYTES);
    }

    #[test]
    fn prune_keeps_only_the_current_ruleset_and_clear_removes_all() {
        let root = tempfile::tempdir().unwrap();
        let stale = LayerCache::new(root.path(), &[b"old version"]);
        let cache = LayerCache::new(root.path(), &[b"rules"]);
        stale.store(&digest(1), &1u32);
        stale.store(&digest(2), &2u32);
        cache.store(&digest(3), &3u32);
        // Not the cache's own: never counted or removed.
        let foreign = root.path().join("layers/notes.txt");
        std::fs::write(&foreign, b"mine").unwrap();
        let u = usage(root.path()).unwrap();
        assert_eq!(u.entries, 3);
        assert_eq!(u.dirs.len(), 2);
        let removed = cache.prune().unwrap();
        assert_eq!(removed.entries, 2);
        assert!(!stale.dir().exists());
        assert!(cache.contains(&digest(3)));
        let u = usage(root.path()).unwrap();
        assert_eq!((u.entries, u.dirs.len()), (1, 1));
        assert_eq!(
            u.dirs[0].name,
            cache.dir().file_name().unwrap().to_string_lossy()
        );
        assert_eq!(clear(root.path()).unwrap().entries, 1);
        assert_eq!(usage(root.path()).unwrap(), Usage::default());
        assert!(foreign.exists());
        // A cache directory without layer results is empty, not an error.
        let none = tempfile::tempdir().unwrap();
        assert_eq!(usage(none.path()).unwrap(), Usage::default());
        assert_eq!(clear(none.path()).unwrap(), Removed::default());
    }

    #[test]
    fn sizes_parse_with_and_without_suffixes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("2gib"), Ok(2 << 30));
        assert_eq!(parse_size("64 KiB"), Ok(64 << 10));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("0"), Ok(0));
        for bad in ["", "G", "12X", "-1", "1.2.3M", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_size(512), "512 B");
        assert_eq!(format_size(3 << 29), "1.5 GiB");
    }
}
