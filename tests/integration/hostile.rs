//! Hostile inputs, built in code: path traversal and link tricks, decompression and
//! archive bombs, corrupt streams, tar edge cases and abusive manifests. Every case
//! runs the real binary with a fresh spool directory and checks the exit code, one
//! clear `layerhound: error:` line per problem, no panic, the spool left empty, nothing
//! written outside it, and that secrets in the intact parts are still reported.

use crate::fixture::{self, Entry, Form, Image, Layer};
use crate::support::*;
use serde_json::{Value, json};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------

struct Scan {
    code: i32,
    report: Value,
    stderr: String,
}

impl Scan {
    /// The `layerhound: error:` lines (with --quiet, stderr holds nothing else but
    /// the warnings about what was left unscanned).
    fn errors(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("layerhound: error: "))
            .collect()
    }

    /// The `layerhound: warning:` lines: one per reason something was left unscanned.
    fn warnings(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("layerhound: warning: "))
            .collect()
    }

    /// Exactly one error line, containing every needle.
    fn one_error(&self, needles: &[&str]) -> &str {
        let errors = self.errors();
        assert_eq!(errors.len(), 1, "expected one error line: {}", self.stderr);
        for n in needles {
            assert!(errors[0].contains(n), "error lacks {n:?}: {}", errors[0]);
        }
        errors[0]
    }

    /// Some error line contains every needle.
    fn has_error(&self, needles: &[&str]) {
        assert!(
            self.errors()
                .iter()
                .any(|l| needles.iter().all(|n| l.contains(n))),
            "no error line with {needles:?}: {}",
            self.stderr
        );
    }

    fn no_errors(&self) {
        assert!(self.stderr.is_empty(), "{}", self.stderr);
    }

    fn findings(&self) -> &Vec<Value> {
        self.report["findings"].as_array().expect("findings")
    }

    fn skipped(&self, needle: &str) -> Value {
        self.report["summary"]["skipped"]
            .as_object()
            .and_then(|m| m.iter().find(|(k, _)| k.contains(needle)))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| {
                panic!(
                    "nothing skipped for {needle:?}: {:#}",
                    self.report["summary"]
                )
            })
    }
}

/// Scans `target` (JSON, quiet) with a fresh spool directory under `dir`, failing
/// after 60 s instead of hanging; asserts no panic, an error-only stderr that matches
/// `summary.errors`, and an empty spool directory afterwards.
fn scan(dir: &Path, target: &str, extra: &[&str]) -> Scan {
    let spool_dir = tempfile::Builder::new()
        .prefix("spool-")
        .tempdir_in(dir)
        .unwrap();
    let spool = spool_dir.path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_layerhound"))
        .args(["scan", "--format", "json", "--quiet", "--spool-dir"])
        .arg(spool)
        .arg(target)
        .args(extra)
        .env("NO_COLOR", "1")
        .env(
            "LAYERHOUND_CACHE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/layerhound-cache"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).map(|_| v)
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        err.read_to_end(&mut v).map(|_| v)
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("layerhound scan {target} hung (killed after 60 s)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out_reader.join().unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap().unwrap()).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    for line in stderr.lines() {
        assert!(
            line.starts_with("layerhound: error: ") || line.starts_with("layerhound: warning: "),
            "unexpected stderr line: {line}"
        );
    }
    let report: Value = serde_json::from_slice(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr: {stderr}"));
    let count = |prefix: &str| stderr.lines().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(
        report["summary"]["errors"].as_array().unwrap().len(),
        count("layerhound: error: "),
        "one stderr line per summary error: {stderr}"
    );
    let skips = report["summary"]["skipped"]
        .as_object()
        .map_or(0, |m| m.len());
    assert_eq!(
        skips,
        count("layerhound: warning: "),
        "one stderr warning per reason for a skip: {stderr}"
    );
    // Anything left unscanned makes the scan incomplete, unless allowed.
    let skipped = skips > 0;
    let allowed = extra.contains(&"--allow-incomplete");
    if skipped && !allowed {
        assert_eq!(status.code(), Some(2), "skips make exit 2: {stderr}");
    }
    let left: Vec<_> = fs::read_dir(spool).unwrap().collect();
    assert!(left.is_empty(), "spool left behind: {left:?}");
    Scan {
        code: status.code().expect("exit code"),
        report,
        stderr,
    }
}

// ---------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------

const TAG: &str = "corp/hostile:1";

fn env_file() -> Entry {
    Entry::file("app/.env", format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n"))
}

/// An image whose first layer holds a planted AWS key at `app/.env`, then `hostile`.
fn image_with(hostile: Layer) -> Image {
    Image::new(TAG)
        .step("COPY .env /app/", Layer::new(vec![env_file()]))
        .step("RUN hostile", hostile)
}

/// The planted key of [`image_with`] is reported as present.
fn intact_key_found(s: &Scan) {
    assert_eq!(
        find(&s.report, RULE_AWS_KEY_ID, "app/.env")["status"],
        "present"
    );
}

/// Writes `img` in `form` under `dir` and returns the target string.
fn write(dir: &Path, form: Form, img: Image) -> (String, Vec<fixture::BuiltImage>) {
    let p = dir.join(form.file_name());
    let built = fixture::write(form, &[img], &p).unwrap();
    (target(form, &p), built)
}

/// Writes [`image_with`] `hostile` as an OCI archive under `dir` and scans it.
fn scan_layer(dir: &Path, hostile: Layer, extra: &[&str]) -> Scan {
    let (t, _) = write(dir, Form::OciArchive, image_with(hostile));
    scan(dir, &t, extra)
}

/// Exit 1, no error, and the planted key of [`image_with`] found.
fn clean_with_findings(s: &Scan) {
    assert_eq!(s.code, 1, "{}", s.stderr);
    s.no_errors();
    intact_key_found(s);
}

/// Exit 2 (something left unscanned), no error, a warning for each of `reasons`
/// and nothing else, and the planted key of [`image_with`] found.
fn incomplete_with_findings(s: &Scan, reasons: &[&str]) {
    assert_eq!(s.code, 2, "{}", s.stderr);
    assert!(s.errors().is_empty(), "{}", s.stderr);
    let warnings = s.warnings();
    assert_eq!(warnings.len(), reasons.len(), "{}", s.stderr);
    for r in reasons {
        assert!(
            warnings.iter().any(|w| w.contains(r)),
            "no warning with {r:?}: {}",
            s.stderr
        );
        s.skipped(r);
    }
    intact_key_found(s);
}

/// Exit 2, one error, about layer 1 and containing `needles`; the planted key found.
fn layer1_failed(s: &Scan, needles: &[&str]) {
    assert_eq!(s.code, 2, "{}", s.stderr);
    s.one_error(&[&["layer 1"], needles].concat());
    intact_key_found(s);
}

pub(crate) fn blob_path(oci: &Path, digest: &str) -> PathBuf {
    oci.join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

/// Writes a JSON blob into an OCI layout; returns its descriptor fields.
pub(crate) fn put_json(oci: &Path, v: &Value) -> (String, usize) {
    let bytes = serde_json::to_vec(v).unwrap();
    let digest = fixture::sha256_digest(&bytes);
    fs::write(blob_path(oci, &digest), &bytes).unwrap();
    (digest, bytes.len())
}

pub(crate) fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&fs::read(p).unwrap()).unwrap()
}

/// Rewrites the image manifest of an OCI layout directory with `f` and points
/// index.json at the result.
pub(crate) fn edit_manifest(oci: &Path, built: &fixture::BuiltImage, f: impl FnOnce(&mut Value)) {
    let mut m = read_json(&blob_path(oci, &built.manifest_digest));
    f(&mut m);
    let (digest, size) = put_json(oci, &m);
    let mut idx = read_json(&oci.join("index.json"));
    idx["manifests"][0]["digest"] = json!(digest);
    idx["manifests"][0]["size"] = json!(size);
    fs::write(oci.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();
}

// ---------------------------------------------------------------------------
// Raw tar bytes
// ---------------------------------------------------------------------------

fn pad(v: &mut Vec<u8>) {
    v.resize(v.len().div_ceil(512) * 512, 0);
}

/// A GNU header with the name and link written byte for byte (cut at 100 bytes).
pub(crate) fn raw_header(name: &[u8], kind: u8, size: u64, link: &[u8]) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    let old = h.as_old_mut();
    let n = name.len().min(100);
    old.name[..n].copy_from_slice(&name[..n]);
    let n = link.len().min(100);
    old.linkname[..n].copy_from_slice(&link[..n]);
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(fixture::MTIME);
    h.set_size(size);
    h.set_cksum();
    h
}

/// One entry as bytes, with GNU long-name / long-link records when needed.
pub(crate) fn raw_entry(name: &[u8], kind: u8, link: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (long, k) in [(name, b'L'), (link, b'K')] {
        if long.len() >= 100 {
            let mut n = long.to_vec();
            n.push(0);
            out.extend(raw_entry(b"././@LongLink", k, b"", &n));
        }
    }
    out.extend_from_slice(raw_header(name, kind, data.len() as u64, link).as_bytes());
    out.extend_from_slice(data);
    pad(&mut out);
    out
}

pub(crate) fn raw_file(name: &str, data: impl AsRef<[u8]>) -> Vec<u8> {
    raw_entry(name.as_bytes(), b'0', b"", data.as_ref())
}

/// A PAX extended header entry holding `records`.
pub(crate) fn raw_pax(records: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in records {
        let rest = 1 + k.len() + 1 + v.len() + 1;
        let mut len = rest + 1;
        while len != rest + len.to_string().len() {
            len = rest + len.to_string().len();
        }
        body.extend_from_slice(format!("{len} {k}=").as_bytes());
        body.extend_from_slice(v);
        body.push(b'\n');
    }
    raw_entry(b"././@PaxHeader", b'x', b"", &body)
}

pub(crate) const END: [u8; 1024] = [0; 1024];

pub(crate) fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A tar member as read back: name, entry type, link name, data.
struct Member {
    name: Vec<u8>,
    kind: u8,
    link: Vec<u8>,
    data: Vec<u8>,
}

fn members(tar_bytes: &[u8]) -> Vec<Member> {
    let mut ar = tar::Archive::new(tar_bytes);
    ar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            Member {
                name: e.path_bytes().into_owned(),
                kind: e.header().entry_type().as_byte(),
                link: e
                    .link_name_bytes()
                    .map(|l| l.into_owned())
                    .unwrap_or_default(),
                data,
            }
        })
        .collect()
}

