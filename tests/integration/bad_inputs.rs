//! Bad inputs: each gets a one-line error naming the image (and layer and path where
//! they apply), exit code 2, no panic; whatever could be read is still reported.

use crate::fixture::{self, Form};
use crate::support::*;
use std::fs;
use std::path::{Path, PathBuf};

/// Asserts exit 2, no panic, and that every stderr line is one `layerhound: error:` line.
fn assert_clean_failure(out: &std::process::Output, must_contain: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.trim().is_empty(), "an error must be printed");
    for line in stderr.lines() {
        assert!(
            line.starts_with("layerhound: error: "),
            "unexpected stderr line: {line}"
        );
    }
    for m in must_contain {
        assert!(stderr.contains(m), "stderr lacks {m:?}: {stderr}");
    }
}

fn oci_dir(dir: &Path) -> (PathBuf, Vec<fixture::BuiltImage>) {
    let p = dir.join("oci");
    let built = fixture::write(Form::OciDir, &[reference_image()], &p).unwrap();
    (p, built)
}

fn blob(dir: &Path, digest: &str) -> PathBuf {
    dir.join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

/// Unpacks a tar archive into a directory (for editing a docker save's members).
fn unpack(tar_path: &Path, dir: &Path) {
    let f = fs::File::open(tar_path).unwrap();
    tar::Archive::new(f).unpack(dir).unwrap();
}

fn json_scan(target: &str) -> (std::process::Output, serde_json::Value) {
    let out = run(&["scan", "--format", "json", "--quiet", target]);
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, v)
}

#[test]
fn not_a_tar() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("junk.tar");
    fs::write(&p, vec![0x42u8; 4096]).unwrap();
    let out = run(&["scan", p.to_str().unwrap()]);
    assert_clean_failure(&out, &["junk.tar", "not a tar archive"]);
    let out = run(&["scan", &format!("docker-archive:{}", p.display())]);
    assert_clean_failure(&out, &["junk.tar"]);
}

#[test]
fn truncated_outer_tar() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.tar");
    fixture::write(Form::DockerOci, &[reference_image()], &p).unwrap();
    let len = fs::metadata(&p).unwrap().len();
    let f = fs::OpenOptions::new().write(true).open(&p).unwrap();
    f.set_len(len / 3).unwrap();
    let out = run(&["scan", &format!("docker-archive:{}", p.display())]);
    assert_clean_failure(&out, &["t.tar"]);
}

#[test]
fn truncated_gzip_layer_keeps_other_findings() {
    let dir = tempfile::tempdir().unwrap();
    let (p, built) = oci_dir(dir.path());
    // Layer 3 is gzip and holds the present GitHub token; cut it in half.
    let b = blob(&p, &built[0].layers[3].digest);
    let len = fs::metadata(&b).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&b)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let (out, r) = json_scan(&format!("oci:{}", p.display()));
    let short = &built[0].layers[3].digest[..19];
    assert_clean_failure(&out, &["layer 3", short, "gzip stream"]);
    // Findings from the intact layers are still reported.
    assert_eq!(find(&r, RULE_AWS_KEY_ID, "app/.env")["status"], "deleted");
    assert_eq!(
        find(&r, RULE_NPM, "root/.npmrc")["location"]["layer_index"],
        1
    );
}

#[test]
fn missing_blob_names_the_layer() {
    let dir = tempfile::tempdir().unwrap();
    let (p, built) = oci_dir(dir.path());
    fs::remove_file(blob(&p, &built[0].layers[1].digest)).unwrap();
    let (out, r) = json_scan(&format!("oci:{}", p.display()));
    assert_clean_failure(&out, &["layer 1", "missing blob"]);
    assert_eq!(r["summary"]["errors"][0]["kind"], "missing-blob");
    assert_eq!(
        find(&r, RULE_GITHUB_PAT, "srv/token.txt")["status"],
        "present"
    );
}

