//! Test-fixture image builder: builds container images in code and writes the
//! same image set in several on-disk forms (docker save archives, OCI layouts,
//! OCI archives).
//!
//! Self-contained module: used from `tests/integration/` and, through
//! `#[path = "../tests/integration/fixture.rs"] mod fixture;`, from
//! `examples/demo_image.rs`. It depends only on external crates.
//!
//! Output is deterministic: the same input gives byte-identical output.
//! - Layer tar entries are written exactly in the given order, with exactly the
//!   given paths (no normalisation, no parent directories added), uid/gid 0,
//!   a fixed mtime, GNU headers, GNU long-name/long-link records for names of
//!   100 bytes or more.
//! - Outer archives (docker save, oci-archive) list their members in sorted
//!   path order with directory entries, like a walk of the directory docker or
//!   skopeo tars up. Note that this puts `manifest.json` / `index.json` AFTER
//!   the blobs in docker archives.
//! - JSON documents are compact `serde_json` output (keys sorted).
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Write};
use std::path::Path;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

pub const MEDIA_TYPE_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_TYPE_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_TYPE_OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_TYPE_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const MEDIA_TYPE_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const MEDIA_TYPE_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const ANNOTATION_CONTAINERD_NAME: &str = "io.containerd.image.name";

/// Timestamp used in config `created` and history entries.
pub const CREATED: &str = "2024-01-01T00:00:00Z";
/// mtime (seconds since the epoch) of every tar entry written (= `CREATED`).
pub const MTIME: u64 = 1_704_067_200;

// ---------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn media_type(&self) -> &'static str {
        match self {
            Compression::None => MEDIA_TYPE_LAYER_TAR,
            Compression::Gzip => MEDIA_TYPE_LAYER_GZIP,
            Compression::Zstd => MEDIA_TYPE_LAYER_ZSTD,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    File {
        path: String,
        data: Vec<u8>,
        mode: u32,
    },
    Dir {
        path: String,
    },
    Symlink {
        path: String,
        target: String,
    },
    /// Tar hard link to an earlier entry of the SAME layer.
    Hardlink {
        path: String,
        target: String,
    },
    /// Writes an empty regular file `dir/.wh.name` for path `dir/name`.
    Whiteout {
        path: String,
    },
    /// Writes an empty regular file `dir/.wh..wh..opq`.
    Opaque {
        dir: String,
    },
    /// Regular file whose name is carried by a PAX `path` record (ustar header,
    /// with a truncated name in the header itself).
    PaxFile {
        path: String,
        data: Vec<u8>,
    },
}

impl Entry {
    /// Regular file named through a PAX extended header.
    pub fn pax_file(path: &str, data: impl AsRef<[u8]>) -> Entry {
        Entry::PaxFile {
            path: path.to_string(),
            data: data.as_ref().to_vec(),
        }
    }