fn tar_of(ms: &[Member]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in ms {
        out.extend(raw_entry(&m.name, m.kind, &m.link, &m.data));
    }
    out.extend_from_slice(&END);
    out
}

pub(crate) fn gz(d: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(d).unwrap();
    e.finish().unwrap()
}

fn zst(d: &[u8]) -> Vec<u8> {
    zstd::encode_all(d, 3).unwrap()
}

fn secret_tar(name: &str, secret_line: &str) -> Vec<u8> {
    concat(&[&raw_file(name, format!("{secret_line}\n")), &END])
}

/// A directory nobody should write to; asserted empty at the end of a test.
fn outside(dir: &Path) -> PathBuf {
    let p = dir.join("outside");
    fs::create_dir_all(&p).unwrap();
    p
}

fn assert_untouched(p: &Path) {
    let left: Vec<_> = fs::read_dir(p).unwrap().collect();
    assert!(left.is_empty(), "something was written outside: {left:?}");
}

// ---------------------------------------------------------------------------
// Traversal and links
// ---------------------------------------------------------------------------

#[test]
fn symlink_then_write_through_it_stays_in_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let out = outside(dir.path());
    let abs = out.display().to_string();
    let img = image_with(Layer::new(vec![
        Entry::symlink("a", &abs),
        Entry::file("a/file", format!("token={GITHUB_PAT}\n")),
        Entry::symlink("b", "../../../../../../../../../../.."),
        Entry::file(&format!("b{abs}/escape"), "x\n"),
        Entry::dir("c/"),
        Entry::symlink("c/up", ".."),
        Entry::file("c/up/up/up/escape2", "x\n"),
    ]));
    for form in [Form::OciArchive, Form::DockerClassic, Form::OciDir] {
        let (t, _) = write(dir.path(), form, img.clone());
        let s = scan(dir.path(), &t, &[]);
        clean_with_findings(&s);
        // The file is reported where the tar put it; the symlink is never followed.
        assert_eq!(
            find(&s.report, RULE_GITHUB_PAT, "a/file")["status"],
            "present"
        );
        assert_untouched(&out);
    }
}

#[test]
fn hardlinks_to_missing_targets_host_paths_and_in_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let img = image_with(Layer::new(vec![
        Entry::hardlink("etc/passwd.copy", "/etc/passwd"),
        Entry::hardlink("etc/up", "../../../../etc/shadow"),
        Entry::hardlink("x/missing", "no/such/file"),
        Entry::hardlink("loop/a", "loop/b"),
        Entry::hardlink("loop/b", "loop/a"),
        Entry::symlink("sym/a", "b"),
        Entry::symlink("sym/b", "a"),
        Entry::file("srv/token.txt", format!("token={GITHUB_PAT}\n")),
        Entry::hardlink("srv/token.link", "srv/token.txt"),
        Entry::hardlink("srv/self", "srv/self"),
    ]));
    let (t, _) = write(dir.path(), Form::OciArchive, img);
    let s = scan(dir.path(), &t, &[]);
    clean_with_findings(&s);
    let f = find(&s.report, RULE_GITHUB_PAT, "srv/token.txt");
    assert_eq!(f["status"], "present");
    assert_eq!(f["location"]["links"], json!(["srv/token.link"]));
    // Links are never resolved on the host: only the two planted secrets are reported.
    assert_eq!(s.findings().len(), 2, "{:#?}", s.findings());
}

