//! layerhound: find secrets in container images, offline, with per-layer provenance.
//!
//! The pipeline, one module per stage (see `DESIGN.md` in the project docs):
//! [`target`] → [`source`] → [`image`] → [`layer`] → [`overlay`] → [`matcher`] →
//! [`finding`] → [`policy`] → [`report`]. [`scan`] wires the stages together; [`policy`]
//! sets aside what an ignore file or a baseline accepts and decides the exit code.

pub mod blob;
pub mod content;
pub mod error;
pub mod finding;
pub mod image;
pub mod layer;
pub mod matcher;
pub mod outcome;
pub mod overlay;
pub mod packages;
pub mod policy;
pub mod redact;
pub mod report;
pub mod results_cache;
pub mod rules;
pub mod scan;
pub mod source;
pub mod spool;
pub mod target;
pub mod testkeys;
pub mod thirdparty;
pub mod util;

pub use error::{Error, Result};
