//! gitleaks configurations as users already have them, passed with `--rules`.

use crate::fixture::{self, Entry, Form, Image, Layer};
use crate::support::*;
use std::fs;

const CONFIG: &str = r#"
title = "corp gitleaks config"

[extend]
useDefault = true
disabledRules = ["npm-access-token", "npmrc-auth-token", "generic-secret-assignment", "generic-password-assignment"]

[allowlist]
description = "global allowlist"
regexTarget = "line"
regexes = ['''(?i)notsecret''']
paths = ['''(^|/)fixtures/''']
commits = ["0123456789abcdef0123456789abcdef01234567"]

[[allowlists]]
description = "the demo .env only for the AWS rule"
targetRules = ["aws-access-key-id"]
paths = ['''^app/\.env$''']

[[rules]]
id = "corp-service-token"
description = "Corp service token"
regex = '''(?i)corp[_-]?token\s*[:=]\s*["']?(cst_[a-z0-9]{24})'''
secretGroup = 1
keywords = ["cst_"]
entropy = 3.0
path = '''\.(conf|env)$'''
tags = ["corp", "token"]
[[rules.allowlists]]
description = "test tokens"
stopwords = ["cst_test"]
commits = ["deadbeef"]

[[rules]]
id = "corp-legacy"
description = "Rule written with syntax Hyperscan does not take"
regex = '''(?-u:legacy)_key=([a-z0-9]{12})'''
secretGroup = 1

[[rules]]
id = "github-pat"
[[rules.allowlists]]
regexTarget = "line"
regexes = ['''allowed-by-extension''']

[[rules]]
id = "corp-keystores"
description = "Java keystores"
path = '''\.jks$'''
"#;

fn image() -> Image {
    Image::new("corp/gl:1").step(
        "COPY . /",
        Layer::new(vec![
            Entry::file("app/.env", format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n")),
            Entry::file("other/.env", format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n")),
            Entry::file(
                "fixtures/a.env",
                format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n"),
            ),
            Entry::file(
                "etc/note.txt",
                format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID} # notsecret\n"),
            ),
            Entry::file("srv/token.txt", format!("token: {GITHUB_PAT}\n")),
            Entry::file(
                "srv/ok.txt",
                format!("token: {GITHUB_PAT} # allowed-by-extension\n"),
            ),
            Entry::file(
                "etc/corp.conf",
                "CORP_TOKEN=cst_k3j9x0q2m8z7w1v5b4n6c2d9\ncorp_token: cst_test9x0q2m8z7w1v5b4n6c\n",
            ),
            Entry::file("etc/corp.txt", "CORP_TOKEN=cst_k3j9x0q2m8z7w1v5b4n6c2d9\n"),
            Entry::file("etc/legacy.ini", "legacy_key=q8z3k0v7m2x9\n"),
            Entry::file(
                "root/.npmrc",
                format!("//npm.example.test/:_authToken={NPM_TOKEN}\n"),
            ),
            Entry::file("app/keystore.jks", "binary"),
        ]),
    )
}

#[test]
fn gitleaks_config_with_extend_allowlists_and_custom_rules() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join(".gitleaks.toml");
    fs::write(&cfg, CONFIG).unwrap();
    let img = dir.path().join("gl.tar");
    fixture::write(Form::OciArchive, &[image()], &img).unwrap();
    let out = run(&[
        "scan",
        "--format",
        "json",
        "--rules",
        cfg.to_str().unwrap(),
        img.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let got: Vec<(String, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] != "metadata")
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["location"]["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("corp-service-token", "etc/corp.conf"),
        ("corp-legacy", "etc/legacy.ini"),
        ("aws-access-key-id", "other/.env"),
        ("github-pat", "srv/token.txt"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    let mut want_sorted = want;
    want_sorted.sort();
    assert_eq!(got_sorted, want_sorted, "{stderr}");
    // The path-only rule and the Hyperscan fallback are reported, not silent.
    assert!(
        stderr.contains("corp-keystores") && stderr.contains("path-only"),
        "{stderr}"
    );
    assert!(
        stderr.contains("corp-legacy") && stderr.contains("regex alone"),
        "{stderr}"
    );
    assert!(r["summary"]["notes"].as_array().unwrap().len() >= 2);
}

#[test]
fn gitleaks_extend_path_chains_and_overrides() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("base.toml"),
        "[[rules]]\nid = \"corp-service-token\"\nregex = '''(cst_[a-z0-9]{24})'''\n\n[[rules]]\nid = \"corp-other\"\nregex = '''(oth_[a-z0-9]{16})'''\n",
    )
    .unwrap();
    let child = dir.path().join("child.toml");
    fs::write(
        &child,
        "[extend]\npath = \"base.toml\"\ndisabledRules = [\"corp-other\"]\n\n[[rules]]\nid = \"corp-service-token\"\nregex = '''CORP_TOKEN=(cst_[a-z0-9]{24})'''\n",
    )
    .unwrap();
    let img = dir.path().join("gl.tar");
    fixture::write(Form::OciArchive, &[image()], &img).unwrap();
    let (_, r, _) = scan_json(
        img.to_str().unwrap(),
        &["--no-builtin-rules", "--rules", child.to_str().unwrap()],
    );
    let all = places(&r);
    let paths: Vec<&str> = all
        .iter()
        .map(|f| f["location"]["path"].as_str().unwrap())
        .collect();
    // The child's rule (needs `CORP_TOKEN=`) replaced the base one.
    assert_eq!(paths, ["etc/corp.conf", "etc/corp.txt"]);
    let out = run(&[
        "rules",
        "list",
        "--no-builtin-rules",
        "--rules",
        child.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("corp-service-token") && !text.contains("corp-other"),
        "{text}"
    );
}
