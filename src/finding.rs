//! Findings: what was found, where, and whether it is still in the image. This is the
//! stable JSON shape documented in the README.

use crate::overlay::Status;
use crate::rules::Confidence;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

/// The later layer that removed a secret's file.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RemovedBy {
    pub layer_index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// Where a finding is. Layer fields are absent on metadata findings; `field` appears only on them.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// For a secret inside a nested archive or compressed file: the file's path, then
    /// each inner path; `line` and `column` refer to the innermost file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nested: Vec<String>,
    /// Other paths of the same file (hard links in its layer), at most
    /// [`MAX_LINKS_SHOWN`]; `links_omitted` counts the rest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    #[serde(skip_serializing_if = "crate::util::is_zero")]
    pub links_omitted: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What `field` is, for people: `Env GITHUB_TOKEN`, `Label org.example.source`,
    /// `history[10], the build step of layer 3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_name: Option<String>,
    /// For a build step's field: the layer that step made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_of_layer: Option<usize>,
    pub line: u64,
    pub column: u64,
    pub offset: u64,
}

/// Most hard-link paths listed on one finding: a layer with thousands of links to one
/// file must not multiply every finding's size.
pub const MAX_LINKS_SHOWN: usize = 32;

/// One place where a secret was seen: a file in a layer, or a field of the config.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Place {
    /// The rule that matched here (the finding's rule is the most confident of these).
    pub rule_id: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_by: Option<RemovedBy>,
    /// The place's own fingerprint: rule, secret, and where the content lives.
    pub fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<crate::packages::PackageRef>,
    /// The known public test key or example token the secret is: name and source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_key: Option<String>,
    pub location: Location,
}

/// One secret value found in one image, with every place it was seen. The top-level
/// `status`, `removed_by`, `package`, `location` and `fingerprint` are those of the most
/// exposed place, `places[0]`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Finding {
    pub rule_id: String,
    pub rule_name: String,
    pub confidence: Confidence,
    pub secret: String,
    pub fingerprint: String,
    /// Names the secret value under its rule, wherever it is: sha256 of rule id and secret.
    pub value_fingerprint: String,
    pub image: String,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub platform: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_by: Option<RemovedBy>,
    /// Set when the file is an unmodified file of an installed package (or a key a
    /// package generated at install time); such findings are reported only with
    /// `--include-package-files`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<crate::packages::PackageRef>,
    /// The known public test key or example token the secret is (shown with
    /// `--include-package-files`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_key: Option<String>,
    pub location: Location,
    /// Every place the secret was seen in this image, most exposed first.
    pub places: Vec<Place>,
    /// Which secret this is, whatever the rule: sha256 of its text. Never printed.
    #[serde(skip)]
    pub value_id: [u8; 32],
    /// True when `secret` is already its masked form (a layer result from the cache
    /// keeps no more).
    #[serde(skip)]
    pub secret_is_masked: bool,
}

impl Finding {
    /// The place this finding was built from, for a finding of one place.
    pub fn place(&self) -> Place {
        Place {
            rule_id: self.rule_id.clone(),
            status: self.status,
            removed_by: self.removed_by.clone(),
            fingerprint: self.fingerprint.clone(),
            package: self.package.clone(),
            test_key: self.test_key.clone(),
            location: self.location.clone(),
        }
    }
}

/// How exposed a secret at a place with this status is: lower is more exposed. Present
/// files and config fields can be read from the final image by anyone who pulls it.
pub fn exposure(s: Status) -> u8 {
    match s {
        Status::Present => 0,
        Status::Metadata => 1,
        Status::Deleted => 2,
        Status::Overwritten => 3,
        Status::Opaque => 4,
    }
}

/// Merges findings of the same secret value in the same image into one, its places
/// ordered most exposed first (then in the order given). Each input finding is one
/// place; the output keeps the order of each group's first finding.
pub fn group_by_value(findings: Vec<Finding>) -> Vec<Finding> {
    let mut index: std::collections::HashMap<(String, Option<String>, String, [u8; 32]), usize> =
        std::collections::HashMap::new();
    let mut groups: Vec<Vec<Finding>> = Vec::new();
    for f in findings {
        let key = (
            f.image.clone(),
            f.reference.clone(),
            f.platform.clone(),
            f.value_id,
        );
        match index.get(&key) {
            Some(&g) => groups[g].push(f),
            None => {
                index.insert(key, groups.len());
                groups.push(vec![f]);
            }
        }
    }
    groups
        .into_iter()
        .filter_map(|mut g| {
            // Stable: equally exposed places keep report order.
            g.sort_by_key(|f| exposure(f.status));
            let places: Vec<Place> = g.iter().map(Finding::place).collect();
            // The finding is named by the most confident rule that matched it.
            let best = g
                .iter()
                .enumerate()
                .max_by_key(|(i, f)| (f.confidence, std::cmp::Reverse(*i)))
                .map_or(0, |(i, _)| i);
            let named = g.get(best)?.clone();
            let mut first = g.into_iter().next()?;
            first.rule_id = named.rule_id;
            first.rule_name = named.rule_name;
            first.confidence = named.confidence;
            first.value_fingerprint = named.value_fingerprint;
            first.places = places;
            Some(first)
        })
        .collect()
}

