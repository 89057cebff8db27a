//! Every built-in rule's first example, planted in an image as its own file, is found
//! end to end — by that rule, or by a rule at least as confident that reported the
//! same secret (one finding per secret span is kept).

use crate::fixture::{self, Entry, Form, Image, Layer};
use crate::support::*;
use serde_json::Value;
use std::collections::HashMap;

fn conf_rank(c: &str) -> u8 {
    match c {
        "high" => 3,
        "medium" => 2,
        _ => 1,
    }
}

#[test]
fn every_builtin_rule_finds_its_planted_example() {
    let out = run(&["rules", "list", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let rules: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(rules.len() >= 150, "{}", rules.len());
    let confidence: HashMap<String, u8> = rules
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                conf_rank(r["confidence"].as_str().unwrap()),
            )
        })
        .collect();
    // A rule restricted to its own files is planted at its example path.
    let planted = |r: &Value| {
        let id = r["id"].as_str().unwrap();
        match r["example_path"].as_str() {
            Some(p) => format!("app/planted/{id}/{p}"),
            None => format!("app/planted/{id}.txt"),
        }
    };
    // A detector rule's example is a file its code builds (a keystore).
    let entries: Vec<Entry> = rules
        .iter()
        .map(|r| match r.get("detector").filter(|d| !d.is_null()) {
            Some(d) => {
                let d: layerhound::rules::Detector = serde_json::from_value(d.clone()).unwrap();
                Entry::file(&planted(r), &d.examples().0[0])
            }
            None => {
                let ex = r["examples"][0].as_str().unwrap();
                Entry::file(&planted(r), format!("{ex}\n"))
            }
        })
        .collect();
    let img =
        Image::new("corp/planted:1").step("COPY planted /app/planted", Layer::new(entries).gzip());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("planted.tar");
    fixture::write(Form::OciArchive, &[img], &p).unwrap();
    let (code, r, stderr) = scan_json(p.to_str().unwrap(), &[]);
    assert_eq!(code, 1, "{stderr}");
    let mut by_path: HashMap<String, Vec<String>> = HashMap::new();
    for f in &places(&r) {
        by_path
            .entry(f["location"]["path"].as_str().unwrap().to_string())
            .or_default()
            .push(f["rule_id"].as_str().unwrap().to_string());
    }
    let mut missed = Vec::new();
    for rule in &rules {
        let id = rule["id"].as_str().unwrap();
        let found = by_path.get(&planted(rule)).cloned().unwrap_or_default();
        let ok =
            found.iter().any(|x| x == id) || found.iter().any(|x| confidence[x] >= confidence[id]);
        if !ok {
            missed.push(format!("{id} (found: {found:?})"));
        }
    }
    assert!(missed.is_empty(), "planted examples not found: {missed:#?}");
}