    /// Regular file, mode 0o644.
    pub fn file(path: &str, data: impl AsRef<[u8]>) -> Entry {
        Entry::file_mode(path, data, 0o644)
    }
    /// Regular file with an explicit mode (e.g. 0o755).
    pub fn file_mode(path: &str, data: impl AsRef<[u8]>, mode: u32) -> Entry {
        Entry::File {
            path: path.to_string(),
            data: data.as_ref().to_vec(),
            mode,
        }
    }
    pub fn dir(path: &str) -> Entry {
        Entry::Dir {
            path: path.to_string(),
        }
    }
    pub fn symlink(path: &str, target: &str) -> Entry {
        Entry::Symlink {
            path: path.to_string(),
            target: target.to_string(),
        }
    }
    pub fn hardlink(path: &str, target: &str) -> Entry {
        Entry::Hardlink {
            path: path.to_string(),
            target: target.to_string(),
        }
    }
    pub fn whiteout(path: &str) -> Entry {
        Entry::Whiteout {
            path: path.to_string(),
        }
    }
    pub fn opaque(dir: &str) -> Entry {
        Entry::Opaque {
            dir: dir.to_string(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    pub entries: Vec<Entry>,
    pub compression: Compression,
    /// Bytes that replace what `entries` give (hostile and corrupt layers).
    pub raw: Option<RawLayer>,
}

/// A layer given as bytes rather than entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawLayer {
    /// The uncompressed tar, exactly these bytes; compressed as the layer says.
    Tar(Vec<u8>),
    /// The blob as stored, exactly these bytes (the layer's compression then only
    /// picks the media type); `diff_id` is written into the config as given.
    Blob { data: Vec<u8>, diff_id: String },
}

impl Layer {
    /// Uncompressed layer.
    pub fn new(entries: Vec<Entry>) -> Layer {
        Layer {
            entries,
            compression: Compression::None,
            raw: None,
        }
    }
    /// A layer whose uncompressed tar is exactly `tar` (written as given, even if
    /// malformed); `.gzip()` / `.zstd()` compress it.
    pub fn raw_tar(tar: Vec<u8>) -> Layer {
        Layer {
            raw: Some(RawLayer::Tar(tar)),
            ..Layer::new(Vec::new())
        }
    }
    /// A layer whose stored blob is exactly `data`, whatever it holds, with `diff_id`
    /// in the config; `.gzip()` / `.zstd()` only set the media type.
    pub fn raw_blob(data: Vec<u8>, diff_id: &str) -> Layer {
        Layer {
            raw: Some(RawLayer::Blob {
                data,
                diff_id: diff_id.to_string(),
            }),
            ..Layer::new(Vec::new())
        }
    }
    pub fn gzip(self) -> Layer {
        self.compression(Compression::Gzip)
    }
    pub fn zstd(self) -> Layer {
        self.compression(Compression::Zstd)
    }
    pub fn compression(mut self, c: Compression) -> Layer {
        self.compression = c;
        self
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub created_by: String,
    /// `None` => history entry with `"empty_layer": true`.
    pub layer: Option<Layer>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// e.g. `["corp/app:1.2"]`. Only the first one is used for OCI
    /// annotations; all go to docker `RepoTags` / `repositories`.
    pub repo_tags: Vec<String>,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub env: Vec<String>,
    pub labels: Vec<(String, String)>,
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub steps: Vec<Step>,
    pub manifest_annotations: Vec<(String, String)>,
}

impl Image {
    /// linux/amd64, no steps. An empty `tag` gives an untagged image
    /// (docker `RepoTags: null`, no OCI ref-name annotation).
    pub fn new(tag: &str) -> Image {
        Image {
            repo_tags: if tag.is_empty() {
                Vec::new()
            } else {
                vec![tag.to_string()]
            },
            os: "linux".to_string(),
            architecture: "amd64".to_string(),
            variant: None,
            env: Vec::new(),
            labels: Vec::new(),
            cmd: None,
            entrypoint: None,
            steps: Vec::new(),
            manifest_annotations: Vec::new(),
        }
    }
    pub fn platform(mut self, os: &str, arch: &str, variant: Option<&str>) -> Image {
        self.os = os.to_string();
        self.architecture = arch.to_string();
        self.variant = variant.map(str::to_string);
        self
    }
    /// Adds another repo tag (docker forms list all of them).
    pub fn tag(mut self, tag: &str) -> Image {
        self.repo_tags.push(tag.to_string());
        self
    }
    pub fn env(mut self, kv: &str) -> Image {
        self.env.push(kv.to_string());
        self
    }
    pub fn label(mut self, k: &str, v: &str) -> Image {
        self.labels.push((k.to_string(), v.to_string()));
        self
    }
    pub fn cmd(mut self, argv: &[&str]) -> Image {
        self.cmd = Some(argv.iter().map(|s| s.to_string()).collect());
        self
    }
    pub fn entrypoint(mut self, argv: &[&str]) -> Image {
        self.entrypoint = Some(argv.iter().map(|s| s.to_string()).collect());
        self
    }
    /// Adds a layer + history entry.
    pub fn step(mut self, created_by: &str, layer: Layer) -> Image {
        self.steps.push(Step {
            created_by: created_by.to_string(),
            layer: Some(layer),
        });
        self
    }
    /// History entry with `empty_layer: true`.
    pub fn empty_step(mut self, created_by: &str) -> Image {
        self.steps.push(Step {
            created_by: created_by.to_string(),
            layer: None,
        });
        self
    }
    /// Manifest annotation.
    pub fn annotation(mut self, k: &str, v: &str) -> Image {
        self.manifest_annotations
            .push((k.to_string(), v.to_string()));
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Form {
    /// docker save before Docker 25: manifest.json, repositories, `<hex>.json`
    /// config, `<id>/layer.tar` (+ `<id>/VERSION`, `<id>/json`); a layer blob
    /// already written under another id becomes a symlink
    /// `<id>/layer.tar -> ../<first id>/layer.tar`, as docker does.
    DockerClassic,
    /// Docker 25+ save: oci-layout, index.json, manifest.json (paths
    /// `blobs/sha256/<hex>`), repositories, blobs/sha256/...
    DockerOci,
    /// DockerClassic, whole archive gzip-compressed.
    DockerClassicGzip,
    /// DockerOci, whole archive zstd-compressed.
    DockerOciZstd,
    /// OCI image layout directory.
    OciDir,
    /// OCI image layout inside an uncompressed tar.
    OciArchive,
}

impl Form {
    pub const ALL: [Form; 6] = [
        Form::DockerClassic,
        Form::DockerOci,
        Form::DockerClassicGzip,
        Form::DockerOciZstd,
        Form::OciDir,
        Form::OciArchive,
    ];

    /// "docker-archive" | "oci" | "oci-archive"
    pub fn transport(&self) -> &'static str {
        match self {
            Form::DockerClassic
            | Form::DockerOci
            | Form::DockerClassicGzip
            | Form::DockerOciZstd => "docker-archive",
            Form::OciDir => "oci",
            Form::OciArchive => "oci-archive",
        }
    }

    /// Short slug, handy for output file names: "docker-classic",
    /// "docker-oci", "docker-classic-gzip", "docker-oci-zstd", "oci-dir",
    /// "oci-archive".
    pub fn name(&self) -> &'static str {
        match self {
            Form::DockerClassic => "docker-classic",
            Form::DockerOci => "docker-oci",
            Form::DockerClassicGzip => "docker-classic-gzip",
            Form::DockerOciZstd => "docker-oci-zstd",
            Form::OciDir => "oci-dir",
            Form::OciArchive => "oci-archive",
        }
    }

    /// A reasonable output name for this form (a directory name for OciDir).
    pub fn file_name(&self) -> &'static str {
        match self {
            Form::DockerClassic => "docker-classic.tar",
            Form::DockerOci => "docker-oci.tar",
            Form::DockerClassicGzip => "docker-classic.tar.gz",
            Form::DockerOciZstd => "docker-oci.tar.zst",
            Form::OciDir => "oci-dir",
            Form::OciArchive => "oci-archive.tar",
        }
    }

    /// True for OciDir (output is a directory, not a file).
    pub fn is_dir(&self) -> bool {
        matches!(self, Form::OciDir)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltLayer {
    /// "sha256:<hex>" of the blob as stored (compressed if the layer is).
    pub digest: String,
    /// "sha256:<hex>" of the uncompressed tar.
    pub diff_id: String,
    pub media_type: String,
    /// Size of the blob as stored.
    pub size: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltImage {
    pub config_digest: String,
    /// Digest of the OCI image manifest. Docker classic archives contain no
    /// such manifest; the value is the same as for the other forms.
    pub manifest_digest: String,
    pub layers: Vec<BuiltLayer>,
}

// ---------------------------------------------------------------------------
// Public entry points
// ---------------------------------------------------------------------------

/// Writes `images` in `form` at `out` (a file path for tar forms, a directory
/// path for OciDir, created if missing). Returns one BuiltImage per input
/// image, in order.
pub fn write(form: Form, images: &[Image], out: &Path) -> io::Result<Vec<BuiltImage>> {
    let prepared = images.iter().map(prepare).collect::<io::Result<Vec<_>>>()?;
    let tree = match form {
        Form::DockerClassic | Form::DockerClassicGzip => docker_classic_tree(&prepared),
        Form::DockerOci | Form::DockerOciZstd => docker_oci_tree(&prepared),
        Form::OciDir | Form::OciArchive => {
            let mut tree = Tree::default();
            let manifests = prepared
                .iter()
                .map(|p| {
                    add_image_blobs(&mut tree, p);
                    p.index_descriptor()
                })
                .collect::<Vec<_>>();
            add_oci_layout(&mut tree, manifests);
            tree
        }
    };
    emit(form, &tree, out)?;
    Ok(prepared.into_iter().map(|p| p.built).collect())
}

/// OCI forms only (OciDir / OciArchive): writes ONE multi-platform image.
/// index.json has one descriptor of media type
/// application/vnd.oci.image.index.v1+json (annotated with
/// org.opencontainers.image.ref.name = `ref_name`) that points to a nested
/// image index blob listing one manifest per image with its `platform`.
pub fn write_multi_platform(
    form: Form,
    ref_name: &str,
    images: &[Image],
    out: &Path,
) -> io::Result<Vec<BuiltImage>> {
    if !matches!(form, Form::OciDir | Form::OciArchive) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("write_multi_platform: form {form:?} is not an OCI layout form"),
        ));
    }
    let prepared = images.iter().map(prepare).collect::<io::Result<Vec<_>>>()?;
    let mut tree = Tree::default();
    let mut manifests = Vec::new();
    for p in &prepared {
        add_image_blobs(&mut tree, p);
        let mut d = descriptor(MEDIA_TYPE_OCI_MANIFEST, &p.manifest);
        d.insert("platform".into(), p.platform());
        manifests.push(Value::Object(d));
    }
    let nested = to_json_bytes(&json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_OCI_INDEX,
        "manifests": manifests,
    }));
    tree.blob(&nested);
    let mut d = descriptor(MEDIA_TYPE_OCI_INDEX, &nested);
    d.insert(
        "annotations".into(),
        json!({ ANNOTATION_REF_NAME: ref_name }),
    );
    add_oci_layout(&mut tree, vec![Value::Object(d)]);
    emit(form, &tree, out)?;
    Ok(prepared.into_iter().map(|p| p.built).collect())
}

