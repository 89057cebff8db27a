//! Library errors: one enum with structured fields. Context that names the image, layer
//! and path is added at the edges by `ScanError` (in the outcome).

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

/// What kind of problem an error is, for programs reading the JSON `errors`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// A blob whose sha256 is not the digest its descriptor names.
    DigestMismatch,
    /// A layer whose uncompressed tar is not the diff_id the config names.
    DiffIdMismatch,
    /// A blob of another size than its descriptor says.
    SizeMismatch,
    /// A blob a manifest names that the input does not hold.
    MissingBlob,
    /// A digest that is malformed or of an unknown algorithm.
    InvalidDigest,
    /// An input, layer or member that cannot be read as what it claims to be.
    Corrupt,
    /// A target that cannot be opened or names nothing there.
    Target,
    /// A manifest, index or config that is not the JSON it should be.
    Json,
    /// A file that cannot be read or written.
    Io,
    /// The matching engine failed.
    Matcher,
    /// A limit was reached.
    Limit,
    #[default]
    Other,
}

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. } => ErrorKind::Io,
            Error::Target(_) => ErrorKind::Target,
            Error::Json { .. } => ErrorKind::Json,
            Error::MissingBlob(_) => ErrorKind::MissingBlob,
            Error::DigestMismatch { .. } => ErrorKind::DigestMismatch,
            Error::InvalidDigest(_) => ErrorKind::InvalidDigest,
            Error::Format(_) | Error::Layer(_) => ErrorKind::Corrupt,
            Error::Hyperscan(_) => ErrorKind::Matcher,
            Error::Rule { .. } | Error::RuleFile { .. } | Error::Policy { .. } => ErrorKind::Other,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
