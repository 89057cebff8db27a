//! A user's first hour: every documented target form works, mistakes fail loudly.

use crate::fixture::{self, Form};
use crate::support::*;

fn two_images(form: Form, dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join(form.file_name());
    fixture::write(
        form,
        &[reference_image(), crate::forms::clean_image("corp/clean:2")],
        &p,
    )
    .unwrap();
    p
}

#[test]
fn one_image_of_a_multi_image_docker_archive_by_name_and_tag() {
    let dir = tempfile::tempdir().unwrap();
    let p = two_images(Form::DockerClassic, dir.path());
    let (code, r, stderr) = scan_json(&format!("docker-archive:{}:corp/clean:2", p.display()), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(r["summary"]["images"], 1);
    assert_eq!(r["images"][0]["ref"], "corp/clean:2");
    let (code, r, _) = scan_json(&format!("docker-archive:{}:corp/app:1.2", p.display()), &[]);
    assert_eq!(code, 1);
    assert_eq!(r["summary"]["images"], 1);
    let (code, _, stderr) = scan_json(&format!("docker-archive:{}:corp/app:9", p.display()), &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no image tagged corp/app:9")
            && stderr.contains("corp/app:1.2")
            && stderr.contains("corp/clean:2"),
        "the error lists the tags there are: {stderr}"
    );
}

#[test]
fn every_name_an_oci_layout_lists_selects_its_image() {
    let dir = tempfile::tempdir().unwrap();
    let p = two_images(Form::OciDir, dir.path());
    let (code, _, stderr) = scan_json(&format!("oci:{}:nope", p.display()), &[]);
    assert_eq!(code, 2);
    let listed = stderr
        .split("names: ")
        .nth(1)
        .unwrap_or_else(|| panic!("names listed: {stderr}"))
        .trim()
        .trim_end_matches(')');
    let names: Vec<&str> = listed.split(", ").collect();
    assert_eq!(names.len(), 2, "{stderr}");
    for name in names {
        let (code, r, stderr) = scan_json(&format!("oci:{}:{name}", p.display()), &[]);
        assert_ne!(code, 2, "{name}: {stderr}");
        assert_eq!(r["summary"]["images"], 1, "{name}");
    }
}

/// `layerhound scan -f json -q -` with `input` on standard input.
fn scan_stdin(input: &[u8]) -> (i32, serde_json::Value, String) {
    use std::io::Write as _;
    let mut child = command(&["scan", "--format", "json", "--quiet", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr: {stderr}"));
    (out.status.code().unwrap(), v, stderr)
}

#[test]
fn an_archive_on_standard_input_gives_the_findings_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for form in [Form::DockerClassic, Form::DockerOci, Form::OciArchive] {
        let p = dir.path().join(form.file_name());
        fixture::write(form, &[reference_image()], &p).unwrap();
        let (code, from_file, _) = scan_json(&target(form, &p), &[]);
        assert_eq!(code, 1);
        let bytes = std::fs::read(&p).unwrap();
        let (code, from_stdin, stderr) = scan_stdin(&bytes);
        assert_eq!(code, 1, "{}: {stderr}", form.name());
        assert_eq!(
            comparable(&from_file),
            comparable(&from_stdin),
            "{}",
            form.name()
        );
        assert!(
            from_stdin["findings"][0]["image"]
                .as_str()
                .unwrap()
                .ends_with(":-"),
            "{from_stdin:#}"
        );
        // Compressed on the way in, the same.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &bytes).unwrap();
        let (code, gz_stdin, stderr) = scan_stdin(&gz.finish().unwrap());
        assert_eq!(code, 1, "{stderr}");
        assert_eq!(comparable(&from_file), comparable(&gz_stdin));
    }
    let (code, r, stderr) = scan_stdin(b"this is not an archive at all, just some text\n");
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("stdin"), "{stderr}");
}

/// The `--fail-on` value a file recommends, as written after `--fail-on `.
fn gates_in(text: &str) -> Vec<String> {
    text.match_indices("--fail-on ")
        .map(|(i, m)| {
            text[i + m.len()..]
                .split(|c: char| c.is_whitespace() || c == '`')
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn every_recommended_gate_stops_a_secret_in_env() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("env.tar");
    let img = crate::fixture::Image::new("corp/env:1")
        .env(&format!("GITHUB_TOKEN={GITHUB_PAT}"))
        .step(
            "COPY app /app",
            crate::fixture::Layer::new(vec![crate::fixture::Entry::file("app/run", "#!/bin/sh\n")]),
        );
    fixture::write(Form::OciArchive, &[img], &p).unwrap();
    let t = target(Form::OciArchive, &p);
    let root = env!("CARGO_MANIFEST_DIR");
    let mut gates = Vec::new();
    for file in ["README.md", "contrib/pre-push", ".pre-commit-hooks.yaml"] {
        let text = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
        let found = gates_in(&text);
        assert!(!found.is_empty(), "{file} recommends a gate");
        gates.extend(found);
    }
    gates.sort();
    gates.dedup();
    for gate in gates.iter().filter(|g| !g.starts_with("STATUS")) {
        let (code, r, stderr) = scan_json(&t, &["--fail-on", gate]);
        assert_eq!(
            code, 1,
            "--fail-on {gate} lets an ENV secret through: {stderr} {r:#}"
        );
    }
    let (code, _, _) = scan_json(&t, &["--fail-on", "deleted,overwritten"]);
    assert_eq!(code, 0);
}

#[test]
fn quiet_when_clean_one_line_with_a_report_file_and_nothing_for_a_fatal_error() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.tar");
    fixture::write(
        Form::OciArchive,
        &[crate::forms::clean_image("corp/clean:1")],
        &clean,
    )
    .unwrap();
    let clean = target(Form::OciArchive, &clean);
    let out = run(&["scan", "-q", &clean]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");

    let dirty = dir.path().join("dirty.tar");
    fixture::write(Form::OciArchive, &[reference_image()], &dirty).unwrap();
    let dirty = target(Form::OciArchive, &dirty);
    let file = dir.path().join("report.json");
    let out = run(&["scan", "-f", "json", "-o", file.to_str().unwrap(), &dirty]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("5 findings") && stderr.contains(file.to_str().unwrap()),
        "{stderr}"
    );
    let out = run(&[
        "scan",
        "-q",
        "-f",
        "json",
        "-o",
        file.to_str().unwrap(),
        &dirty,
    ]);
    assert!(out.stderr.is_empty(), "-q: no summary line");

    // With --reveal, the report file is readable by its owner only.
    let out = run(&[
        "scan",
        "-q",
        "--reveal",
        "-o",
        file.to_str().unwrap(),
        &dirty,
    ]);
    assert_eq!(out.status.code(), Some(1));
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let missing = format!("docker-archive:{}/nope.tar", dir.path().display());
    let out = run(&["scan", &missing]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stdout.is_empty(),
        "no '0 findings' report for a fatal error: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

#[test]
fn rules_list_into_a_closed_pipe_ends_quietly() {
    use std::process::Stdio;
    let mut child = command(&["rules", "list", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read a little, then close the pipe, as `head -1` does (the JSON list is larger
    // than a pipe's buffer, so the writer meets the closed pipe).
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn demo_target(dir: &std::path::Path) -> String {
    let p = dir.join("demo.tar");
    fixture::write(Form::OciArchive, &[reference_image()], &p).unwrap();
    target(Form::OciArchive, &p)
}

fn one_line_error(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let e = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    e
}

#[test]
fn an_unknown_rule_id_is_an_error_with_the_closest_ids() {
    let dir = tempfile::tempdir().unwrap();
    let t = demo_target(dir.path());
    let e = one_line_error(&run(&["scan", "--rule", "github-pta", &t]));
    assert!(
        e.contains("\"github-pta\"") && e.contains("github-pat"),
        "{e}"
    );
    let e = one_line_error(&run(&["scan", "--exclude-rule", "aws-acess-key-id", &t]));
    assert!(e.contains("aws-access-key-id"), "{e}");
    let e = one_line_error(&run(&["scan", "--no-builtin-rules", &t]));
    assert!(e.contains("no rules"), "{e}");
    let ignore = dir.path().join("ignore.toml");
    std::fs::write(
        &ignore,
        "[[ignore]]\nrule = \"private-key-rsa\"\nreason = \"a\"\n\n[[ignore]]\nrule = \"npm-acces-token\"\nreason = \"b\"\n",
    )
    .unwrap();
    let e = one_line_error(&run(&[
        "scan",
        "--ignore-file",
        ignore.to_str().unwrap(),
        &t,
    ]));
    assert!(
        e.contains("entry 2") && e.contains("npm-access-token"),
        "{e}"
    );
}

#[test]
fn every_rule_id_the_docs_name_exists() {
    let out = run(&["rules", "list", "--format", "json"]);
    let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let root = env!("CARGO_MANIFEST_DIR");
    let mut named = Vec::new();
    for file in [
        "README.md",
        "docs/architecture.md",
        "docs/scaling.md",
        "docs/rules.md",
    ] {
        let Ok(text) = std::fs::read_to_string(format!("{root}/{file}")) else {
            continue;
        };
        for (key, end) in [
            ("rule = \"", '"'),
            ("\"rule_id\": \"", '"'),
            ("--rule ", ' '),
            ("--exclude-rule ", ' '),
        ] {
            for (i, _) in text.match_indices(key) {
                let id: String = text[i + key.len()..]
                    .chars()
                    .take_while(|&c| c != end && !c.is_whitespace() && c != '`')
                    .collect();
                if id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !id.is_empty()
                    && id != "id"
                {
                    named.push((file, id));
                }
            }
        }
    }
    assert!(named.len() >= 3, "{named:?}");
    for (file, id) in named {
        assert!(
            ids.contains(&id),
            "{file} names rule {id:?}, which does not exist"
        );
    }
}

#[test]
fn habits_from_other_scanners() {
    let dir = tempfile::tempdir().unwrap();
    let t = demo_target(dir.path());
    let e = one_line_error(&run(&["scan", "--severity", "HIGH", &t]));
    assert!(e.contains("--min-confidence"), "{e}");
    let e = one_line_error(&run(&["scan", "--only-verified", &t]));
    assert!(e.contains("--min-confidence"), "{e}");
    let e = one_line_error(&run(&["scan", "--config", "gitleaks.toml", &t]));
    assert!(e.contains("--rules"), "{e}");
    let e = one_line_error(&run(&["rules", "list", "-f", "sarif"]));
    assert!(e.contains("json"), "{e}");
    // Those that fit: --exit-code, --json, --no-progress, --redact.
    let out = run(&["scan", "--exit-code", "7", "--no-progress", "--redact", &t]);
    assert_eq!(out.status.code(), Some(7));
    assert_output_no_leak("--redact", &out, &reference_secrets());
    let out = run(&["scan", "--exit-code", "0", "--json", "-q", &t]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["findings"], 5);
    assert_eq!(
        run(&["scan", "--exit-code", "2", &t]).status.code(),
        Some(2)
    );
}

#[test]
fn the_most_specific_rule_names_the_secret() {
    // (file content, the rule that must name the secret)
    let pairs = [
        (
            "[registry]\ntoken = \"dckr_pat_kXo6ZR8kEW7jLKIqrLrojS5ph2n\"\n".to_string(),
            "docker-hub-access-token",
        ),
        (
            format!("[registry]\ntoken = \"{GITHUB_PAT}\"\n"),
            RULE_GITHUB_PAT,
        ),
        (
            format!("git clone https://builder:{GITHUB_PAT}@github.example.test/corp/app\n"),
            RULE_GITHUB_PAT,
        ),
    ];
    let entries: Vec<crate::fixture::Entry> = pairs
        .iter()
        .enumerate()
        .map(|(i, (text, _))| crate::fixture::Entry::file(&format!("app/conf{i}.toml"), text))
        .collect();
    let img = crate::fixture::Image::new("corp/pairs:1")
        .step("COPY . /", crate::fixture::Layer::new(entries));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pairs.tar");
    fixture::write(Form::OciArchive, &[img], &p).unwrap();
    let (code, r, stderr) = scan_json(&target(Form::OciArchive, &p), &[]);
    assert_eq!(code, 1, "{stderr}");
    let all = places(&r);
    for (i, (_, rule)) in pairs.iter().enumerate() {
        let path = format!("app/conf{i}.toml");
        let rules: Vec<&str> = all
            .iter()
            .filter(|f| f["location"]["path"] == path.as_str())
            .map(|f| f["rule_id"].as_str().unwrap())
            .collect();
        assert_eq!(rules, [*rule], "{path}: {all:#?}");
    }
}

#[test]
fn errors_are_in_our_words() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("demo.tar");
    fixture::write(Form::DockerClassic, &[reference_image()], &p).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    let cut = dir.path().join("cut.tar");
    std::fs::write(&cut, &bytes[..3000]).unwrap();
    let e = one_line_error(&run(&["scan", cut.to_str().unwrap()]));
    assert!(
        !e.contains("failed to read entire block") && e.contains("cut short"),
        "{e}"
    );
    let out = command(&["scan", "docker-daemon:corp/app:1"])
        .env("DOCKER_HOST", "tcp://127.0.0.1:1")
        .output()
        .unwrap();
    let e = one_line_error(&out);
    assert!(
        !e.contains("hyper") && e.contains("Connection refused") && e.contains("DOCKER_HOST"),
        "{e}"
    );
}
