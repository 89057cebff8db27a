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

/// The one finding of `rule` whose secret starts like `secret` (redacted output keeps 4 chars).
pub fn find<'a>(report: &'a Value, rule: &str, path_or_field: &str) -> &'a Value {
    let all = report["findings"].as_array().unwrap();
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
    hits[0]
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