#[test]
fn digest_mismatch_is_reported_and_the_layer_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let (p, built) = oci_dir(dir.path());
    // Layer 2 is a plain tar: flip one byte of the PEM body (same length).
    let b = blob(&p, &built[0].layers[2].digest);
    let mut data = fs::read(&b).unwrap();
    let at = data.windows(4).position(|w| w == b"ckmb").unwrap();
    data[at] = b'X';
    fs::write(&b, data).unwrap();
    let (out, r) = json_scan(&format!("oci:{}", p.display()));
    assert_clean_failure(&out, &["layer 2", "digest mismatch", "diff_id mismatch"]);
    assert_eq!(find(&r, RULE_PEM, "opt/cfg/key.pem")["status"], "opaque");
    assert!(r["summary"]["errors"].as_array().unwrap().len() >= 2);
    // Programs match on kinds, not words.
    let kinds: Vec<&str> = r["summary"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"digest-mismatch") && kinds.contains(&"diff-id-mismatch"),
        "{kinds:?}"
    );
}

#[test]
fn missing_and_invalid_index_json() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = oci_dir(dir.path());
    let idx = p.join("index.json");
    let good = fs::read(&idx).unwrap();
    fs::write(&idx, b"{ not json").unwrap();
    let out = run(&["scan", &format!("oci:{}", p.display())]);
    assert_clean_failure(&out, &["index.json", "invalid JSON"]);
    fs::remove_file(&idx).unwrap();
    let out = run(&["scan", &format!("oci:{}", p.display())]);
    assert_clean_failure(&out, &["no index.json"]);
    // Unknown media type on the index descriptor.
    let text = String::from_utf8(good).unwrap().replace(
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.example.thing",
    );
    fs::write(&idx, text).unwrap();
    let out = run(&["scan", &format!("oci:{}", p.display())]);
    assert_clean_failure(
        &out,
        &["unknown media type", "application/vnd.example.thing"],
    );
}

#[test]
fn missing_and_invalid_manifest_json() {
    let dir = tempfile::tempdir().unwrap();
    let tarp = dir.path().join("save.tar");
    fixture::write(Form::DockerClassic, &[reference_image()], &tarp).unwrap();
    let d = dir.path().join("unpacked");
    unpack(&tarp, &d);
    let m = d.join("manifest.json");
    let good = fs::read_to_string(&m).unwrap();
    // An extracted docker save directory scans like the archive.
    let (code, _, stderr) = scan_json(d.to_str().unwrap(), &[]);
    assert_eq!(code, 1, "{stderr}");
    fs::write(&m, "[{\"Config\": 7}]").unwrap();
    let out = run(&["scan", &format!("docker-archive:{}", d.display())]);
    assert_clean_failure(&out, &["manifest.json", "invalid JSON"]);
    fs::remove_file(&m).unwrap();
    let out = run(&["scan", &format!("docker-archive:{}", d.display())]);
    assert_clean_failure(&out, &["no manifest.json"]);
    // A layer path that tries to leave the archive.
    fs::write(
        &m,
        good.replacen("/layer.tar\"", "/../../../../etc/passwd\"", 1),
    )
    .unwrap();
    let (out, _) = json_scan(&format!("docker-archive:{}", d.display()));
    assert_clean_failure(&out, &["layer 0", "outside the image"]);
}

#[test]
fn unknown_layer_media_type_is_an_error_but_scanned_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let tarp = dir.path().join("o.tar");
    let built = fixture::write(Form::OciArchive, &[reference_image()], &tarp).unwrap();
    let d = dir.path().join("o");
    unpack(&tarp, &d);
    relabel_first_gzip_layer(&d, &built[0].manifest_digest, "application/x-mystery");
    let (out, r) = json_scan(&format!("oci:{}", d.display()));
    assert_clean_failure(
        &out,
        &["layer 0", "unknown media type", "application/x-mystery"],
    );
    assert_eq!(find(&r, RULE_AWS_KEY_ID, "app/.env")["status"], "deleted");
}

#[test]
fn missing_paths_are_not_taken_for_image_references() {
    let out = run(&["scan", "./nope.tar"]);
    assert_clean_failure(&out, &["nope.tar", "no such file"]);
    let out = run(&["scan", "docker-archive:/nonexistent/x.tar"]);
    assert_clean_failure(&out, &["/nonexistent/x.tar", "no such file"]);
}

