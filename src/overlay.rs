//! The whiteout-aware union over an image's layers. Takes the tar index of each layer
//! (in image order) and answers, for an entry of layer i, whether it is the version a
//! container would see (`present`) or was deleted, overwritten or hidden by an opaque
//! directory in a later layer — and which one.

use crate::layer::{EntryKind, TarEntry};
use crate::util::{file_name, join, parent};
use std::collections::{HashMap, HashSet};

const WH_PREFIX: &[u8] = b".wh.";
const WH_OPAQUE: &[u8] = b".wh..wh..opq";

/// A file's fate in the final filesystem.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Present,
    Deleted,
    Overwritten,
    Opaque,
    Metadata,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Present => "present",
            Status::Deleted => "deleted",
            Status::Overwritten => "overwritten",
            Status::Opaque => "opaque",
            Status::Metadata => "metadata",
        }
    }
    pub const ALL: [Status; 5] = [
        Status::Present,
        Status::Deleted,
        Status::Overwritten,
        Status::Opaque,
        Status::Metadata,
    ];
}

/// What one layer does to the filesystem.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct LayerFs {
    /// Path → index of the last entry at that path (whiteout markers excluded).
    last: HashMap<Vec<u8>, usize>,
    kinds: Vec<EntryKind>,
    /// Paths deleted by `.wh.NAME` markers.
    whiteouts: HashSet<Vec<u8>>,
    /// Directories made opaque by `.wh..wh..opq`.
    opaques: HashSet<Vec<u8>>,
    /// Hard-link target → link paths (same layer).
    links: HashMap<Vec<u8>, Vec<Vec<u8>>>,
    /// Lengths of the paths that can act on a lower entry's ancestors (whiteouts,
    /// opaque directories, non-directories): an ancestor of another length is not
    /// looked up, so walking a very deep path costs its length, not its length squared.
    acting_lens: HashSet<usize>,
}

/// Whether an entry is a whiteout marker (never scanned as a file).
pub fn is_whiteout(path: &[u8]) -> bool {
    file_name(path).starts_with(WH_PREFIX)
}

impl LayerFs {
    pub fn build(entries: &[TarEntry]) -> LayerFs {
        let mut fs = LayerFs {
            kinds: entries.iter().map(|e| e.kind).collect(),
            ..Default::default()
        };
        for (i, e) in entries.iter().enumerate() {
            let name = file_name(&e.path);
            if name == WH_OPAQUE {
                let dir = parent(&e.path).unwrap_or(b"");
                fs.acting_lens.insert(dir.len());
                fs.opaques.insert(dir.to_vec());
            } else if let Some(victim) = name.strip_prefix(WH_PREFIX) {
                if !victim.starts_with(WH_PREFIX) {
                    let gone = join(parent(&e.path).unwrap_or(b""), victim);
                    fs.acting_lens.insert(gone.len());
                    fs.whiteouts.insert(gone);
                }
            } else if !e.path.is_empty() {
                if e.kind != EntryKind::Dir {
                    fs.acting_lens.insert(e.path.len());
                }
                fs.last.insert(e.path.clone(), i);
                if e.kind == EntryKind::Hardlink
                    && let Some(t) = &e.link
                {
                    fs.links.entry(t.clone()).or_default().push(e.path.clone());
                }
            }
        }
        fs
    }

    /// Paths of hard links in this layer that point at `target`.
    pub fn links_to(&self, target: &[u8]) -> &[Vec<u8>] {
        self.links.get(target).map_or(&[], Vec::as_slice)
    }

    /// What this layer, sitting above an entry at `path`, does to it.
    fn effect_on(&self, path: &[u8]) -> Option<Status> {
        if self.last.contains_key(path) {
            return Some(Status::Overwritten);
        }
        let mut anc = Some(path);
        let mut first = true;
        while let Some(a) = anc {
            if self.acting_lens.contains(&a.len()) {
                if self.whiteouts.contains(a) {
                    return Some(Status::Deleted);
                }
                if !first {
                    if let Some(&i) = self.last.get(a)
                        && self.kinds[i] != EntryKind::Dir
                    {
                        return Some(Status::Overwritten);
                    }
                    if self.opaques.contains(a) {
                        return Some(Status::Opaque);
                    }
                }
            }
            first = false;
            anc = parent(a);
        }
        None
    }
}

/// The status of entry `entry` at `path` of layer `i`, given the layers of one image,
/// and the index of the layer that removed it (None when present).
pub fn status_of(
    layers: &[&LayerFs],
    i: usize,
    entry: usize,
    path: &[u8],
) -> (Status, Option<usize>) {
    let direct = direct_status(layers, i, entry, path);
    if direct.0 == Status::Present {
        return direct;
    }
    // A hard link that survives keeps the bytes reachable.
    for link in layers[i].links_to(path) {
        if let Some(&li) = layers[i].last.get(link)
            && direct_status(layers, i, li, link).0 == Status::Present
        {
            return (Status::Present, None);
        }
    }
    direct
}

