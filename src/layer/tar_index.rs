//! Indexes a mapped layer tar: for each entry its normalised path, kind, link target and
//! the byte range of its data in the map. GNU and PAX long names are handled by the
//! `tar` crate; nothing is extracted.

use crate::util::normalize_path;
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

/// All entries of a layer, the error that stopped indexing, if any, and the problems
/// met on the way that did not stop it (an extension header over its cap).
#[derive(Debug, Default)]
pub struct TarIndex {
    pub entries: Vec<TarEntry>,
    pub error: Option<String>,
    pub problems: Vec<EntryProblem>,
}

/// A problem with one entry's headers that the rest of the layer is read past.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryProblem {
    /// The entry's path as far as it is known (its own header's name when a long name
    /// was not read); none when no entry followed.
    pub path: Option<Vec<u8>>,
    pub message: String,
}

/// Most bytes of a GNU long name or long link read; a longer one is not read.
pub const MAX_LONG_NAME: u64 = 1 << 20;
/// Most bytes of one PAX extended header read; a larger one is not read.
pub const MAX_PAX_HEADER: u64 = 1 << 20;
/// Most bytes of an entry's path kept (Linux allows 4 KiB); a longer path is cut to
/// this, and said so.
pub const MAX_PATH: usize = 64 << 10;

/// What a 512-byte block ahead of the tar parser is, for screening.
pub(super) enum Block {
    /// Not an extension header (or no valid header at all): the parser reads it.
    Other,
    /// An extension header within its cap, with this many bytes of data.
    Extension { pax: bool, size: u64 },
    /// An extension header over its cap: its header, data and padding (all the rest
    /// of the stream when its size is unreadable) are kept from the parser.
    Oversized { skip: Option<u64>, message: String },
}

/// Screens the block at a header position: the `tar` crate reads a GNU long name or a
/// PAX header whole into memory, so one over its cap is taken out of the stream
/// before the parser sees it.
pub(super) fn screen_block(block: &[u8], at: u64) -> Block {
    let Some(block) = block.get(..512) else {
        return Block::Other;
    };
    let (what, cap, pax) = match block[156] {
        b'L' => ("GNU long name", MAX_LONG_NAME, false),
        b'K' => ("GNU long link", MAX_LONG_NAME, false),
        b'x' => ("PAX extended header", MAX_PAX_HEADER, true),
        b'g' => ("PAX global header", MAX_PAX_HEADER, true),
        _ => return Block::Other,
    };
    let h = tar::Header::from_byte_slice(block);
    let sum: u32 = block[..148]
        .iter()
        .chain(&block[156..])
        .map(|&b| u32::from(b))
        .sum::<u32>()
        + 8 * 32;
    if h.cksum().ok() != Some(sum) {
        return Block::Other;
    }
    match h.entry_size() {
        Ok(size) if size <= cap => Block::Extension { pax, size },
        size => {
            let skip = size
                .as_ref()
                .ok()
                .and_then(|s| s.checked_add(511))
                .map(|s| 512 + (s & !511));
            let said = size.as_ref().map_or_else(
                |_| "an unreadable size".to_string(),
                |s| format!("{s} bytes"),
            );
            Block::Oversized {
                skip,
                message: format!(
                    "{what} at byte {at} of {said} is over the {} KiB cap; not read{}",
                    cap >> 10,
                    if skip.is_some() {
                        ""
                    } else {
                        ", nor anything after it"
                    }
                ),
            }
        }
    }
}

/// What is wrong with the records of a PAX header that the parser would silently
/// ignore: a `size` that is not a number of bytes.
pub(super) fn pax_problem(records: &[u8], at: u64) -> Option<String> {
    for rec in records.split(|&b| b == b'\n') {
        let Some(kv) = rec.splitn(2, |&b| b == b' ').nth(1) else {
            continue;
        };
        if let Some(v) = kv.strip_prefix(b"size=")
            && std::str::from_utf8(v)
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .is_none()
        {
            let mut shown = crate::util::display_bytes(&v[..v.len().min(40)]);
            if v.len() > 40 {
                shown.push('…');
            }
            return Some(format!(
                "PAX extended header at byte {at} gives a size of {shown}, not a number of bytes; the entry's own header size was used"
            ));
        }
    }
    None
}

