//! Policy: baselines across compression and export forms, `--fail-on`, and ignore files
//! (`--ignore-file`, `.layerhoundignore` in the current directory).

use crate::fixture::{self, Compression, Entry, Form, Image, Layer};
use crate::support::*;
use serde_json::Value;
use std::path::Path;
use std::process::Output;

/// An AWS key ID planted only in the images that add a layer to the reference image.
const NEW_AWS_KEY_ID: &str = "AKIAW4RJ7QXN2LDZ5KEH";

/// The reference image with every layer in `c`.
fn recompressed(mut image: Image, c: Compression) -> Image {
    for s in &mut image.steps {
        if let Some(l) = &mut s.layer {
            l.compression = c;
        }
    }
    image
}

/// The reference image with one more layer holding a new secret.
fn with_new_secret(image: Image, c: Compression) -> Image {
    image.step(
        "COPY deploy.env /srv/deploy.env",
        Layer::new(vec![Entry::file(
            "srv/deploy.env",
            format!("AWS_ACCESS_KEY_ID={NEW_AWS_KEY_ID}\n"),
        )])
        .compression(c),
    )
}

fn findings(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `layerhound ARGS…` in `dir` (for `.layerhoundignore` discovery).
fn run_in(dir: &Path, args: &[&str]) -> Output {
    command(args)
        .current_dir(dir)
        .output()
        .expect("run layerhound")
}

#[test]
fn baseline_survives_recompression_and_reexport_and_reports_only_new_findings() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original.tar");
    fixture::write(
        Form::OciArchive,
        &[recompressed(reference_image(), Compression::Gzip)],
        &original,
    )
    .unwrap();
    let original = target(Form::OciArchive, &original);
    let (code, before, _) = scan_json(&original, &[]);
    assert_eq!(code, 1);
    let old = findings(&before).len();
    assert_eq!(old, 5, "{before:#}");

    let baseline = dir.path().join("baseline.json");
    let bl = baseline.to_str().unwrap();
    let out = run(&["baseline", "create", "--quiet", &original, "-o", bl]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_output_no_leak("baseline create", &out, &reference_secrets());

    // The file: fingerprints and places, never a secret, not even redacted.
    let text = std::fs::read_to_string(&baseline).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(
        doc["created_by"],
        format!("layerhound {}", env!("CARGO_PKG_VERSION"))
    );
    let entries = doc["findings"].as_array().unwrap();
    assert_eq!(entries.len(), old);
    for (e, f) in entries.iter().zip(findings(&before)) {
        assert_eq!(e["fingerprint"], f["fingerprint"]);
        assert_eq!(e["value_fingerprint"], f["value_fingerprint"]);
        assert_eq!(e["rule_id"], f["rule_id"]);
        assert_eq!(e["status"], f["status"]);
        assert_eq!(e["layer_index"], f["location"]["layer_index"]);
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        for k in &keys {
            assert!(
                [
                    "fingerprint",
                    "value_fingerprint",
                    "rule_id",
                    "status",
                    "image",
                    "ref",
                    "platform",
                    "layer_index",
                    "path",
                    "field"
                ]
                .contains(k),
                "unexpected key {k} in {e}"
            );
        }
        assert!(e.get("path").is_some() != e.get("field").is_some(), "{e}");
    }
    let pem = pem_key();
    let pem_body = pem.lines().nth(1).unwrap();
    for secret in [AWS_KEY_ID, GITHUB_PAT, GITHUB_APP, NPM_TOKEN, pem_body] {
        assert!(!text.contains(secret), "secret in the baseline");
        let redacted: String = secret.chars().take(4).chain(['…']).collect();
        assert!(!text.contains(&redacted), "redacted secret in the baseline");
    }
    assert!(!text.contains('…'), "no redacted value of any kind");
    assert_no_leak("baseline file", text.as_bytes(), &reference_secrets());
    assert_report_no_leak("original", &before, "", &reference_secrets());

    // The same content in other forms and compressions, plus one new secret.
    for (form, compression) in [
        (Form::DockerClassic, Compression::None),
        (Form::OciDir, Compression::Zstd),
    ] {
        let grown = dir.path().join(format!("grown-{}", form.name()));
        fixture::write(
            form,
            &[with_new_secret(
                recompressed(reference_image(), compression),
                compression,
            )],
            &grown,
        )
        .unwrap();
        let grown = target(form, &grown);
        let (code, all, _) = scan_json(&grown, &[]);
        assert_eq!((code, findings(&all).len()), (1, old + 1), "{all:#}");
        let (code, r, err) = scan_json(&grown, &["--baseline", bl]);
        assert_eq!(code, 1, "{form:?}: {err}");
        let new = findings(&r);
        assert_eq!(new.len(), 1, "{form:?}: {r:#}");
        assert_eq!(new[0]["rule_id"], RULE_AWS_KEY_ID);
        assert_eq!(new[0]["location"]["path"], "srv/deploy.env");
        assert_eq!(new[0]["location"]["layer_index"], 4);
        assert_eq!(r["summary"]["findings"], 1);
        assert_eq!(r["summary"]["by_status"], serde_json::json!({"present": 1}));
        assert_eq!(r["summary"]["suppressed"]["baseline"], old);
        assert_eq!(r["summary"]["suppressed"]["ignored"], 0);
        let mut secrets = reference_secrets();
        secrets.push(NEW_AWS_KEY_ID.to_string());
        assert_report_no_leak("all", &all, "", &secrets);
        assert_report_no_leak("--baseline", &r, &err, &secrets);

        // Without the new layer: nothing new, exit 0.
        let same = dir.path().join(format!("same-{}", form.name()));
        fixture::write(form, &[recompressed(reference_image(), compression)], &same).unwrap();
        let (code, r, err) = scan_json(&target(form, &same), &["--baseline", bl]);
        assert_eq!(code, 0, "{form:?}: {err}");
        assert!(findings(&r).is_empty(), "{r:#}");
        assert_eq!(r["summary"]["findings"], 0);
        assert_eq!(r["summary"]["suppressed"]["baseline"], old);
        assert_report_no_leak("same", &r, &err, &reference_secrets());
    }
}

#[test]
fn a_bad_baseline_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("i.tar");
    fixture::write(Form::OciArchive, &[reference_image()], &img).unwrap();
    let img = img.to_str().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let cases = [
        (write("garbage.json", "{\"version\": 1,"), "invalid JSON"),
        (
            write("future.json", "{\"version\": 7, \"findings\": []}"),
            "version 7 is not supported",
        ),
        (
            write(
                "fp.json",
                "{\"version\": 1, \"findings\": [{\"fingerprint\": \"AKIA\"}]}",
            ),
            "findings[0].fingerprint",
        ),
        (
            write("shape.json", "{\"version\": 1, \"findings\": {}}"),
            "not a layerhound baseline",
        ),
        (
            dir.path()
                .join("missing.json")
                .to_str()
                .unwrap()
                .to_string(),
            "No such file",
        ),
    ];
    for (file, want) in &cases {
        let out = run(&["scan", "--quiet", "--baseline", file, img]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert!(out.stdout.is_empty(), "no report for a bad baseline");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!("layerhound: error: baseline {file}: ")) && err.contains(want),
            "{err}"
        );
        assert_output_no_leak(file, &out, &reference_secrets());
    }
}

