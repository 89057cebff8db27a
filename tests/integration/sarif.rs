//! `--format sarif`: SARIF 2.1.0 that validates against the OASIS schema and says what
//! the JSON report says — one result per finding, same fingerprints and statuses.

use crate::fixture::{self, Entry, Form, Image, Layer};
use crate::support::*;
use serde_json::Value;
use std::path::Path;

/// The OASIS schema, applied with draft-07 semantics: it declares draft-04 but uses
/// nothing whose meaning changed since, and draft 7 also checks the `uri-reference`
/// format (newer than draft 4) that artifact URIs must have.
fn validator() -> jsonschema::Validator {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/sarif-schema-2.1.0.json"
    );
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

/// The schema violations of `doc`, one line each.
fn violations(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn assert_valid(v: &jsonschema::Validator, doc: &Value) {
    let errors = violations(v, doc);
    assert!(errors.is_empty(), "invalid SARIF:\n{}", errors.join("\n"));
}

/// Runs a SARIF scan of `target`: (exit code, document, raw text, stderr).
fn scan_sarif(target: &str, extra: &[&str]) -> (i32, Value, String, String) {
    let mut args = vec!["scan", "--format", "sarif", "--quiet", target];
    args.extend_from_slice(extra);
    let out = run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let text = String::from_utf8(out.stdout).unwrap();
    let doc: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr: {stderr}"));
    (out.status.code().expect("exit code"), doc, text, stderr)
}

fn reference_archive(dir: &Path) -> String {
    let p = dir.join("ref.tar");
    fixture::write(Form::OciArchive, &[reference_image()], &p).unwrap();
    target(Form::OciArchive, &p)
}

/// The result for the JSON finding of `rule` at `place`, matched by fingerprint.
fn result_for<'a>(doc: &'a Value, json: &Value, rule: &str, place: &str) -> &'a Value {
    let fp = &find(json, rule, place)["fingerprint"];
    let all = doc["runs"][0]["results"].as_array().unwrap();
    let hits: Vec<&Value> = all
        .iter()
        .filter(|r| &r["partialFingerprints"]["layerhound/v1"] == fp)
        .collect();
    assert_eq!(hits.len(), 1, "one result with fingerprint {fp}: {all:#?}");
    hits[0]
}

fn level_of(status: &str) -> &'static str {
    match status {
        "present" | "metadata" => "error",
        "deleted" | "overwritten" | "opaque" => "warning",
        other => panic!("unknown status {other}"),
    }
}

