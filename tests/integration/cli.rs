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
    assert_eq!(entries.len(), 1, "{entries:?}");
    let (_, second, _) = scan_json(i, &["--cache", c]);
    assert_eq!(uncached["findings"], first["findings"]);
    assert_eq!(uncached["findings"], second["findings"]);
}