/// Outer archive members named `../…` or `/…`, and a layer blob that is a link cycle.
#[test]
fn outer_archive_traversal_names_and_link_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let out = outside(dir.path());
    let src = dir.path().join("src.tar");
    let built =
        fixture::write(Form::DockerClassic, &[image_with(Layer::new(vec![]))], &src).unwrap();
    let mut ms = members(&fs::read(&src).unwrap());
    for m in &mut ms {
        if m.name.ends_with(b".json") && !m.name.starts_with(b"manifest") {
            // The config, under a climbing name: it is still the archive's own member.
            let mut n = b"../../../../".to_vec();
            n.extend_from_slice(&m.name);
            m.name = n;
        }
    }
    let escape = format!("{}/escape.txt", out.display());
    ms.push(Member {
        name: escape.into_bytes(),
        kind: b'0',
        link: Vec::new(),
        data: b"x".to_vec(),
    });
    ms.push(Member {
        name: b"../escape2.txt".to_vec(),
        kind: b'0',
        link: Vec::new(),
        data: b"x".to_vec(),
    });
    let p = dir.path().join("trav.tar");
    fs::write(&p, tar_of(&ms)).unwrap();
    let s = scan(dir.path(), &format!("docker-archive:{}", p.display()), &[]);
    clean_with_findings(&s);
    assert_untouched(&out);
    assert!(!dir.path().parent().unwrap().join("escape2.txt").exists());

    // The second layer's blob becomes a symlink cycle inside the archive.
    let manifest: Value =
        serde_json::from_slice(&ms.iter().find(|m| m.name == b"manifest.json").unwrap().data)
            .unwrap();
    let layer1 = manifest[0]["Layers"][1].as_str().unwrap().to_string();
    for m in &mut ms {
        if m.name == layer1.as_bytes() {
            m.kind = b'2';
            m.link = b"../cycle/b".to_vec();
            m.data.clear();
        }
    }
    for (name, link) in [("cycle/b", "a"), ("cycle/a", "b")] {
        ms.push(Member {
            name: name.into(),
            kind: b'2',
            link: link.into(),
            data: Vec::new(),
        });
    }
    fs::write(&p, tar_of(&ms)).unwrap();
    let s = scan(dir.path(), &format!("docker-archive:{}", p.display()), &[]);
    layer1_failed(&s, &["too many links"]);
    assert_eq!(built[0].layers.len(), 2);
}

#[test]
fn traversal_in_manifest_json_config_and_layers() {
    let dir = tempfile::tempdir().unwrap();
    let out = outside(dir.path());
    let other = Image::new("corp/other:2").step(
        "COPY token /srv/",
        Layer::new(vec![Entry::file(
            "srv/token.txt",
            format!("token={GITHUB_PAT}\n"),
        )]),
    );
    let src = dir.path().join("src.tar");
    fixture::write(
        Form::DockerClassic,
        &[image_with(Layer::new(vec![])), other],
        &src,
    )
    .unwrap();
    let mut ms = members(&fs::read(&src).unwrap());
    let m = ms.iter_mut().find(|m| m.name == b"manifest.json").unwrap();
    let mut manifest: Value = serde_json::from_slice(&m.data).unwrap();
    // Image 1: its config climbs out of the archive. Image 2: one layer does.
    manifest[0]["Config"] = json!("../../../../etc/passwd");
    manifest[1]["Layers"] = json!([format!("../{}/../../etc/shadow", out.display())]);
    m.data = serde_json::to_vec(&manifest).unwrap();
    let p = dir.path().join("trav.tar");
    fs::write(&p, tar_of(&ms)).unwrap();
    let s = scan(dir.path(), &format!("docker-archive:{}", p.display()), &[]);
    assert_eq!(s.code, 2, "{}", s.stderr);
    assert_eq!(s.errors().len(), 2, "{}", s.stderr);
    s.has_error(&["config ../../../../etc/passwd", "outside the image"]);
    s.has_error(&["layer 0", "outside the image"]);
    assert!(s.findings().is_empty());
    assert_untouched(&out);

    // Absolute names are archive keys, never host paths: /etc/passwd is not read.
    let m = ms.iter_mut().find(|m| m.name == b"manifest.json").unwrap();
    manifest[0]["Config"] = json!("/etc/passwd");
    manifest[1]["Layers"] = json!(["/etc/shadow"]);
    m.data = serde_json::to_vec(&manifest).unwrap();
    fs::write(&p, tar_of(&ms)).unwrap();
    let s = scan(dir.path(), &format!("docker-archive:{}", p.display()), &[]);
    assert_eq!(s.code, 2, "{}", s.stderr);
    s.has_error(&["config /etc/passwd", "missing blob"]);
    s.has_error(&["layer 0", "missing blob"]);
}

#[test]
fn oci_descriptor_digests_with_traversal_or_bad_algorithms() {
    let dir = tempfile::tempdir().unwrap();
    let img = image_with(Layer::new(vec![Entry::file("a", "a\n")])).step(
        "RUN two",
        Layer::new(vec![Entry::file(
            "srv/token.txt",
            format!("token={GITHUB_PAT}\n"),
        )]),
    );
    let (t, built) = write(dir.path(), Form::OciDir, img);
    let oci = dir.path().join(Form::OciDir.file_name());
    let good = fs::read(oci.join("index.json")).unwrap();
    // Digests the OCI types refuse: that descriptor alone is bad, the other layers are
    // read (tests/integration/descriptors.rs has more).
    for digest in ["sha256:../../../../etc/passwd", "sha256:/etc/passwd"] {
        edit_manifest(&oci, &built[0], |m| {
            m["layers"][1]["digest"] = json!(digest)
        });
        let s = scan(dir.path(), &t, &[]);
        assert_eq!(s.code, 2, "{digest}: {}", s.stderr);
        s.one_error(&["layer 1", "invalid digest", digest]);
        intact_key_found(&s);
        fs::write(oci.join("index.json"), &good).unwrap();
    }
    // Digests layerhound refuses: that layer alone is left out, the others keep their
    // own diff_id and build step.
    for digest in [
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709",
    ] {
        edit_manifest(&oci, &built[0], |m| {
            m["layers"][1]["digest"] = json!(digest)
        });
        let s = scan(dir.path(), &t, &[]);
        assert_eq!(s.code, 2, "{digest}: {}", s.stderr);
        s.one_error(&["layer 1", "invalid digest", digest]);
        intact_key_found(&s);
        let f = find(&s.report, RULE_GITHUB_PAT, "srv/token.txt");
        assert_eq!(f["location"]["layer_index"], 2);
        assert_eq!(f["location"]["created_by"], "RUN two");
        fs::write(oci.join("index.json"), &good).unwrap();
    }
    // The same digests in index.json itself.
    for digest in [
        "sha256:../../../../etc/passwd",
        "md5:d41d8cd98f00b204e9800998ecf8427e",
    ] {
        let mut idx: Value = serde_json::from_slice(&good).unwrap();
        idx["manifests"][0]["digest"] = json!(digest);
        fs::write(oci.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();
        let s = scan(dir.path(), &t, &[]);
        assert_eq!(s.code, 2, "{digest}: {}", s.stderr);
        s.one_error(&[digest.trim_start_matches("sha256:")]);
    }
}

#[cfg(unix)]
#[test]
fn blobs_that_are_symlinks_fifos_or_sockets_are_refused_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let img = Image::new(TAG)
        .step("COPY .env /app/", Layer::new(vec![env_file()]))
        .step("RUN a", Layer::new(vec![Entry::file("a", "a\n")]))
        .step("RUN b", Layer::new(vec![Entry::file("b", "b\n")]))
        .step("RUN c", Layer::new(vec![Entry::file("c", "c\n")]));
    let (t, built) = write(dir.path(), Form::OciDir, img);
    let oci = dir.path().join(Form::OciDir.file_name());
    let l = |i: usize| blob_path(&oci, &built[0].layers[i].digest);
    fs::remove_file(l(1)).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", l(1)).unwrap();
    fs::remove_file(l(2)).unwrap();
    let st = Command::new("mkfifo").arg(l(2)).status().unwrap();
    assert!(st.success());
    fs::remove_file(l(3)).unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(l(3)).unwrap();
    let s = scan(dir.path(), &t, &[]);
    assert_eq!(s.code, 2, "{}", s.stderr);
    assert_eq!(s.errors().len(), 3, "{}", s.stderr);
    s.has_error(&["layer 1", "symbolic link; not followed"]);
    s.has_error(&["layer 2", "not a regular file"]);
    s.has_error(&["layer 3", "not a regular file"]);
    intact_key_found(&s);
}

