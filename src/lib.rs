//! layerhound: find secrets in container images, offline, with per-layer provenance.
//!
//! The pipeline, one module per stage (see `DESIGN.md` in the project docs):
//! [`target`] → [`source`] → [`image`] → [`layer`] → [`overlay`] → [`matcher`] →
//! [`finding`] → [`report`]. [`scan`] wires the stages together.

pub mod content;
pub mod error;
pub mod finding;
pub mod image;
pub mod layer;
pub mod matcher;
pub mod overlay;
pub mod packages;
pub mod report;
pub mod results_cache;
pub mod rules;
pub mod scan;
pub mod source;
pub mod spool;
pub mod target;
pub mod util;

pub use error::{Error, Result};