fn direct_status(
    layers: &[&LayerFs],
    i: usize,
    entry: usize,
    path: &[u8],
) -> (Status, Option<usize>) {
    if layers[i].last.get(path).is_some_and(|&k| k != entry) {
        return (Status::Overwritten, Some(i));
    }
    for (j, l) in layers.iter().enumerate().skip(i + 1) {
        if let Some(s) = l.effect_on(path) {
            return (s, Some(j));
        }
    }
    (Status::Present, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(p: &str) -> TarEntry {
        TarEntry {
            path: p.as_bytes().to_vec(),
            kind: EntryKind::File,
            data: 0..0,
            link: None,
        }
    }
    fn dir(p: &str) -> TarEntry {
        TarEntry {
            path: p.as_bytes().to_vec(),
            kind: EntryKind::Dir,
            data: 0..0,
            link: None,
        }
    }
    fn hl(p: &str, t: &str) -> TarEntry {
        TarEntry {
            path: p.as_bytes().to_vec(),
            kind: EntryKind::Hardlink,
            data: 0..0,
            link: Some(t.as_bytes().to_vec()),
        }
    }

    fn st(layers: &[Vec<TarEntry>], i: usize, entry: usize) -> (Status, Option<usize>) {
        let fs: Vec<LayerFs> = layers.iter().map(|l| LayerFs::build(l)).collect();
        let refs: Vec<&LayerFs> = fs.iter().collect();
        status_of(&refs, i, entry, &layers[i][entry].path)
    }

    #[test]
    fn statuses() {
        let base = vec![
            dir("app"),
            file("app/.env"),
            file("app/keep"),
            file("etc/conf"),
        ];
        // deleted by a whiteout
        assert_eq!(
            st(&[base.clone(), vec![file("app/.wh..env")]], 0, 1),
            (Status::Deleted, Some(1))
        );
        // deleted via ancestor whiteout
        assert_eq!(
            st(&[base.clone(), vec![file(".wh.app")]], 0, 1),
            (Status::Deleted, Some(1))
        );
        // overwritten
        assert_eq!(
            st(&[base.clone(), vec![], vec![file("app/.env")]], 0, 1),
            (Status::Overwritten, Some(2))
        );
        // opaque
        assert_eq!(
            st(
                &[base.clone(), vec![dir("app"), file("app/.wh..wh..opq")]],
                0,
                1
            ),
            (Status::Opaque, Some(1))
        );
        // directory replaced by a file
        assert_eq!(
            st(&[base.clone(), vec![file("app")]], 0, 1),
            (Status::Overwritten, Some(1))
        );
        // untouched
        assert_eq!(
            st(&[base.clone(), vec![file("app/.wh..env")]], 0, 2),
            (Status::Present, None)
        );
        // same path twice in one layer: the last wins
        let twice = vec![file("a"), file("a")];
        assert_eq!(
            st(std::slice::from_ref(&twice), 0, 0),
            (Status::Overwritten, Some(0))
        );
        assert_eq!(st(&[twice], 0, 1), (Status::Present, None));
        // a later dir entry over an ancestor does not hide the file
        assert_eq!(
            st(&[base.clone(), vec![dir("app")]], 0, 1),
            (Status::Present, None)
        );
        // opaque in the same layer does not hide that layer's own files
        assert_eq!(
            st(
                &[vec![dir("app"), file("app/.wh..wh..opq"), file("app/x")]],
                0,
                2
            ),
            (Status::Present, None)
        );
    }

    #[test]
    fn surviving_hardlink_keeps_present() {
        let l0 = vec![file("a/secret"), hl("b/link", "a/secret")];
        assert_eq!(
            st(&[l0.clone(), vec![file("a/.wh.secret")]], 0, 0),
            (Status::Present, None)
        );
        assert_eq!(
            st(&[l0, vec![file("a/.wh.secret"), file("b/.wh.link")]], 0, 0),
            (Status::Deleted, Some(1))
        );
    }

    #[test]
    fn deep_paths_keep_their_statuses() {
        let deep = format!("{}f", "d/".repeat(50_000));
        let base = vec![file(&deep)];
        assert_eq!(
            st(&[base.clone(), vec![file("x"), file("d/d/d/.wh.d")]], 0, 0),
            (Status::Deleted, Some(1))
        );
        assert_eq!(
            st(&[base.clone(), vec![file("x")], vec![file("d/d")]], 0, 0),
            (Status::Overwritten, Some(2))
        );
        assert_eq!(
            st(
                &[base.clone(), vec![dir("d/d"), file("d/.wh..wh..opq")]],
                0,
                0
            ),
            (Status::Opaque, Some(1))
        );
        assert_eq!(
            st(&[base, vec![file("d/d/x")]], 0, 0),
            (Status::Present, None)
        );
    }
}