#[cfg(unix)]
#[test]
fn a_fifo_given_as_the_target_is_refused_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("image.tar");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for t in [
        fifo.display().to_string(),
        format!("docker-archive:{}", fifo.display()),
        format!("oci-archive:{}", fifo.display()),
    ] {
        let s = scan(dir.path(), &t, &[]);
        assert_eq!(s.code, 2, "{}", s.stderr);
        s.one_error(&["image.tar", "not a regular file"]);
    }
}

// ---------------------------------------------------------------------------
// Bombs
// ---------------------------------------------------------------------------

/// 8 GiB of zeros behind a tar header, as 512 identical gzip members of 16 MiB each:
/// about 8 MiB on disk.
#[test]
fn gzip_layer_inflating_to_gigabytes_is_cut_at_max_layer_bytes() {
    let mut first = raw_file("app/first.env", format!("token={GITHUB_PAT}\n"));
    first.extend_from_slice(raw_header(b"data/zeros", b'0', 8 << 30, b"").as_bytes());
    let mut blob = gz(&first);
    let zeros = gz(&vec![0u8; 16 << 20]);
    for _ in 0..512 {
        blob.extend_from_slice(&zeros);
    }
    let dir = tempfile::tempdir().unwrap();
    let img = image_with(Layer::raw_blob(blob, &fixture::sha256_digest(b"unknown")).gzip());
    let (t, _) = write(dir.path(), Form::OciArchive, img);
    let s = scan(dir.path(), &t, &["--max-layer-bytes", "32"]);
    incomplete_with_findings(&s, &["--max-layer-bytes 32 MiB"]);
    assert_eq!(
        find(&s.report, RULE_GITHUB_PAT, "app/first.env")["location"]["layer_index"],
        1
    );
    let cut = s.skipped("--max-layer-bytes 32 MiB");
    assert!(
        cut["examples"][0].as_str().unwrap().contains("layer 1"),
        "{cut}"
    );
    let s = scan(
        dir.path(),
        &t,
        &["--max-layer-bytes", "32", "--allow-incomplete"],
    );
    assert_eq!(s.code, 1);
    assert_eq!(s.warnings().len(), 1, "{}", s.stderr);
}

/// A docker save, gzip-compressed, followed by 8 GiB of zeros in 512 gzip members: read
/// as a stream, up to the byte budget.
#[test]
fn compressed_archive_inflating_to_gigabytes_is_read_to_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bomb.tar.gz");
    fixture::write(
        Form::DockerClassicGzip,
        &[image_with(Layer::new(vec![]))],
        &p,
    )
    .unwrap();
    let mut f = fs::OpenOptions::new().append(true).open(&p).unwrap();
    let zeros = gz(&vec![0u8; 16 << 20]);
    for _ in 0..512 {
        f.write_all(&zeros).unwrap();
    }
    drop(f);
    let t = format!("docker-archive:{}", p.display());
    let s = scan(dir.path(), &t, &["--max-layer-bytes", "64"]);
    // The archive is read as a stream; what follows its end counts against the budget.
    incomplete_with_findings(
        &s,
        &["the gzip archive decompresses to more than --max-layer-bytes 64 MiB"],
    );
}

/// Rewrites a zstd frame (no checksum) so that its header declares `size` bytes.
fn zstd_claiming(frame: &[u8], size: u64) -> Vec<u8> {
    let fhd = frame[4];
    assert_eq!(
        fhd & 0b1110_0111,
        0,
        "plain frame header expected: {fhd:#010b}"
    );
    // No content size, not single-segment: magic, descriptor, window byte, blocks.
    let mut out = frame[..4].to_vec();
    out.push(0b1100_0000);
    out.push(frame[5]);
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&frame[6..]);
    out
}

#[test]
fn zstd_layer_with_a_lying_frame_content_size() {
    let tar = concat(&[
        &raw_file("app/one.env", format!("token={GITHUB_PAT}\n")),
        &raw_file("app/two.bin", vec![b'z'; 300 << 10]),
        &END,
    ]);
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    enc.include_contentsize(false).unwrap();
    enc.include_checksum(false).unwrap();
    enc.write_all(&tar).unwrap();
    let frame = enc.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (claim, what) in [(1 << 40, "claims 1 TiB"), (100, "claims 100 bytes")] {
        let blob = zstd_claiming(&frame, claim);
        let diff = fixture::sha256_digest(&tar);
        let img = image_with(Layer::raw_blob(blob, &diff).zstd());
        let (t, _) = write(dir.path(), Form::OciArchive, img);
        let s = scan(dir.path(), &t, &[]);
        assert_eq!(s.code, 2, "{what}: {}", s.stderr);
        s.one_error(&["layer 1", "zstd stream"]);
        intact_key_found(&s);
        if claim > tar.len() as u64 {
            // Every byte was decoded before the lie showed.
            assert_eq!(
                find(&s.report, RULE_GITHUB_PAT, "app/one.env")["status"],
                "present"
            );
        }
    }
}

