//! One bad descriptor is one bad layer: a malformed digest in an OCI manifest's layer
//! descriptor or in an index's manifest descriptor, a bad `Layers` entry of a docker
//! save manifest.json, a malformed diff_id in a config. That entry alone is an error (one
//! line naming the image and the layer, exit 2); everything else is scanned and its
//! secrets reported; nothing is read through a bad digest, nothing written outside the
//! spool and temp directories. And every message printed (errors, warnings, notes, skip
//! reasons) has its control bytes escaped, on stderr and in the reports.

use crate::fixture::{self, Entry, Form, Image, Layer};
use crate::hostile::{END, blob_path, edit_manifest, gz, put_json, raw_entry, read_json};
use crate::support::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

const TAG: &str = "corp/descriptors:1";

/// Layer 0: an AWS key at `app/.env`; layer 1: a plain file; layer 2: a GitHub token at
/// `srv/token.txt`, made by `RUN two`.
fn three_layers(tag: &str) -> Image {
    Image::new(tag)
        .step(
            "COPY .env /app/",
            Layer::new(vec![Entry::file(
                "app/.env",
                format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n"),
            )]),
        )
        .step("RUN one", Layer::new(vec![Entry::file("a", "a\n")]))
        .step(
            "RUN two",
            Layer::new(vec![Entry::file(
                "srv/token.txt",
                format!("token={GITHUB_PAT}\n"),
            )]),
        )
}

/// A second image: a GitHub app token at `srv/app.txt`.
fn other_image() -> Image {
    Image::new("corp/other:2").step(
        "COPY app.txt /srv/",
        Layer::new(vec![Entry::file(
            "srv/app.txt",
            format!("GH={GITHUB_APP}\n"),
        )]),
    )
}

/// A plain tar holding an npm token: planted where a followed bad digest or name would
/// lead, so that reading it would show.
fn decoy_tar() -> Vec<u8> {
    [
        raw_entry(
            b"srv/decoy",
            b'0',
            b"",
            format!("//registry.npmjs.org/:_authToken={NPM_TOKEN}\n").as_bytes(),
        ),
        END.to_vec(),
    ]
    .concat()
}

// ---------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    /// The `layerhound: error:` lines of stderr.
    fn errors(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("layerhound: error: "))
            .collect()
    }

    fn report(&self) -> Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr: {}", self.stderr))
    }
}

/// Every file under `dir` with its size, except the scan's own spool and temp
/// directories.
fn files_under(dir: &Path) -> BTreeMap<PathBuf, u64> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_entry(|e| {
            let n = e.file_name().to_string_lossy();
            !(n.starts_with("spool-") || n.starts_with("tmp-"))
        })
        .map(|e| e.unwrap())
        .map(|e| {
            let len = e.metadata().map_or(0, |m| m.len());
            (e.into_path(), len)
        })
        .collect()
}

/// Scans `target` with `args`, its spool and temp directories fresh under `dir`;
/// asserts no panic, both directories left empty and nothing under `dir` created or
/// changed.
fn run_scan(dir: &Path, target: &str, args: &[&str]) -> Run {
    let before = files_under(dir);
    let spool = tempfile::Builder::new()
        .prefix("spool-")
        .tempdir_in(dir)
        .unwrap();
    let tmp = tempfile::Builder::new()
        .prefix("tmp-")
        .tempdir_in(dir)
        .unwrap();
    let out = command(&["scan", "--spool-dir"])
        .arg(spool.path())
        .args(args)
        .arg(target)
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    for d in [spool.path(), tmp.path()] {
        let left: Vec<_> = fs::read_dir(d).unwrap().collect();
        assert!(left.is_empty(), "left behind in {}: {left:?}", d.display());
    }
    assert_eq!(
        files_under(dir),
        before,
        "the scan of {target} wrote outside its spool and temp directories"
    );
    Run {
        code: out.status.code().expect("exit code"),
        stdout: out.stdout,
        stderr,
    }
}

/// A quiet JSON scan: the run and its report, with one stderr error line per error in
/// the report.
fn scan(dir: &Path, target: &str) -> (Run, Value) {
    let run = run_scan(dir, target, &["--format", "json", "--quiet"]);
    let report = run.report();
    assert_eq!(
        report["summary"]["errors"].as_array().unwrap().len(),
        run.errors().len(),
        "one stderr line per error: {}",
        run.stderr
    );
    (run, report)
}

