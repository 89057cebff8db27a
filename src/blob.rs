//! The byte primitive every stage reads: a [`Blob`] is a range of a read-only file map
//! or of owned bytes; [`map_file`] maps a regular file, [`open_regular`] refuses
//! anything that is not one. It imports nothing of the pipeline, so sources, layers,
//! targets and the scan can all use it.

use crate::error::{Error, Result};
use memmap2::Mmap;
use std::fs::File;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

/// Bytes of a blob: a range of a shared map, or owned bytes.
#[derive(Clone, Debug)]
pub struct Blob {
    backing: Backing,
    range: Range<usize>,
}

#[derive(Clone, Debug)]
enum Backing {
    Map(Arc<Mmap>),
    Owned(Arc<Vec<u8>>),
}

impl Blob {
    pub fn from_map(map: Arc<Mmap>, range: Range<usize>) -> Blob {
        Blob {
            backing: Backing::Map(map),
            range,
        }
    }
    pub fn from_vec(v: Vec<u8>) -> Blob {
        let range = 0..v.len();
        Blob {
            backing: Backing::Owned(Arc::new(v)),
            range,
        }
    }
    pub fn bytes(&self) -> &[u8] {
        match &self.backing {
            Backing::Map(m) => &m[self.range.clone()],
            Backing::Owned(v) => &v[self.range.clone()],
        }
    }
    pub fn len(&self) -> usize {
        self.range.len()
    }

    /// Tells the OS that `range` (relative to this blob) will not be read again soon,
    /// so its pages leave memory: peak memory then stays flat however large a file or
    /// layer is. A later read faults the pages back in from the file. Owned blobs and
    /// partial pages at the ends are left alone.
    pub fn release(&self, range: Range<usize>) {
        let Backing::Map(map) = &self.backing else {
            return;
        };
        const PAGE: usize = 4096;
        let start = (self.range.start + range.start).div_ceil(PAGE) * PAGE;
        let end = ((self.range.start + range.end.min(self.range.len())) / PAGE) * PAGE;
        if end > start {
            // SAFETY: the map is read-only and file-backed (a spool file or an input
            // file), so dropping its pages loses nothing: any later access, by this or
            // another thread, reads the same bytes back from the file.
            let _ = unsafe {
                map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
            };
        }
    }

    /// Calls `f` on consecutive chunks of `range`, releasing each one after use.
    pub fn for_each_chunk(&self, range: Range<usize>, mut f: impl FnMut(&[u8])) {
        const CHUNK: usize = 8 << 20;
        let mut at = range.start;
        while at < range.end {
            let end = (at + CHUNK).min(range.end);
            f(&self.bytes()[at..end]);
            self.release(at..end);
            at = end;
        }
    }
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    /// The part `range` (relative to this blob) of the same bytes, sharing them.
    pub fn slice(&self, range: Range<usize>) -> Blob {
        let base = self.range.start;
        Blob {
            backing: self.backing.clone(),
            range: base + range.start..base + range.end,
        }
    }
}

/// Opens a regular file for reading, refusing anything else before opening it (opening
/// a FIFO would block until a writer appears; a device is not an image).
pub fn open_regular(path: &Path) -> Result<File> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::Format(format!(
            "{}: not a regular file",
            path.display()
        )));
    }
    File::open(path).map_err(|e| Error::io(path, e))
}

/// Maps a whole regular file read-only. Empty files give an empty owned blob.
pub fn map_file(path: &Path) -> Result<Blob> {
    let file = open_regular(path)?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len == 0 {
        return Ok(Blob::from_vec(Vec::new()));
    }
    // SAFETY: the map is read-only. The file is either a spool file that only this
    // process writes (and has finished writing), or an input the user handed us; if
    // another process truncates an input while we read it, the OS may deliver SIGBUS,
    // which is the same hazard every mmap-based reader (ripgrep included) accepts.
    let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
    let n = map.len();
    Ok(Blob::from_map(Arc::new(map), 0..n))
}
