//! Policy: takes the [`Outcome`] of a scan and gives back the findings to report, once
//! the ignore file (`.layerhoundignore`) and the baseline have set aside what was
//! accepted (each counted in `summary.suppressed`); says whether the rest fails the run.
//!
//! A baseline is a list of finding fingerprints with enough context for a person to
//! read (rule, status, image, layer, path or field) and never a secret value, redacted
//! or not. Fingerprints hash the rule, the secret and where the content lives (the
//! layer's diff_id and path, or the config field), so they survive re-compression and
//! re-export of the same image content.

use crate::error::{Error, Result};
use crate::finding::Finding;
use crate::outcome::Outcome;
use crate::overlay::Status;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::Path;

/// The baseline file format version this build writes and reads.
pub const BASELINE_VERSION: u32 = 1;

/// A baseline file: accepted findings, by fingerprint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BaselineFile {
    pub version: u32,
    #[serde(default)]
    pub created_by: String,
    pub findings: Vec<BaselineEntry>,
}

/// One accepted place of a finding: its fingerprint, and where it was for the reader.
/// No secret. `value_fingerprint` names the finding the place belongs to, for the
/// reader: a finding is accepted when every one of its places is (or when an entry's
/// `fingerprint` is the value fingerprint itself).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BaselineEntry {
    pub fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_fingerprint: Option<String>,
    #[serde(default)]
    pub rule_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default)]
    pub image: String,
    #[serde(rename = "ref", default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub platform: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_index: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nested: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl BaselineFile {
    /// The baseline of a scan's findings, in report order: one entry per place, so
    /// that a known secret seen at a new place is still reported.
    pub fn of(findings: &[Finding]) -> BaselineFile {
        BaselineFile {
            version: BASELINE_VERSION,
            created_by: format!("layerhound {}", env!("CARGO_PKG_VERSION")),
            findings: findings
                .iter()
                .flat_map(|f| {
                    f.places.iter().map(move |p| BaselineEntry {
                        fingerprint: p.fingerprint.clone(),
                        value_fingerprint: Some(f.value_fingerprint.clone()),
                        rule_id: f.rule_id.clone(),
                        status: Some(p.status),
                        image: f.image.clone(),
                        reference: f.reference.clone(),
                        platform: f.platform.clone(),
                        layer_index: p.location.layer_index,
                        path: p.location.path.clone(),
                        nested: p.location.nested.clone(),
                        field: p.location.field.clone(),
                    })
                })
                .collect(),
        }
    }
}

/// The fingerprints of a baseline file, for [`apply`].
#[derive(Clone, Debug, Default)]
pub struct Baseline {
    fingerprints: HashSet<String>,
}

impl Baseline {
    /// Reads and checks a baseline file written by `layerhound baseline create`.
    pub fn load(path: &Path) -> Result<Baseline> {
        let file = format!("baseline {}", path.display());
        let bad = |reason: String| Error::Policy {
            file: file.clone(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        Baseline::parse(&bytes).map_err(bad)
    }

    /// Parses the bytes of a baseline file; the error is one line.
    pub fn parse(bytes: &[u8]) -> std::result::Result<Baseline, String> {
        // The version is checked before the shape, so a future format says so.
        let doc: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| format!("not a layerhound baseline: invalid JSON: {e}"))?;
        match doc.get("version").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(BASELINE_VERSION) => {}
            Some(v) => {
                return Err(format!(
                    "baseline version {v} is not supported (this layerhound reads version {BASELINE_VERSION})"
                ));
            }
            None => {
                return Err("not a layerhound baseline: no \"version\" number".into());
            }
        }
        let doc: BaselineFile =
            serde_json::from_value(doc).map_err(|e| format!("not a layerhound baseline: {e}"))?;
        let mut fingerprints = HashSet::new();
        for (i, e) in doc.findings.iter().enumerate() {
            if !is_fingerprint(&e.fingerprint) {
                return Err(format!(
                    "findings[{i}].fingerprint is not a layerhound fingerprint (sha256: and 64 hex digits)"
                ));
            }
            fingerprints.insert(e.fingerprint.clone());
        }
        Ok(Baseline { fingerprints })
    }

    /// How many distinct fingerprints it holds.
    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    /// True when it holds no fingerprint.
    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }

    /// True when the baseline names the finding's value, or every one of its places.
    fn accepts(&self, f: &Finding) -> bool {
        self.fingerprints.contains(&f.value_fingerprint)
            || every_place(f, |p| self.fingerprints.contains(&p.fingerprint))
    }
}

/// A whole fingerprint, or its first 8 or more hex digits (with or without `sha256:`).
fn is_fingerprint_prefix(s: &str) -> bool {
    let h = s.strip_prefix("sha256:").unwrap_or(s);
    (8..=64).contains(&h.len()) && is_lower_hex(h)
}