#[test]
fn nested_zip_bomb_and_tar_gz_bomb_hit_the_content_limits() {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().large_file(false);
    w.start_file("notes.txt", opts).unwrap();
    w.write_all(format!("token={GITHUB_PAT}\n").as_bytes())
        .unwrap();
    w.start_file("zeros.bin", opts).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..64 {
        w.write_all(&chunk).unwrap();
    }
    let zip_bomb = w.finish().unwrap().into_inner();
    let tgz_bomb = gz(&concat(&[
        &raw_file("etc/app.env", format!("GH={GITHUB_APP}\n")),
        &raw_file("zeros.bin", vec![0u8; 64 << 20]),
        &END,
    ]));
    let dir = tempfile::tempdir().unwrap();
    let img = image_with(Layer::new(vec![
        Entry::file("srv/bomb.jar", zip_bomb),
        Entry::file("srv/bomb.tar.gz", tgz_bomb),
    ]));
    let (t, _) = write(dir.path(), Form::OciArchive, img);
    let s = scan(dir.path(), &t, &[]);
    incomplete_with_findings(
        &s,
        &[
            "zip member: inflates more than --max-ratio 250x",
            "gzip stream: inflates more than --max-ratio 250x",
            "truncated tar: entry zeros.bin",
        ],
    );
    let zip_cut = s.skipped("zip member: inflates more than --max-ratio 250x");
    assert!(
        zip_cut["examples"][0]
            .as_str()
            .unwrap()
            .contains("srv/bomb.jar → zeros.bin"),
        "{zip_cut}"
    );
    let gz_cut = s.skipped("gzip stream: inflates more than --max-ratio 250x");
    assert!(
        gz_cut["examples"][0]
            .as_str()
            .unwrap()
            .contains("srv/bomb.tar.gz"),
        "{gz_cut}"
    );
    // What comes before the bomb in each archive is still found.
    let jar = find(&s.report, RULE_GITHUB_PAT, "srv/bomb.jar");
    assert_eq!(
        jar["location"]["nested"],
        json!(["srv/bomb.jar", "notes.txt"])
    );
    let tgz = find(&s.report, RULE_GITHUB_APP, "srv/bomb.tar.gz");
    assert_eq!(
        tgz["location"]["nested"],
        json!(["srv/bomb.tar.gz", "bomb.tar", "etc/app.env"])
    );
    let s = scan(dir.path(), &t, &["--max-nested-bytes", "1"]);
    assert_eq!(s.code, 2);
    s.skipped("--max-nested-bytes 1 MiB");
}

#[test]
fn huge_and_lying_pax_headers() {
    let dir = tempfile::tempdir().unwrap();
    let huge = vec![b'c'; 16 << 20];
    let tar = concat(&[
        &raw_pax(&[("comment", &huge), ("path", b"srv/pax-named.txt")]),
        &raw_file("srv/short", format!("token={GITHUB_PAT}\n")),
        &END,
    ]);
    // A PAX header over its cap is not read (nor the path it gives): one error names
    // the entry it came before, which is read under its own header's name.
    let s = scan_layer(dir.path(), Layer::raw_tar(tar), &[]);
    layer1_failed(
        &s,
        &[
            "srv/short",
            "PAX extended header",
            "is over the 1024 KiB cap; not read",
        ],
    );
    find(&s.report, RULE_GITHUB_PAT, "srv/short");

    // A PAX header whose size runs past the end of the layer.
    let mut pax = raw_pax(&[("path", b"x")]);
    pax[..512].copy_from_slice(raw_header(b"././@PaxHeader", b'x', 1 << 40, b"").as_bytes());
    let tar = concat(&[
        &raw_file("srv/before", format!("token={GITHUB_PAT}\n")),
        &pax,
    ]);
    let s = scan_layer(dir.path(), Layer::raw_tar(tar), &[]);
    layer1_failed(&s, &["tar"]);
    find(&s.report, RULE_GITHUB_PAT, "srv/before");
}

#[test]
fn very_long_and_very_deep_names() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!("srv/{}/token.txt", "n".repeat(200_000));
    let deep = format!("{}token.txt", "d/".repeat(200_000));
    let img = Image::new(TAG)
        .step(
            "COPY . /",
            Layer::new(vec![
                env_file(),
                Entry::file(&long, format!("token={GITHUB_PAT}\n")),
                Entry::file(&deep, format!("token={GITHUB_APP}\n")),
                Entry::pax_file(
                    &format!("p/{}", "q".repeat(70_000)),
                    format!("k={NPM_TOKEN}\n"),
                ),
            ]),
        )
        // Later layers make every finding walk its ancestors.
        .step(
            "RUN a",
            Layer::new(vec![Entry::file("a", "a\n"), Entry::whiteout("x/y")]),
        )
        .step(
            "RUN b",
            Layer::new(vec![Entry::opaque("z/"), Entry::file("d/d/d", "b\n")]),
        );
    let (t, _) = write(dir.path(), Form::OciArchive, img);
    let s = scan(dir.path(), &t, &[]);
    // Each path over the cap is one error, and is kept cut to the cap.
    assert_eq!(s.code, 2, "{}", s.stderr);
    assert_eq!(s.errors().len(), 3, "{}", s.stderr);
    for e in s.errors() {
        assert!(
            e.contains("layer 0") && e.contains("is over the 64 KiB cap; kept its first 64 KiB"),
            "{e}"
        );
        assert!(e.len() < 1024, "a long path is clipped in the message: {e}");
    }
    intact_key_found(&s);
    let cut = |p: &str| p[..64 << 10].to_string();
    assert_eq!(
        find(&s.report, RULE_GITHUB_PAT, &cut(&long))["status"],
        "present"
    );
    assert_eq!(
        find(&s.report, RULE_GITHUB_APP, &cut(&deep))["status"],
        "overwritten",
        "d/d/d (a file) replaces an ancestor directory"
    );
    find(
        &s.report,
        RULE_NPM,
        &cut(&format!("p/{}", "q".repeat(70_000))),
    );
}

// ---------------------------------------------------------------------------
// Corrupt streams
// ---------------------------------------------------------------------------

#[test]
fn truncated_layer_tar_keeps_what_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut tar = concat(&[
        &raw_file("srv/first", format!("token={GITHUB_PAT}\n")),
        &raw_file(
            "srv/cut.txt",
            [format!("GH={GITHUB_APP}\n").as_bytes(), &[b'.'; 4096]].concat(),
        ),
        &END,
    ]);
    tar.truncate(512 + 512 + 512 + 600);
    let s = scan_layer(dir.path(), Layer::raw_tar(tar), &[]);
    layer1_failed(&s, &["truncated tar", "srv/cut.txt"]);
    find(&s.report, RULE_GITHUB_PAT, "srv/first");
    find(&s.report, RULE_GITHUB_APP, "srv/cut.txt");
}

#[test]
fn truncated_zstd_layer() {
    let dir = tempfile::tempdir().unwrap();
    let tar = concat(&[
        &raw_file("srv/first", format!("token={GITHUB_PAT}\n")),
        &raw_file("srv/rest", vec![b'r'; 1 << 20]),
        &END,
    ]);
    let mut blob = zst(&tar);
    blob.truncate(blob.len() - 20);
    let diff = fixture::sha256_digest(&tar);
    let s = scan_layer(dir.path(), Layer::raw_blob(blob, &diff).zstd(), &[]);
    layer1_failed(&s, &["zstd stream", "truncated"]);
    find(&s.report, RULE_GITHUB_PAT, "srv/first");
}

#[test]
fn gzip_with_a_bad_crc_or_isize_is_an_error_and_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let tar = secret_tar("srv/token.txt", &format!("token={GITHUB_PAT}"));
    let diff = fixture::sha256_digest(&tar);
    for (at_from_end, what) in [(8, "CRC"), (4, "ISIZE")] {
        let mut blob = gz(&tar);
        let n = blob.len();
        blob[n - at_from_end] ^= 0xff;
        let s = scan_layer(dir.path(), Layer::raw_blob(blob, &diff).gzip(), &[]);
        assert_eq!(s.code, 2, "{what}: {}", s.stderr);
        s.one_error(&["layer 1", "gzip stream"]);
        intact_key_found(&s);
        find(&s.report, RULE_GITHUB_PAT, "srv/token.txt");
    }
}