/// Builds one layer and returns (blob as stored, uncompressed tar, info).
/// Exposed so tests can compute expected digests without writing an image.
/// For a `RawLayer::Blob`, the returned tar is empty and the diff_id the one given.
pub fn build_layer(layer: &Layer) -> io::Result<(Vec<u8>, Vec<u8>, BuiltLayer)> {
    let (blob, tar, diff_id) = match &layer.raw {
        None => {
            let tar = layer_tar(&layer.entries)?;
            let diff_id = sha256_digest(&tar);
            (compress(layer.compression, &tar)?, tar, diff_id)
        }
        Some(RawLayer::Tar(tar)) => (
            compress(layer.compression, tar)?,
            tar.clone(),
            sha256_digest(tar),
        ),
        Some(RawLayer::Blob { data, diff_id }) => (data.clone(), Vec::new(), diff_id.clone()),
    };
    let built = BuiltLayer {
        digest: sha256_digest(&blob),
        diff_id,
        media_type: layer.compression.media_type().to_string(),
        size: blob.len() as u64,
    };
    Ok((blob, tar, built))
}

/// Writes an OCI layout directory holding one image whose single gzip layer has one
/// generated text file of `size` bytes at `path`, ending with the line `tail` — streamed
/// to disk, never held in memory, so `size` may be many gigabytes. Returns the line
/// and column at which `tail` starts.
pub fn write_huge_oci(out: &Path, path: &str, size: u64, tail: &str) -> io::Result<(u64, u64)> {
    struct Gen {
        left: u64,
        line: u64,
        buf: Vec<u8>,
        at: usize,
        /// Newlines emitted, and bytes since the last one.
        stats: std::rc::Rc<std::cell::Cell<(u64, u64)>>,
    }
    impl Read for Gen {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.at == self.buf.len() {
                if self.left == 0 {
                    return Ok(0);
                }
                self.buf.clear();
                self.at = 0;
                while self.buf.len() < 1 << 16 {
                    self.line += 1;
                    self.buf.extend_from_slice(
                        format!(
                            "{:012} INFO request served in {} ms path=/api/v1/items/{}\n",
                            self.line,
                            self.line % 997,
                            self.line * 7919 % 100_003
                        )
                        .as_bytes(),
                    );
                }
                self.buf.truncate(self.buf.len().min(self.left as usize));
                self.left -= self.buf.len() as u64;
                let (mut nl, mut since) = self.stats.get();
                for &b in &self.buf {
                    if b == b'\n' {
                        nl += 1;
                        since = 0;
                    } else {
                        since += 1;
                    }
                }
                self.stats.set((nl, since));
            }
            let n = out.len().min(self.buf.len() - self.at);
            out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }
    struct Hashing<W: Write> {
        inner: W,
        h: Sha256,
        n: u64,
    }
    impl<W: Write> Write for Hashing<W> {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            let n = self.inner.write(b)?;
            self.h.update(&b[..n]);
            self.n += n as u64;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }
    let blobs = out.join("blobs/sha256");
    std::fs::create_dir_all(&blobs)?;
    let tmp = blobs.join("layer.tmp");
    let file = std::fs::File::create(&tmp)?;
    let gz = flate2::write::GzEncoder::new(
        Hashing {
            inner: io::BufWriter::new(file),
            h: Sha256::new(),
            n: 0,
        },
        flate2::Compression::fast(),
    );
    let mut b = tar::Builder::new(Hashing {
        inner: gz,
        h: Sha256::new(),
        n: 0,
    });
    let tail = format!("{tail}\n");
    let body = size.saturating_sub(tail.len() as u64);
    let mut h = tar::Header::new_gnu();
    h.set_size(body + tail.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(MTIME);
    h.set_entry_type(tar::EntryType::Regular);
    let stats = std::rc::Rc::new(std::cell::Cell::new((0u64, 0u64)));
    let generator = Gen {
        left: body,
        line: 0,
        buf: Vec::new(),
        at: 0,
        stats: stats.clone(),
    };
    b.append_data(&mut h, path, generator.chain(tail.as_bytes()))?;
    let tar_w = b.into_inner()?;
    let diff_id = format!("sha256:{}", hex::encode(tar_w.h.finalize()));
    let mut file_w = tar_w.inner.finish()?;
    file_w.flush()?;
    let (layer_digest, layer_size) = (hex::encode(file_w.h.finalize()), file_w.n);
    std::fs::rename(&tmp, blobs.join(&layer_digest))?;
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "created": CREATED,
        "config": {}, "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": CREATED, "created_by": "RUN generate-logs"}]
    }))?;
    let config_digest = sha256_hex(&config);
    std::fs::write(blobs.join(&config_digest), &config)?;
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": MEDIA_TYPE_OCI_MANIFEST,
        "config": {"mediaType": MEDIA_TYPE_OCI_CONFIG, "digest": format!("sha256:{config_digest}"), "size": config.len()},
        "layers": [{"mediaType": MEDIA_TYPE_LAYER_GZIP, "digest": format!("sha256:{layer_digest}"), "size": layer_size}]
    }))?;
    let manifest_digest = sha256_hex(&manifest);
    std::fs::write(blobs.join(&manifest_digest), &manifest)?;
    std::fs::write(out.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    std::fs::write(
        out.join("index.json"),
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": MEDIA_TYPE_OCI_INDEX,
            "manifests": [{"mediaType": MEDIA_TYPE_OCI_MANIFEST, "digest": format!("sha256:{manifest_digest}"), "size": manifest.len(),
                "annotations": {ANNOTATION_REF_NAME: "huge"}, "platform": {"os": "linux", "architecture": "amd64"}}]
        }))?,
    )?;
    let (nl, since) = stats.get();
    Ok((nl + 1, since + 1))
}

