//! Helpers: run the binary, parse its JSON, build the reference image.

pub use crate::images::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// `layerhound ARGS…`, with NO_COLOR set and the tests' own cache directory.
pub fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_layerhound"));
    cmd.args(args).env("NO_COLOR", "1").env(
        "LAYERHOUND_CACHE_DIR",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/layerhound-cache"),
    );
    cmd
}

/// Runs `layerhound ARGS…`.
pub fn run(args: &[&str]) -> Output {
    command(args).output().expect("run layerhound")
}

/// Runs a JSON scan of `target` and returns (exit code, report, stderr).
pub fn scan_json(target: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["scan", "--format", "json", "--quiet", target];
    args.extend_from_slice(extra);
    let out = run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr: {stderr}"));
    (out.status.code().expect("exit code"), v, stderr)
}

/// `transport:path` for a written fixture.
pub fn target(form: crate::fixture::Form, path: &Path) -> String {
    format!("{}:{}", form.transport(), path.display())
}

/// The findings with the fields that must agree across forms (everything but `image`).
pub fn comparable(report: &Value) -> Vec<Value> {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            let mut f = f.clone();
            f.as_object_mut().unwrap().remove("image");
            f
        })
        .collect()
}

/// Every place of every finding, one object each: the finding's fields with the
/// place's `status`, `removed_by`, `fingerprint`, `package` and `location` on top.
pub fn places(report: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for f in report["findings"].as_array().expect("findings array") {
        let ps = f["places"].as_array().expect("places array");
        assert!(!ps.is_empty(), "a finding without places: {f:#}");
        assert_eq!(
            ps[0]["location"], f["location"],
            "places[0] is the finding's own"
        );
        for p in ps {
            let mut one = f.clone();
            let o = one.as_object_mut().unwrap();
            o.remove("places");
            o.remove("removed_by");
            o.remove("package");
            for (k, v) in p.as_object().unwrap() {
                o.insert(k.clone(), v.clone());
            }
            out.push(one);
        }
    }
    out
}

/// The one place of a `rule` finding at `path_or_field`, as [`places`] gives it.
pub fn find(report: &Value, rule: &str, path_or_field: &str) -> Value {
    let all = places(report);
    let hits: Vec<&Value> = all
        .iter()
        .filter(|f| {
            f["rule_id"] == rule
                && (f["location"]["path"] == path_or_field
                    || f["location"]["field"] == path_or_field)
        })
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "expected one {rule} finding at {path_or_field}; all findings: {all:#?}"
    );
    hits[0].clone()
}

pub const RULE_AWS_KEY_ID: &str = "aws-access-key-id";
pub const RULE_GITHUB_PAT: &str = "github-pat";
pub const RULE_GITHUB_APP: &str = "github-app-installation-token";
pub const RULE_NPM: &str = "npm-access-token";
pub const RULE_PEM: &str = "private-key-rsa";

/// The report's summary notes that contain `needle`.
pub fn notes_with<'a>(report: &'a Value, needle: &str) -> Vec<&'a str> {
    report["summary"]["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|n| n.contains(needle))
        .collect()
}

/// Fixed public prefixes of secret formats: a redacted secret may show these, never
/// what follows. Slack's `xox?-` family is handled in [`public_prefix`].
const PUBLIC_PREFIXES: &[&str] = &[
    "github_pat_",
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "ghr_",
    "npm_",
    "AKIA",
    "ASIA",
    "glpat-",
    "xapp-",
    "sk_live_",
    "rk_live_",
    "sk_test_",
];

/// The fixed public prefix `secret` starts with ("" when none).
fn public_prefix(secret: &str) -> &str {
    let b = secret.as_bytes();
    if b.len() > 5 && b.starts_with(b"xox") && b[3].is_ascii_alphabetic() && b[4] == b'-' {
        return &secret[..5];
    }
    PUBLIC_PREFIXES
        .iter()
        .find(|p| secret.starts_with(**p))
        .map_or("", |p| &secret[..p.len()])
}

