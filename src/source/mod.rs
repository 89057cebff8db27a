//! Sources: open an input and resolve it to [`Image`]s whose layers are blobs in a
//! [`Store`]. docker save archives (classic and Docker 25+), OCI layout directories
//! and OCI archives all end here; later stages never know which one it was.

pub mod attestation;
pub mod daemon;
pub mod docker;
pub mod oci;
pub mod store;

use crate::error::{Error, Result};
use crate::image::Image;
use crate::spool::Spool;
use crate::target::{Target, Transport};
use crate::util::sha256_digest;
pub use store::Store;

/// A non-fatal problem found while resolving images (kept, reported, exit 2).
#[derive(Clone, Debug)]
pub struct SourceIssue {
    pub kind: crate::error::ErrorKind,
    pub message: String,
}

/// An opened input: where its blobs are and the images it holds.
pub struct Opened {
    /// The name of the input in findings and errors (`transport:path`).
    pub label: String,
    pub store: Store,
    pub images: Vec<Image>,
    pub issues: Vec<SourceIssue>,
    /// Notes on manifests that are not images and were not (or not wholly) read, such
    /// as an attestation that could not be read; they leave the exit code alone.
    pub skipped: Vec<String>,
    /// Why part of the input was not read (a compressed archive past the byte budget).
    pub cut: Option<String>,
}

/// What a source reader found.
#[derive(Default)]
pub struct Resolved {
    pub images: Vec<Image>,
    pub issues: Vec<SourceIssue>,
    pub skipped: Vec<String>,
}

/// Told of each member of a stream (a daemon's export, standard input, a compressed
/// archive) that looks like a layer, as it arrives: its name (as the store knows it)
/// and its bytes as a stream, which it reads to the end. Gives what the store keeps of
/// the layer, whose bytes are not kept.
pub type Arrived<'a> = &'a dyn Fn(String, &mut dyn std::io::Read) -> store::Streamed;

/// Opens a target and lists its images; a compressed archive inflates within `caps`.
pub fn open(
    target: &Target,
    spool: &Spool,
    caps: &crate::layer::LayerCaps,
    daemon_opts: daemon::DaemonOptions,
    arrived: Option<Arrived<'_>>,
) -> Result<Opened> {
    let mut label = target.label();
    let mut cut = None;
    let (store, resolved) = match target.transport {
        Transport::Archive => {
            let (store, c) = archive_store(&target.path, spool, caps, arrived)?;
            cut = c;
            let kind = crate::target::archive_kind(|n| store.contains(n))
                .ok_or_else(|| crate::target::not_an_image_archive(&target.path))?;
            label = crate::target::Target {
                transport: kind,
                ..target.clone()
            }
            .label();
            let r = if kind == Transport::DockerArchive {
                docker::images(&store, &label, target.reference.as_deref())?
            } else {
                oci::images(&store, &label, target.reference.as_deref())?
            };
            (store, r)
        }
        Transport::DockerArchive => {
            let store = if target.path.is_dir() {
                Store::dir(&target.path)
            } else {
                let (store, c) = archive_store(&target.path, spool, caps, arrived)?;
                cut = c;
                store
            };
            let r = docker::images(&store, &label, target.reference.as_deref())?;
            (store, r)
        }
        Transport::Oci | Transport::OciArchive => {
            let store = if target.transport == Transport::Oci {
                if !target.path.is_dir() {
                    return Err(Error::Target(format!(
                        "{}: not a directory (an OCI layout directory holds oci-layout and index.json)",
                        target.path.display()
                    )));
                }
                Store::dir(&target.path)
            } else {
                let (store, c) = archive_store(&target.path, spool, caps, arrived)?;
                cut = c;
                store
            };
            let r = oci::images(&store, &label, target.reference.as_deref())?;
            (store, r)
        }
        Transport::DockerDaemon => {
            let reference = target.reference.as_deref();
            daemon::open(reference, spool, daemon_opts, caps.min_free, arrived)?
        }
        Transport::Stdin => {
            let stdin = std::io::stdin().lock();
            let (store, kind, c) = daemon::receive_archive(stdin, "stdin:-", spool, caps, arrived)?;
            cut = c;
            label = format!("{}:-", kind.name());
            let r = if kind == Transport::DockerArchive {
                docker::images(&store, &label, None)?
            } else {
                oci::images(&store, &label, None)?
            };
            (store, r)
        }
    };
    Ok(Opened {
        label,
        store,
        images: resolved.images,
        issues: resolved.issues,
        skipped: resolved.skipped,
        cut,
    })
}

