//! What a scan produced: the findings ([`crate::finding`]), per-image facts, the
//! summary with its errors, skips and set-aside counts, and the rules behind the
//! findings. The scan fills an [`Outcome`]; policy and the reports read it.

use crate::finding::Finding;
use crate::packages::PackageRef;
use crate::redact::{Redact, Redactor};
use crate::util::short_digest;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// A problem that made the scan incomplete or suspicious. One line, naming the image,
/// layer and path it concerns.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ScanError {
    pub kind: crate::error::ErrorKind,
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub message: String,
}

impl ScanError {
    /// The same error, of `kind`.
    pub fn of_kind(mut self, kind: crate::error::ErrorKind) -> ScanError {
        self.kind = kind;
        self
    }

    /// An error about a whole image or input (no layer or path).
    pub fn about(image: impl Into<String>, message: impl Into<String>) -> ScanError {
        ScanError {
            kind: crate::error::ErrorKind::Other,
            image: image.into(),
            layer_index: None,
            layer_digest: None,
            path: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.layer_index.is_none() && self.path.is_none() && self.message.contains(&self.image) {
            return write!(f, "{}", self.message);
        }
        write!(f, "{}", self.image)?;
        if let Some(i) = self.layer_index {
            write!(f, ": layer {i}")?;
            if let Some(d) = &self.layer_digest {
                write!(f, " ({})", short_digest(d))?;
            }
        }
        if let Some(p) = &self.path {
            write!(f, ": {p}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Per-image facts for report headers.
#[derive(Clone, Debug, Serialize)]
pub struct ImageInfo {
    pub image: String,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repo_digests: Vec<String>,
    pub platform: String,
    pub config_digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<String>,
    pub layers: Vec<LayerInfo>,
}

/// Per-layer facts for report headers.
#[derive(Clone, Debug, Serialize)]
pub struct LayerInfo {
    pub index: usize,
    pub digest: Option<String>,
    pub diff_id: Option<String>,
    pub created_by: Option<String>,
    pub size: u64,
}

/// Totals for the run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub images: usize,
    pub layers: usize,
    pub bytes_scanned: u64,
    pub findings: usize,
    pub by_status: BTreeMap<String, usize>,
    pub errors: Vec<ScanError>,
    pub suppressed: Suppressed,
    /// Layers whose results came from the layer results cache (`--cache`).
    #[serde(skip_serializing_if = "crate::util::is_zero")]
    pub layers_from_cache: usize,
    /// What was not read whole, by reason: limits hit, corrupt nested streams,
    /// unreadable entries. Each reason is a warning line; exit code 2 unless
    /// `--allow-incomplete`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped: BTreeMap<String, Skipped>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// How often one reason made something be skipped, with the first few places.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Skipped {
    pub count: usize,
    pub examples: Vec<String>,
}

impl Summary {
    /// Every message in our words and on one line, through the one function that does
    /// it ([`crate::util::plain_message`]): the errors (every field), skip reasons and
    /// places, and notes. Whatever prints a summary prints it after this, so no byte
    /// from an input or a library's wording can drive a terminal.
    pub fn make_plain(&mut self) {
        use crate::util::plain_message as plain;
        for e in &mut self.errors {
            e.image = plain(&e.image);
            e.layer_digest = e.layer_digest.as_deref().map(plain);
            e.path = e.path.as_deref().map(plain);
            e.message = plain(&e.message);
        }
        let skipped = std::mem::take(&mut self.skipped);
        for (reason, s) in skipped {
            let into = self.skipped.entry(plain(&reason)).or_default();
            into.count += s.count;
            for ex in s.examples {
                if into.examples.len() < 5 {
                    into.examples.push(plain(&ex));
                }
            }
        }
        for n in &mut self.notes {
            *n = plain(n);
        }
    }

    /// Counts one skip.
    pub fn skip(&mut self, reason: &str, example: String) {
        let s = self.skipped.entry(reason.to_string()).or_default();
        s.count += 1;
        if s.examples.len() < 5 {
            s.examples.push(example);
        }
    }
}

/// Findings set aside, by reason. Nothing is dropped without being counted here.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Suppressed {
    /// Findings in unmodified package files (shown with `--include-package-files`).
    pub package_files: usize,
    /// Those, per `name version`.
    pub by_package: BTreeMap<String, usize>,
    /// Findings of context and generic rules in third-party code an application ships
    /// (shown with `--include-package-files`).
    pub third_party: usize,
    /// Those, per `<ecosystem> <name> <version>`.
    pub third_party_by_package: BTreeMap<String, usize>,
    /// Those, per rule id.
    pub third_party_by_rule: BTreeMap<String, usize>,
    /// Findings whose secret is a known public test key or example token (shown with
    /// `--include-package-files`).
    pub test_keys: usize,
    /// Those, per key.
    pub by_test_key: BTreeMap<String, usize>,
    /// Findings whose path matched `--exclude-path`.
    pub excluded_paths: usize,
    /// Findings whose fingerprint is in the `--baseline` file.
    pub baseline: usize,
    /// Findings matched by an entry of the ignore file (`.layerhoundignore`).
    pub ignored: usize,
    /// Those, per the entry's `reason`.
    pub by_ignore_reason: BTreeMap<String, usize>,
}

impl Suppressed {
    /// Counts a finding of a known test key as set aside.
    pub fn set_aside_test_key(&mut self, key: &str) {
        self.test_keys += 1;
        *self.by_test_key.entry(key.to_string()).or_default() += 1;
    }

    /// Counts a finding of `rule` in `package`'s file as set aside and says true, when
    /// it is to be: every finding in an installed package's unmodified file, and those
    /// of context and generic rules in third-party code.
    pub fn set_aside_package(&mut self, p: &PackageRef, rule: &crate::rules::Rule) -> bool {
        if !p.third_party {
            self.package_files += 1;
            *self
                .by_package
                .entry(format!("{} {}", p.name, p.version))
                .or_default() += 1;
            return true;
        }
        if rule.kind == crate::rules::Kind::Provider {
            return false;
        }
        self.third_party += 1;
        *self
            .third_party_by_package
            .entry(
                format!("{} {} {}", p.ecosystem, p.name, p.version)
                    .trim_end()
                    .to_string(),
            )
            .or_default() += 1;
        *self.third_party_by_rule.entry(rule.id.clone()).or_default() += 1;
        true
    }
}

/// What a report may say about a rule that produced findings.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RuleInfo {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub confidence: crate::rules::Confidence,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

impl From<&crate::rules::Rule> for RuleInfo {
    fn from(r: &crate::rules::Rule) -> RuleInfo {
        RuleInfo {
            id: r.id.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
            confidence: r.confidence,
            references: r.references.clone(),
        }
    }
}

/// Everything a scan produced.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub images: Vec<ImageInfo>,
    pub summary: Summary,
    /// The rules behind `findings`, one per rule id, sorted by id.
    pub rules: Vec<RuleInfo>,
    /// Every secret the scan found, set aside or not: what reports mask.
    pub redactor: Redactor,
}

impl Outcome {
    /// A copy in which every string that came from an image has each secret the scan
    /// found masked, and each finding's secret is shown redacted. Printing it without
    /// `--reveal` is the only way a report or diagnostic may show image text.
    pub fn redacted(&self) -> Outcome {
        let mut o = Outcome {
            findings: self.findings.clone(),
            images: self.images.clone(),
            summary: self.summary.clone(),
            rules: self.rules.clone(),
            redactor: self.redactor.clone(),
        };
        let r = &self.redactor;
        o.findings.redact_with(r);
        o.images.redact_with(r);
        o.summary.redact_with(r);
        o
    }
}

impl Redact for ScanError {
    fn redact_with(&mut self, r: &Redactor) {
        self.image.redact_with(r);
        self.layer_digest.redact_with(r);
        self.path.redact_with(r);
        self.message.redact_with(r);
    }
}

impl Redact for LayerInfo {
    fn redact_with(&mut self, r: &Redactor) {
        self.digest.redact_with(r);
        self.diff_id.redact_with(r);
        self.created_by.redact_with(r);
    }
}

impl Redact for ImageInfo {
    fn redact_with(&mut self, r: &Redactor) {
        self.image.redact_with(r);
        self.reference.redact_with(r);
        self.tags.redact_with(r);
        self.repo_digests.redact_with(r);
        self.platform.redact_with(r);
        self.config_digest.redact_with(r);
        self.manifest_digest.redact_with(r);
        self.layers.redact_with(r);
    }
}

impl Redact for Skipped {
    fn redact_with(&mut self, r: &Redactor) {
        self.examples.redact_with(r);
    }
}

impl Redact for Summary {
    fn redact_with(&mut self, r: &Redactor) {
        self.errors.redact_with(r);
        self.suppressed.by_package.redact_with(r);
        self.skipped.redact_with(r);
        self.notes.redact_with(r);
    }
}

impl Outcome {
    /// Brings the totals (`summary.findings`, `summary.by_status`) and `rules` in line
    /// with `findings`, after findings were set aside.
    pub fn recount(&mut self) {
        self.summary.findings = self.findings.len();
        self.summary.by_status.clear();
        for f in &self.findings {
            *self
                .summary
                .by_status
                .entry(f.status.as_str().to_string())
                .or_default() += 1;
        }
        let used: std::collections::BTreeSet<&str> =
            self.findings.iter().map(|f| f.rule_id.as_str()).collect();
        self.rules.retain(|r| used.contains(r.id.as_str()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recount_follows_the_findings_and_keeps_only_used_rules() {
        let mut o = Outcome::default();
        let rule = |id: &str| RuleInfo {
            id: id.into(),
            name: id.into(),
            description: None,
            confidence: crate::rules::Confidence::High,
            references: Vec::new(),
        };
        o.rules = vec![rule("a"), rule("b")];
        o.summary.findings = 9;
        o.summary.by_status.insert("opaque".into(), 9);
        o.recount();
        assert_eq!(o.summary.findings, 0);
        assert!(o.summary.by_status.is_empty());
        assert!(o.rules.is_empty(), "no finding uses them");
    }

    #[test]
    fn a_plain_summary_holds_no_control_character() {
        let mut s = Summary::default();
        s.errors.push(ScanError {
            kind: crate::error::ErrorKind::Corrupt,
            image: "oci:a\u{1b}b".into(),
            layer_index: Some(1),
            layer_digest: Some("sha256:\u{7}".into()),
            path: Some("etc/\r".into()),
            message: "bad\nline".into(),
        });
        s.skip("why\u{1b}[2J", "at\u{7}".into());
        s.skip("why\u{1b}[2J", "other".into());
        s.notes.push("note\u{9b}".into());
        s.make_plain();
        let text = serde_json::to_string(&s).unwrap_or_default();
        assert!(
            !text.contains("\\u001b") && !text.contains("\\u0007"),
            "{text}"
        );
        assert_eq!(
            s.errors[0].to_string(),
            "oci:a\\u{1b}b: layer 1 (sha256:\\u{7}): etc/\\u{d}: bad\\u{a}line"
        );
        let (reason, skipped) = s.skipped.iter().next().unwrap_or_else(|| panic!("a skip"));
        assert_eq!(reason, "why\\u{1b}[2J");
        assert_eq!(skipped.count, 2);
        assert_eq!(skipped.examples, ["at\\u{7}", "other"]);
        assert_eq!(s.notes, ["note\\u{9b}"]);
    }

    #[test]
    fn errors_read_as_one_line_naming_image_layer_and_path() {
        let e = ScanError {
            kind: crate::error::ErrorKind::DigestMismatch,
            image: "oci:x".into(),
            layer_index: Some(2),
            layer_digest: Some(format!("sha256:{}", "ab".repeat(32))),
            path: Some("etc/x".into()),
            message: "blob digest mismatch".into(),
        };
        assert_eq!(
            e.to_string(),
            "oci:x: layer 2 (sha256:abababababab): etc/x: blob digest mismatch"
        );
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["kind"], "digest-mismatch");
    }
}
