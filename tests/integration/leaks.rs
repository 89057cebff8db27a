//! No secret leaks without `--reveal`: an image built the way `docker build --build-arg`
//! builds one puts its secrets in history, labels, Env, Cmd, annotations, file paths,
//! hard-link names, nested member names and the notes about unreadable files, as well as
//! in file contents. Without `--reveal`, no 8 characters of any of them (past its public
//! prefix) may reach stdout, stderr or an output file, in any format, in a baseline, on a
//! cached rescan. With `--reveal`, each format shows each of them in full. One secret
//! value is one finding listing every place it was seen.

use crate::fixture::{self, Entry, Form, Image, Layer};
use crate::nested::{gz, tar_of, zip_of};
use crate::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Runs the binary. The fixture holds a gzip cut short on purpose (its skip example
/// names a secret), so scans and baselines allow an incomplete scan: the warning line
/// is printed (and checked for leaks) without exit 2.
fn run(args: &[&str]) -> Output {
    let mut a = args.to_vec();
    if matches!(a.first(), Some(&"scan") | Some(&"baseline")) {
        a.push("--allow-incomplete");
    }
    crate::support::run(&a)
}

fn scan_json(target: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut extra = extra.to_vec();
    extra.push("--allow-incomplete");
    crate::support::scan_json(target, &extra)
}

/// A second classic PAT (valid CRC32 checksum), in a zip member's name and content.
pub const MEMBER_PAT: &str = "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";
/// An AWS secret access key, next to [`AWS_KEY_ID`] in `/root/.aws/credentials`.
pub const AWS_SECRET_KEY: &str = "luQPm2c2Tg7FFKeTcDLtQYbJpy9Kzf2z5PX3Y8sW";
/// An Entra ID client secret, in `Env`.
pub const AZURE_SECRET: &str = "O337Q~3Puqz4MRZz3W5VHc_eprSwUkqa..NdOmBm";
/// A Slack bot token, in `Cmd`, the `CMD` history entry and a file name.
pub const SLACK_BOT: &str = "xoxb-385814208512-5764083821459-Z8wahIoxfKAhQVzPH9fLnk7L";
/// A Stripe live key, in a manifest annotation and a zip member.
pub const STRIPE_KEY: &str = "sk_live_n38faIsUxQQIgtmu4XYqeTVF";
/// A GitLab PAT, in a tar.gz member and a hard link's name.
pub const GITLAB_PAT: &str = "glpat-LSfJak0g7b2bE1yYbJc3";

const FORMATS: [&str; 5] = ["pretty", "json", "jsonl", "sarif", "html"];

/// The history entries (by index) that carry the build args `GH_TOKEN` and `NPM_TOKEN`.
const BUILD_ARG_STEPS: [usize; 3] = [3, 5, 6];
/// The history entry of the `LABEL` step, which carries [`GITHUB_PAT`] too.
const LABEL_STEP: usize = 10;
/// The layer that holds `/root/.npmrc`, and the one that deletes it.
const NPMRC_LAYER: usize = 1;
const NPMRC_REMOVED_BY: usize = 3;

/// Every secret planted in [`leaky_image`].
pub fn planted() -> Vec<String> {
    [
        GITHUB_PAT,
        NPM_TOKEN,
        AWS_KEY_ID,
        AWS_SECRET_KEY,
        GITHUB_APP,
        AZURE_SECRET,
        SLACK_BOT,
        STRIPE_KEY,
        MEMBER_PAT,
        GITLAB_PAT,
    ]
    .into_iter()
    .map(str::to_string)
    .chain([pem_key()])
    .collect()
}

/// `docker build --build-arg GH_TOKEN=… --build-arg NPM_TOKEN=…` of a Dockerfile that
/// writes an `.npmrc` and AWS credentials and removes them later, then copies nested
/// archives and keys, and sets ENV, LABEL and CMD with secrets in them.
pub fn leaky_image() -> Image {
    let args = format!("|2 GH_TOKEN={GITHUB_PAT} NPM_TOKEN={NPM_TOKEN} /bin/sh -c");
    let source = format!("https://x-access-token:{GITHUB_PAT}@github.example.test/corp/app");
    let bundle = zip_of(&[
        ("README.txt", b"bundle of the deploy configuration\n"),
        (
            &format!("config-{MEMBER_PAT}.txt"),
            format!("GH_TOKEN={MEMBER_PAT}\nSTRIPE_KEY={STRIPE_KEY}\n").as_bytes(),
        ),
    ]);
    let backup = gz(&tar_of(&[(
        "home/app/.git-credentials",
        format!("https://deploy:{GITLAB_PAT}@gitlab.example.test\n").as_bytes(),
    )]));
    // A gzip cut short: read as far as it goes, and noted with its path.
    let mut truncated = gz("INFO start\n".repeat(200).as_bytes());
    truncated.truncate(truncated.len() - 12);
    let key_path = format!("opt/keys/{GITHUB_APP}.pem");
    Image::new("corp/leaky:1")
        .env("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .env(&format!("AZURE_CLIENT_SECRET={AZURE_SECRET}"))
        .env(&format!("GITHUB_TOKEN={GITHUB_APP}"))
        .label("org.opencontainers.image.source", &source)
        .cmd(&["/app/run", &format!("--slack-token={SLACK_BOT}")])
        .annotation(
            "org.opencontainers.image.description",
            &format!("deploy with STRIPE_KEY={STRIPE_KEY}"),
        )
        // history[0], layer 0
        .step(
            "ADD rootfs.tar.gz / # buildkit",
            Layer::new(vec![
                Entry::dir("etc/"),
                Entry::file("etc/os-release", "ID=debian\nVERSION_ID=12\n"),
            ])
            .gzip(),
        )
        // history[1], history[2]
        .empty_step("ARG GH_TOKEN")
        .empty_step("ARG NPM_TOKEN")
        // history[3], layer 1
        .step(
            &format!(
                "RUN {args} echo \"//npm.example.test/:_authToken=${{NPM_TOKEN}}\" > /root/.npmrc # buildkit"
            ),
            Layer::new(vec![
                Entry::dir("root/"),
                Entry::file(
                    "root/.npmrc",
                    format!("//npm.example.test/:_authToken={NPM_TOKEN}\n"),
                ),
            ])
            .gzip(),
        )
        // history[4], layer 2
        .step(
            "COPY aws-credentials /root/.aws/credentials # buildkit",
            Layer::new(vec![
                Entry::dir("root/.aws/"),
                Entry::file(
                    "root/.aws/credentials",
                    format!(
                        "[default]\naws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET_KEY}\n"
                    ),
                ),
            ]),
        )
        // history[5], layer 3: the removal, which removes nothing from the image
        .step(
            &format!(
                "RUN {args} npm ci && git clone https://x-access-token:${{GH_TOKEN}}@github.example.test/corp/lib /srv/lib && rm /root/.npmrc /root/.aws/credentials # buildkit"
            ),
            Layer::new(vec![
                Entry::whiteout("root/.npmrc"),
                Entry::whiteout("root/.aws/credentials"),
                Entry::dir("srv/lib/"),
                Entry::file("srv/lib/README.md", "# lib\n"),
            ])
            .gzip(),
        )
        // history[6], layer 4
        .step(
            &format!("RUN {args} npm run build # buildkit"),
            Layer::new(vec![
                Entry::dir("app/dist/"),
                Entry::file("app/dist/main.js", "console.log('hello');\n"),
            ]),
        )
        // history[7], layer 5: nested archives, a key whose path holds a token, a hard
        // link whose name holds another, a truncated gzip named after a third
        .step(
            "COPY bundle.zip backup.tgz keys/ logs/ / # buildkit",
            Layer::new(vec![
                Entry::dir("srv/"),
                Entry::file("srv/bundle.zip", bundle),
                Entry::file("srv/backup.tgz", backup),
                Entry::dir("opt/keys/"),
                Entry::file(&key_path, pem_key()),
                Entry::hardlink(&format!("opt/keys/current-{GITLAB_PAT}.pem"), &key_path),
                Entry::dir("var/cache/"),
                Entry::file(&format!("var/cache/slack-{SLACK_BOT}.log.gz"), truncated),
            ])
            .gzip(),
        )
        // history[8..=11]
        .empty_step(&format!("ENV AZURE_CLIENT_SECRET={AZURE_SECRET}"))
        .empty_step(&format!("ENV GITHUB_TOKEN={GITHUB_APP}"))
        .empty_step(&format!("LABEL org.opencontainers.image.source={source}"))
        .empty_step(&format!(
            "CMD [\"/app/run\" \"--slack-token={SLACK_BOT}\"]"
        ))
}

/// The leaky image written as an OCI archive in a temporary directory.
struct Fixture {
    dir: tempfile::TempDir,
    target: String,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leaky.tar");
        fixture::write(Form::OciArchive, &[leaky_image()], &path).unwrap();
        let target = target(Form::OciArchive, &path);
        Fixture { dir, target }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

/// Reads a file the binary wrote, asserting it is there.
fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Scans in `format` to stdout and to a file, without `--reveal` and without `--quiet`
/// (so the notes reach stderr): nothing leaks anywhere, and the exit code is 1.
fn assert_format_leaks_nothing(format: &str) {
    let fx = Fixture::new();
    let secrets = planted();

    let out = run(&["scan", "--format", format, &fx.target]);
    assert_output_no_leak(&format!("scan --format {format}"), &out, &secrets);
    assert_eq!(code(&out), Some(1), "scan --format {format}: exit code");
    assert!(!out.stdout.is_empty(), "scan --format {format}: no report");

    let file = fx.path(&format!("report.{format}"));
    let out = run(&[
        "scan",
        "--format",
        format,
        "-o",
        file.to_str().unwrap(),
        &fx.target,
    ]);
    let what = format!("scan --format {format} -o FILE");
    assert_output_no_leak(&what, &out, &secrets);
    let written = read(&file);
    assert_no_leak(&format!("{what}: the file"), &written, &secrets);
    assert_eq!(code(&out), Some(1), "{what}: exit code");
    assert!(!written.is_empty(), "{what}: empty report");
}

#[test]
fn leaks_nothing_pretty() {
    assert_format_leaks_nothing("pretty");
}

#[test]
fn leaks_nothing_json() {
    assert_format_leaks_nothing("json");
}

#[test]
fn leaks_nothing_jsonl() {
    assert_format_leaks_nothing("jsonl");
}

#[test]
fn leaks_nothing_sarif() {
    assert_format_leaks_nothing("sarif");
}

#[test]
fn leaks_nothing_html() {
    assert_format_leaks_nothing("html");
}

#[test]
fn every_planted_secret_is_found() {
    let fx = Fixture::new();
    let (code, r, stderr) = scan_json(&fx.target, &["--reveal"]);
    assert_eq!(code, 1, "{stderr}");
    let findings = r["findings"].as_array().unwrap();
    let found = |secret: &str| {
        findings
            .iter()
            .any(|f| f["secret"].as_str().map(str::trim) == Some(secret.trim()))
    };
    let missing: Vec<String> = planted()
        .iter()
        .filter(|s| !found(s))
        .map(|s| s.chars().take(12).collect())
        .collect();
    assert!(
        missing.is_empty(),
        "not found: {missing:?}; found: {:?}",
        findings
            .iter()
            .map(|f| (&f["rule_id"], &f["secret"]))
            .collect::<Vec<_>>()
    );
    // The places that carry secrets in their names are reached, so the leak tests test them.
    assert!(
        r["summary"]["skipped"].is_object()
            && r["summary"]["skipped"]
                .to_string()
                .contains("var/cache/slack-"),
        "the truncated gzip is noted: {:#}",
        r["summary"]
    );
}

#[test]
fn reveal_shows_every_secret_in_every_format() {
    let fx = Fixture::new();
    let secrets = planted();
    for format in FORMATS {
        let out = run(&[
            "scan", "--quiet", "--reveal", "--format", format, &fx.target,
        ]);
        assert_eq!(
            code(&out),
            Some(1),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_revealed(
            &format!("scan --reveal --format {format}"),
            &out.stdout,
            &secrets,
        );
    }
}

#[test]
fn baseline_create_leaks_nothing() {
    let fx = Fixture::new();
    let secrets = planted();
    let file = fx.path("baseline.json");
    let out = run(&[
        "baseline",
        "create",
        &fx.target,
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_output_no_leak("baseline create -o FILE", &out, &secrets);
    let written = read(&file);
    assert_no_leak("baseline create -o FILE: the file", &written, &secrets);
    assert_eq!(code(&out), Some(0), "baseline create -o FILE: exit code");
    let doc: Value = serde_json::from_slice(&written).unwrap();
    assert!(
        !doc["findings"].as_array().unwrap().is_empty(),
        "the baseline lists the findings"
    );

    let out = run(&["baseline", "create", &fx.target, "-o", "-"]);
    assert_output_no_leak("baseline create -o -", &out, &secrets);
    assert_eq!(code(&out), Some(0), "baseline create -o -: exit code");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!doc["findings"].as_array().unwrap().is_empty());
}

/// How exposed a status is: 0 for a secret a container sees, 1 for one only the layers
/// still hold.
fn exposure(status: &Value) -> u8 {
    match status.as_str().unwrap() {
        "present" | "metadata" => 0,
        "deleted" | "overwritten" | "opaque" => 1,
        other => panic!("unknown status {other}"),
    }
}

/// The one finding whose revealed secret is `secret`, of rule `rule`.
fn by_value<'a>(report: &'a Value, rule: &str, secret: &str) -> &'a Value {
    let hits: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == rule && f["secret"] == secret)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "one {rule} finding for the value, with every place in it; got {}: {:#?}",
        hits.len(),
        hits.iter()
            .map(|f| (&f["status"], &f["location"]))
            .collect::<Vec<_>>()
    );
    hits[0]
}

fn places_of(f: &Value) -> &Vec<Value> {
    f["places"]
        .as_array()
        .unwrap_or_else(|| panic!("no places array: {f:#}"))
}

#[test]
fn one_secret_value_is_one_finding_listing_every_place() {
    let fx = Fixture::new();
    let (code, r, stderr) = scan_json(&fx.target, &["--reveal"]);
    assert_eq!(code, 1, "{stderr}");
    let findings = r["findings"].as_array().unwrap();

    // Every finding: a value fingerprint, its places most exposed first, its top-level
    // status, location and fingerprint those of the first place, its status the most
    // exposed; one finding per rule and value.
    let mut seen = std::collections::BTreeSet::new();
    for f in findings {
        let vf = f["value_fingerprint"].as_str().unwrap_or_default();
        assert!(
            vf.len() == 71
                && vf.starts_with("sha256:")
                && vf[7..]
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "value_fingerprint {vf:?} of {f:#}"
        );
        assert!(
            seen.insert((f["rule_id"].to_string(), vf.to_string())),
            "two findings of {} for one value",
            f["rule_id"]
        );
        let ps = places_of(f);
        assert!(!ps.is_empty(), "{f:#}");
        for p in ps {
            assert!(p["status"].is_string(), "{p:#}");
            assert!(
                p["fingerprint"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("sha256:")),
                "{p:#}"
            );
            assert!(p["location"].is_object(), "{p:#}");
        }
        for w in ps.windows(2) {
            assert!(
                exposure(&w[0]["status"]) <= exposure(&w[1]["status"]),
                "places not ordered most exposed first: {ps:#?}"
            );
        }
        assert_eq!(f["status"], ps[0]["status"], "{f:#}");
        assert_eq!(f["location"], ps[0]["location"], "{f:#}");
        assert_eq!(f["fingerprint"], ps[0]["fingerprint"], "{f:#}");
        assert_eq!(
            exposure(&f["status"]),
            ps.iter().map(|p| exposure(&p["status"])).min().unwrap(),
            "the finding's status is its most exposed place's: {f:#}"
        );
    }

    // The GitHub token of the build args and the label: the label and each history
    // entry that holds it, in one finding.
    let pat = by_value(&r, RULE_GITHUB_PAT, GITHUB_PAT);
    let ps = places_of(pat);
    let mut fields: Vec<&str> = ps
        .iter()
        .map(|p| p["location"]["field"].as_str().unwrap_or("(no field)"))
        .collect();
    fields.sort_unstable();
    let mut want: Vec<String> = BUILD_ARG_STEPS
        .iter()
        .chain([&LABEL_STEP])
        .map(|i| format!("history[{i}].created_by"))
        .chain(["Labels.org.opencontainers.image.source".to_string()])
        .collect();
    want.sort_unstable();
    assert_eq!(fields, want, "{pat:#}");
    assert_eq!(ps.len(), BUILD_ARG_STEPS.len() + 2);
    assert!(
        ["metadata", "present"].contains(&pat["status"].as_str().unwrap()),
        "{pat:#}"
    );
    let fps: std::collections::BTreeSet<&str> = ps
        .iter()
        .map(|p| p["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fps.len(), ps.len(), "one fingerprint per place: {pat:#}");

    // The npm token: in the same history entries, and in the deleted `.npmrc`, last.
    let npm = by_value(&r, RULE_NPM, NPM_TOKEN);
    let ps = places_of(npm);
    assert_eq!(ps.len(), BUILD_ARG_STEPS.len() + 1, "{npm:#}");
    assert_eq!(npm["status"], "metadata", "{npm:#}");
    let file = ps.last().unwrap();
    assert_eq!(file["status"], "deleted", "{npm:#}");
    assert_eq!(file["location"]["path"], "root/.npmrc");
    assert_eq!(file["location"]["layer_index"], NPMRC_LAYER);
    assert_eq!(file["removed_by"]["layer_index"], NPMRC_REMOVED_BY);

    // The AWS key pair: deleted, each one finding.
    for (rule, secret) in [
        (RULE_AWS_KEY_ID, AWS_KEY_ID),
        ("aws-secret-access-key", AWS_SECRET_KEY),
    ] {
        let f = by_value(&r, rule, secret);
        assert_eq!(f["status"], "deleted", "{f:#}");
        assert_eq!(f["location"]["path"], "root/.aws/credentials");
    }

    // Without --reveal: the same findings, told apart by their value fingerprints.
    let (_, redacted, _) = scan_json(&fx.target, &[]);
    let values = |report: &Value| {
        let mut v: Vec<(String, String, usize)> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["rule_id"].to_string(),
                    f["value_fingerprint"].to_string(),
                    f["places"].as_array().map_or(0, Vec::len),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        values(&redacted),
        values(&r),
        "--reveal changes only the text"
    );
}

#[test]
fn a_cached_rescan_leaks_nothing() {
    let fx = Fixture::new();
    let secrets = planted();
    let cache = fx.path("cache");
    let c = cache.to_str().unwrap();
    let first = run(&["scan", "--format", "json", "--cache", c, &fx.target]);
    assert_output_no_leak("first scan", &first, &secrets);
    assert_eq!(code(&first), Some(1));
    for format in FORMATS {
        let out = run(&["scan", "--format", format, "--cache", c, &fx.target]);
        assert_output_no_leak(
            &format!("scan --format {format}, from the cache"),
            &out,
            &secrets,
        );
        assert_eq!(code(&out), Some(1), "{format}");
    }
    // The rescan did come from the cache.
    let (_, r, _) = scan_json(&fx.target, &["--cache", c]);
    assert_eq!(
        r["summary"]["layers_from_cache"], r["summary"]["layers"],
        "{:#}",
        r["summary"]
    );
    // The suite's shared cache: the same scan twice, the second a cache hit.
    for run_no in ["first", "second"] {
        let out = run(&["scan", "--format", "json", &fx.target]);
        assert_output_no_leak(
            &format!("{run_no} scan with the shared cache"),
            &out,
            &secrets,
        );
        assert_eq!(code(&out), Some(1));
    }
}

#[test]
fn a_baseline_of_the_scan_hides_its_findings() {
    let fx = Fixture::new();
    let secrets = planted();
    let file = fx.path("baseline.json");
    let bl = file.to_str().unwrap();
    let out = run(&["baseline", "create", "--quiet", &fx.target, "-o", bl]);
    assert_eq!(
        code(&out),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, all, _) = scan_json(&fx.target, &[]);
    let n = all["findings"].as_array().unwrap().len();
    assert!(n > 0);

    let out = run(&["scan", "--format", "json", "--baseline", bl, &fx.target]);
    assert_output_no_leak("scan --baseline", &out, &secrets);
    assert_eq!(code(&out), Some(0), "every finding is in the baseline");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["findings"], serde_json::json!([]));
    assert_eq!(r["summary"]["findings"], 0);
    assert_eq!(r["summary"]["suppressed"]["baseline"], n);
    let out = run(&["scan", "--baseline", bl, &fx.target]);
    assert_output_no_leak("scan --baseline (pretty)", &out, &secrets);
    assert_eq!(code(&out), Some(0));
}

#[test]
fn the_leak_check_catches_a_piece_and_names_only_it() {
    let secrets = [GITHUB_PAT.to_string(), pem_key()];
    // Prefixes and PEM armour are public.
    assert_no_leak(
        "public parts",
        "ghp_… -----BEGIN RSA PRIVATE KEY----- ghp_u8jzPde -----END RSA PRIVATE KEY-----"
            .as_bytes(),
        &secrets,
    );
    let leak = format!("path/x{}y", &GITHUB_PAT[20..28]);
    let msg = std::panic::catch_unwind(|| assert_no_leak("a report", leak.as_bytes(), &secrets))
        .expect_err("a leak is caught")
        .downcast::<String>()
        .unwrap();
    assert!(
        msg.contains("a report") && msg.contains(&GITHUB_PAT[20..28]),
        "{msg}"
    );
    assert!(!msg.contains("path/x"), "the output is not dumped: {msg}");
    let body = pem_key().lines().nth(3).unwrap()[30..40].to_string();
    assert!(
        std::panic::catch_unwind(|| assert_no_leak("pem", body.as_bytes(), &secrets)).is_err(),
        "a piece of a PEM body line is caught"
    );
    assert!(
        std::panic::catch_unwind(|| assert_no_leak(
            "json",
            AWS_SECRET_KEY[..10].replace('/', "\\/").as_bytes(),
            &[AWS_SECRET_KEY]
        ))
        .is_err()
    );
    assert_revealed(
        "full",
        pem_key().replace('\n', "\\n").as_bytes(),
        &[pem_key()],
    );
}