/// Exit 2 and exactly one error line, containing every needle; the report's one error
/// is of `kind`.
fn one_error(run: &Run, report: &Value, kind: &str, needles: &[&str]) {
    assert_eq!(run.code, 2, "{}", run.stderr);
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "expected one error line: {}", run.stderr);
    for n in needles {
        assert!(errors[0].contains(n), "error lacks {n:?}: {}", errors[0]);
    }
    assert_eq!(
        report["summary"]["errors"][0]["kind"], kind,
        "{}",
        errors[0]
    );
}

/// The secrets of layers 0 and 2 of [`three_layers`] are reported, in their layers.
fn intact_layers_found(report: &Value) {
    let aws = find(report, RULE_AWS_KEY_ID, "app/.env");
    assert_eq!(aws["status"], "present");
    assert_eq!(aws["location"]["layer_index"], 0);
    let pat = find(report, RULE_GITHUB_PAT, "srv/token.txt");
    assert_eq!(pat["location"]["layer_index"], 2);
    assert_eq!(pat["location"]["created_by"], "RUN two");
}

/// No finding of `rule`.
fn not_found(report: &Value, rule: &str) {
    let all = places(report);
    assert!(
        all.iter().all(|f| f["rule_id"] != rule),
        "unexpected {rule} finding: {all:#?}"
    );
}

// ---------------------------------------------------------------------------
// OCI
// ---------------------------------------------------------------------------

#[test]
fn a_malformed_layer_digest_fails_that_layer_only() {
    let dir = tempfile::tempdir().unwrap();
    let oci = dir.path().join("oci");
    let built = fixture::write(Form::OciDir, &[three_layers(TAG)], &oci).unwrap();
    let t = format!("oci:{}", oci.display());
    // Where `blobs/sha256/../../x` leads.
    fs::write(oci.join("x"), decoy_tar()).unwrap();
    let good = fs::read(oci.join("index.json")).unwrap();
    for (digest, shown) in [
        // Refused by the OCI types: a traversal, a wrong length, control bytes.
        ("sha256:../../x", "sha256:../../x"),
        ("sha256:abc", "sha256:abc"),
        ("sha256:\u{1b}[2J\u{7}", "sha256:\\u{1b}[2J\\u{7}"),
        // Read by the OCI types, refused by layerhound: an unknown algorithm.
        (
            "md5:d41d8cd98f00b204e9800998ecf8427e",
            "md5:d41d8cd98f00b204e9800998ecf8427e",
        ),
    ] {
        edit_manifest(&oci, &built[0], |m| {
            m["layers"][1]["digest"] = json!(digest)
        });
        let (run, r) = scan(dir.path(), &t);
        one_error(
            &run,
            &r,
            "invalid-digest",
            &[TAG, "layer 1", "invalid digest", shown],
        );
        intact_layers_found(&r);
        not_found(&r, RULE_NPM);
        fs::write(oci.join("index.json"), &good).unwrap();
    }
    // Two bad layers are two errors; the third is still read.
    edit_manifest(&oci, &built[0], |m| {
        m["layers"][0]["digest"] = json!("sha256:../../x");
        m["layers"][1]["digest"] = json!("md5:d41d8cd98f00b204e9800998ecf8427e");
    });
    let (run, r) = scan(dir.path(), &t);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.errors().len(), 2, "{}", run.stderr);
    assert!(run.errors()[0].contains("layer 0"), "{}", run.stderr);
    assert!(run.errors()[1].contains("layer 1"), "{}", run.stderr);
    find(&r, RULE_GITHUB_PAT, "srv/token.txt");
    not_found(&r, RULE_AWS_KEY_ID);
}

#[test]
fn the_rest_of_a_manifest_must_still_be_valid() {
    let dir = tempfile::tempdir().unwrap();
    let oci = dir.path().join("oci");
    let built = fixture::write(Form::OciDir, &[three_layers(TAG)], &oci).unwrap();
    let t = format!("oci:{}", oci.display());
    // A bad config descriptor is the image's error: without its config there is no
    // image.
    edit_manifest(&oci, &built[0], |m| {
        m["config"]["digest"] = json!("sha256:../../x")
    });
    let (run, _) = scan(dir.path(), &t);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.errors().len(), 1, "{}", run.stderr);
    assert!(run.errors()[0].contains("manifest"), "{}", run.stderr);
}

