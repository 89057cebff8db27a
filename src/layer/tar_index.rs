//! Indexes a mapped layer tar: for each entry its normalised path, kind, link target and
//! the byte range of its data in the map. GNU and PAX long names are handled by the
//! `tar` crate; nothing is extracted.

use crate::util::normalize_path;
use std::io::Cursor;
use std::ops::Range;

/// The kind of a tar entry, as far as the overlay cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Other,
}

/// One entry of a layer tar.
#[derive(Clone, Debug)]
pub struct TarEntry {
    /// Normalised path: relative to the image root, no leading `/` or `./`.
    pub path: Vec<u8>,
    pub kind: EntryKind,
    /// Data range in the layer map (empty for non-files).
    pub data: Range<usize>,
    /// Link target (normalised for hard links, as written for symlinks).
    pub link: Option<Vec<u8>>,
}

/// All entries of a layer, and the error that stopped indexing, if any.
#[derive(Debug, Default)]
pub struct TarIndex {
    pub entries: Vec<TarEntry>,
    pub error: Option<String>,
}

/// Indexes `data` as a tar archive. A malformed or truncated archive yields the
/// entries read before the fault and an error message.
pub fn index_tar(data: &[u8]) -> TarIndex {
    let mut idx = TarIndex::default();
    if data.is_empty() {
        return idx;
    }
    let mut ar = tar::Archive::new(Cursor::new(data));
    let entries = match ar.entries_with_seek() {
        Ok(e) => e,
        Err(e) => {
            idx.error = Some(format!("not a tar archive: {e}"));
            return idx;
        }
    };
    for entry in entries {
        let e = match entry {
            Ok(e) => e,
            Err(err) => {
                idx.error = Some(if idx.entries.is_empty() {
                    format!("not a tar archive: {err}")
                } else {
                    format!("corrupt tar after {} entries: {err}", idx.entries.len())
                });
                break;
            }
        };
        let path = normalize_path(&e.path_bytes());
        let et = e.header().entry_type();
        // A GNU sparse file counts as a file: its stored (non-hole) bytes are scanned.
        let sparse = et.is_gnu_sparse();
        let kind = if et.is_file() || et == tar::EntryType::Continuous || sparse {
            EntryKind::File
        } else if et.is_dir() {
            EntryKind::Dir
        } else if et.is_symlink() {
            EntryKind::Symlink
        } else if et.is_hard_link() {
            EntryKind::Hardlink
        } else {
            EntryKind::Other
        };
        let start = e.raw_file_position() as usize;
        // `size()` of a sparse entry is its size with the holes; the archive holds the
        // header's size, contiguously.
        let size = if sparse {
            e.header().entry_size().unwrap_or(0)
        } else {
            e.size()
        } as usize;
        let data_range = if kind == EntryKind::File {
            let end = start.saturating_add(size);
            if end > data.len() {
                idx.error = Some(format!(
                    "truncated tar: entry {} ends at byte {end}, layer has {}",
                    crate::util::display_bytes(&path),
                    data.len()
                ));
                start.min(data.len())..data.len()
            } else {
                start..end
            }
        } else {
            start..start
        };
        let link = e.link_name_bytes().map(|l| match kind {
            EntryKind::Hardlink => normalize_path(&l),
            _ => l.into_owned(),
        });
        let truncated = data_range.end == data.len() && idx.error.is_some();
        idx.entries.push(TarEntry {
            path,
            kind,
            data: data_range,
            link,
        });
        if truncated {
            break;
        }
    }
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnu_sparse_entries_are_files_over_their_stored_bytes() {
        // A 1 MiB sparse file whose only data (512 bytes) follows a hole, then a file.
        let mut h = tar::Header::new_gnu();
        h.set_path("var/sparse").unwrap();
        h.set_entry_type(tar::EntryType::GNUSparse);
        h.set_size(512);
        let gnu = h.as_gnu_mut().unwrap();
        gnu.sparse[0].set_offset((1 << 20) - 512);
        gnu.sparse[0].set_length(512);
        gnu.set_real_size(1 << 20);
        h.set_cksum();
        let mut tar = h.as_bytes().to_vec();
        tar.extend(std::iter::repeat_n(b's', 512));
        let mut b = tar::Builder::new(tar);
        let mut f = tar::Header::new_gnu();
        f.set_size(2);
        b.append_data(&mut f, "after", &b"ok"[..]).unwrap();
        let tar = b.into_inner().unwrap();
        let idx = index_tar(&tar);
        assert_eq!(idx.error, None);
        assert_eq!(idx.entries[0].kind, EntryKind::File);
        assert_eq!(idx.entries[0].data, 512..1024);
        assert_eq!(&tar[idx.entries[1].data.clone()], b"ok");
    }
}