/// The store of an archive file: a plain tar is mapped and indexed; a gzip- or
/// zstd-compressed one is read as a stream, like standard input (layers scanned as
/// they arrive, nothing spooled), within the byte budget.
fn archive_store(
    path: &std::path::Path,
    spool: &Spool,
    caps: &crate::layer::LayerCaps,
    arrived: Option<Arrived<'_>>,
) -> Result<(Store, Option<String>)> {
    let mut file = crate::blob::open_regular(path)?;
    let mut head = [0u8; 4];
    let n = std::io::Read::read(&mut file, &mut head).map_err(|e| Error::io(path, e))?;
    if crate::layer::sniff(&head[..n]) == crate::layer::Compression::None || arrived.is_none() {
        return Store::tar(path, spool, caps).map(|s| (s, None));
    }
    let file = crate::blob::open_regular(path)?;
    let label = path.display().to_string();
    daemon::receive_archive(file, &label, spool, caps, arrived).map(|(store, _, cut)| (store, cut))
}

/// Reads a JSON document from the store, checking its digest when one is expected.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
    store: &Store,
    name: &str,
    expected: Option<&str>,
    issues: &mut Vec<SourceIssue>,
) -> Result<(T, String)> {
    let (blob, found) = read_json_blob(store, name, expected, issues)?;
    let v = serde_json::from_slice(blob.bytes()).map_err(|e| Error::Json {
        what: name.to_string(),
        reason: e.to_string(),
    })?;
    Ok((v, found))
}

/// The bytes of a JSON document in the store and their digest, after the checks of
/// [`read_json`] (the expected digest, the size cap); not yet parsed.
pub(crate) fn read_json_blob(
    store: &Store,
    name: &str,
    expected: Option<&str>,
    issues: &mut Vec<SourceIssue>,
) -> Result<(crate::blob::Blob, String)> {
    let blob = store.get(name)?;
    let found = sha256_digest(blob.bytes());
    if let Some(exp) = expected
        && exp != found
    {
        issues.push(SourceIssue {
            kind: crate::error::ErrorKind::DigestMismatch,
            message: Error::DigestMismatch {
                what: name.to_string(),
                expected: exp.to_string(),
                found: found.clone(),
            }
            .to_string(),
        });
    }
    if blob.len() > MAX_JSON_BYTES {
        return Err(Error::Json {
            what: name.to_string(),
            reason: format!(
                "{} MiB, more than the {} MiB a manifest, index or config may have",
                blob.len() >> 20,
                MAX_JSON_BYTES >> 20
            ),
        });
    }
    Ok((blob, found))
}

/// Largest manifest, index or config read (a real one is kilobytes; a config with huge
/// `Env` values or history may reach megabytes).
pub const MAX_JSON_BYTES: usize = 128 << 20;

/// `blobs/<alg>/<hex>` for a digest, refusing anything that is not a plain digest.
pub(crate) fn blob_path(digest: &str) -> Result<String> {
    let (alg, hex) = digest
        .split_once(':')
        .ok_or_else(|| invalid_digest(digest))?;
    let ok_len = match alg {
        "sha256" => hex.len() == 64,
        "sha512" => hex.len() == 128,
        _ => false,
    };
    if !ok_len
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(invalid_digest(digest));
    }
    Ok(format!("blobs/{alg}/{hex}"))
}

/// Longest part of a bad digest an error message quotes.
const MAX_SHOWN_DIGEST: usize = 160;

/// The error for a malformed digest, quoting it (cut short when it is long; the quoting
/// escapes control characters).
pub(crate) fn invalid_digest(digest: &str) -> Error {
    Error::InvalidDigest(clip(digest, MAX_SHOWN_DIGEST))
}

/// At most the first `max` characters of `s` (then `…`), for quoting a value from an
/// input in a message.
pub(crate) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// Attaches history steps and expected diff_ids to layers (by each layer's index, so a
/// layer left out for a bad descriptor shifts nothing), noting count mismatches against
/// the `listed` layers of the manifest.
pub(crate) fn attach_config(
    layers: &mut [crate::image::LayerRef],
    listed: usize,
    cfg: &oci_spec::image::ImageConfiguration,
    what: &str,
    issues: &mut Vec<SourceIssue>,
) {
    let steps = crate::image::layer_steps(cfg);
    let diff_ids = cfg.rootfs().diff_ids();
    if diff_ids.len() != listed {
        issues.push(SourceIssue {
            kind: crate::error::ErrorKind::Corrupt,
            message: format!(
                "{what}: config lists {} diff_ids but the manifest has {listed} layers",
                diff_ids.len(),
            ),
        });
    }
    for l in layers.iter_mut() {
        l.created_by = steps.get(l.index).cloned().flatten();
        l.diff_id = diff_ids.get(l.index).cloned();
        // A malformed diff_id cannot be checked: that layer's check is an error, the
        // layer is still read.
        if let Some(d) = &l.diff_id
            && let Err(e) = blob_path(d)
        {
            issues.push(SourceIssue {
                kind: e.kind(),
                message: format!(
                    "{what}: layer {}: config rootfs.diff_ids[{}]: {e}; its content is not checked",
                    l.index, l.index
                ),
            });
            l.diff_id = None;
        }
    }
}