/// The parts of `secret` that must never be shown: the text after its public prefix,
/// or, for a PEM block, each body line (the `-----BEGIN …-----` / `-----END …-----`
/// lines are public).
fn private_parts(secret: &str) -> Vec<&str> {
    if secret.trim_start().starts_with("-----BEGIN") {
        secret
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("-----"))
            .collect()
    } else {
        vec![&secret[public_prefix(secret).len()..]]
    }
}

/// The forms `piece` may take in an output: as is, JSON-escaped (`/` as `\/` is allowed
/// by JSON) and HTML-escaped.
fn escaped_forms(piece: &str) -> Vec<String> {
    let json = piece.replace('/', "\\/");
    let mut html = String::new();
    for c in piece.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            '/' => html.push_str("&#x2F;"),
            c => html.push(c),
        }
    }
    let mut forms = vec![piece.to_string(), json, html];
    forms.dedup();
    forms
}

fn contains(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Length of the pieces of a secret that must not appear in an output.
pub const LEAK_WINDOW: usize = 8;

/// Asserts that no 8 consecutive characters of any secret (past its public prefix; for a
/// PEM key, of any body line) appear in `output`. On failure names `what` and the piece,
/// and prints nothing else of the output.
pub fn assert_no_leak<S: AsRef<str>>(what: &str, output: &[u8], secrets: &[S]) {
    for (n, secret) in secrets.iter().enumerate() {
        let secret = secret.as_ref();
        for part in private_parts(secret) {
            let chars: Vec<char> = part.chars().collect();
            for w in chars.windows(LEAK_WINDOW) {
                let piece: String = w.iter().collect();
                for form in escaped_forms(&piece) {
                    if let Some(at) = contains(output, form.as_bytes()) {
                        panic!(
                            "{what} leaks secret #{n} (prefix {:?}): the piece {form:?} is at byte {at} of {} bytes",
                            public_prefix(secret),
                            output.len()
                        );
                    }
                }
            }
        }
    }
}

/// [`assert_no_leak`] on a run's stdout and stderr.
pub fn assert_output_no_leak<S: AsRef<str>>(what: &str, out: &Output, secrets: &[S]) {
    assert_no_leak(&format!("{what}: stdout"), &out.stdout, secrets);
    assert_no_leak(&format!("{what}: stderr"), &out.stderr, secrets);
}

/// [`assert_no_leak`] on a parsed JSON report (serialised again) and its stderr.
pub fn assert_report_no_leak<S: AsRef<str>>(
    what: &str,
    report: &Value,
    stderr: &str,
    secrets: &[S],
) {
    assert_no_leak(
        &format!("{what}: report"),
        report.to_string().as_bytes(),
        secrets,
    );
    assert_no_leak(&format!("{what}: stderr"), stderr.as_bytes(), secrets);
}

/// Asserts that each secret appears in full in `output`. A PEM key (or any secret of
/// several lines) is in full when each of its lines is, since formats write line ends
/// their own way (JSON as `\n`).
pub fn assert_revealed<S: AsRef<str>>(what: &str, output: &[u8], secrets: &[S]) {
    for (n, secret) in secrets.iter().enumerate() {
        let secret = secret.as_ref();
        for line in secret.lines().map(str::trim).filter(|l| !l.is_empty()) {
            assert!(
                escaped_forms(line)
                    .iter()
                    .any(|f| contains(output, f.as_bytes()).is_some()),
                "{what} does not show secret #{n} (prefix {:?}) in full: {line:?} is missing",
                public_prefix(secret)
            );
        }
    }
}

/// The secrets planted in [`reference_image`].
pub fn reference_secrets() -> Vec<String> {
    vec![
        AWS_KEY_ID.to_string(),
        GITHUB_PAT.to_string(),
        GITHUB_APP.to_string(),
        NPM_TOKEN.to_string(),
        pem_key(),
    ]
}