#[test]
fn a_bad_manifest_descriptor_in_an_index_fails_that_image_only() {
    let dir = tempfile::tempdir().unwrap();
    let oci = dir.path().join("oci");
    fixture::write(Form::OciDir, &[three_layers(TAG), other_image()], &oci).unwrap();
    let t = format!("oci:{}", oci.display());
    fs::write(oci.join("x"), decoy_tar()).unwrap();
    let good = fs::read(oci.join("index.json")).unwrap();
    for digest in ["sha256:../../x", "md5:d41d8cd98f00b204e9800998ecf8427e"] {
        let mut idx: Value = serde_json::from_slice(&good).unwrap();
        idx["manifests"][0]["digest"] = json!(digest);
        fs::write(oci.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();
        let (run, r) = scan(dir.path(), &t);
        one_error(
            &run,
            &r,
            "invalid-digest",
            &["index.json: manifests[0]", TAG, "invalid digest", digest],
        );
        find(&r, RULE_GITHUB_APP, "srv/app.txt");
        not_found(&r, RULE_AWS_KEY_ID);
        not_found(&r, RULE_NPM);
    }
}

#[test]
fn a_bad_manifest_descriptor_in_a_nested_index_fails_that_platform_only() {
    let dir = tempfile::tempdir().unwrap();
    let oci = dir.path().join("oci");
    let amd = three_layers(TAG).platform("linux", "amd64", None);
    let arm = other_image().platform("linux", "arm64", None);
    fixture::write_multi_platform(Form::OciDir, TAG, &[amd, arm], &oci).unwrap();
    let t = format!("oci:{}", oci.display());
    let mut idx = read_json(&oci.join("index.json"));
    let nested_digest = idx["manifests"][0]["digest"].as_str().unwrap().to_string();
    let mut nested = read_json(&blob_path(&oci, &nested_digest));
    nested["manifests"][0]["digest"] = json!("sha256:abc");
    let (digest, size) = put_json(&oci, &nested);
    idx["manifests"][0]["digest"] = json!(digest);
    idx["manifests"][0]["size"] = json!(size);
    fs::write(oci.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();
    let (run, r) = scan(dir.path(), &t);
    one_error(
        &run,
        &r,
        "invalid-digest",
        &[TAG, "manifests[0]", "invalid digest", "sha256:abc"],
    );
    find(&r, RULE_GITHUB_APP, "srv/app.txt");
    not_found(&r, RULE_AWS_KEY_ID);
}

#[test]
fn a_malformed_diff_id_fails_that_layers_check_only() {
    let dir = tempfile::tempdir().unwrap();
    let oci = dir.path().join("oci");
    let built = fixture::write(Form::OciDir, &[three_layers(TAG)], &oci).unwrap();
    let t = format!("oci:{}", oci.display());
    let mut cfg = read_json(&blob_path(&oci, &built[0].config_digest));
    cfg["rootfs"]["diff_ids"][1] = json!("sha256:../../x");
    let (digest, size) = put_json(&oci, &cfg);
    edit_manifest(&oci, &built[0], |m| {
        m["config"]["digest"] = json!(digest);
        m["config"]["size"] = json!(size);
    });
    let (run, r) = scan(dir.path(), &t);
    one_error(
        &run,
        &r,
        "invalid-digest",
        &[
            TAG,
            "layer 1",
            "diff_ids[1]",
            "invalid digest",
            "sha256:../../x",
        ],
    );
    intact_layers_found(&r);
    // The layer itself is still read.
    assert_eq!(r["images"][0]["layers"].as_array().unwrap().len(), 3);
}

// ---------------------------------------------------------------------------
// docker save
// ---------------------------------------------------------------------------

/// Writes [`three_layers`] as a classic docker save, extracted into `dir/save`; gives
/// the target and the parsed manifest.json.
fn docker_save(dir: &Path, form: Form) -> (String, PathBuf, Value) {
    let src = dir.join("src.tar");
    fixture::write(form, &[three_layers(TAG)], &src).unwrap();
    let d = dir.join("save");
    tar::Archive::new(fs::File::open(&src).unwrap())
        .unpack(&d)
        .unwrap();
    fs::remove_file(&src).unwrap();
    let manifest = read_json(&d.join("manifest.json"));
    (format!("docker-archive:{}", d.display()), d, manifest)
}

#[test]
fn a_bad_layers_entry_in_manifest_json_fails_that_layer_only() {
    let dir = tempfile::tempdir().unwrap();
    let (t, d, good) = docker_save(dir.path(), Form::DockerClassic);
    fs::write(dir.path().join("x"), decoy_tar()).unwrap();
    for (entry, kind, needle) in [
        (json!("../x"), "corrupt", "outside the image"),
        (json!("../../../../../../x"), "corrupt", "outside the image"),
        (json!("nope/layer.tar"), "missing-blob", "missing blob"),
        (json!(42), "corrupt", "not a file name"),
        (json!({"a": "b"}), "corrupt", "not a file name"),
    ] {
        let mut m = good.clone();
        m[0]["Layers"][1] = entry.clone();
        fs::write(d.join("manifest.json"), serde_json::to_vec(&m).unwrap()).unwrap();
        let (run, r) = scan(dir.path(), &t);
        one_error(&run, &r, kind, &["layer 1", needle]);
        intact_layers_found(&r);
        not_found(&r, RULE_NPM);
    }
}

#[test]
fn a_bad_layer_sources_key_does_not_refuse_manifest_json() {
    // Docker 25+ names foreign layers' descriptors in LayerSources, by diff_id.
    // layerhound reads layers from the archive and never from there: a malformed key
    // or value costs nothing.
    let dir = tempfile::tempdir().unwrap();
    let (t, d, mut m) = docker_save(dir.path(), Form::DockerOci);
    m[0]["LayerSources"] = json!({
        "sha256:../../x": {
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "size": 1,
            "digest": "sha256:../../x",
        },
        "md5:d41d8cd98f00b204e9800998ecf8427e": 7,
    });
    fs::write(d.join("manifest.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    let (run, r) = scan(dir.path(), &t);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.errors().is_empty(), "{}", run.stderr);
    intact_layers_found(&r);
}

#[test]
fn a_malformed_diff_id_in_a_docker_save_config_fails_that_layers_check_only() {
    let dir = tempfile::tempdir().unwrap();
    let (t, d, mut m) = docker_save(dir.path(), Form::DockerClassic);
    let config_name = m[0]["Config"].as_str().unwrap().to_string();
    let mut cfg = read_json(&d.join(&config_name));
    cfg["rootfs"]["diff_ids"][1] = json!("sha256:abc");
    // The config's name is its digest: written under its new one.
    let bytes = serde_json::to_vec(&cfg).unwrap();
    let new_name = format!(
        "{}.json",
        fixture::sha256_digest(&bytes).trim_start_matches("sha256:")
    );
    fs::write(d.join(&new_name), &bytes).unwrap();
    fs::remove_file(d.join(&config_name)).unwrap();
    m[0]["Config"] = json!(new_name);
    fs::write(d.join("manifest.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    let (run, r) = scan(dir.path(), &t);
    one_error(
        &run,
        &r,
        "invalid-digest",
        &[
            TAG,
            "layer 1",
            "diff_ids[1]",
            "invalid digest",
            "sha256:abc",
        ],
    );
    intact_layers_found(&r);
}

// ---------------------------------------------------------------------------
// Control bytes in messages
// ---------------------------------------------------------------------------

/// Bytes that look random (a fixed linear congruential sequence).
fn noise(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x2545_f491;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect()
}

/// The control characters of `text` other than line ends.
fn controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| c.is_control() && c != '\n')
        .collect()
}

/// Every string in a JSON value.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
        Value::Object(o) => o.iter().for_each(|(k, v)| {
            out.push(k.clone());
            strings(v, out)
        }),
        _ => {}
    }
}

#[test]
fn messages_carry_no_control_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // Layer 1: random bytes. Layer 2: a gzip stream damaged in the middle. Layer 3: a
    // tar cut short in an entry whose name holds ESC, BEL and CR.
    let random = noise(70_000);
    let tar = [
        raw_entry(b"srv/one", b'0', b"", &noise(20_000)),
        END.to_vec(),
    ]
    .concat();
    let mut damaged = gz(&tar);
    let mid = damaged.len() / 2;
    for b in &mut damaged[mid..mid + 64] {
        *b ^= 0x5a;
    }
    let mut cut = raw_entry(
        b"srv/\x1b[31mred\x07\r\x1b]0;title\x07.txt",
        b'0',
        b"",
        &[b'.'; 4096],
    );
    cut.truncate(512 + 600);
    // Layer 0 is sound, but holds a damaged gzip file whose name holds ESC and BEL:
    // not read whole, a skip with that name as its example.
    let bad_gz = [
        &[0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0xff][..],
        &noise(300),
    ]
    .concat();
    let img = Image::new("corp/controls:1")
        .step(
            "COPY .env /app/",
            Layer::new(vec![
                Entry::file("app/.env", format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n")),
                Entry::file("srv/\u{1b}[2Jbad\u{7}.gz", bad_gz),
            ]),
        )
        .step(
            "RUN random",
            Layer::raw_blob(random.clone(), &fixture::sha256_digest(&random)),
        )
        .step(
            "RUN damaged",
            Layer::raw_blob(damaged, &fixture::sha256_digest(&tar)).gzip(),
        )
        .step("RUN cut", Layer::raw_tar(cut));
    let p = dir.path().join("controls.tar");
    fixture::write(Form::OciArchive, &[img], &p).unwrap();
    let t = format!("oci-archive:{}", p.display());

    // JSON, quiet: stderr holds the errors only.
    let run = run_scan(dir.path(), &t, &["--format", "json", "--quiet"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(controls(&run.stderr), Vec::<char>::new(), "{}", run.stderr);
    for layer in ["layer 1", "layer 2", "layer 3"] {
        assert!(
            run.errors().iter().any(|l| l.contains(layer)),
            "no error about {layer}: {}",
            run.stderr
        );
    }
    assert!(
        run.errors()
            .iter()
            .any(|l| l.contains("srv/\\u{1b}[31mred\\u{7}\\u{d}")),
        "the cut entry is not named, escaped: {}",
        run.stderr
    );
    let stdout = String::from_utf8(run.stdout.clone()).unwrap();
    assert_eq!(controls(&stdout), Vec::<char>::new());
    let report = run.report();
    let mut texts = Vec::new();
    strings(&report["summary"], &mut texts);
    for s in &texts {
        assert_eq!(
            controls(s),
            Vec::<char>::new(),
            "in the JSON summary: {s:?}"
        );
    }
    assert!(
        texts
            .iter()
            .any(|s| s.ends_with("srv/\\u{1b}[2Jbad\\u{7}.gz")),
        "the damaged gzip file is not a skip's example, escaped: {:#}",
        report["summary"]["skipped"]
    );
    find(&report, RULE_AWS_KEY_ID, "app/.env");

    // Pretty, with notes and warnings: stdout and stderr.
    let run = run_scan(dir.path(), &t, &["--format", "pretty", "--color", "never"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!run.errors().is_empty(), "{}", run.stderr);
    assert_eq!(controls(&run.stderr), Vec::<char>::new(), "{}", run.stderr);
    let stdout = String::from_utf8(run.stdout).unwrap();
    assert_eq!(controls(&stdout), Vec::<char>::new(), "{stdout}");
}

/// A BuildKit attestation manifest in an index: its provenance statement is read, and
/// a build argument's value in it is a finding of the image it attests, located by its
/// JSON path. An attestation that cannot be read is a note that leaves the exit code
/// alone (not a skip, not an error).
#[test]
fn a_provenance_attestation_is_read_and_an_unreadable_one_is_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let oci = dir.path().join("oci");
    let amd = three_layers(TAG).platform("linux", "amd64", None);
    fixture::write_multi_platform(Form::OciDir, TAG, &[amd], &oci).unwrap();
    let t = format!("oci:{}", oci.display());
    let mut idx = read_json(&oci.join("index.json"));
    let nested_digest = idx["manifests"][0]["digest"].as_str().unwrap().to_string();
    let mut nested = read_json(&blob_path(&oci, &nested_digest));
    let subject = nested["manifests"][0]["digest"].clone();
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "subject": [{"name": "_", "digest": {"sha256": "00"}}],
        "predicate": {"invocation": {"parameters": {
            "frontend": "dockerfile.v0",
            "args": {"build-arg:GH_TOKEN": GITHUB_PAT, "build-arg:MODE": "release"}
        }}},
    });
    let (layer_digest, layer_size) = put_json(&oci, &statement);
    let (config_digest, config_size) = put_json(&oci, &json!({}));
    let attestation = |layer: &str| {
        json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": "application/vnd.in-toto+json",
                        "digest": layer, "size": layer_size,
                        "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"}}],
        })
    };
    let (good, good_size) = put_json(&oci, &attestation(&layer_digest));
    let missing = format!("sha256:{}", "ab".repeat(32));
    let (bad, bad_size) = put_json(&oci, &attestation(&missing));
    for (digest, size) in [(&good, good_size), (&bad, bad_size)] {
        nested["manifests"].as_array_mut().unwrap().push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": size,
            "platform": {"os": "unknown", "architecture": "unknown"},
            "annotations": {
                "vnd.docker.reference.type": "attestation-manifest",
                "vnd.docker.reference.digest": subject,
            },
        }));
    }
    let (nd, ns) = put_json(&oci, &nested);
    idx["manifests"][0]["digest"] = json!(nd);
    idx["manifests"][0]["size"] = json!(ns);
    fs::write(oci.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();
    let (run, r) = scan(dir.path(), &t);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    assert!(r["summary"].get("skipped").is_none(), "{:#}", r["summary"]);
    let f = find(
        &r,
        RULE_GITHUB_PAT,
        "attestation[provenance].predicate.invocation.parameters.args.build-arg:GH_TOKEN",
    );
    assert_eq!(f["status"], "metadata");
    assert_eq!(f["ref"], TAG);
    let notes = r["summary"]["notes"].to_string();
    assert!(
        notes.contains(&format!("attestation manifest {bad}: layer 0 ({missing})")),
        "{notes}"
    );
    find(&r, RULE_AWS_KEY_ID, "app/.env");
}