#[test]
fn reference_image_as_sarif_says_what_json_says() {
    let dir = tempfile::tempdir().unwrap();
    let t = reference_archive(dir.path());
    let (code, doc, text, stderr) = scan_sarif(&t, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_valid(&validator(), &doc);
    let (_, json, _) = scan_json(&t, &[]);
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 5, "{json:#}");

    assert_eq!(doc["version"], "2.1.0");
    assert_eq!(
        doc["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "layerhound");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        driver["informationUri"],
        "https://github.com/layerhound/layerhound"
    );
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    assert!(run["invocations"][0]["toolExecutionNotifications"].is_null());
    assert_eq!(run["properties"]["summary"]["findings"], 5);
    assert!(run["originalUriBaseIds"]["IMAGE"].is_object());

    // Rules: one descriptor per rule with results, each complete.
    let rules = driver["rules"].as_array().unwrap();
    let mut rule_ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut used: Vec<&str> = findings
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    used.sort();
    used.dedup();
    assert_eq!(
        rule_ids, used,
        "descriptors for exactly the rules with results"
    );
    rule_ids.dedup();
    assert_eq!(rule_ids.len(), rules.len(), "one descriptor per rule id");
    for r in rules {
        for field in ["name", "/shortDescription/text", "/fullDescription/text"] {
            let v = if field.starts_with('/') {
                r.pointer(field)
            } else {
                r.get(field)
            };
            assert!(
                v.and_then(Value::as_str).is_some_and(|s| !s.is_empty()),
                "{field} of {r:#}"
            );
        }
        let help = r["help"]["text"].as_str().unwrap();
        assert!(help.contains("rotate"), "{help}");
        assert!(help.contains("does not remove it"), "{help}");
        assert!(
            r["help"]["markdown"]
                .as_str()
                .unwrap()
                .contains("### What to do")
        );
        assert_eq!(r["defaultConfiguration"]["level"], "error");
        let tags = r["properties"]["tags"].as_array().unwrap();
        assert!(tags.contains(&"security".into()) && tags.contains(&"secret".into()));
        assert!(
            ["very-high", "high", "medium", "low"]
                .contains(&r["properties"]["precision"].as_str().unwrap())
        );
        let sev: f64 = r["properties"]["security-severity"]
            .as_str()
            .expect("security-severity is a string")
            .parse()
            .unwrap();
        assert!(sev > 0.0 && sev <= 10.0, "{sev}");
    }
    let pat_rule = rules.iter().find(|r| r["id"] == RULE_GITHUB_PAT).unwrap();
    assert_eq!(pat_rule["name"], "GithubPat");
    assert_eq!(
        pat_rule["shortDescription"]["text"],
        "GitHub personal access token (classic)"
    );
    assert_eq!(pat_rule["properties"]["precision"], "high");
    assert_eq!(pat_rule["properties"]["security-severity"], "8.0");
    assert!(
        pat_rule["helpUri"]
            .as_str()
            .unwrap()
            .starts_with("https://github.blog/")
    );

    // Results: one per finding, in the same order, carrying the same facts.
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), findings.len());
    for (r, f) in results.iter().zip(findings) {
        assert_eq!(r["partialFingerprints"]["layerhound/v1"], f["fingerprint"]);
        let hash = r["partialFingerprints"]["primaryLocationLineHash"]
            .as_str()
            .unwrap();
        assert_eq!(
            hash,
            format!("{}:1", &f["fingerprint"].as_str().unwrap()[7..23])
        );
        assert_eq!(r["ruleId"], f["rule_id"]);
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            rules[idx]["id"], r["ruleId"],
            "ruleIndex points at its rule"
        );
        let status = f["status"].as_str().unwrap();
        assert_eq!(r["properties"]["status"], status);
        assert_eq!(r["level"], level_of(status), "{status}");
        assert_eq!(r["properties"]["secret"], f["secret"]);
        assert_eq!(r["properties"]["removed_by"], f["removed_by"]);
        assert_eq!(r["properties"]["confidence"], f["confidence"]);
        assert_eq!(r["properties"]["ref"], "corp/app:1.2");
        assert_eq!(r["properties"]["platform"], "linux/amd64");
        let message = r["message"]["text"].as_str().unwrap();
        assert!(
            message.starts_with(f["rule_name"].as_str().unwrap()) && message.ends_with('.'),
            "{message}"
        );
        let phys = &r["locations"][0]["physicalLocation"];
        assert_eq!(phys["artifactLocation"]["uriBaseId"], "IMAGE");
        let loc = &f["location"];
        let uri = phys["artifactLocation"]["uri"].as_str().unwrap();
        match loc["layer_index"].as_u64() {
            Some(i) => {
                assert_eq!(uri, format!("layer/{i}/{}", loc["path"].as_str().unwrap()));
                assert_eq!(r["properties"]["layer_index"], i);
                assert_eq!(r["properties"]["diff_id"], loc["diff_id"]);
                assert_eq!(r["properties"]["layer_digest"], loc["layer_digest"]);
                assert_eq!(r["properties"]["created_by"], loc["created_by"]);
            }
            None => {
                assert_eq!(status, "metadata");
                assert_eq!(loc["field"], "Env[1]");
                assert_eq!(uri, "config/Env%5B1%5D");
            }
        }
        assert_eq!(phys["region"]["startLine"], loc["line"]);
        assert_eq!(phys["region"]["startColumn"], loc["column"]);
    }

    // Statuses in the message, as a reader of the alert sees them.
    let aws = result_for(&doc, &json, RULE_AWS_KEY_ID, "app/.env");
    assert_eq!(
        aws["message"]["text"],
        "AWS access key ID, deleted in layer 2 by `RUN rm /app/.env && install -D key.pem /opt/cfg/key.pem`, but still readable from layer 0."
    );
    let region = &aws["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (&region["startLine"], &region["startColumn"]),
        (&2.into(), &19.into())
    );
    assert!(
        region.get("endColumn").is_none(),
        "the region does not give away the secret's length"
    );
    let pat = result_for(&doc, &json, RULE_GITHUB_PAT, "srv/token.txt");
    assert_eq!(
        pat["message"]["text"],
        "GitHub personal access token (classic), still present in the final filesystem."
    );
    assert_eq!(
        pat["properties"]["links"],
        serde_json::json!(["srv/token.link"])
    );
    let key = result_for(&doc, &json, RULE_PEM, "opt/cfg/key.pem");
    assert!(
        key["message"]["text"]
            .as_str()
            .unwrap()
            .contains("hidden by an opaque directory in layer 3"),
        "{:#}",
        key["message"]
    );
    let app = result_for(&doc, &json, RULE_GITHUB_APP, "Env[1]");
    assert_eq!(app["properties"]["field"], "Env[1]");
    assert!(app["properties"]["layer_index"].is_null());

    // Redacted by default: no secret appears anywhere in the file.
    for secret in [
        AWS_KEY_ID,
        GITHUB_PAT,
        GITHUB_APP,
        NPM_TOKEN,
        &pem_key()[32..96],
    ] {
        assert!(!text.contains(secret), "secret {} leaked", &secret[..4]);
    }
    assert_no_leak("sarif", text.as_bytes(), &reference_secrets());
    assert_no_leak("sarif: stderr", stderr.as_bytes(), &reference_secrets());
    assert_report_no_leak("json", &json, "", &reference_secrets());
    // Deterministic: the same scan gives the same bytes.
    let (_, _, again, _) = scan_sarif(&t, &[]);
    assert_eq!(text, again);
}

