//! A read-only store of named blobs: an image layout directory on disk, or a tar
//! archive (docker save, OCI archive) mapped into memory and indexed by member path.
//! Names are archive-internal keys; they are never joined onto a host path without
//! validation, and a directory store only opens regular files inside its root.

use crate::blob::{Blob, map_file};
use crate::error::{Error, Result};
use crate::layer::LayerCaps;
use crate::spool::Spool;
use crate::util::normalize_path;
use std::collections::HashMap;
use std::io::Cursor;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Where the blobs of an image input live.
pub enum Store {
    Dir {
        root: PathBuf,
    },
    Tar(TarStore),
    /// Members received from a stream (a daemon's export), each in memory or in a spool file.
    Members(MemberStore),
}

/// Members of an archive that arrived as a stream.
#[derive(Default)]
pub struct MemberStore {
    members: HashMap<Vec<u8>, Received>,
    /// Spool files behind mapped members; removed when the store is dropped.
    files: Vec<tempfile::NamedTempFile>,
}

enum Received {
    Blob(Blob),
    Link(Vec<u8>),
    /// A layer read as it streamed in; only its digest and size are kept.
    Streamed(Streamed),
}

/// What a store keeps of a layer that was read as it streamed in.
#[derive(Clone, Debug)]
pub struct Streamed {
    /// `sha256:<hex>` of its bytes.
    pub digest: String,
    pub size: u64,
}

impl MemberStore {
    /// Adds a member held in memory.
    pub fn add_bytes(&mut self, name: &[u8], data: Vec<u8>) {
        self.members
            .insert(normalize_path(name), Received::Blob(Blob::from_vec(data)));
    }

    /// Adds a member written to a spool file (finished), mapping it; gives the map.
    pub fn add_file(&mut self, name: &[u8], file: tempfile::NamedTempFile) -> Result<Blob> {
        let blob = map_file(file.path())?;
        self.members
            .insert(normalize_path(name), Received::Blob(blob.clone()));
        self.files.push(file);
        Ok(blob)
    }

    /// Adds a layer member read as it streamed in.
    pub fn add_streamed(&mut self, name: &[u8], layer: Streamed) {
        self.members
            .insert(normalize_path(name), Received::Streamed(layer));
    }

    fn streamed(&self, key: &[u8], depth: usize) -> Option<&Streamed> {
        match self.members.get(key) {
            Some(Received::Streamed(s)) => Some(s),
            Some(Received::Link(t)) if depth < 8 => self.streamed(t, depth + 1),
            _ => None,
        }
    }

    /// Adds a link member; `target` is resolved like a tar symlink or hard link.
    pub fn add_link(&mut self, name: &[u8], target: &[u8], symlink: bool) {
        let path = normalize_path(name);
        let resolved = if symlink && !target.starts_with(b"/") {
            normalize_path(&crate::util::join(
                crate::util::parent(&path).unwrap_or(b""),
                target,
            ))
        } else {
            normalize_path(target)
        };
        self.members.insert(path, Received::Link(resolved));
    }

    fn get(&self, key: &[u8], name: &str, depth: usize) -> Result<Blob> {
        match self.members.get(key) {
            Some(Received::Blob(b)) => Ok(b.clone()),
            Some(Received::Link(t)) if depth < 8 => self.get(t, name, depth + 1),
            Some(Received::Link(_)) => Err(Error::Format(format!("{name}: too many links"))),
            Some(Received::Streamed(_)) => Err(Error::Format(format!(
                "{name}: a layer read as it streamed in; its bytes are not kept"
            ))),
            None => Err(Error::MissingBlob(name.to_string())),
        }
    }
}

/// An archive mapped once; members are ranges of the map.
pub struct TarStore {
    map: Blob,
    members: HashMap<Vec<u8>, Member>,
    /// The decompressed copy of a compressed archive, removed on drop.
    _spool_file: Option<tempfile::NamedTempFile>,
}

enum Member {
    File(Range<usize>),
    Link(Vec<u8>),
    Other,
}

impl Store {
    /// Opens an image layout directory.
    pub fn dir(root: &Path) -> Store {
        Store::Dir {
            root: root.to_path_buf(),
        }
    }

    /// Maps a tar archive (gzip- or zstd-compressed archives are decompressed into the
    /// spool first, within the same `caps` as a layer: a compressed archive that inflates
    /// past them is refused).
    pub fn tar(path: &Path, spool: &Spool, caps: &LayerCaps) -> Result<Store> {
        let raw = map_file(path)?;
        let (map, spool_file) = match crate::layer::sniff(raw.bytes()) {
            crate::layer::Compression::None => (raw, None),
            c => {
                let mut f = spool.file()?;
                let cap = caps.max_bytes;
                let n = crate::layer::decompress_into(
                    c,
                    raw.bytes(),
                    crate::spool::DiskGuard::new(f.as_file_mut(), spool, caps.min_free),
                    cap,
                )
                .map_err(|e| Error::Format(format!("{}: {e}", path.display())))?;
                if n > cap {
                    return Err(Error::Format(format!(
                        "{}: the {} archive inflates past --max-layer-bytes {} MiB; not read",
                        path.display(),
                        c.as_str(),
                        caps.max_bytes >> 20
                    )));
                }
                let blob = map_file(f.path())?;
                (blob, Some(f))
            }
        };
        let members = index_archive(map.bytes()).map_err(|e| {
            Error::Format(format!(
                "{}: not a readable tar archive: {e}",
                path.display()
            ))
        })?;
        Ok(Store::Tar(TarStore {
            map,
            members,
            _spool_file: spool_file,
        }))
    }