/// Writes `bytes` as a blob of the layout; gives its digest and size.
fn put_blob(oci: &Path, bytes: &[u8]) -> (String, usize) {
    let digest = fixture::sha256_digest(bytes);
    fs::write(blob_path(oci, &digest), bytes).unwrap();
    (digest, bytes.len())
}

/// A registry mirror's layout holds OCI artifacts next to images: a Helm chart (its
/// chart tar walked) and a JSON artifact (scanned as one file named by its title) are
/// scanned, with their artifact type in place of the platform, beside the image.
#[test]
fn oci_artifacts_are_scanned_by_their_layers_content() {
    let dir = tempfile::tempdir().unwrap();
    let oci = dir.path().join("oci");
    fixture::write(Form::OciDir, &[three_layers(TAG)], &oci).unwrap();
    let t = format!("oci:{}", oci.display());
    let mut chart = tar::Builder::new(Vec::new());
    for (path, body) in [
        (
            "mychart/Chart.yaml",
            "apiVersion: v2\nname: mychart\nversion: 0.1.0\n".to_string(),
        ),
        (
            "mychart/values.yaml",
            format!("image: nginx\ngithubToken: {GITHUB_PAT}\n"),
        ),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        chart.append_data(&mut h, path, body.as_bytes()).unwrap();
    }
    let chart = gz(&chart.into_inner().unwrap());
    let (chart_digest, chart_size) = put_blob(&oci, &chart);
    let (helm_config, helm_config_size) =
        put_json(&oci, &json!({"name": "mychart", "version": "0.1.0"}));
    let helm = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json",
                   "digest": helm_config, "size": helm_config_size},
        "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                    "digest": chart_digest, "size": chart_size}],
    });
    let (helm_digest, helm_size) = put_json(&oci, &helm);
    let doc = format!("{{\"deploy\": {{\"npm_token\": \"{NPM_TOKEN}\"}}}}\n");
    let (doc_digest, doc_size) = put_blob(&oci, doc.as_bytes());
    let (empty, empty_size) = put_blob(&oci, b"{}");
    let json_artifact = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.example.deploy+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": empty_size},
        "layers": [{"mediaType": "application/json", "digest": doc_digest, "size": doc_size,
                    "annotations": {"org.opencontainers.image.title": "deploy.json"}}],
    });
    let (json_digest, json_size) = put_json(&oci, &json_artifact);
    let mut idx = read_json(&oci.join("index.json"));
    for (digest, size, name) in [
        (&helm_digest, helm_size, "charts/mychart:0.1.0"),
        (&json_digest, json_size, "deploy/config:1"),
    ] {
        idx["manifests"].as_array_mut().unwrap().push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": size,
            "annotations": {"org.opencontainers.image.ref.name": name},
        }));
    }
    fs::write(oci.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();
    let (run, r) = scan(dir.path(), &t);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let f = find(&r, RULE_GITHUB_PAT, "mychart/values.yaml");
    assert_eq!(f["ref"], "charts/mychart:0.1.0");
    assert_eq!(
        f["platform"],
        "artifact application/vnd.cncf.helm.config.v1+json"
    );
    assert_eq!(f["status"], "present");
    let f = find(&r, RULE_NPM, "deploy.json");
    assert_eq!(f["ref"], "deploy/config:1");
    assert_eq!(
        f["platform"],
        "artifact application/vnd.example.deploy+json"
    );
    // The image beside them is scanned as before.
    find(&r, RULE_AWS_KEY_ID, "app/.env");
}