#[test]
fn reveal_puts_the_secret_in_properties_only() {
    let dir = tempfile::tempdir().unwrap();
    let t = reference_archive(dir.path());
    let (code, doc, _, stderr) = scan_sarif(&t, &["--reveal"]);
    assert_eq!(code, 1, "{stderr}");
    assert_valid(&validator(), &doc);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let pat = results
        .iter()
        .find(|r| r["ruleId"] == RULE_GITHUB_PAT)
        .unwrap();
    assert_eq!(pat["properties"]["secret"], GITHUB_PAT);
    for r in results {
        let m = r["message"]["text"].as_str().unwrap();
        assert!(
            !m.contains(&GITHUB_PAT[4..]) && !m.contains(&AWS_KEY_ID[4..]),
            "{m}"
        );
    }
}

#[test]
fn the_validator_rejects_what_is_not_sarif() {
    let dir = tempfile::tempdir().unwrap();
    let (_, doc, _, _) = scan_sarif(&reference_archive(dir.path()), &[]);
    assert_report_no_leak("sarif", &doc, "", &reference_secrets());
    let v = validator();
    assert_valid(&v, &doc);
    let mut no_version = doc.clone();
    no_version.as_object_mut().unwrap().remove("version");
    assert!(
        !violations(&v, &no_version).is_empty(),
        "missing version accepted"
    );
    let mut bad_level = doc.clone();
    bad_level["runs"][0]["results"][0]["level"] = "critical".into();
    assert!(
        !violations(&v, &bad_level).is_empty(),
        "level critical accepted"
    );
    let mut raw_uri = doc.clone();
    raw_uri["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        "layer/0/my app/Env[1]".into();
    assert!(
        !violations(&v, &raw_uri).is_empty(),
        "unencoded URI accepted"
    );
    let mut line_zero = doc;
    line_zero["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        0.into();
    assert!(
        !violations(&v, &line_zero).is_empty(),
        "startLine 0 accepted"
    );
}

#[test]
fn clean_image_gives_an_empty_valid_run() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("clean.tar");
    let img = Image::new("corp/clean:1").step(
        "COPY app /app",
        Layer::new(vec![Entry::file("app/main.py", "print('hello')\n")]),
    );
    fixture::write(Form::DockerClassic, &[img], &p).unwrap();
    let (code, doc, _, stderr) = scan_sarif(p.to_str().unwrap(), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_valid(&validator(), &doc);
    let run = &doc["runs"][0];
    assert_eq!(run["results"], serde_json::json!([]));
    assert_eq!(run["tool"]["driver"]["rules"], serde_json::json!([]));
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn nested_and_unusual_paths_become_encoded_uris() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("odd.tar");
    let bundle = crate::nested::zip_of(&[(
        "conf/my app.env",
        format!("TOKEN={GITHUB_PAT}\n").as_bytes(),
    )]);
    let img = Image::new("corp/odd:1").step(
        "COPY . /",
        Layer::new(vec![
            Entry::file("app/bundle.zip", bundle),
            Entry::file("srv/a b#c[1].txt", format!("k={NPM_TOKEN}\n")),
        ]),
    );
    fixture::write(Form::OciArchive, &[img], &p).unwrap();
    let (code, doc, _, stderr) = scan_sarif(p.to_str().unwrap(), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_valid(&validator(), &doc);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let uri_of = |rule: &str| {
        let r = results.iter().find(|r| r["ruleId"] == rule).unwrap();
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        uri_of(RULE_GITHUB_PAT),
        "layer/0/app/bundle.zip/conf/my%20app.env"
    );
    assert_eq!(uri_of(RULE_NPM), "layer/0/srv/a%20b%23c%5B1%5D.txt");
    let pat = results
        .iter()
        .find(|r| r["ruleId"] == RULE_GITHUB_PAT)
        .unwrap();
    assert_eq!(
        pat["properties"]["nested"],
        serde_json::json!(["app/bundle.zip", "conf/my app.env"])
    );
    assert_report_no_leak("sarif", &doc, &stderr, &[GITHUB_PAT, NPM_TOKEN]);
}

#[test]
fn scan_errors_are_notifications_of_an_unsuccessful_run() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("oci");
    let built = fixture::write(Form::OciDir, &[reference_image()], &p).unwrap();
    let digest = built[0].layers[1].digest.trim_start_matches("sha256:");
    std::fs::remove_file(p.join("blobs/sha256").join(digest)).unwrap();
    let (code, doc, _, _) = scan_sarif(&format!("oci:{}", p.display()), &[]);
    assert_eq!(code, 2);
    assert_valid(&validator(), &doc);
    let inv = &doc["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    let notes = inv["toolExecutionNotifications"].as_array().unwrap();
    assert!(!notes.is_empty());
    assert!(notes.iter().all(|n| n["level"] == "error"));
    assert!(
        notes
            .iter()
            .any(|n| n["message"]["text"].as_str().unwrap().contains("layer 1")),
        "{notes:#?}"
    );
    // Findings from the other layers are still results.
    assert!(
        doc["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["ruleId"] == RULE_GITHUB_PAT)
    );
    assert_report_no_leak("sarif", &doc, "", &reference_secrets());
}