#[test]
fn trailing_garbage_after_a_gzip_layer() {
    let dir = tempfile::tempdir().unwrap();
    let tar = secret_tar("srv/token.txt", &format!("token={GITHUB_PAT}"));
    let diff = fixture::sha256_digest(&tar);
    let mut blob = gz(&tar);
    blob.extend_from_slice(b"GARBAGE AFTER THE STREAM, NOT A GZIP MEMBER");
    let (t, built) = write(
        dir.path(),
        Form::OciArchive,
        image_with(Layer::raw_blob(blob, &diff).gzip()),
    );
    let s = scan(dir.path(), &t, &[]);
    assert_eq!(s.code, 2, "{}", s.stderr);
    // The blob digest covers the garbage too: it matches what the manifest says.
    s.one_error(&["layer 1", "gzip stream"]);
    assert!(!s.stderr.contains("digest mismatch"), "{}", s.stderr);
    assert_eq!(
        s.report["images"][0]["layers"][1]["digest"],
        json!(built[0].layers[1].digest)
    );
    intact_key_found(&s);
    find(&s.report, RULE_GITHUB_PAT, "srv/token.txt");
}

#[test]
fn multi_member_gzip_layer_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let one = raw_file("srv/one.txt", format!("token={GITHUB_PAT}\n"));
    let two = concat(&[&raw_file("srv/two.txt", format!("GH={GITHUB_APP}\n")), &END]);
    let blob = concat(&[&gz(&one), &gz(&two)]);
    let diff = fixture::sha256_digest(&concat(&[&one, &two]));
    let s = scan_layer(dir.path(), Layer::raw_blob(blob, &diff).gzip(), &[]);
    clean_with_findings(&s);
    find(&s.report, RULE_GITHUB_PAT, "srv/one.txt");
    find(&s.report, RULE_GITHUB_APP, "srv/two.txt");
}

#[test]
fn empty_layers() {
    let dir = tempfile::tempdir().unwrap();
    let img = Image::new(TAG)
        .step("RUN zero bytes", Layer::raw_tar(Vec::new()))
        .step("COPY .env /app/", Layer::new(vec![env_file()]))
        .step("RUN end marker only", Layer::raw_tar(END.to_vec()))
        .step("RUN empty gzip", Layer::raw_tar(Vec::new()).gzip())
        .step("RUN empty zstd", Layer::raw_tar(Vec::new()).zstd());
    for form in [Form::OciArchive, Form::DockerClassic] {
        let (t, _) = write(dir.path(), form, img.clone());
        let s = scan(dir.path(), &t, &[]);
        clean_with_findings(&s);
    }
}

#[test]
fn media_types_that_lie_are_overruled_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let tar = secret_tar("srv/plain.txt", &format!("token={GITHUB_PAT}"));
    let tar2 = secret_tar("srv/gz.txt", &format!("GH={GITHUB_APP}"));
    let img = image_with(
        // Declared gzip, stored plain.
        Layer::raw_blob(tar.clone(), &fixture::sha256_digest(&tar)).gzip(),
    )
    // Declared plain tar, stored gzip.
    .step(
        "RUN more",
        Layer::raw_blob(gz(&tar2), &fixture::sha256_digest(&tar2)),
    );
    let (t, _) = write(dir.path(), Form::OciArchive, img);
    let s = scan(dir.path(), &t, &[]);
    clean_with_findings(&s);
    find(&s.report, RULE_GITHUB_PAT, "srv/plain.txt");
    find(&s.report, RULE_GITHUB_APP, "srv/gz.txt");
    let notes = notes_with(&s.report, "media type");
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes[0].contains("layer 1 (")
            && notes[0].contains("announces gzip but the blob is a plain tar; read as a plain tar"),
        "{notes:?}"
    );
    assert!(
        notes[1].contains("layer 2 (")
            && notes[1].contains("announces a plain tar but the blob is gzip; read as gzip"),
        "{notes:?}"
    );
}

// ---------------------------------------------------------------------------
// Tar edge cases
// ---------------------------------------------------------------------------

/// Spoils a tar header in place.
type HeaderEdit = fn(&mut [u8]);

/// A tar: a good file, then one whose header `edit` spoils, then the end marker.
fn tar_with_bad_header(edit: HeaderEdit, fix_checksum: bool) -> Vec<u8> {
    let good = raw_file("srv/first", format!("token={GITHUB_PAT}\n"));
    let mut bad = raw_file("srv/bad", format!("GH={GITHUB_APP}\n"));
    edit(&mut bad[..512]);
    if fix_checksum {
        let mut h = tar::Header::new_old();
        h.as_mut_bytes().copy_from_slice(&bad[..512]);
        h.set_cksum();
        bad[..512].copy_from_slice(h.as_bytes());
    }
    concat(&[&good, &bad, &END])
}

#[test]
fn bad_size_and_checksum_fields() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, HeaderEdit, bool); 3] = [
        (
            "size",
            |h| h[124..136].copy_from_slice(b"zz!notoctal\0"),
            true,
        ),
        (
            "checksum",
            |h| h[148..156].copy_from_slice(b"0000001\0"),
            false,
        ),
        (
            "size past the end",
            |h| h[124..136].copy_from_slice(b"77777777777\0"),
            true,
        ),
    ];
    for (what, edit, fix) in cases {
        let tar = tar_with_bad_header(edit, fix);
        let s = scan_layer(dir.path(), Layer::raw_tar(tar), &[]);
        assert_eq!(s.code, 2, "{what}: {}", s.stderr);
        s.one_error(&["layer 1", "tar"]);
        intact_key_found(&s);
        find(&s.report, RULE_GITHUB_PAT, "srv/first");
    }
}

#[test]
fn bad_pax_records() {
    let dir = tempfile::tempdir().unwrap();
    for records in [
        b"garbage without a length\n".to_vec(),
        b"99999 path=x\n".to_vec(),
        b"5 a=b\n".to_vec(),
        b"12 size=zz\n".to_vec(),
    ] {
        let tar = concat(&[
            &raw_file("srv/first", format!("token={GITHUB_PAT}\n")),
            &raw_entry(b"././@PaxHeader", b'x', b"", &records),
            &raw_file("srv/after", "x\n"),
            &END,
        ]);
        let s = scan_layer(dir.path(), Layer::raw_tar(tar), &[]);
        let shown = String::from_utf8_lossy(&records).into_owned();
        assert!(s.code == 1 || s.code == 2, "{shown}: {}", s.stderr);
        assert!(s.errors().len() <= 1, "{shown}: {}", s.stderr);
        if s.code == 2 {
            s.one_error(&["layer 1", "tar"]);
        }
        intact_key_found(&s);
        find(&s.report, RULE_GITHUB_PAT, "srv/first");
    }
}