fn is_fingerprint(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && is_lower_hex(h))
}

fn is_lower_hex(h: &str) -> bool {
    h.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The name of the ignore file looked for in the current directory.
pub const IGNORE_FILE_NAME: &str = ".layerhoundignore";

/// The entries of an ignore file.
#[derive(Clone, Debug, Default)]
pub struct IgnoreList {
    entries: Vec<IgnoreEntry>,
}

/// One `[[ignore]]` entry: what it matches and why.
#[derive(Clone, Debug)]
struct IgnoreEntry {
    fingerprint: Option<String>,
    rule: Option<String>,
    path: Option<globset::GlobMatcher>,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IgnoreDoc {
    #[serde(default)]
    ignore: Vec<toml::Spanned<RawIgnoreEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgnoreEntry {
    fingerprint: Option<String>,
    rule: Option<String>,
    path: Option<String>,
    reason: Option<String>,
}

impl IgnoreList {
    /// Reads an ignore file (TOML, `[[ignore]]` entries).
    pub fn load(path: &Path) -> Result<IgnoreList> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Policy {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        IgnoreList::parse(&text).map_err(|reason| Error::Policy { file, reason })
    }

    /// Parses the text of an ignore file; the error is one line naming the entry.
    pub fn parse(text: &str) -> std::result::Result<IgnoreList, String> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let doc: IgnoreDoc = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!("line {}: ", line_of(s.start)))
                .unwrap_or_default();
            format!("{at}{}", e.message().trim().replace('\n', " "))
        })?;
        let mut entries = Vec::new();
        for (i, spanned) in doc.ignore.iter().enumerate() {
            let place = format!(
                "[[ignore]] entry {} (line {})",
                i + 1,
                line_of(spanned.span().start)
            );
            let raw = spanned.get_ref();
            let reason = match raw.reason.as_deref().map(str::trim) {
                Some(r) if !r.is_empty() => r.to_string(),
                Some(_) => return Err(format!("{place}: `reason` is empty")),
                None => {
                    return Err(format!(
                        "{place}: missing `reason` (say why these findings are accepted)"
                    ));
                }
            };
            match (&raw.fingerprint, &raw.rule, &raw.path) {
                (None, None, None) => {
                    return Err(format!(
                        "{place}: needs one of `fingerprint`, `rule` or `path`"
                    ));
                }
                (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                    return Err(format!(
                        "{place}: `fingerprint` stands alone (`rule` and `path` may be combined)"
                    ));
                }
                _ => {}
            }
            if let Some(fp) = &raw.fingerprint
                && !is_fingerprint_prefix(fp)
            {
                return Err(format!(
                    "{place}: `fingerprint` is not a layerhound fingerprint (sha256: and 64 hex digits, or at least the first 8 of them, as the pretty report shows)"
                ));
            }
            if raw.rule.as_deref().is_some_and(|r| r.trim().is_empty()) {
                return Err(format!("{place}: `rule` is empty"));
            }
            let path = match &raw.path {
                Some(p) => Some(path_glob(p).map_err(|e| format!("{place}: `path`: {e}"))?),
                None => None,
            };
            entries.push(IgnoreEntry {
                fingerprint: raw
                    .fingerprint
                    .as_deref()
                    .map(|f| f.trim_start_matches("sha256:").to_string()),
                rule: raw.rule.clone(),
                path,
                reason,
            });
        }
        Ok(IgnoreList { entries })
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The rule ids the entries name, with each entry's number (from 1).
    pub fn rule_ids(&self) -> Vec<(usize, &str)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.rule.as_deref().map(|r| (i + 1, r)))
            .collect()
    }

    /// The reason of the first entry that matches `f`.
    fn reason_for(&self, f: &Finding) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.matches(f))
            .map(|e| e.reason.as_str())
    }
}

impl IgnoreEntry {
    /// True when the entry names the finding's value, or covers every one of its
    /// places: a known secret seen at a new place is still reported.
    fn matches(&self, f: &Finding) -> bool {
        if let Some(fp) = &self.fingerprint {
            let named = |full: &str| full.trim_start_matches("sha256:").starts_with(fp.as_str());
            return named(&f.value_fingerprint) || every_place(f, |p| named(&p.fingerprint));
        }
        self.rule.as_ref().is_none_or(|r| *r == f.rule_id)
            && every_place(f, |p| {
                self.path
                    .as_ref()
                    .is_none_or(|g| p.location.path.as_deref().is_some_and(|x| g.is_match(x)))
            })
    }
}

/// True when `f` has places and `accept` holds for every one of them.
fn every_place(f: &Finding, accept: impl Fn(&crate::finding::Place) -> bool) -> bool {
    !f.places.is_empty() && f.places.iter().all(accept)
}