impl crate::redact::Redact for RemovedBy {
    fn redact_with(&mut self, r: &crate::redact::Redactor) {
        self.created_by.redact_with(r);
    }
}

impl crate::redact::Redact for Location {
    fn redact_with(&mut self, r: &crate::redact::Redactor) {
        self.layer_digest.redact_with(r);
        self.diff_id.redact_with(r);
        self.created_by.redact_with(r);
        self.path.redact_with(r);
        self.nested.redact_with(r);
        self.links.redact_with(r);
        self.field.redact_with(r);
        self.field_name.redact_with(r);
    }
}

impl crate::redact::Redact for crate::packages::PackageRef {
    fn redact_with(&mut self, r: &crate::redact::Redactor) {
        self.name.redact_with(r);
        self.version.redact_with(r);
        self.reason.redact_with(r);
    }
}

impl crate::redact::Redact for Place {
    fn redact_with(&mut self, r: &crate::redact::Redactor) {
        self.removed_by.redact_with(r);
        self.package.redact_with(r);
        self.location.redact_with(r);
    }
}

impl crate::redact::Redact for Finding {
    /// Masks the secret itself and every string from the image.
    fn redact_with(&mut self, r: &crate::redact::Redactor) {
        if !self.secret_is_masked {
            self.secret = crate::redact::mask(&self.secret);
            self.secret_is_masked = true;
        }
        self.image.redact_with(r);
        self.reference.redact_with(r);
        self.platform.redact_with(r);
        self.removed_by.redact_with(r);
        self.package.redact_with(r);
        self.location.redact_with(r);
        self.places.redact_with(r);
    }
}

/// The value fingerprint: rule and secret, no place.
pub fn value_fingerprint(rule_id: &str, secret: &[u8]) -> String {
    fingerprint(rule_id, secret, &[])
}

/// A stable fingerprint: rule, secret and where the content lives (diff_id + path for
/// files, the config field for metadata). Independent of compression and export form.
pub fn fingerprint(rule_id: &str, secret: &[u8], place: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(rule_id.as_bytes());
    h.update([0]);
    h.update(secret);
    for p in place {
        h.update([0]);
        h.update(p.as_bytes());
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_four_chars() {
        assert_eq!(crate::redact::mask("AKIAZ3MSJV4WWNXUFTBQ"), "AKIA…FTBQ");
        assert_eq!(crate::redact::mask("hunter2hunter"), "hunt…");
        assert_eq!(crate::redact::mask("ab"), "ab…");
    }

    fn place_finding(rule: &str, conf: Confidence, status: Status, path: &str) -> Finding {
        let location = Location {
            layer_index: Some(0),
            path: Some(path.into()),
            ..Location::default()
        };
        Finding {
            rule_id: rule.into(),
            rule_name: rule.into(),
            confidence: conf,
            secret: "s3cr3t-value".into(),
            fingerprint: fingerprint(rule, b"s3cr3t-value", &[path]),
            value_fingerprint: value_fingerprint(rule, b"s3cr3t-value"),
            image: "img".into(),
            reference: None,
            platform: "linux/amd64".into(),
            status,
            removed_by: None,
            package: None,
            test_key: None,
            location,
            places: Vec::new(),
            value_id: [7; 32],
            secret_is_masked: false,
        }
    }

    #[test]
    fn places_of_one_value_merge_most_exposed_first_under_the_most_confident_rule() {
        let a = place_finding("generic", Confidence::Low, Status::Deleted, "a/old");
        let b = place_finding("provider", Confidence::High, Status::Deleted, "b/also");
        let c = place_finding("generic", Confidence::Low, Status::Present, "c/now");
        let mut other = place_finding("generic", Confidence::Low, Status::Present, "d/x");
        other.value_id = [8; 32];
        let merged = group_by_value(vec![a, b, c, other]);
        assert_eq!(merged.len(), 2);
        let f = &merged[0];
        let paths: Vec<&str> = f
            .places
            .iter()
            .map(|p| p.location.path.as_deref().unwrap())
            .collect();
        assert_eq!(paths, ["c/now", "a/old", "b/also"]);
        assert_eq!(f.status, Status::Present);
        assert_eq!(f.location.path.as_deref(), Some("c/now"));
        assert_eq!(f.rule_id, "provider");
        assert_eq!(
            f.value_fingerprint,
            value_fingerprint("provider", b"s3cr3t-value")
        );
        assert_eq!(f.places[2].rule_id, "provider");
    }

    #[test]
    fn fingerprint_depends_on_place() {
        let a = fingerprint("r", b"s", &["sha256:1", "p"]);
        assert_eq!(a, fingerprint("r", b"s", &["sha256:1", "p"]));
        assert_ne!(a, fingerprint("r", b"s", &["sha256:1", "q"]));
        assert!(a.starts_with("sha256:") && a.len() == 71);
    }
}
