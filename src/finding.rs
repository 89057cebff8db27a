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
    pub line: u64,
    pub column: u64,
    pub offset: u64,
}

/// Most hard-link paths listed on one finding: a layer with thousands of links to one
/// file must not multiply every finding's size.
pub const MAX_LINKS_SHOWN: usize = 32;

/// One secret found at one place in one image.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Finding {
    pub rule_id: String,
    pub rule_name: String,
    pub confidence: Confidence,
    pub secret: String,
    pub fingerprint: String,
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
    pub location: Location,
}

impl Finding {
    /// A copy with the secret redacted: its first 4 characters, then `…`.
    pub fn redacted(&self) -> Finding {
        let mut f = self.clone();
        f.secret = redact(&self.secret);
        f
    }
}

/// First 4 characters, then `…`.
pub fn redact(secret: &str) -> String {
    let head: String = secret.chars().take(4).collect();
    format!("{head}…")
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
        assert_eq!(redact("AKIAZ3MSJV4WWNXUFTBQ"), "AKIA…");
        assert_eq!(redact("ab"), "ab…");
    }

    #[test]
    fn fingerprint_depends_on_place() {
        let a = fingerprint("r", b"s", &["sha256:1", "p"]);
        assert_eq!(a, fingerprint("r", b"s", &["sha256:1", "p"]));
        assert_ne!(a, fingerprint("r", b"s", &["sha256:1", "q"]));
        assert!(a.starts_with("sha256:") && a.len() == 71);
    }
}