/// A glob over paths inside the image: `*` stays within one directory, `**` crosses
/// them; a leading `/` or `./` is dropped (image paths have none) and a trailing `/`
/// means everything below that directory.
fn path_glob(pattern: &str) -> std::result::Result<globset::GlobMatcher, String> {
    let mut p = pattern
        .trim_start_matches("./")
        .trim_start_matches('/')
        .to_string();
    if p.is_empty() {
        return Err("empty pattern".into());
    }
    if p.ends_with('/') {
        p.push_str("**");
    }
    globset::GlobBuilder::new(&p)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.kind().to_string())
}

/// Sets aside the findings an ignore entry matches (counted by reason), then those
/// whose fingerprint is in the baseline, and recounts the summary.
pub fn apply(outcome: &mut Outcome, ignore: Option<&IgnoreList>, baseline: Option<&Baseline>) {
    let suppressed = &mut outcome.summary.suppressed;
    outcome.findings.retain(|f| {
        if let Some(reason) = ignore.and_then(|i| i.reason_for(f)) {
            suppressed.ignored += 1;
            *suppressed
                .by_ignore_reason
                .entry(reason.to_string())
                .or_default() += 1;
            return false;
        }
        if baseline.is_some_and(|b| b.accepts(f)) {
            suppressed.baseline += 1;
            return false;
        }
        true
    });
    outcome.recount();
}

/// What `--fail-on` names: a status, or `exposed` for the two that anyone who pulls
/// the image can read (`present` files and `metadata` in its config).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// `present` and `metadata`: readable from the final image.
    Exposed,
    Present,
    Metadata,
    Deleted,
    Overwritten,
    Opaque,
}

impl FailOn {
    /// The statuses a list of `--fail-on` values covers; none given means all.
    pub fn statuses(list: &[FailOn]) -> Vec<Status> {
        if list.is_empty() {
            return Status::ALL.to_vec();
        }
        let mut out = Vec::new();
        for f in list {
            let add: &[Status] = match f {
                FailOn::Exposed => &[Status::Present, Status::Metadata],
                FailOn::Present => &[Status::Present],
                FailOn::Metadata => &[Status::Metadata],
                FailOn::Deleted => &[Status::Deleted],
                FailOn::Overwritten => &[Status::Overwritten],
                FailOn::Opaque => &[Status::Opaque],
            };
            for s in add {
                if !out.contains(s) {
                    out.push(*s);
                }
            }
        }
        out
    }
}