/// Every directory, file and symlink under `root` as layer entries, in sorted order
/// (device nodes, fifos and sockets are left out); file modes are kept.
pub fn entries_from_dir(root: &Path) -> io::Result<Vec<Entry>> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(root).sort_by_file_name().min_depth(1) {
        let e = e.map_err(io::Error::other)?;
        let rel = e
            .path()
            .strip_prefix(root)
            .map_err(io::Error::other)?
            .to_string_lossy()
            .into_owned();
        let ft = e.file_type();
        if ft.is_symlink() {
            let t = std::fs::read_link(e.path())?;
            out.push(Entry::symlink(&rel, &t.to_string_lossy()));
        } else if ft.is_dir() {
            out.push(Entry::dir(&format!("{rel}/")));
        } else if ft.is_file() {
            let mode = e.metadata().map_err(io::Error::other)?.permissions().mode() & 0o7777;
            out.push(Entry::file_mode(&rel, std::fs::read(e.path())?, mode));
        }
    }
    Ok(out)
}

/// "sha256:<hex>" of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(data))
}

/// Splits a reference like `corp/app:1.2` into (`corp/app`, Some(`1.2`)); the
/// tag is the part after the last ':' that follows the last '/'.
pub fn split_tag(reference: &str) -> (&str, Option<&str>) {
    let start = reference.rfind('/').map(|i| i + 1).unwrap_or(0);
    match reference[start..].rfind(':') {
        Some(i) => (&reference[..start + i], Some(&reference[start + i + 1..])),
        None => (reference, None),
    }
}

