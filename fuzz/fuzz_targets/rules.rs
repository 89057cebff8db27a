//! Rule files: arbitrary text through `RuleSet::parse` (TOML, the gitleaks superset,
//! every regex compiled for confirmation), then overlaid, finished and selected the way
//! the CLI loads `--rules`. Hyperscan compilation is left out (too slow per input).
#![no_main]

use layerhound::rules::{Confidence, RuleSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = RuleSet::parse(text, "fuzz.toml") else {
        return;
    };
    for r in &parsed.rules {
        assert!(r.secret_group < r.regex.captures_len());
        assert!(!r.id.trim().is_empty());
    }
    let mut set = RuleSet::default();
    set.overlay(parsed);
    set.finish();
    assert!(set.patches.is_empty());
    set.select(&[], &[], Confidence::Medium);
});
