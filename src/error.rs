//! Library errors: one enum with structured fields. Context that names the image, layer
//! and path is added at the edges by [`crate::scan::ScanError`].

use std::path::PathBuf;

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reading an image.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Target(String),
    #[error("{what}: invalid JSON: {reason}")]
    Json { what: String, reason: String },
    #[error("missing blob {0}")]
    MissingBlob(String),
    #[error("{what}: digest mismatch: expected {expected}, found {found}")]
    DigestMismatch {
        what: String,
        expected: String,
        found: String,
    },
    #[error("invalid digest {0:?}")]
    InvalidDigest(String),
    #[error("{0}")]
    Format(String),
    #[error("{0}")]
    Layer(String),
    #[error("rule {rule_id} in {file}: {reason}")]
    Rule {
        file: String,
        rule_id: String,
        reason: String,
    },
    #[error("{file}: {reason}")]
    RuleFile { file: String, reason: String },
    /// A baseline or ignore file that cannot be used: one line naming the file.
    #[error("{file}: {reason}")]
    Policy { file: String, reason: String },
    #[error("hyperscan: {0}")]
    Hyperscan(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