#[test]
fn non_utf8_names_are_reported_losslessly() {
    let dir = tempfile::tempdir().unwrap();
    let tar = concat(&[
        &raw_entry(
            b"srv/caf\xe9/\xfftoken",
            b'0',
            b"",
            format!("token={GITHUB_PAT}\n").as_bytes(),
        ),
        &END,
    ]);
    let s = scan_layer(dir.path(), Layer::raw_tar(tar), &[]);
    clean_with_findings(&s);
    find(&s.report, RULE_GITHUB_PAT, "srv/caf\\xe9/\\xfftoken");
}

#[test]
fn device_fifo_and_socket_entries_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut chr = raw_header(b"dev/null", b'3', 0, b"");
    chr.set_device_major(1).unwrap();
    chr.set_device_minor(3).unwrap();
    chr.set_cksum();
    // A block device whose header claims data: the data is skipped, not scanned.
    let blk = raw_entry(
        b"dev/sda",
        b'4',
        b"",
        format!("token={GITHUB_APP}\n").as_bytes(),
    );
    let tar = concat(&[
        chr.as_bytes(),
        &blk,
        &raw_entry(b"run/fifo", b'6', b"", b""),
        &raw_file("srv/token.txt", format!("token={GITHUB_PAT}\n")),
        &END,
    ]);
    let s = scan_layer(dir.path(), Layer::raw_tar(tar), &[]);
    clean_with_findings(&s);
    find(&s.report, RULE_GITHUB_PAT, "srv/token.txt");
    assert_eq!(s.findings().len(), 2, "{:#?}", s.findings());
}

#[test]
fn gnu_sparse_entries_are_scanned() {
    let dir = tempfile::tempdir().unwrap();
    // A 1 MiB sparse file: a hole, then 512 stored bytes holding the token.
    let mut data = format!("token={GITHUB_PAT}\n").into_bytes();
    data.resize(512, b'\n');
    let mut h = raw_header(b"var/sparse.log", b'S', 512, b"");
    {
        let gnu = h.as_gnu_mut().unwrap();
        gnu.sparse[0].set_offset((1 << 20) - 512);
        gnu.sparse[0].set_length(512);
        gnu.set_real_size(1 << 20);
    }
    h.set_cksum();
    let tar = concat(&[h.as_bytes(), &data, &raw_file("srv/after", "x\n"), &END]);
    let s = scan_layer(dir.path(), Layer::raw_tar(tar), &[]);
    clean_with_findings(&s);
    let f = find(&s.report, RULE_GITHUB_PAT, "var/sparse.log");
    assert_eq!(f["status"], "present");
}

#[test]
fn missing_end_of_archive_marker() {
    let dir = tempfile::tempdir().unwrap();
    let tar = raw_file("srv/token.txt", format!("token={GITHUB_PAT}\n"));
    let img = image_with(Layer::raw_tar(tar.clone())).step("RUN gz", Layer::raw_tar(tar).gzip());
    let (t, _) = write(dir.path(), Form::OciArchive, img);
    let s = scan(dir.path(), &t, &[]);
    clean_with_findings(&s);
    // The same token in both layers: one finding, both places.
    let all = places(&s.report);
    let layers: Vec<&Value> = all
        .iter()
        .filter(|f| f["rule_id"] == RULE_GITHUB_PAT)
        .map(|f| &f["location"]["layer_index"])
        .collect();
    assert_eq!(
        layers,
        [&json!(2), &json!(1)],
        "present first, then overwritten"
    );
}

// ---------------------------------------------------------------------------
// Manifest abuse
// ---------------------------------------------------------------------------

