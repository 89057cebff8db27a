//! Targets: parses `docker-archive:PATH[:REF]`, `oci:DIR[:REF]`, `oci-archive:PATH[:REF]`,
//! `docker-daemon:REF`, or a bare path (detected by content) / image reference.

use crate::error::{Error, Result};
use crate::layer::{Compression, sniff};
use std::io::Read;
use std::path::{Path, PathBuf};

/// How an input is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    DockerArchive,
    Oci,
    OciArchive,
    DockerDaemon,
    /// A compressed archive given as a bare path: docker save or OCI, told apart once
    /// it has been decompressed (into the spool, once) and its members are known.
    Archive,
    /// `-`: a docker save or OCI archive (plain, gzip or zstd) read from standard input
    /// as a stream, each layer scanned as soon as it has arrived.
    Stdin,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::DockerArchive => "docker-archive",
            Transport::Oci => "oci",
            Transport::OciArchive => "oci-archive",
            Transport::DockerDaemon => "docker-daemon",
            Transport::Archive => "archive",
            Transport::Stdin => "stdin",
        }
    }
}

/// A parsed target.
#[derive(Clone, Debug)]
pub struct Target {
    pub transport: Transport,
    pub path: PathBuf,
    /// The image reference or OCI ref name selecting one image, if given.
    pub reference: Option<String>,
    /// What the user typed.
    pub raw: String,
}

impl Target {
    /// The name used for the image in findings and errors: `transport:path`.
    pub fn label(&self) -> String {
        match self.transport {
            Transport::DockerDaemon => {
                format!(
                    "docker-daemon:{}",
                    self.reference.as_deref().unwrap_or("(all images)")
                )
            }
            Transport::Stdin => "stdin:-".to_string(),
            t => format!("{}:{}", t.name(), self.path.display()),
        }
    }
}

/// Splits `PATH[:REF]`: the whole string if it exists as a path, else at the `:` with
/// the longest left side that exists (a reference has colons of its own:
/// `app.tar:corp/app:1.2`, `layout:registry.example.test:5000/app:1.2`).
fn split_path_ref(rest: &str) -> (PathBuf, Option<String>) {
    if Path::new(rest).exists() {
        return (PathBuf::from(rest), None);
    }
    let split = rest
        .match_indices(':')
        .map(|(i, _)| (&rest[..i], &rest[i + 1..]))
        .rfind(|(p, r)| !p.is_empty() && !r.is_empty() && Path::new(p).exists());
    match split {
        Some((p, r)) => (PathBuf::from(p), Some(r.to_string())),
        None => (PathBuf::from(rest), None),
    }
}

/// Parses a target string.
pub fn parse(raw: &str) -> Result<Target> {
    let mk = |transport, path, reference| Target {
        transport,
        path,
        reference,
        raw: raw.to_string(),
    };
    for (prefix, t) in [
        ("docker-archive:", Transport::DockerArchive),
        ("oci-archive:", Transport::OciArchive),
        ("oci:", Transport::Oci),
    ] {
        if let Some(rest) = raw.strip_prefix(prefix) {
            let (path, reference) = split_path_ref(rest);
            if !path.exists() {
                return Err(Error::Target(format!(
                    "{raw}: {}: no such file or directory",
                    path.display()
                )));
            }
            return Ok(mk(t, path, reference));
        }
    }
    if raw == "-" {
        return Ok(mk(Transport::Stdin, PathBuf::new(), None));
    }
    if let Some(rest) = raw.strip_prefix("docker-daemon:") {
        // `docker-daemon:` alone means every image the daemon holds.
        let reference = Some(rest.to_string()).filter(|r| !r.is_empty());
        return Ok(mk(Transport::DockerDaemon, PathBuf::new(), reference));
    }
    let path = Path::new(raw);
    if path.exists() {
        return Ok(mk(detect(path)?, path.to_path_buf(), None));
    }
    if looks_like_path(raw) {
        return Err(Error::Target(format!("{raw}: no such file or directory")));
    }
    Ok(mk(
        Transport::DockerDaemon,
        PathBuf::new(),
        Some(raw.to_string()),
    ))
}

fn looks_like_path(s: &str) -> bool {
    s.starts_with('/')
        || s.starts_with('.')
        || s.ends_with(".tar")
        || s.ends_with(".tar.gz")
        || s.ends_with(".tgz")
        || s.ends_with(".tar.zst")
        || s.contains(std::path::MAIN_SEPARATOR) && s.contains('.') && !s.contains(':')
}