    /// The name a member finally resolves to, following links inside the archive, so
    /// that one blob reached under two names is read once.
    pub fn canonical(&self, name: &str) -> String {
        let mut key = normalize_path(name.as_bytes());
        for _ in 0..8 {
            let next = match self {
                Store::Dir { .. } => None,
                Store::Tar(t) => match t.members.get(&key) {
                    Some(Member::Link(target)) => Some(target.clone()),
                    _ => None,
                },
                Store::Members(m) => match m.members.get(&key) {
                    Some(Received::Link(target)) => Some(target.clone()),
                    _ => None,
                },
            };
            match next {
                Some(t) => key = t,
                None => break,
            }
        }
        String::from_utf8_lossy(&key).into_owned()
    }

    /// Whether a member exists (regular file or link to one).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_ok() || self.streamed(name).is_some()
    }

    /// What is kept of a layer member that was read as it streamed in, if it was.
    pub fn streamed(&self, name: &str) -> Option<&Streamed> {
        match self {
            Store::Members(m) => m.streamed(&normalize_path(name.as_bytes()), 0),
            _ => None,
        }
    }

    /// Reads a member by its archive-internal name.
    pub fn get(&self, name: &str) -> Result<Blob> {
        let key = normalize_path(name.as_bytes());
        if key.is_empty() || name.split('/').any(|c| c == "..") {
            return Err(Error::Format(format!(
                "refusing path {name:?} outside the image"
            )));
        }
        match self {
            Store::Dir { root } => map_file(&dir_path(root, &key, name)?),
            Store::Tar(t) => t.get(&key, name, 0),
            Store::Members(m) => m.get(&key, name, 0),
        }
    }

    /// `sha256:<hex>` and size of a member. A file of a layout directory is read with
    /// plain reads (faster than faulting in a map for data read once); a member of a
    /// mapped archive is hashed in place; a streamed layer gives the digest computed as
    /// it arrived.
    pub fn sha256(&self, name: &str) -> Result<(String, u64)> {
        if let Some(s) = self.streamed(name) {
            return Ok((s.digest.clone(), s.size));
        }
        let Store::Dir { root } = self else {
            let blob = self.get(name)?;
            return Ok((crate::layer::sha256_of(&blob), blob.len() as u64));
        };
        let key = normalize_path(name.as_bytes());
        if key.is_empty() || name.split('/').any(|c| c == "..") {
            return Err(Error::Format(format!(
                "refusing path {name:?} outside the image"
            )));
        }
        let path = dir_path(root, &key, name)?;
        let f = crate::blob::open_regular(&path)?;
        crate::util::sha256_of_reader(f).map_err(|e| Error::io(&path, e))
    }
}

/// The path of member `key` of the layout directory `root`, walked component by
/// component: no symbolic links, no escapes, a regular file.
fn dir_path(root: &Path, key: &[u8], name: &str) -> Result<PathBuf> {
    let rel = String::from_utf8_lossy(key).into_owned();
    let mut path = root.to_path_buf();
    for comp in rel.split('/') {
        path.push(comp);
        let meta =
            std::fs::symlink_metadata(&path).map_err(|_| Error::MissingBlob(name.to_string()))?;
        if meta.file_type().is_symlink() {
            return Err(Error::Format(format!(
                "{name}: is a symbolic link; not followed"
            )));
        }
    }
    let meta = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
    if !meta.is_file() {
        return Err(Error::Format(format!("{name}: not a regular file")));
    }
    Ok(path)
}

impl TarStore {
    fn get(&self, key: &[u8], name: &str, depth: usize) -> Result<Blob> {
        match self.members.get(key) {
            Some(Member::File(r)) => Ok(self.map.slice(r.clone())),
            Some(Member::Link(target)) if depth < 8 => self.get(target, name, depth + 1),
            Some(Member::Link(_)) => Err(Error::Format(format!("{name}: too many links"))),
            Some(Member::Other) => Err(Error::Format(format!("{name}: not a regular file"))),
            None => Err(Error::MissingBlob(name.to_string())),
        }
    }
}

/// Indexes the members of an outer archive.
fn index_archive(data: &[u8]) -> std::io::Result<HashMap<Vec<u8>, Member>> {
    let mut ar = tar::Archive::new(Cursor::new(data));
    let mut members = HashMap::new();
    let mut any = false;
    for e in ar.entries_with_seek()? {
        let e = e?;
        any = true;
        let path = normalize_path(&e.path_bytes());
        let start = e.raw_file_position() as usize;
        let end = start.saturating_add(e.size() as usize);
        let kind = e.header().entry_type();
        let member = if kind.is_file() {
            if end > data.len() {
                return Err(std::io::Error::other(format!(
                    "member {} is truncated",
                    String::from_utf8_lossy(&path)
                )));
            }
            Member::File(start..end)
        } else if kind.is_symlink() || kind.is_hard_link() {
            let target = e.link_name_bytes().unwrap_or_default();
            let resolved = if kind.is_symlink() && !target.starts_with(b"/") {
                let dir = crate::util::parent(&path).unwrap_or(b"");
                normalize_path(&crate::util::join(dir, &target))
            } else {
                normalize_path(&target)
            };
            Member::Link(resolved)
        } else {
            Member::Other
        };
        members.insert(path, member);
    }
    if !any && !data.is_empty() && data.iter().any(|&b| b != 0) {
        return Err(std::io::Error::other("no tar members"));
    }
    Ok(members)
}