#[test]
fn nothing_is_written_outside_the_spool_and_the_spool_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.tar.gz");
    fixture::write(Form::DockerClassicGzip, &[reference_image()], &p).unwrap();
    let spool = dir.path().join("spool");
    fs::create_dir(&spool).unwrap();
    let out = run(&[
        "scan",
        "--quiet",
        "--spool-dir",
        spool.to_str().unwrap(),
        p.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        fs::read_dir(&spool).unwrap().count(),
        0,
        "spool left behind"
    );
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn traversal_and_absolute_entry_names_stay_inside_the_image() {
    let img = fixture::Image::new("corp/evil:1").step(
        "COPY . /",
        fixture::Layer::new(vec![
            fixture::Entry::file(
                "../../../../tmp/layerhound-escape.env",
                format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n"),
            ),
            fixture::Entry::file("/etc/abs.env", format!("token={GITHUB_PAT}\n")),
            fixture::Entry::symlink("etc/link", "../../../../root"),
        ]),
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("evil.tar");
    fixture::write(Form::OciArchive, &[img], &p).unwrap();
    let (code, r, stderr) = scan_json(p.to_str().unwrap(), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        find(&r, RULE_AWS_KEY_ID, "tmp/layerhound-escape.env")["status"],
        "present"
    );
    assert_eq!(
        find(&r, RULE_GITHUB_PAT, "etc/abs.env")["status"],
        "present"
    );
    assert!(!Path::new("/tmp/layerhound-escape.env").exists());
}

#[test]
fn sigterm_mid_scan_removes_the_spool() {
    use std::process::{Command, Stdio};
    // A zstd layer holding a 768 MiB jar (an archive read by random access, so it goes
    // to the spool) keeps the scan busy long enough to signal it.
    let img = fixture::Image::new("corp/big:1").step(
        "COPY big /",
        fixture::Layer::new(vec![fixture::Entry::file("big.jar", stored_zip(768 << 20))]).zstd(),
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.tar");
    fixture::write(Form::OciArchive, &[img], &p).unwrap();
    let spool = dir.path().join("spool");
    fs::create_dir(&spool).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_layerhound"))
        .args([
            "scan",
            "--quiet",
            "--spool-dir",
            spool.to_str().unwrap(),
            p.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until a layer spool file exists, then signal.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let spooling = loop {
        let busy = fs::read_dir(&spool)
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|d| {
                fs::read_dir(d.path())
                    .map(|mut r| r.next().is_some())
                    .unwrap_or(false)
            });
        if busy || std::time::Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            break busy;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    assert!(spooling, "the scan never spooled a layer");
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read_dir(&spool).unwrap().count(),
        0,
        "spool left behind after SIGTERM"
    );
}

/// A spool filesystem with too little room: the layers that need the spool stop with an
/// error naming image and layer instead of filling the disk; what needs no spool (the
/// image config) is still scanned, and the spool directory is removed.
#[test]
fn low_free_disk_stops_spooling_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("ref.tar");
    let with_jar = reference_image().step(
        "COPY app.jar /",
        fixture::Layer::new(vec![fixture::Entry::file("app.jar", stored_zip(20 << 20))]).zstd(),
    );
    fixture::write(Form::OciArchive, &[with_jar], &img).unwrap();
    let spool = dir.path().join("spool");
    std::fs::create_dir(&spool).unwrap();
    let (code, report, stderr) = scan_json(
        &format!("oci-archive:{}", img.display()),
        &[
            "--no-cache",
            "--min-free-disk",
            "1000000000",
            "--spool-dir",
            spool.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(!lines.is_empty());
    for l in &lines {
        assert!(l.starts_with("layerhound: error: "), "{stderr}");
        assert!(
            l.contains("below --min-free-disk 1000000000 MiB"),
            "{stderr}"
        );
        assert!(l.contains(": layer "), "names the layer: {stderr}");
    }
    find(&report, RULE_GITHUB_APP, "Env[1]");
    assert_eq!(
        std::fs::read_dir(&spool).unwrap().count(),
        0,
        "spool removed"
    );
    // With room enough, the same scan succeeds.
    let (code, _, stderr) = scan_json(
        &format!("oci-archive:{}", img.display()),
        &["--no-cache", "--min-free-disk", "1"],
    );
    assert_eq!(code, 1, "{stderr}");
}

#[test]
fn a_media_type_that_names_another_compression_is_noted_and_read_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let tarp = dir.path().join("o.tar");
    let built = fixture::write(Form::OciArchive, &[reference_image()], &tarp).unwrap();
    let d = dir.path().join("o");
    unpack(&tarp, &d);
    let (out_before, before) = json_scan(&format!("oci:{}", d.display()));
    // The first layer is gzip; its descriptor now says zstd.
    relabel_first_gzip_layer(
        &d,
        &built[0].manifest_digest,
        "application/vnd.oci.image.layer.v1.tar+zstd",
    );
    let (out, after) = json_scan(&format!("oci:{}", d.display()));
    assert_eq!(out.status.code(), out_before.status.code(), "{out:?}");
    assert_eq!(after["summary"]["errors"], serde_json::json!([]));
    let notes = notes_with(&after, "media type");
    assert_eq!(notes.len(), 1, "{notes:?}");
    for want in [
        "layer 0",
        "application/vnd.oci.image.layer.v1.tar+zstd announces zstd but the blob is gzip",
    ] {
        assert!(notes[0].contains(want), "{want:?} not in {:?}", notes[0]);
    }
    let fingerprints = |r: &serde_json::Value| {
        let mut f: Vec<(String, String)> = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["fingerprint"].as_str().unwrap().to_string(),
                    f["status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        f.sort();
        f
    };
    assert!(!fingerprints(&before).is_empty());
    assert_eq!(fingerprints(&after), fingerprints(&before));
    assert_eq!(notes_with(&before, "media type"), Vec::<&str>::new());
}

/// Rewrites the manifest of an unpacked OCI layout so that its first gzip layer carries
/// `media_type`, and points index.json at the rewritten manifest.
fn relabel_first_gzip_layer(layout: &Path, manifest_digest: &str, media_type: &str) {
    let mpath = blob(layout, manifest_digest);
    let old = fs::read_to_string(&mpath).unwrap();
    let manifest = old.replacen("application/vnd.oci.image.layer.v1.tar+gzip", media_type, 1);
    assert_ne!(manifest, old, "the manifest has a gzip layer");
    let digest = fixture::sha256_digest(manifest.as_bytes());
    fs::write(blob(layout, &digest), &manifest).unwrap();
    let idx = fs::read_to_string(layout.join("index.json"))
        .unwrap()
        .replace(manifest_digest, &digest)
        .replace(
            &format!("\"size\":{}", old.len()),
            &format!("\"size\":{}", manifest.len()),
        );
    fs::write(layout.join("index.json"), idx).unwrap();
}

#[test]
fn a_tar_of_something_else_is_refused_by_name_plain_or_compressed() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "notes.txt", &b"hi\n"[..]).unwrap();
    let tar = b.into_inner().unwrap();
    let plain = dir.path().join("other.tar");
    fs::write(&plain, &tar).unwrap();
    let zst = dir.path().join("other.tar.zst");
    fs::write(&zst, zstd::encode_all(&tar[..], 1).unwrap()).unwrap();
    for p in [plain, zst] {
        let out = run(&["scan", p.to_str().unwrap()]);
        assert_clean_failure(
            &out,
            &[p.to_str().unwrap(), "not a container image archive"],
        );
    }
}

/// A zip (as a jar is) with one stored member of `size` bytes: an archive larger than a
/// window, read by random access, so a compressed layer spools it.
fn stored_zip(size: usize) -> Vec<u8> {
    use std::io::Write as _;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(size > u32::MAX as usize);
    w.start_file("data.bin", opts).unwrap();
    let chunk = vec![b'a'; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        w.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
    w.finish().unwrap().into_inner()
}