/// The parser's view of a mapped tar, with oversized extension headers taken out (see
/// [`screen_block`]): a position the parser sees plus `hidden` is a position in `data`.
struct Screened<'a> {
    data: &'a [u8],
    view: u64,
    hidden: u64,
    /// Problems found, by byte offset in `data`, not yet tied to an entry.
    found: Vec<String>,
}

impl Screened<'_> {
    fn actual(&self) -> u64 {
        self.view.saturating_add(self.hidden)
    }

    /// Screens the headers at the parser's position (it reads a header as one read
    /// of 512 bytes).
    fn screen(&mut self) {
        loop {
            let at = self.actual();
            let start = usize::try_from(at)
                .unwrap_or(usize::MAX)
                .min(self.data.len());
            let block = &self.data[start..];
            match screen_block(block, at) {
                Block::Oversized { skip, message } => {
                    self.found.push(message);
                    let rest = (self.data.len() - start) as u64;
                    self.hidden = self.hidden.saturating_add(skip.unwrap_or(rest).min(rest));
                }
                Block::Extension { pax: true, size } => {
                    let body = block.get(512..).unwrap_or(&[]);
                    let body = &body[..body.len().min(size as usize)];
                    self.found.extend(pax_problem(body, at));
                    return;
                }
                _ => return,
            }
        }
    }
}

impl std::io::Read for Screened<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.len() == 512 {
            self.screen();
        }
        let start = usize::try_from(self.actual())
            .unwrap_or(usize::MAX)
            .min(self.data.len());
        let avail = &self.data[start..];
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.view += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for Screened<'_> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        let end = (self.data.len() as u64).saturating_sub(self.hidden);
        let to = match pos {
            std::io::SeekFrom::Start(n) => Some(n),
            std::io::SeekFrom::Current(d) => self.view.checked_add_signed(d),
            std::io::SeekFrom::End(d) => end.checked_add_signed(d),
        };
        self.view = to.ok_or_else(|| std::io::Error::other("seek out of range"))?;
        Ok(self.view)
    }
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
    /// Set when the path or link was longer than [`MAX_PATH`] and was cut.
    pub cut: Option<String>,
}

pub(super) fn head_of<R: std::io::Read>(e: &tar::Entry<'_, R>) -> Head {
    let et = e.header().entry_type();
    let kind = kind_of(et);
    let mut cut = None;
    let mut capped = |what: &str, mut p: Vec<u8>| {
        if p.len() > MAX_PATH {
            cut.get_or_insert(format!(
                "{what} of {} bytes is over the {} KiB cap; kept its first {} KiB",
                p.len(),
                MAX_PATH >> 10,
                MAX_PATH >> 10
            ));
            p.truncate(MAX_PATH);
        }
        p
    };
    let path = capped("path", normalize_path(&e.path_bytes()));
    let link = e.link_name_bytes().map(|l| match kind {
        EntryKind::Hardlink => normalize_path(&l),
        _ => l.into_owned(),
    });
    let link = link.map(|l| capped("link target", l));
    Head {
        path,
        kind,
        stored: if et.is_gnu_sparse() {
            e.header().entry_size().unwrap_or(0)
        } else {
            e.size()
        },
        link,
        cut,
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
    let reader = std::cell::RefCell::new(Screened {
        data,
        view: 0,
        hidden: 0,
        found: Vec::new(),
    });
    let mut ar = tar::Archive::new(ScreenedRef(&reader));
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
            cut,
        } = head_of(&e);
        if let Some(message) = cut {
            idx.problems.push(EntryProblem {
                path: Some(path.clone()),
                message,
            });
        }
        let sparse = e.header().entry_type().is_gnu_sparse();
        let hidden = {
            let mut r = reader.borrow_mut();
            for message in r.found.drain(..) {
                idx.problems.push(EntryProblem {
                    path: Some(path.clone()),
                    message,
                });
            }
            r.hidden
        };
        let mut start = e.raw_file_position().saturating_add(hidden) as usize;
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
    idx.problems.extend(
        reader
            .borrow_mut()
            .found
            .drain(..)
            .map(|message| EntryProblem {
                path: None,
                message,
            }),
    );
    idx
}

/// A shared handle on the screened reader, so that the index can read what it found
/// while the parser holds the reader.
struct ScreenedRef<'r, 'a>(&'r std::cell::RefCell<Screened<'a>>);

impl std::io::Read for ScreenedRef<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().read(buf)
    }
}

impl std::io::Seek for ScreenedRef<'_, '_> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.0.borrow_mut().seek(pos)
    }
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