#[test]
fn baseline_of_an_incomplete_scan_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("i.tar");
    fixture::write(Form::OciArchive, &[reference_image()], &img).unwrap();
    let bl = dir.path().join("b.json");
    let missing = dir.path().join("missing.tar");
    let out = run(&[
        "baseline",
        "create",
        img.to_str().unwrap(),
        missing.to_str().unwrap(),
        "-o",
        bl.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no baseline written"));
    assert!(!bl.exists());
    assert_output_no_leak("baseline create", &out, &reference_secrets());
}

/// A secret that a later layer deletes, and nothing else.
fn deleted_only() -> Image {
    Image::new("corp/cleaned:1")
        .step(
            "COPY .env /app/.env",
            Layer::new(vec![
                Entry::dir("app/"),
                Entry::file("app/.env", format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n")),
            ])
            .gzip(),
        )
        .step(
            "RUN rm /app/.env",
            Layer::new(vec![Entry::whiteout("app/.env")]),
        )
}

#[test]
fn fail_on_decides_the_exit_code_and_the_report_keeps_every_finding() {
    let dir = tempfile::tempdir().unwrap();
    let cleaned = dir.path().join("cleaned.tar");
    fixture::write(Form::DockerClassic, &[deleted_only()], &cleaned).unwrap();
    let cleaned = cleaned.to_str().unwrap();
    let reference = dir.path().join("reference.tar");
    fixture::write(Form::DockerClassic, &[reference_image()], &reference).unwrap();
    let reference = reference.to_str().unwrap();

    let (code, r, err) = scan_json(cleaned, &["--fail-on", "present"]);
    assert_eq!(code, 0, "{err}");
    let fs = findings(&r);
    assert_eq!(fs.len(), 1, "{r:#}");
    assert_eq!(fs[0]["status"], "deleted");
    assert_eq!(fs[0]["removed_by"]["layer_index"], 1);

    for (target, fail_on, want) in [
        (cleaned, None, 1),
        (cleaned, Some("deleted"), 1),
        (cleaned, Some("present,metadata"), 0),
        (cleaned, Some("overwritten,opaque"), 0),
        (reference, Some("present"), 1),
        (reference, Some("opaque"), 1),
        (reference, Some("metadata"), 1),
    ] {
        let mut extra = Vec::new();
        if let Some(f) = fail_on {
            extra.extend(["--fail-on", f]);
        }
        let (code, r, err) = scan_json(target, &extra);
        assert_eq!(code, want, "{target} {fail_on:?}: {err}");
        let all = if target == cleaned { 1 } else { 5 };
        assert_eq!(findings(&r).len(), all, "the report lists every finding");
        assert_report_no_leak(target, &r, &err, &reference_secrets());
    }

    // The pretty report lists the deleted secret too.
    let out = run(&["scan", "--fail-on", "present", cleaned]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("deleted in layer 1: RUN rm /app/.env"),
        "{text}"
    );
    assert_output_no_leak("pretty", &out, &[AWS_KEY_ID]);

    // An error is exit 2 whatever --fail-on says.
    let missing = dir.path().join("missing.tar");
    let (code, r, _) = scan_json(
        cleaned,
        &["--fail-on", "present", missing.to_str().unwrap()],
    );
    assert_eq!(code, 2);
    assert_eq!(findings(&r).len(), 1);
    let out = run(&["scan", "--fail-on", "gone", cleaned]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown status is a usage error"
    );
    assert!(stderr(&out).contains("possible values"), "{}", stderr(&out));
}

#[test]
fn ignore_file_entries_by_fingerprint_rule_path_and_rule_with_path() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("i.tar");
    fixture::write(Form::OciArchive, &[reference_image()], &img).unwrap();
    let img = img.to_str().unwrap();
    let (_, all, _) = scan_json(img, &[]);
    let pat = find(&all, RULE_GITHUB_PAT, "srv/token.txt")["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let ignore = dir.path().join("accepted.toml");
    std::fs::write(
        &ignore,
        format!(
            r#"# accepted findings
[[ignore]]
fingerprint = "{pat}"
reason = "rotated 2024-05, image being rebuilt"

[[ignore]]
rule = "{RULE_NPM}"
reason = "read-only mirror token"

[[ignore]]
path = "/opt/**"
reason = "vendor test keys"

[[ignore]]
rule = "{RULE_AWS_KEY_ID}"
path = "etc/**"
reason = "never matches: the key is under app/"

[[ignore]]
rule = "{RULE_AWS_KEY_ID}"
path = "app/*"
reason = "vendor test keys"
"#
        ),
    )
    .unwrap();
    let (code, r, err) = scan_json(img, &["--ignore-file", ignore.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    let left: Vec<&str> = findings(&r)
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(left, [RULE_GITHUB_APP], "only the metadata finding is left");
    let s = &r["summary"]["suppressed"];
    assert_eq!(s["ignored"], 4);
    assert_eq!(s["baseline"], 0);
    assert_eq!(
        s["by_ignore_reason"],
        serde_json::json!({
            "rotated 2024-05, image being rebuilt": 1,
            "read-only mirror token": 1,
            "vendor test keys": 2,
        })
    );
    assert_eq!(r["summary"]["findings"], 1);
    assert_eq!(
        r["summary"]["by_status"],
        serde_json::json!({"metadata": 1})
    );
    // The linked copy of the token is the same finding: one fingerprint.
    assert!(
        !r.to_string().contains(&pat),
        "the ignored finding is not reported"
    );
    assert_report_no_leak("--ignore-file", &r, &err, &reference_secrets());
    assert_report_no_leak("all", &all, "", &reference_secrets());

    // The HTML report says what was ignored and why.
    let out = run(&[
        "scan",
        "--quiet",
        "--format",
        "html",
        "--ignore-file",
        ignore.to_str().unwrap(),
        img,
    ]);
    let html = String::from_utf8_lossy(&out.stdout);
    assert!(
        html.contains("<b data-suppressed=\"ignored\">4</b>"),
        "{html}"
    );
    assert!(html.contains("<li><code>vendor test keys</code>: 2</li>"));
    assert_output_no_leak("html", &out, &reference_secrets());

    // Ignoring and a baseline together: each finding is counted once.
    let bl = dir.path().join("bl.json");
    let out = run(&["baseline", "create", "-q", img, "-o", bl.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (code, r, _) = scan_json(
        img,
        &[
            "--ignore-file",
            ignore.to_str().unwrap(),
            "--baseline",
            bl.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(r["summary"]["suppressed"]["ignored"], 4);
    assert_eq!(r["summary"]["suppressed"]["baseline"], 1);
    assert_no_leak(
        "baseline",
        &std::fs::read(&bl).unwrap(),
        &reference_secrets(),
    );
    assert_report_no_leak("--baseline", &r, "", &reference_secrets());
}

#[test]
fn ignore_file_errors_name_file_and_entry() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("i.tar");
    fixture::write(Form::OciArchive, &[reference_image()], &img).unwrap();
    let img = img.to_str().unwrap();
    let ignore = dir.path().join("ignore.toml");
    let i = ignore.to_str().unwrap();
    for (text, want) in [
        (
            "[[ignore]]\nrule = \"a\"\nreason = \"ok\"\n\n[[ignore]]\npath = \"usr/**\"\n",
            "[[ignore]] entry 2 (line 5): missing `reason`",
        ),
        (
            "[[ignore]]\nrule = \"a\"\nreason = \"  \"\n",
            "[[ignore]] entry 1 (line 1): `reason` is empty",
        ),
        (
            "[[ignore]]\nreason = \"why\"\n",
            "entry 1 (line 1): needs one of `fingerprint`, `rule` or `path`",
        ),
        (
            "[[ignore]]\nrule = \"a\"\nrule_id = \"b\"\nreason = \"why\"\n",
            "line 3: unknown field `rule_id`",
        ),
        ("[[ignore]\n", "line 1: "),
    ] {
        std::fs::write(&ignore, text).unwrap();
        let out = run(&["scan", "--quiet", "--ignore-file", i, img]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!("layerhound: error: {i}: ")) && err.contains(want),
            "{text}: {err}"
        );
        assert_output_no_leak(text, &out, &reference_secrets());
    }
    let missing = dir.path().join("missing.toml");
    let out = run(&["scan", "--ignore-file", missing.to_str().unwrap(), img]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(missing.to_str().unwrap()),
        "{}",
        stderr(&out)
    );
    let out = run(&["scan", "--ignore-file", i, "--no-ignore-file", img]);
    assert_eq!(out.status.code(), Some(2), "the two flags conflict");
}

#[test]
fn layerhoundignore_in_the_current_directory_is_read_unless_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("i.tar");
    fixture::write(Form::DockerClassic, &[deleted_only()], &img).unwrap();
    let img = img.to_str().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();

    // Nothing there: the finding is reported.
    let out = run_in(&work, &["scan", "--format", "json", img]);
    assert_eq!(out.status.code(), Some(1));

    std::fs::write(
        work.join(".layerhoundignore"),
        "[[ignore]]\npath = \"app/.env\"\nreason = \"sample credentials\"\n",
    )
    .unwrap();
    let out = run_in(&work, &["scan", "--format", "json", img]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(findings(&r).is_empty());
    assert_eq!(
        r["summary"]["suppressed"]["by_ignore_reason"]["sample credentials"],
        1
    );
    assert!(
        stderr(&out).contains("read 1 entry from ./.layerhoundignore"),
        "the user is told: {}",
        stderr(&out)
    );

    let out = run_in(
        &work,
        &["scan", "--format", "json", "--no-ignore-file", img],
    );
    assert_eq!(out.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings(&r).len(), 1);
    assert_eq!(r["summary"]["suppressed"]["ignored"], 0);
    assert_output_no_leak("--no-ignore-file", &out, &[AWS_KEY_ID]);

    // A broken .layerhoundignore is an error too, naming it.
    std::fs::write(work.join(".layerhoundignore"), "[[ignore]]\nrule = \"x\"\n").unwrap();
    let out = run_in(&work, &["scan", img]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(".layerhoundignore: [[ignore]] entry 1"),
        "{}",
        stderr(&out)
    );
}