// ---------------------------------------------------------------------------
// Layer tars
// ---------------------------------------------------------------------------

fn layer_tar(entries: &[Entry]) -> io::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        match e {
            Entry::File { path, data, mode } => {
                append_raw(&mut b, tar::EntryType::Regular, path, None, *mode, data)?
            }
            Entry::Dir { path } => {
                append_raw(&mut b, tar::EntryType::Directory, path, None, 0o755, &[])?
            }
            Entry::Symlink { path, target } => append_raw(
                &mut b,
                tar::EntryType::Symlink,
                path,
                Some(target),
                0o777,
                &[],
            )?,
            Entry::Hardlink { path, target } => {
                append_raw(&mut b, tar::EntryType::Link, path, Some(target), 0o644, &[])?
            }
            Entry::Whiteout { path } => {
                let p = match path.rfind('/') {
                    Some(i) => format!("{}.wh.{}", &path[..=i], &path[i + 1..]),
                    None => format!(".wh.{path}"),
                };
                append_raw(&mut b, tar::EntryType::Regular, &p, None, 0o644, &[])?
            }
            Entry::Opaque { dir } => {
                let d = dir.trim_end_matches('/');
                let p = if d.is_empty() {
                    ".wh..wh..opq".to_string()
                } else {
                    format!("{d}/.wh..wh..opq")
                };
                append_raw(&mut b, tar::EntryType::Regular, &p, None, 0o644, &[])?
            }
            Entry::PaxFile { path, data } => {
                b.append_pax_extensions([("path", path.as_bytes())])?;
                let mut h = tar::Header::new_ustar();
                let short = &path.as_bytes()[..path.len().min(99)];
                h.as_old_mut().name[..short.len()].copy_from_slice(short);
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_uid(0);
                h.set_gid(0);
                h.set_mtime(MTIME);
                h.set_size(data.len() as u64);
                h.set_cksum();
                b.append(&h, &data[..])?
            }
        }
    }
    b.into_inner()
}

