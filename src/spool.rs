//! The private spool directory: decompressed layers and archives live here while they
//! are scanned. Nothing else is ever written. It is removed on drop, and on Ctrl-C or
//! SIGTERM by the handler installed with [`install_signal_cleanup`].

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tempfile::{NamedTempFile, TempDir};

static LIVE_SPOOLS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A private temporary directory for spool files.
#[derive(Debug)]
pub struct Spool {
    dir: TempDir,
}

impl Spool {
    /// Creates a new spool directory under `parent` (or the system temp dir).
    pub fn new(parent: Option<&Path>) -> Result<Spool> {
        let mut b = tempfile::Builder::new();
        b.prefix("layerhound-spool-");
        let dir = match parent {
            Some(p) => b.tempdir_in(p).map_err(|e| Error::io(p, e))?,
            None => b
                .tempdir()
                .map_err(|e| Error::io(std::env::temp_dir(), e))?,
        };
        if let Ok(mut v) = LIVE_SPOOLS.lock() {
            v.push(dir.path().to_path_buf());
        }
        Ok(Spool { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A new spool file, deleted when dropped.
    pub fn file(&self) -> Result<NamedTempFile> {
        tempfile::Builder::new()
            .prefix("layer-")
            .tempfile_in(self.dir.path())
            .map_err(|e| Error::io(self.dir.path(), e))
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if let Ok(mut v) = LIVE_SPOOLS.lock() {
            v.retain(|p| p != self.dir.path());
        }
    }
}

/// Bytes free for an unprivileged writer on the filesystem holding `dir`.
pub fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt as _;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized, writable
    // statvfs buffer that lives across the call; statvfs only writes into it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail.saturating_mul(st.f_frsize))
}

/// A writer into the spool that stops, with a clear error, before the spool's
/// filesystem has less than `min_free` bytes left, instead of filling the disk.
pub struct DiskGuard<W> {
    inner: W,
    dir: PathBuf,
    min_free: u64,
    since_check: u64,
}

/// How many bytes are written between two looks at the free space.
const CHECK_EVERY: u64 = 32 << 20;

impl<W> DiskGuard<W> {
    pub fn new(inner: W, spool: &Spool, min_free: u64) -> DiskGuard<W> {
        DiskGuard {
            inner,
            dir: spool.path().to_path_buf(),
            min_free,
            since_check: CHECK_EVERY,
        }
    }
}

impl<W: std::io::Write> std::io::Write for DiskGuard<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.since_check >= CHECK_EVERY {
            self.since_check = 0;
            if let Some(free) = free_bytes(&self.dir)
                && free < self.min_free.saturating_add(buf.len() as u64)
            {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    format!(
                        "spool filesystem of {} has {} MiB free, below --min-free-disk {} MiB; \
                         stopped writing the spool (set --spool-dir to a larger filesystem)",
                        self.dir.display(),
                        free >> 20,
                        self.min_free >> 20
                    ),
                ));
            }
        }
        let n = self.inner.write(buf)?;
        self.since_check += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Removes every live spool directory and exits with 130 on Ctrl-C / SIGTERM.
pub fn install_signal_cleanup() {
    let _ = ctrlc::set_handler(|| {
        if let Ok(v) = LIVE_SPOOLS.lock() {
            for p in v.iter() {
                let _ = std::fs::remove_dir_all(p);
            }
        }
        eprintln!("layerhound: interrupted; spool removed");
        std::process::exit(130);
    });
}
