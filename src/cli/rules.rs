//! `layerhound rules list|check`, and loading the rules every command scans with: rule
//! ids the options or the ignore file name must exist.

use super::{RuleArgs, fail};
use layerhound::matcher::check;
use layerhound::report::Format;
use layerhound::rules::RuleSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Loads and selects the rules. Every rule id the options name, and each of `named`
/// (where it is named, the id), must name a loaded rule.
pub(crate) fn load_rules(a: &RuleArgs, named: &[(String, String)]) -> Result<RuleSet, String> {
    let mut set = if a.no_builtin_rules {
        RuleSet::default()
    } else {
        RuleSet::builtin().map_err(|e| e.to_string())?
    };
    for p in &a.rules {
        set.overlay(RuleSet::load_path(p).map_err(|e| e.to_string())?);
    }
    set.finish();
    // A rule id that names no rule would scan with fewer rules than asked, silently.
    for (flag, ids) in [("--rule", &a.only), ("--exclude-rule", &a.exclude)] {
        for id in ids.iter() {
            check_rule_id(&set, id).map_err(|e| format!("{flag} {e}"))?;
        }
    }
    for (place, id) in named {
        check_rule_id(&set, id).map_err(|e| format!("{place}: rule {e}"))?;
    }
    set.select(&a.only, &a.exclude, a.min_confidence);
    if set.rules.is_empty() {
        return Err(if a.no_builtin_rules && a.rules.is_empty() {
            "no rules to scan with: --no-builtin-rules needs --rules PATH".to_string()
        } else {
            "no rules to scan with: the rule options leave none".to_string()
        });
    }
    Ok(set)
}

/// Ok when `id` names a loaded rule; else an error with the closest ids.
fn check_rule_id(set: &RuleSet, id: &str) -> Result<(), String> {
    if set.rules.iter().any(|r| r.id == id) {
        return Ok(());
    }
    let mut near: Vec<(usize, &str)> = set
        .rules
        .iter()
        .map(|r| (edit_distance(id, &r.id), r.id.as_str()))
        .collect();
    near.sort();
    let close: Vec<&str> = near
        .iter()
        .filter(|(d, _)| *d <= id.len().max(4) / 2)
        .take(3)
        .map(|(_, r)| *r)
        .collect();
    let hint = if close.is_empty() {
        " (`layerhound rules list` lists them)".to_string()
    } else {
        format!(" (did you mean {}?)", close.join(", "))
    };
    Err(format!("{id:?}: no such rule{hint}"))
}

/// Levenshtein distance, for suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// `rules list`: one line per rule (pretty), or one JSON object per rule and line.
pub(crate) fn list_rules(format: Format, rules: &RuleArgs) -> ExitCode {
    if matches!(format, Format::Sarif | Format::Html) {
        return fail("rules list writes pretty, json or jsonl (one JSON object per rule and line)");
    }
    match load_rules(rules, &[]) {
        Ok(set) => {
            let mut out = std::io::stdout().lock();
            for r in &set.rules {
                let res = if format == Format::Pretty {
                    writeln!(
                        out,
                        "{:<40} {:<6} {:<8} {}",
                        r.id,
                        r.confidence.as_str(),
                        r.kind.as_str(),
                        r.name
                    )
                } else {
                    writeln!(
                        out,
                        "{}",
                        serde_json::json!({"id": r.id, "name": r.name, "confidence": r.confidence, "kind": r.kind, "origin": r.origin, "references": r.references, "examples": r.examples, "example_path": r.example_path, "detector": r.detector})
                    )
                };
                match res {
                    Ok(()) => {}
                    // `rules list | head`: the reader has what it wanted.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                        return ExitCode::SUCCESS;
                    }
                    Err(e) => return fail(&format!("writing to stdout: {e}")),
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

/// `rules check`: every rule compiled by both engines and run on its own examples.
pub(crate) fn check_rules(paths: &[PathBuf]) -> ExitCode {
    let set = if paths.is_empty() {
        RuleSet::builtin()
    } else {
        let mut s = RuleSet::default();
        paths
            .iter()
            .try_for_each(|p| s.extend(RuleSet::load_path(p)?))
            .map(|_| s)
    };
    let set = match set {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    let failures = check::check(&set);
    for f in &failures {
        eprintln!("FAIL {f}");
    }
    let ok = set.rules.len()
        - failures
            .iter()
            .map(|f| &f.rule_id)
            .collect::<std::collections::HashSet<_>>()
            .len();
    println!("{ok} passed, {} failed", set.rules.len() - ok);
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