/// Appends one entry with the path / link name written byte-for-byte as given
/// (no normalisation, `..` and absolute paths allowed), using GNU `L` / `K`
/// long-name records when a name does not fit the 100-byte header field.
fn append_raw(
    b: &mut tar::Builder<Vec<u8>>,
    kind: tar::EntryType,
    path: &str,
    link: Option<&str>,
    mode: u32,
    data: &[u8],
) -> io::Result<()> {
    const FIELD: usize = 100;
    let path = path.as_bytes();
    if path.len() >= FIELD {
        append_long_name(b, b'L', path)?;
    }
    if let Some(link) = link
        && link.len() >= FIELD
    {
        append_long_name(b, b'K', link.as_bytes())?;
    }
    let mut h = tar::Header::new_gnu();
    {
        let old = h.as_old_mut();
        let n = path.len().min(FIELD);
        old.name[..n].copy_from_slice(&path[..n]);
        if let Some(link) = link {
            let link = link.as_bytes();
            let n = link.len().min(FIELD);
            old.linkname[..n].copy_from_slice(&link[..n]);
        }
    }
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h.set_size(data.len() as u64);
    h.set_cksum();
    b.append(&h, data)
}

fn append_long_name(b: &mut tar::Builder<Vec<u8>>, kind: u8, name: &[u8]) -> io::Result<()> {
    let mut h = tar::Header::new_gnu();
    let marker = b"././@LongLink";
    h.as_old_mut().name[..marker.len()].copy_from_slice(marker);
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    let mut data = name.to_vec();
    data.push(0);
    h.set_size(data.len() as u64);
    h.set_cksum();
    b.append(&h, &data[..])
}

fn compress(c: Compression, data: &[u8]) -> io::Result<Vec<u8>> {
    match c {
        Compression::None => Ok(data.to_vec()),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(data)?;
            enc.finish()
        }
        Compression::Zstd => zstd::stream::encode_all(data, 3),
    }
}

// ---------------------------------------------------------------------------
// Configs and manifests
// ---------------------------------------------------------------------------

struct Prepared<'a> {
    image: &'a Image,
    /// Layer blobs as stored, parallel to `built.layers`.
    blobs: Vec<Vec<u8>>,
    config: Vec<u8>,
    manifest: Vec<u8>,
    built: BuiltImage,
}

impl Prepared<'_> {
    fn platform(&self) -> Value {
        let mut p = Map::new();
        p.insert("architecture".into(), json!(self.image.architecture));
        p.insert("os".into(), json!(self.image.os));
        if let Some(v) = &self.image.variant {
            p.insert("variant".into(), json!(v));
        }
        Value::Object(p)
    }

    /// Descriptor of the manifest for a top-level index.json.
    fn index_descriptor(&self) -> Value {
        let mut d = descriptor(MEDIA_TYPE_OCI_MANIFEST, &self.manifest);
        if let Some(first) = self.image.repo_tags.first() {
            let tag = split_tag(first).1.unwrap_or("latest");
            d.insert(
                "annotations".into(),
                json!({ ANNOTATION_CONTAINERD_NAME: first, ANNOTATION_REF_NAME: tag }),
            );
        }
        d.insert("platform".into(), self.platform());
        Value::Object(d)
    }
}

