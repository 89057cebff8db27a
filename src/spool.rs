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