/// True when a reported finding has one of the `fail_on` statuses.
pub fn fails(outcome: &Outcome, fail_on: &[Status]) -> bool {
    outcome.findings.iter().any(|f| fail_on.contains(&f.status))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn finding(rule: &str, path: Option<&str>, fp: &str) -> Finding {
        let mut f = Finding {
            rule_id: rule.into(),
            rule_name: rule.into(),
            confidence: crate::rules::Confidence::High,
            secret: "s".into(),
            fingerprint: fp.into(),
            image: "i".into(),
            reference: None,
            platform: "linux/amd64".into(),
            status: if path.is_some() {
                Status::Present
            } else {
                Status::Metadata
            },
            removed_by: None,
            package: None,
            location: crate::finding::Location {
                path: path.map(str::to_string),
                field: path.is_none().then(|| "Env[0]".to_string()),
                ..Default::default()
            },
            value_fingerprint: FP_VALUE.into(),
            test_key: None,
            places: Vec::new(),
            value_id: [0; 32],
            secret_is_masked: false,
        };
        f.places = vec![f.place()];
        f
    }

    const FP_VALUE: &str =
        "sha256:9923456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_finding_is_accepted_by_its_value_or_all_of_its_places() {
        let mut f = finding("r", Some("a/one"), FP);
        let mut second = f.place();
        second.fingerprint =
            "sha256:2223456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".into();
        second.location.path = Some("b/two".into());
        f.places.push(second.clone());
        let base = |fps: &[&str]| {
            Baseline::parse(
                serde_json::json!({"version": 1, "findings":
                    fps.iter().map(|fp| serde_json::json!({"fingerprint": fp})).collect::<Vec<_>>()})
                .to_string()
                .as_bytes(),
            )
            .unwrap()
        };
        assert!(!base(&[FP]).accepts(&f), "a new place is still reported");
        assert!(base(&[FP, &second.fingerprint]).accepts(&f));
        assert!(base(&[FP_VALUE]).accepts(&f));
        let list = IgnoreList::parse("[[ignore]]\npath = \"a/**\"\nreason = \"x\"\n").unwrap();
        assert_eq!(list.reason_for(&f), None, "b/two is not covered");
        let list = IgnoreList::parse("[[ignore]]\npath = \"{a,b}/**\"\nreason = \"x\"\n").unwrap();
        assert_eq!(list.reason_for(&f), Some("x"));
        let list = IgnoreList::parse(&format!(
            "[[ignore]]\nfingerprint = \"{FP_VALUE}\"\nreason = \"v\"\n"
        ))
        .unwrap();
        assert_eq!(list.reason_for(&f), Some("v"));
        // The 8 hex digits the pretty report shows name it too.
        let list =
            IgnoreList::parse("[[ignore]]\nfingerprint = \"99234567\"\nreason = \"s\"\n").unwrap();
        assert_eq!(list.reason_for(&f), Some("s"));
        assert!(IgnoreList::parse("[[ignore]]\nfingerprint = \"9923\"\nreason = \"s\"\n").is_err());
    }

    #[test]
    fn ignore_entries_match_by_fingerprint_rule_and_path() {
        let list = IgnoreList::parse(&format!(
            "[[ignore]]\nfingerprint = \"{FP}\"\nreason = \"a\"\n\
             [[ignore]]\nrule = \"r1\"\nreason = \"b\"\n\
             [[ignore]]\npath = \"/usr/share/doc/**\"\nreason = \"c\"\n\
             [[ignore]]\nrule = \"r2\"\npath = \"etc/*.conf\"\nreason = \"d\"\n\
             [[ignore]]\npath = \"opt/vendor/\"\nreason = \"e\"\n"
        ))
        .unwrap();
        let other = "sha256:1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let r = |rule, path, fp| list.reason_for(&finding(rule, path, fp));
        assert_eq!(r("x", Some("a"), FP), Some("a"));
        assert_eq!(r("r1", None, other), Some("b"));
        assert_eq!(r("x", Some("usr/share/doc/pkg/README"), other), Some("c"));
        assert_eq!(r("x", Some("usr/share/docs/README"), other), None);
        assert_eq!(r("r2", Some("etc/app.conf"), other), Some("d"));
        assert_eq!(
            r("r2", Some("etc/sub/app.conf"), other),
            None,
            "* stays in a dir"
        );
        assert_eq!(
            r("x", Some("etc/app.conf"), other),
            None,
            "rule and path both"
        );
        assert_eq!(r("x", Some("opt/vendor/a/b"), other), Some("e"));
        assert_eq!(r("x", None, other), None, "a path never matches metadata");
    }

    #[test]
    fn ignore_file_errors_name_the_entry() {
        let e = IgnoreList::parse(
            "[[ignore]]\nrule = \"a\"\nreason = \"x\"\n\n[[ignore]]\nrule = \"b\"\n",
        )
        .unwrap_err();
        assert_eq!(
            e,
            "[[ignore]] entry 2 (line 5): missing `reason` (say why these findings are accepted)"
        );
        let e = IgnoreList::parse(&format!(
            "[[ignore]]\nfingerprint = \"{FP}\"\nrule = \"a\"\nreason = \"x\"\n"
        ))
        .unwrap_err();
        assert!(e.contains("entry 1") && e.contains("stands alone"), "{e}");
        let e = IgnoreList::parse("[[ignore]]\nreason = \"x\"\n").unwrap_err();
        assert!(e.contains("needs one of"), "{e}");
        let e = IgnoreList::parse("[[ignore]]\nrule = \"a\"\nreasons = \"x\"\n").unwrap_err();
        assert!(e.starts_with("line 3: unknown field `reasons`"), "{e}");
        assert!(!e.contains('\n'));
        let e = IgnoreList::parse("[[ignore]]\npath = \"a/[b\"\nreason = \"x\"\n").unwrap_err();
        assert!(e.contains("`path`"), "{e}");
    }

    #[test]
    fn baseline_parse_checks_version_and_fingerprints() {
        let ok = format!("{{\"version\":1,\"findings\":[{{\"fingerprint\":\"{FP}\"}}]}}");
        assert_eq!(Baseline::parse(ok.as_bytes()).unwrap().len(), 1);
        let e = Baseline::parse(b"{\"version\":2,\"findings\":[]}").unwrap_err();
        assert!(e.contains("version 2 is not supported"), "{e}");
        let e = Baseline::parse(b"not json").unwrap_err();
        assert!(
            e.starts_with("not a layerhound baseline: invalid JSON"),
            "{e}"
        );
        let e =
            Baseline::parse(b"{\"version\":1,\"findings\":[{\"fingerprint\":\"x\"}]}").unwrap_err();
        assert!(e.contains("findings[0].fingerprint"), "{e}");
        let e = Baseline::parse(b"{\"version\":1}").unwrap_err();
        assert!(e.contains("missing field `findings`"), "{e}");
    }
}