fn prepare(image: &Image) -> io::Result<Prepared<'_>> {
    let mut blobs = Vec::new();
    let mut layers = Vec::new();
    let mut history = Vec::new();
    for step in &image.steps {
        let mut h = Map::new();
        h.insert("created".into(), json!(CREATED));
        h.insert("created_by".into(), json!(step.created_by));
        match &step.layer {
            Some(layer) => {
                let (blob, _tar, built) = build_layer(layer)?;
                blobs.push(blob);
                layers.push(built);
            }
            None => {
                h.insert("empty_layer".into(), json!(true));
            }
        }
        history.push(Value::Object(h));
    }

    let mut cfg = Map::new();
    if !image.env.is_empty() {
        cfg.insert("Env".into(), json!(image.env));
    }
    if !image.labels.is_empty() {
        let labels: Map<String, Value> = image
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        cfg.insert("Labels".into(), Value::Object(labels));
    }
    if let Some(cmd) = &image.cmd {
        cfg.insert("Cmd".into(), json!(cmd));
    }
    if let Some(ep) = &image.entrypoint {
        cfg.insert("Entrypoint".into(), json!(ep));
    }
    let mut config = Map::new();
    config.insert("architecture".into(), json!(image.architecture));
    config.insert("os".into(), json!(image.os));
    if let Some(v) = &image.variant {
        config.insert("variant".into(), json!(v));
    }
    config.insert("created".into(), json!(CREATED));
    config.insert("config".into(), Value::Object(cfg));
    config.insert(
        "rootfs".into(),
        json!({ "type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>() }),
    );
    config.insert("history".into(), Value::Array(history));
    let config = to_json_bytes(&Value::Object(config));

    let mut manifest = Map::new();
    manifest.insert("schemaVersion".into(), json!(2));
    manifest.insert("mediaType".into(), json!(MEDIA_TYPE_OCI_MANIFEST));
    manifest.insert(
        "config".into(),
        Value::Object(descriptor(MEDIA_TYPE_OCI_CONFIG, &config)),
    );
    manifest.insert(
        "layers".into(),
        Value::Array(
            layers
                .iter()
                .map(|l| json!({ "mediaType": l.media_type, "digest": l.digest, "size": l.size }))
                .collect(),
        ),
    );
    if !image.manifest_annotations.is_empty() {
        let a: Map<String, Value> = image
            .manifest_annotations
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        manifest.insert("annotations".into(), Value::Object(a));
    }
    let manifest = to_json_bytes(&Value::Object(manifest));

    let built = BuiltImage {
        config_digest: sha256_digest(&config),
        manifest_digest: sha256_digest(&manifest),
        layers,
    };
    Ok(Prepared {
        image,
        blobs,
        config,
        manifest,
        built,
    })
}

fn descriptor(media_type: &str, bytes: &[u8]) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("mediaType".into(), json!(media_type));
    d.insert("digest".into(), json!(sha256_digest(bytes)));
    d.insert("size".into(), json!(bytes.len()));
    d
}

fn to_json_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("serialising a serde_json::Value cannot fail")
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn strip_algo(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

// ---------------------------------------------------------------------------
// Layout trees
// ---------------------------------------------------------------------------

enum Node {
    Dir,
    File(Vec<u8>),
    Symlink(String),
}

/// In-memory file tree; keys are relative paths, directories end with '/'.
#[derive(Default)]
struct Tree(BTreeMap<String, Node>);

impl Tree {
    fn parents(&mut self, path: &str) {
        for (i, c) in path.char_indices() {
            if c == '/' {
                self.0.entry(path[..=i].to_string()).or_insert(Node::Dir);
            }
        }
    }
    fn file(&mut self, path: &str, data: Vec<u8>) {
        self.parents(path);
        self.0.insert(path.to_string(), Node::File(data));
    }
    fn symlink(&mut self, path: &str, target: &str) {
        self.parents(path);
        self.0
            .insert(path.to_string(), Node::Symlink(target.to_string()));
    }
    /// Adds `blobs/sha256/<hex>` (once) and returns that path.
    fn blob(&mut self, data: &[u8]) -> String {
        let path = format!("blobs/sha256/{}", sha256_hex(data));
        if !self.0.contains_key(&path) {
            self.file(&path, data.to_vec());
        }
        path
    }
}

fn add_image_blobs(tree: &mut Tree, p: &Prepared) {
    for blob in &p.blobs {
        tree.blob(blob);
    }
    tree.blob(&p.config);
    tree.blob(&p.manifest);
}

fn add_oci_layout(tree: &mut Tree, manifests: Vec<Value>) {
    tree.file(
        "oci-layout",
        to_json_bytes(&json!({ "imageLayoutVersion": "1.0.0" })),
    );
    let index = json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_OCI_INDEX,
        "manifests": manifests,
    });
    tree.file("index.json", to_json_bytes(&index));
}

/// `{"corp/app": {"1.2": "<id>"}}`; images without layers are left out.
fn add_repositories(tree: &mut Tree, entries: &[(&Image, Option<String>)]) {
    let mut repos: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for (image, top) in entries {
        let Some(top) = top else { continue };
        for t in &image.repo_tags {
            let (repo, tag) = split_tag(t);
            repos
                .entry(repo.to_string())
                .or_default()
                .insert(tag.unwrap_or("latest").to_string(), json!(top));
        }
    }
    let repos: Map<String, Value> = repos
        .into_iter()
        .map(|(k, v)| (k, Value::Object(v)))
        .collect();
    tree.file("repositories", to_json_bytes(&Value::Object(repos)));
}

fn repo_tags_json(image: &Image) -> Value {
    // docker writes `null` for an untagged image
    if image.repo_tags.is_empty() {
        Value::Null
    } else {
        json!(image.repo_tags)
    }
}

