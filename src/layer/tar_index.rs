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

/// The kind of an entry of type `et`. A GNU sparse file counts as a file: its stored
/// (non-hole) bytes are scanned.
pub fn kind_of(et: tar::EntryType) -> EntryKind {
    if et.is_file() || et == tar::EntryType::Continuous || et.is_gnu_sparse() {
        EntryKind::File
    } else if et.is_dir() {
        EntryKind::Dir
    } else if et.is_symlink() {
        EntryKind::Symlink
    } else if et.is_hard_link() {
        EntryKind::Hardlink
    } else {
        EntryKind::Other
    }
}

/// What an entry's headers say, as the index keeps it.
pub(super) struct Head {
    pub path: Vec<u8>,
    pub kind: EntryKind,
    /// Bytes of data the archive stores for it: `size()` of a sparse entry is its size
    /// with the holes, while the archive holds the header's size, contiguously.
    pub stored: u64,
    pub link: Option<Vec<u8>>,
}

pub(super) fn head_of<R: std::io::Read>(e: &tar::Entry<'_, R>) -> Head {
    let et = e.header().entry_type();
    let kind = kind_of(et);
    Head {
        path: normalize_path(&e.path_bytes()),
        kind,
        stored: if et.is_gnu_sparse() {
            e.header().entry_size().unwrap_or(0)
        } else {
            e.size()
        },
        link: e.link_name_bytes().map(|l| match kind {
            EntryKind::Hardlink => normalize_path(&l),
            _ => l.into_owned(),
        }),
    }
}

/// The error for a tar the parser gave up on after `read` entries.
pub(super) fn entry_error(read: usize, err: &std::io::Error) -> String {
    if read == 0 {
        format!("not a tar archive: {err}")
    } else {
        format!("corrupt tar after {read} entries: {err}")
    }
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
                idx.error = Some(entry_error(idx.entries.len(), &err));
                break;
            }
        };
        let Head {
            path,
            kind,
            stored,
            link,
        } = head_of(&e);
        let sparse = e.header().entry_type().is_gnu_sparse();
        let mut start = e.raw_file_position() as usize;
        if sparse && e.header().as_gnu().is_some_and(|g| g.is_extended()) {
            // The data follows the extension headers of the sparse map; the last one
            // has its `isextended` byte (at 504) clear.
            while let Some(block) = data.get(start..start.saturating_add(512)) {
                start += 512;
                if block[504] == 0 {
                    break;
                }
            }
        }
        let size = stored as usize;
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
pub(crate) mod tests {
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

    /// A GNU sparse entry whose map continues in an extension header, then a file.
    pub(crate) fn extended_sparse_tar() -> Vec<u8> {
        let mut h = tar::Header::new_gnu();
        h.set_path("var/sparse").unwrap();
        h.set_entry_type(tar::EntryType::GNUSparse);
        h.set_size(1024);
        let gnu = h.as_gnu_mut().unwrap();
        gnu.sparse[0].set_offset(0);
        gnu.sparse[0].set_length(512);
        gnu.isextended[0] = 1;
        gnu.set_real_size(1536);
        h.set_cksum();
        let mut tar = h.as_bytes().to_vec();
        let mut ext = [0u8; 512];
        ext[..12].copy_from_slice(format!("{:011o}\0", 1024).as_bytes());
        ext[12..24].copy_from_slice(format!("{:011o}\0", 512).as_bytes());
        tar.extend_from_slice(&ext);
        tar.extend(std::iter::repeat_n(b'a', 512));
        tar.extend(std::iter::repeat_n(b'b', 512));
        let mut b = tar::Builder::new(tar);
        let mut f = tar::Header::new_gnu();
        f.set_size(2);
        b.append_data(&mut f, "after", &b"ok"[..]).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn extended_gnu_sparse_data_starts_after_the_extension_headers() {
        let tar = extended_sparse_tar();
        let idx = index_tar(&tar);
        assert_eq!(idx.error, None);
        assert_eq!(idx.entries[0].kind, EntryKind::File);
        assert_eq!(idx.entries[0].data, 1024..2048);
        assert_eq!(tar[1024], b'a');
        assert_eq!(tar[2047], b'b');
        assert_eq!(&tar[idx.entries[1].data.clone()], b"ok");
    }
}