/// Detects the transport of an existing path from its content.
pub fn detect(path: &Path) -> Result<Transport> {
    if path.is_dir() {
        if path.join("manifest.json").is_file() {
            return Ok(Transport::DockerArchive);
        }
        if path.join("oci-layout").is_file() || path.join("index.json").is_file() {
            return Ok(Transport::Oci);
        }
        return Err(Error::Target(format!(
            "{}: a directory that is neither an OCI layout (oci-layout, index.json) nor an extracted docker save (manifest.json)",
            path.display()
        )));
    }
    let mut f = crate::blob::open_regular(path)?;
    let mut magic = [0u8; 4];
    let n = f.read(&mut magic).map_err(|e| Error::io(path, e))?;
    if sniff(&magic[..n]) != Compression::None {
        // Telling the two apart means reading to the end of the stream; the source
        // decompresses it anyway, once, and decides then.
        return Ok(Transport::Archive);
    }
    let names = tar_member_names(f, path)?;
    archive_kind(|n| names.iter().any(|m| m == n)).ok_or_else(|| not_an_image_archive(path))
}

/// The transport of an archive whose top level has the members `has` tells of.
pub fn archive_kind(has: impl Fn(&str) -> bool) -> Option<Transport> {
    if has("manifest.json") {
        Some(Transport::DockerArchive)
    } else if has("oci-layout") || has("index.json") {
        Some(Transport::OciArchive)
    } else {
        None
    }
}

pub fn not_an_image_archive(path: &Path) -> Error {
    Error::Target(format!(
        "{}: not a container image archive (no manifest.json, oci-layout or index.json at its top level)",
        path.display()
    ))
}

/// Top-level member names of the plain tar `f` (at `path`), found by seeking over the
/// members' data.
fn tar_member_names(mut f: std::fs::File, path: &Path) -> Result<Vec<String>> {
    use std::io::Seek;
    f.rewind().map_err(|e| Error::io(path, e))?;
    let not_tar =
        |e: std::io::Error| Error::Target(format!("{}: not a tar archive: {e}", path.display()));
    let mut ar = tar::Archive::new(std::io::BufReader::new(f));
    let entries = ar.entries_with_seek().map_err(not_tar)?;
    top_level_names(entries).map_err(not_tar)
}

/// The top-level member names of a tar, up to and including `manifest.json`.
fn top_level_names<R: Read>(entries: tar::Entries<'_, R>) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for e in entries {
        let p = crate::util::normalize_path(&e?.path_bytes());
        if !p.contains(&b'/') {
            names.push(String::from_utf8_lossy(&p).into_owned());
        }
        if names.iter().any(|n| n == "manifest.json") {
            break;
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_and_refs() {
        let t = parse("docker-daemon:alpine:3.19").unwrap();
        assert_eq!(t.transport, Transport::DockerDaemon);
        assert_eq!(t.reference.as_deref(), Some("alpine:3.19"));
        let t = parse("corp/app:1.2").unwrap();
        assert_eq!(t.transport, Transport::DockerDaemon);
        assert!(parse("./missing.tar").is_err());
        assert!(parse("docker-archive:/nonexistent/x.tar").is_err());
    }

    #[test]
    fn path_with_ref_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().display().to_string();
        let t = parse(&format!("oci:{p}:v1")).unwrap();
        assert_eq!(t.path, dir.path());
        assert_eq!(t.reference.as_deref(), Some("v1"));
        let t = parse(&format!("oci:{p}")).unwrap();
        assert_eq!(t.reference, None);
        // References with colons of their own: the longest existing path wins.
        let t = parse(&format!("docker-archive:{p}:corp/app:1.2")).unwrap();
        assert_eq!(t.path, dir.path());
        assert_eq!(t.reference.as_deref(), Some("corp/app:1.2"));
        let t = parse(&format!("oci:{p}:registry.example.test:5000/app:1.2")).unwrap();
        assert_eq!(
            t.reference.as_deref(),
            Some("registry.example.test:5000/app:1.2")
        );
    }

    #[test]
    fn standard_input() {
        let t = parse("-").unwrap();
        assert_eq!(t.transport, Transport::Stdin);
        assert_eq!(t.label(), "stdin:-");
    }
}