fn docker_classic_tree(prepared: &[Prepared]) -> Tree {
    let mut tree = Tree::default();
    let mut saved_ids = BTreeSet::new();
    // blob digest -> path of the layer.tar that holds it
    let mut blob_paths: BTreeMap<String, String> = BTreeMap::new();
    let mut manifest = Vec::new();
    let mut repos = Vec::new();
    for p in prepared {
        let mut parent: Option<String> = None;
        let mut layer_paths = Vec::new();
        for (blob, built) in p.blobs.iter().zip(&p.built.layers) {
            let id = sha256_hex(
                format!("{}\n{}", parent.as_deref().unwrap_or(""), built.digest).as_bytes(),
            );
            let layer_path = format!("{id}/layer.tar");
            if saved_ids.insert(id.clone()) {
                tree.file(&format!("{id}/VERSION"), b"1.0".to_vec());
                let mut v1 = Map::new();
                v1.insert("id".into(), json!(id));
                if let Some(parent) = &parent {
                    v1.insert("parent".into(), json!(parent));
                }
                v1.insert("created".into(), json!(CREATED));
                v1.insert("container_config".into(), json!({}));
                v1.insert("os".into(), json!(p.image.os));
                tree.file(&format!("{id}/json"), to_json_bytes(&Value::Object(v1)));
                match blob_paths.get(&built.digest) {
                    Some(old) => tree.symlink(&layer_path, &format!("../{old}")),
                    None => {
                        tree.file(&layer_path, blob.clone());
                        blob_paths.insert(built.digest.clone(), layer_path.clone());
                    }
                }
            }
            layer_paths.push(layer_path);
            parent = Some(id);
        }
        let config_name = format!("{}.json", strip_algo(&p.built.config_digest));
        tree.file(&config_name, p.config.clone());
        manifest.push(json!({
            "Config": config_name,
            "RepoTags": repo_tags_json(p.image),
            "Layers": layer_paths,
        }));
        repos.push((p.image, parent));
    }
    tree.file("manifest.json", to_json_bytes(&Value::Array(manifest)));
    add_repositories(&mut tree, &repos);
    tree
}

fn docker_oci_tree(prepared: &[Prepared]) -> Tree {
    let mut tree = Tree::default();
    let mut manifest = Vec::new();
    let mut index = Vec::new();
    let mut repos = Vec::new();
    for p in prepared {
        let layer_paths: Vec<String> = p.blobs.iter().map(|b| tree.blob(b)).collect();
        let config_path = tree.blob(&p.config);
        tree.blob(&p.manifest);
        manifest.push(json!({
            "Config": config_path,
            "RepoTags": repo_tags_json(p.image),
            "Layers": layer_paths,
        }));
        index.push(p.index_descriptor());
        // Docker 25+ uses the layer blob digest (hex) as the id in `repositories`
        repos.push((
            p.image,
            p.built
                .layers
                .last()
                .map(|l| strip_algo(&l.digest).to_string()),
        ));
    }
    tree.file("manifest.json", to_json_bytes(&Value::Array(manifest)));
    add_repositories(&mut tree, &repos);
    add_oci_layout(&mut tree, index);
    tree
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

fn emit(form: Form, tree: &Tree, out: &Path) -> io::Result<()> {
    if form == Form::OciDir {
        return write_tree_dir(tree, out);
    }
    let tar = tree_tar(tree)?;
    let bytes = match form {
        Form::DockerClassicGzip => compress(Compression::Gzip, &tar)?,
        Form::DockerOciZstd => compress(Compression::Zstd, &tar)?,
        _ => tar,
    };
    if let Some(parent) = out.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(out, bytes)
}

fn tree_tar(tree: &Tree) -> io::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, node) in &tree.0 {
        match node {
            Node::Dir => append_raw(&mut b, tar::EntryType::Directory, path, None, 0o755, &[])?,
            Node::File(data) => {
                append_raw(&mut b, tar::EntryType::Regular, path, None, 0o644, data)?
            }
            Node::Symlink(target) => append_raw(
                &mut b,
                tar::EntryType::Symlink,
                path,
                Some(target),
                0o777,
                &[],
            )?,
        }
    }
    b.into_inner()
}

fn write_tree_dir(tree: &Tree, out: &Path) -> io::Result<()> {
    std::fs::create_dir_all(out)?;
    for (path, node) in &tree.0 {
        let dst = out.join(path.trim_end_matches('/'));
        match node {
            Node::Dir => std::fs::create_dir_all(&dst)?,
            Node::File(data) => std::fs::write(&dst, data)?,
            Node::Symlink(target) => {
                let _ = std::fs::remove_file(&dst);
                #[cfg(unix)]
                std::os::unix::fs::symlink(target, &dst)?;
                #[cfg(not(unix))]
                {
                    let _ = target;
                    return Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        "symlinks need unix",
                    ));
                }
            }
        }
    }
    Ok(())
}