#[test]
fn invalid_and_deeply_nested_json() {
    let dir = tempfile::tempdir().unwrap();
    // 100k unclosed brackets where a value is expected, and 100k closed ones in a field
    // nobody reads.
    let open = |head: &str| format!("{head}{}", "[".repeat(100_000));
    let closed = |head: &str, tail: &str| {
        format!(
            "{head},\"junk\":{}{}{tail}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        )
    };
    // docker save: manifest.json, in an extracted directory.
    let src = dir.path().join("src.tar");
    fixture::write(Form::DockerClassic, &[image_with(Layer::new(vec![]))], &src).unwrap();
    let d = dir.path().join("save");
    tar::Archive::new(fs::File::open(&src).unwrap())
        .unpack(&d)
        .unwrap();
    let t = format!("docker-archive:{}", d.display());
    let good_manifest = fs::read_to_string(d.join("manifest.json")).unwrap();
    fs::write(d.join("manifest.json"), open("")).unwrap();
    let s = scan(dir.path(), &t, &[]);
    assert_eq!(s.code, 2, "{}", s.stderr);
    s.one_error(&["manifest.json", "invalid JSON"]);
    let with_junk = closed(&good_manifest[..good_manifest.len() - 2], "}]");
    fs::write(d.join("manifest.json"), with_junk).unwrap();
    let s = scan(dir.path(), &t, &[]);
    clean_with_findings(&s);
    // OCI: index.json, then a config.
    let (t, built) = write(dir.path(), Form::OciDir, image_with(Layer::new(vec![])));
    let oci = dir.path().join(Form::OciDir.file_name());
    let good = fs::read(oci.join("index.json")).unwrap();
    fs::write(
        oci.join("index.json"),
        open("{\"schemaVersion\":2,\"manifests\":"),
    )
    .unwrap();
    let s = scan(dir.path(), &t, &[]);
    assert_eq!(s.code, 2, "{}", s.stderr);
    s.one_error(&["index.json", "invalid JSON"]);
    let good_text = String::from_utf8(good.clone()).unwrap();
    fs::write(
        oci.join("index.json"),
        closed(&good_text[..good_text.len() - 1], "}"),
    )
    .unwrap();
    let s = scan(dir.path(), &t, &[]);
    clean_with_findings(&s);
    fs::write(oci.join("index.json"), &good).unwrap();
    let config = blob_path(&oci, &built[0].config_digest);
    let good_config = fs::read_to_string(&config).unwrap();
    fs::write(&config, closed(&good_config[..good_config.len() - 1], "}")).unwrap();
    let s = scan(dir.path(), &t, &[]);
    assert_eq!(s.code, 2, "{}", s.stderr);
    s.one_error(&[
        built[0].config_digest.trim_start_matches("sha256:"),
        "digest mismatch",
    ]);
    intact_key_found(&s);
    fs::write(&config, b"{\"os\": 1").unwrap();
    let s = scan(dir.path(), &t, &[]);
    assert_eq!(s.code, 2, "{}", s.stderr);
    s.has_error(&["config", "invalid JSON"]);
}

#[test]
fn thousands_of_images_in_one_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("save");
    fs::create_dir_all(d.join("l")).unwrap();
    let tar = secret_tar("srv/token.txt", &format!("token={GITHUB_PAT}"));
    fs::write(d.join("l/layer.tar"), &tar).unwrap();
    let diff = fixture::sha256_digest(&tar);
    let n = 3000;
    let mut manifest = Vec::new();
    for i in 0..n {
        let cfg = serde_json::to_vec(&json!({
            "architecture": "amd64", "os": "linux",
            "config": {"Env": [format!("N={i}")]},
            "rootfs": {"type": "layers", "diff_ids": [diff]},
        }))
        .unwrap();
        let name = format!(
            "{}.json",
            fixture::sha256_digest(&cfg).trim_start_matches("sha256:")
        );
        fs::write(d.join(&name), cfg).unwrap();
        manifest.push(json!({"Config": name, "RepoTags": [format!("corp/many:{i}")], "Layers": ["l/layer.tar"]}));
    }
    fs::write(
        d.join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    let s = scan(dir.path(), &format!("docker-archive:{}", d.display()), &[]);
    assert_eq!(s.code, 1, "{}", s.stderr);
    s.no_errors();
    assert_eq!(s.report["summary"]["images"], n);
    assert_eq!(
        s.report["summary"]["layers"], 1,
        "a shared layer is read once"
    );
    assert_eq!(s.findings().len(), n);
}

/// index.json → a chain of nested indexes, each one `width` times over.
fn index_chain(oci: &Path, manifest: &Value, depth: usize, width: usize) {
    let mut desc = manifest.clone();
    for _ in 0..depth {
        let idx = json!({"schemaVersion": 2, "mediaType": fixture::MEDIA_TYPE_OCI_INDEX,
            "manifests": vec![desc.clone(); width]});
        let (digest, size) = put_json(oci, &idx);
        desc = json!({"mediaType": fixture::MEDIA_TYPE_OCI_INDEX, "digest": digest, "size": size});
    }
    let top = json!({"schemaVersion": 2, "mediaType": fixture::MEDIA_TYPE_OCI_INDEX, "manifests": [desc]});
    fs::write(oci.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
}

#[test]
fn oci_index_loops_long_chains_and_wide_fan_out() {
    let dir = tempfile::tempdir().unwrap();
    let (t, _) = write(dir.path(), Form::OciDir, image_with(Layer::new(vec![])));
    let oci = dir.path().join(Form::OciDir.file_name());
    let good = read_json(&oci.join("index.json"));
    let manifest = good["manifests"][0].clone();

    // An index stored under a digest it lists itself at (content addressing would
    // forbid it; a mismatched digest is reported and the walk goes on).
    let fake = fixture::sha256_digest(b"loop");
    let looped = json!({"schemaVersion": 2, "mediaType": fixture::MEDIA_TYPE_OCI_INDEX,
        "manifests": [{"mediaType": fixture::MEDIA_TYPE_OCI_INDEX, "digest": fake, "size": 10}]});
    fs::write(blob_path(&oci, &fake), serde_json::to_vec(&looped).unwrap()).unwrap();
    let top = json!({"schemaVersion": 2, "manifests": [manifest,
        {"mediaType": fixture::MEDIA_TYPE_OCI_INDEX, "digest": fake, "size": 10}]});
    fs::write(oci.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    let s = scan(dir.path(), &t, &[]);
    assert_eq!(s.code, 2, "{}", s.stderr);
    s.has_error(&["index loop", &fake]);
    intact_key_found(&s);

    // A chain of 40 nested indexes: cut at the depth limit, reported.
    index_chain(&oci, &manifest, 40, 1);
    let s = scan(dir.path(), &t, &[]);
    assert_eq!(s.code, 2, "{}", s.stderr);
    s.one_error(&["nested deeper than 16"]);

    // 12 levels, each listing the next 10 times: 10^12 paths, one manifest.
    index_chain(&oci, &manifest, 12, 10);
    let s = scan(dir.path(), &t, &[]);
    clean_with_findings(&s);
    assert_eq!(s.report["summary"]["images"], 1);
}

#[test]
fn missing_manifest_and_config_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let img2 = Image::new("corp/two:1").step(
        "COPY token /srv/",
        Layer::new(vec![Entry::file(
            "srv/token.txt",
            format!("token={GITHUB_PAT}\n"),
        )]),
    );
    let p = dir.path().join("oci");
    let built = fixture::write(Form::OciDir, &[image_with(Layer::new(vec![])), img2], &p).unwrap();
    let t = format!("oci:{}", p.display());
    fs::remove_file(blob_path(&p, &built[0].config_digest)).unwrap();
    let s = scan(dir.path(), &t, &[]);
    assert_eq!(s.code, 2, "{}", s.stderr);
    s.one_error(&["config", &built[0].config_digest, "missing blob"]);
    find(&s.report, RULE_GITHUB_PAT, "srv/token.txt");
    fs::remove_file(blob_path(&p, &built[1].manifest_digest)).unwrap();
    let s = scan(dir.path(), &t, &[]);
    assert_eq!(s.code, 2, "{}", s.stderr);
    s.has_error(&["manifest", &built[1].manifest_digest, "missing blob"]);
}

#[test]
fn a_50_mib_env_value_with_a_secret_at_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let filler = "lorem ipsum dolor sit amet ".repeat((50 << 20) / 27);
    let img = image_with(Layer::new(vec![])).env(&format!("BIG={filler}token={GITHUB_PAT}"));
    let (t, _) = write(dir.path(), Form::OciArchive, img);
    let s = scan(dir.path(), &t, &[]);
    clean_with_findings(&s);
    let f = find(&s.report, RULE_GITHUB_PAT, "Env[0]");
    assert_eq!(f["location"]["offset"], 4 + filler.len() + 6);
}

#[test]
fn a_hundred_thousand_history_entries() {
    let dir = tempfile::tempdir().unwrap();
    let mut img = Image::new(TAG);
    for i in 0..100_000 {
        img = img.empty_step(&format!("RUN step {i}"));
    }
    let img = img
        .step("COPY .env /app/", Layer::new(vec![env_file()]))
        .empty_step(&format!("RUN curl -H 'token: {GITHUB_PAT}'"));
    let (t, _) = write(dir.path(), Form::OciArchive, img);
    let s = scan(dir.path(), &t, &[]);
    assert_eq!(s.code, 1, "{}", s.stderr);
    s.no_errors();
    let f = find(&s.report, RULE_AWS_KEY_ID, "app/.env");
    assert_eq!(f["location"]["created_by"], "COPY .env /app/");
    find(&s.report, RULE_GITHUB_PAT, "history[100001].created_by");
}

#[test]
fn a_config_past_the_json_size_cap_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let filler = "x".repeat(129 << 20);
    let img = image_with(Layer::new(vec![])).env(&format!("BIG={filler}"));
    let (t, built) = write(dir.path(), Form::OciArchive, img);
    let s = scan(dir.path(), &t, &[]);
    assert_eq!(s.code, 2, "{}", s.stderr);
    s.has_error(&[
        &built[0].config_digest,
        "more than the 128 MiB a manifest, index or config may have",
    ]);
}

#[test]
fn thousands_of_hard_links_to_a_secret_do_not_multiply_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut entries = vec![Entry::file("srv/key.txt", format!("token={GITHUB_PAT}\n"))];
    for i in 0..5_000 {
        entries.push(Entry::hardlink(&format!("srv/l/{i}"), "srv/key.txt"));
    }
    let s = scan_layer(dir.path(), Layer::new(entries), &[]);
    clean_with_findings(&s);
    let f = find(&s.report, RULE_GITHUB_PAT, "srv/key.txt");
    assert_eq!(f["status"], "present");
    assert_eq!(f["location"]["links"].as_array().unwrap().len(), 32);
    assert_eq!(f["location"]["links_omitted"], 5_000 - 32);
}
