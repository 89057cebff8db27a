//! `rules check`: compiles every rule with Hyperscan and `regex` and runs its examples
//! (must be found) and negative examples (must not be) through the real engine.

use super::Matcher;
use crate::rules::{Rule, RuleSet};

/// One failed check, naming the rule and its file.
#[derive(Debug)]
pub struct CheckFailure {
    pub rule_id: String,
    pub origin: String,
    pub message: String,
}

impl std::fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.rule_id, self.origin, self.message)
    }
}

/// Checks every rule of `set` on its own, with the set's global allowlists.
pub fn check(set: &RuleSet) -> Vec<CheckFailure> {
    let mut failures = Vec::new();
    for rule in &set.rules {
        check_rule(rule, set, &mut failures);
    }
    failures
}

fn check_rule(rule: &Rule, set: &RuleSet, failures: &mut Vec<CheckFailure>) {
    let fail = |message: String| CheckFailure {
        rule_id: rule.id.clone(),
        origin: rule.origin.clone(),
        message,
    };
    let single = RuleSet {
        rules: vec![rule.clone()],
        global_allowlists: set.global_allowlists.clone(),
        ..RuleSet::default()
    };
    let m = match Matcher::new(single) {
        Ok(m) => m,
        Err(e) => return failures.push(fail(format!("does not compile: {e}"))),
    };
    for note in &m.notes {
        failures.push(fail(format!("Hyperscan: {note}")));
    }
    // A rule with a path is checked at its example path.
    let at = rule.example_path.as_deref().map(str::as_bytes);
    // A detector's examples are files its code builds (a keystore is binary).
    if let Some(d) = rule.detector {
        let (found, not_found) = d.examples();
        for (i, ex) in found.iter().enumerate() {
            if !m.scan_bytes(ex, at).is_ok_and(|v| !v.is_empty()) {
                failures.push(fail(format!("built example {i} is not found")));
            }
        }
        for (i, ex) in not_found.iter().enumerate() {
            if !m.scan_bytes(ex, at).is_ok_and(|v| v.is_empty()) {
                failures.push(fail(format!("built negative example {i} is found")));
            }
        }
        return;
    }
    if rule.examples.is_empty() {
        failures.push(fail("has no examples".into()));
    }
    if rule.negative_examples.is_empty() {
        failures.push(fail("has no negative_examples".into()));
    }
    for (i, ex) in rule.examples.iter().enumerate() {
        match m.scan_bytes(ex.as_bytes(), at) {
            Ok(v) if !v.is_empty() => {}
            Ok(_) => failures.push(fail(format!("example {i} is not found"))),
            Err(e) => failures.push(fail(format!("example {i}: {e}"))),
        }
        if let Some(off) = missed_at_some_alignment(&m, ex.as_bytes(), at) {
            failures.push(fail(format!(
                "example {i} is not found when it starts {off} bytes past a 64-byte boundary \
                 (the engine's result depends on where the bytes lie: reshape the pattern)"
            )));
        }
    }
    for (i, ex) in rule.negative_examples.iter().enumerate() {
        match m.scan_bytes(ex.as_bytes(), at) {
            Ok(v) if v.is_empty() => {}
            Ok(_) => failures.push(fail(format!("negative example {i} is found"))),
            Err(e) => failures.push(fail(format!("negative example {i}: {e}"))),
        }
    }
    // Its path filter holds: the first example elsewhere is not found.
    if let (Some(_), Some(_), Some(ex)) = (&rule.path, &rule.example_path, rule.examples.first())
        && m.scan_bytes(ex.as_bytes(), Some(b"elsewhere/unrelated.txt"))
            .is_ok_and(|v| !v.is_empty())
    {
        failures.push(fail("example 0 is found outside the rule's path".into()));
    }
}

/// The first of the 64 alignments (the example's start, past a 64-byte boundary) at
/// which the example is not found, if any. Hyperscan's vector code reads input in
/// aligned blocks, and a pattern can meet an engine defect at some alignments only; a
/// scan of a real file puts any rule's match at any of them.
fn missed_at_some_alignment(m: &Matcher, ex: &[u8], at: Option<&[u8]>) -> Option<usize> {
    let mut buf = vec![b'\n'; ex.len() + 192];
    let base = buf.as_ptr().align_offset(64);
    (0..64).find(|&off| {
        let start = base + off;
        buf[start..start + ex.len()].copy_from_slice(ex);
        let found = m
            .scan_bytes(&buf[start..start + ex.len()], at)
            .is_ok_and(|v| !v.is_empty());
        buf[start..start + ex.len()].fill(b'\n');
        !found
    })
}
