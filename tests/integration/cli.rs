//! Command-line behaviour: formats, output file, exit codes, rule commands.

use crate::fixture::{self, Form};
use crate::support::*;

#[test]
fn builtin_rules_pass_their_own_examples() {
    let out = run(&["rules", "check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

#[test]
fn rules_list_has_enough_rules() {
    let out = run(&["rules", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().count() >= 40, "{text}");
    for id in [RULE_AWS_KEY_ID, RULE_GITHUB_PAT, RULE_NPM, RULE_PEM] {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().next() == Some(id)),
            "missing {id}"
        );
    }
}

#[test]
fn broken_user_rule_is_an_error_naming_file_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mine.toml");
    std::fs::write(&p, "[[rules]]\nid = \"corp-broken\"\nregex = '''(oops'''\n").unwrap();
    let img = dir.path().join("i.tar");
    fixture::write(Form::OciArchive, &[reference_image()], &img).unwrap();
    let out = run(&[
        "scan",
        "--rules",
        p.to_str().unwrap(),
        img.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("mine.toml") && stderr.contains("corp-broken"),
        "{stderr}"
    );
}

#[test]
fn user_rules_add_to_the_builtin_ones() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("corp.toml");
    std::fs::write(
        &p,
        "[[rules]]\nid = \"corp-os\"\nname = \"Corp OS marker\"\nregex = '''VERSION_ID=(1[0-9])'''\nsecretGroup = 1\nconfidence = \"low\"\n",
    )
    .unwrap();
    let img = dir.path().join("i.tar");
    fixture::write(Form::OciArchive, &[reference_image()], &img).unwrap();
    let (_, r, _) = scan_json(img.to_str().unwrap(), &["--rules", p.to_str().unwrap()]);
    assert_eq!(find(&r, "corp-os", "etc/os-release")["location"]["line"], 2);
    let (_, r, _) = scan_json(
        img.to_str().unwrap(),
        &["--rules", p.to_str().unwrap(), "--rule", "corp-os"],
    );
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["rule_id"] == "corp-os")
    );
}

#[test]
fn jsonl_pretty_and_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("i.tar");
    fixture::write(Form::DockerClassic, &[reference_image()], &img).unwrap();
    let out = run(&["scan", "--format", "jsonl", img.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 6);
    assert!(
        lines.last().unwrap()["summary"]["findings"]
            .as_u64()
            .unwrap() as usize
            == lines.len() - 1
    );

    let report = dir.path().join("r.txt");
    let out = run(&[
        "scan",
        "-o",
        report.to_str().unwrap(),
        img.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let pretty = std::fs::read_to_string(&report).unwrap();
    assert!(pretty.contains("corp/app:1.2 linux/amd64"), "{pretty}");
    assert!(pretty.contains("layer 3 "), "{pretty}");
    assert!(pretty.contains("deleted in layer 2"), "{pretty}");
    assert!(pretty.contains("srv/token.txt:2:8"), "{pretty}");
    assert!(pretty.contains("image metadata"), "{pretty}");
    assert!(!pretty.contains(GITHUB_PAT), "redacted");
    assert!(!pretty.contains('\x1b'), "no colour in a file");
}

#[test]
fn cache_gives_identical_results_and_no_cache_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("i.tar");
    fixture::write(Form::OciArchive, &[reference_image()], &img).unwrap();
    let cache = dir.path().join("cache");
    let i = img.to_str().unwrap();
    let c = cache.to_str().unwrap();
    let (_, uncached, _) = scan_json(i, &["--no-cache"]);
    assert!(!cache.exists());
    let (_, first, _) = scan_json(i, &["--cache", c]);
    let entries: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        entries.len(),
        2,
        "compiled rules and layer results: {entries:?}"
    );
    let (_, second, _) = scan_json(i, &["--cache", c]);
    let layers = uncached["summary"]["layers"].as_u64().unwrap();
    assert!(first["summary"].get("layers_from_cache").is_none());
    assert_eq!(second["summary"]["layers_from_cache"], layers);
    assert_eq!(uncached["findings"], first["findings"]);
    assert_eq!(uncached["findings"], second["findings"]);
    assert_eq!(uncached["images"], second["images"]);
    let mut summary = second["summary"].clone();
    summary.as_object_mut().unwrap().remove("layers_from_cache");
    assert_eq!(uncached["summary"], summary);
    // --reveal needs the secrets, which the cache never holds: layers with findings
    // are read again, layers without come from the cache.
    let (_, revealed, _) = scan_json(i, &["--cache", c, "--reveal"]);
    let (_, revealed_uncached, _) = scan_json(i, &["--no-cache", "--reveal"]);
    assert_eq!(revealed["findings"], revealed_uncached["findings"]);
    let from_cache = revealed["summary"]["layers_from_cache"]
        .as_u64()
        .unwrap_or(0);
    assert!(from_cache < layers, "layers with findings are read again");
    let entry_bytes: Vec<u8> = walk_files(&cache.join("layers"))
        .iter()
        .flat_map(|p| std::fs::read(p).unwrap())
        .collect();
    for secret in [GITHUB_PAT, NPM_TOKEN, AWS_KEY_ID] {
        assert!(
            !entry_bytes
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "no secret value in the cache"
        );
    }
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn cached_results_are_not_given_to_a_blob_that_only_claims_the_digest() {
    use fixture::{Entry, Image, Layer};
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let c = cache.to_str().unwrap();
    let image = |token: &str| {
        Image::new("corp/swap:1").step(
            "COPY . /srv",
            Layer::new(vec![Entry::file(
                "srv/token.txt",
                format!("token={token}\n"),
            )])
            .gzip(),
        )
    };
    let clean = dir.path().join("clean");
    let built = fixture::write(Form::OciDir, &[image("nothing-here")], &clean).unwrap();
    let (code, first, _) = scan_json(&format!("oci:{}", clean.display()), &["--cache", c]);
    assert_eq!((code, first["findings"].as_array().unwrap().len()), (0, 0));
    // Another layer's bytes under the clean layer's digest.
    let other = dir.path().join("other");
    let built_other = fixture::write(Form::OciDir, &[image(GITHUB_PAT)], &other).unwrap();
    let blob = |root: &std::path::Path, digest: &str| {
        root.join("blobs/sha256")
            .join(digest.strip_prefix("sha256:").unwrap())
    };
    std::fs::copy(
        blob(&other, &built_other[0].layers[0].digest),
        blob(&clean, &built[0].layers[0].digest),
    )
    .unwrap();
    let (code, report, stderr) = scan_json(&format!("oci:{}", clean.display()), &["--cache", c]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("blob digest mismatch"), "{stderr}");
    assert!(report["summary"].get("layers_from_cache").is_none());
    let f = find(&report, RULE_GITHUB_PAT, "srv/token.txt");
    assert_eq!(f["status"], "present");
}
