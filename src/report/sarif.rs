//! The SARIF 2.1.0 report: takes an [`Outcome`] and its findings (already redacted
//! unless `--reveal`) and writes one SARIF log with one run, in the subset GitHub code
//! scanning and the Azure DevOps SARIF viewer read.
//!
//! - `tool.driver.rules` holds one descriptor per rule that has results, sorted by id.
//! - Each finding is one result. Its location is a relative URI under the `IMAGE` base:
//!   `layer/<index>/<path>[/<inner path>…]` for files, `config/<field>` for image
//!   metadata, each segment percent-encoded. The region is the secret's span (1-based
//!   lines, columns counted in bytes as in the JSON report).
//! - `level`: `error` for secrets a container or a `docker inspect` still shows
//!   (`present`, `metadata`), `warning` for secrets only an earlier layer still holds
//!   (`deleted`, `overwritten`, `opaque`).
//! - `partialFingerprints` carries the finding's fingerprint (`layerhound/v1`) and, for
//!   GitHub's alert tracking, `primaryLocationLineHash` derived from it.
//! - `properties` carries the finding's own fields, as in the JSON report.

use super::pretty::shorten;
use crate::finding::{Finding, Location as FindingLocation, Place, RemovedBy};
use crate::outcome::{ImageInfo, Outcome, RuleInfo, Summary};
use crate::overlay::Status;
use crate::packages::PackageRef;
use crate::rules::Confidence;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The schema URI GitHub documents for uploads.
const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/layerhound/layerhound";
/// The `uriBaseId` every result location is relative to.
const URI_BASE: &str = "IMAGE";
const URI_BASE_DESCRIPTION: &str = "The root of the scanned image: `layer/<index>/` holds each layer's files, `config/` the image metadata. Each result's properties name the image, platform and layer digest.";
/// The key of the finding fingerprint in `partialFingerprints`.
const FINGERPRINT_KEY: &str = "layerhound/v1";
/// The partial fingerprint that names the secret value under its rule, wherever it is.
const VALUE_FINGERPRINT_KEY: &str = "layerhoundValue/v1";
/// GitHub's limits on descriptor texts.
const MAX_NAME: usize = 255;
const MAX_DESCRIPTION: usize = 1024;

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool,
    automation_details: AutomationDetails,
    original_uri_base_ids: BTreeMap<&'static str, BaseLocation>,
    invocations: [Invocation; 1],
    results: Vec<SarifResult<'a>>,
    properties: RunProperties<'a>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
    rules: Vec<Descriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    id: String,
    name: String,
    short_description: Text,
    full_description: Text,
    help: Help,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<String>,
    default_configuration: Configuration,
    properties: DescriptorProperties,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct DescriptorProperties {
    tags: [&'static str; 3],
    precision: &'static str,
    #[serde(rename = "security-severity")]
    security_severity: &'static str,
}

#[derive(Serialize)]
struct AutomationDetails {
    id: &'static str,
}

#[derive(Serialize)]
struct BaseLocation {
    description: Text,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Text,
}

#[derive(Serialize)]
struct RunProperties<'a> {
    summary: &'a Summary,
    images: &'a [ImageInfo],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: [Location<'a>; 1],
    /// The same secret's other places in the image.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<Location<'a>>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Text>,
    physical_location: PhysicalLocation,
    logical_locations: [LogicalLocation<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    uri_base_id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u64,
    start_column: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation<'a> {
    name: &'a str,
    fully_qualified_name: String,
}

/// The finding's own fields, named as in the JSON report.
#[derive(Serialize)]
struct ResultProperties<'a> {
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    removed_by: Option<&'a RemovedBy>,
    confidence: Confidence,
    secret: &'a str,
    fingerprint: &'a str,
    value_fingerprint: &'a str,
    image: &'a str,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    reference: Option<&'a str>,
    platform: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    package: Option<&'a PackageRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    test_key: Option<&'a str>,
    #[serde(flatten)]
    location: &'a FindingLocation,
    places: &'a [Place],
}

/// Writes the SARIF log. `findings` are `outcome.findings` as they may be shown
/// (redacted unless revealing), in the same order.
pub(super) fn write(
    out: &mut dyn Write,
    outcome: &Outcome,
    findings: &[Finding],
) -> io::Result<()> {
    let infos = rule_infos(outcome, findings);
    let index: BTreeMap<&str, usize> = infos
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let results = findings
        .iter()
        .map(|f| result(f, index.get(f.rule_id.as_str()).copied().unwrap_or(0)))
        .collect();
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "layerhound",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: INFORMATION_URI,
                    rules: infos.iter().map(descriptor).collect(),
                },
            },
            automation_details: AutomationDetails { id: "layerhound/" },
            original_uri_base_ids: BTreeMap::from([(
                URI_BASE,
                BaseLocation {
                    description: Text {
                        text: URI_BASE_DESCRIPTION.into(),
                    },
                },
            )]),
            invocations: [Invocation {
                execution_successful: outcome.summary.errors.is_empty(),
                tool_execution_notifications: outcome
                    .summary
                    .errors
                    .iter()
                    .map(|e| Notification {
                        level: "error",
                        message: Text {
                            text: e.to_string(),
                        },
                    })
                    .collect(),
            }],
            results,
            properties: RunProperties {
                summary: &outcome.summary,
                images: &outcome.images,
            },
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// One entry per rule id that has findings, sorted by id; a rule the outcome does
/// not describe is described from its findings.
fn rule_infos(outcome: &Outcome, findings: &[Finding]) -> Vec<RuleInfo> {
    let mut by_id: BTreeMap<&str, RuleInfo> = BTreeMap::new();
    for f in findings {
        by_id.entry(f.rule_id.as_str()).or_insert_with(|| {
            outcome
                .rules
                .iter()
                .find(|r| r.id == f.rule_id)
                .cloned()
                .unwrap_or_else(|| RuleInfo {
                    id: f.rule_id.clone(),
                    name: f.rule_name.clone(),
                    description: None,
                    confidence: f.confidence,
                    references: Vec::new(),
                })
        });
    }
    by_id.into_values().collect()
}

fn descriptor(r: &RuleInfo) -> Descriptor {
    let full = r
        .description
        .clone()
        .unwrap_or_else(|| format!("Finds {} in image layers and image metadata.", r.name));
    Descriptor {
        id: r.id.clone(),
        name: shorten(&pascal_case(&r.id), MAX_NAME),
        short_description: Text {
            text: shorten(&r.name, MAX_DESCRIPTION),
        },
        full_description: Text {
            text: shorten(&full, MAX_DESCRIPTION),
        },
        help: help(r, &full),
        help_uri: r.references.first().cloned(),
        default_configuration: Configuration { level: "error" },
        properties: DescriptorProperties {
            tags: ["security", "secret", "external/cwe/cwe-798"],
            precision: r.confidence.as_str(),
            security_severity: match r.confidence {
                Confidence::High => "8.0",
                Confidence::Medium => "5.5",
                Confidence::Low => "2.0",
            },
        },
    }
}

const WHY: &str = "Anyone who can pull the image can read this secret. Layers are immutable: a file deleted, overwritten or hidden by a later layer is still stored in the layer that added it, and `docker save` or any registry client extracts it. Image metadata (Env, Labels, Cmd, build history) is shown by `docker inspect`.";
const WHAT: [&str; 3] = [
    "Treat the secret as exposed: revoke or rotate it with its issuer.",
    "Rebuild the image without it. Deleting the file in a later layer does not remove it; pass build-time secrets with BuildKit secret mounts, not COPY, ARG or ENV.",
    "Replace the pushed image and remove the old tags and digests from every registry that holds them.",
];

fn help(r: &RuleInfo, full: &str) -> Help {
    let mut text = format!(
        "{} ({}). {full}\n\nWhy it matters: {WHY}\n\nWhat to do:\n",
        r.name, r.id
    );
    let mut markdown = format!(
        "**{}** (`{}`). {full}\n\n### Why it matters\n\n{WHY}\n\n### What to do\n\n",
        r.name, r.id
    );
    for (i, step) in WHAT.iter().enumerate() {
        text.push_str(&format!("{}. {step}\n", i + 1));
        markdown.push_str(&format!("{}. {step}\n", i + 1));
    }
    if !r.references.is_empty() {
        text.push_str("\nReferences:\n");
        markdown.push_str("\n### References\n\n");
        for u in &r.references {
            text.push_str(&format!("- {u}\n"));
            markdown.push_str(&format!("- <{u}>\n"));
        }
    }
    Help { text, markdown }
}

/// `github-pat` → `GithubPat`: the identifier form SARIF suggests for rule names.
fn pascal_case(id: &str) -> String {
    let name: String = id
        .split(|c: char| !c.is_ascii_alphanumeric())
        .flat_map(|w| {
            let mut cs = w.chars();
            cs.next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(cs)
        })
        .collect();
    if name.is_empty() {
        id.to_string()
    } else {
        name
    }
}

/// One place of a finding as a SARIF location: a relative URI under the image base,
/// and the image as its logical location.
fn location<'a>(f: &'a Finding, loc: &FindingLocation) -> Location<'a> {
    let (uri, place) = match (loc.layer_index, &loc.field) {
        (Some(i), _) => {
            let inner = loc.nested.iter().skip(1).flat_map(|p| p.split('/'));
            let path = loc.path.as_deref().unwrap_or_default().split('/');
            (
                uri_of(
                    ["layer", &i.to_string()]
                        .into_iter()
                        .chain(path)
                        .chain(inner),
                ),
                format!("layer {i}"),
            )
        }
        (None, Some(field)) => (uri_of(["config", field.as_str()]), "config".to_string()),
        (None, None) => (uri_of(["config"]), "config".to_string()),
    };
    let image = f.reference.as_deref().unwrap_or(&f.image);
    Location {
        id: None,
        message: None,
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri,
                uri_base_id: URI_BASE,
            },
            region: region(loc),
        },
        logical_locations: [LogicalLocation {
            name: image,
            fully_qualified_name: format!("{image} ({}) {place}", f.platform),
        }],
    }
}

fn result(f: &Finding, rule_index: usize) -> SarifResult<'_> {
    let loc = &f.location;
    let related = f
        .places
        .iter()
        .skip(1)
        .enumerate()
        .map(|(i, p)| Location {
            id: Some(i + 1),
            message: Some(Text {
                text: format!("The same secret, {}.", p.status.as_str()),
            }),
            ..location(f, &p.location)
        })
        .collect();
    SarifResult {
        rule_id: &f.rule_id,
        rule_index,
        level: level(f.status),
        message: Text { text: message(f) },
        locations: [location(f, loc)],
        related_locations: related,
        partial_fingerprints: BTreeMap::from([
            (FINGERPRINT_KEY, f.fingerprint.clone()),
            ("primaryLocationLineHash", line_hash(&f.fingerprint)),
            (VALUE_FINGERPRINT_KEY, f.value_fingerprint.clone()),
        ]),
        properties: ResultProperties {
            status: f.status,
            removed_by: f.removed_by.as_ref(),
            confidence: f.confidence,
            secret: &f.secret,
            fingerprint: &f.fingerprint,
            value_fingerprint: &f.value_fingerprint,
            image: &f.image,
            reference: f.reference.as_deref(),
            platform: &f.platform,
            package: f.package.as_ref(),
            test_key: f.test_key.as_deref(),
            location: loc,
            places: &f.places,
        },
    }
}

/// `error` where a container or `docker inspect` shows the secret, `warning` where
/// only an earlier layer holds it.
fn level(status: Status) -> &'static str {
    match status {
        Status::Present | Status::Metadata => "error",
        Status::Deleted | Status::Overwritten | Status::Opaque => "warning",
    }
}

fn message(f: &Finding) -> String {
    let layer = f.location.layer_index.unwrap_or_default();
    let by = |verb: &str| match &f.removed_by {
        Some(rb) => {
            let step = rb
                .created_by
                .as_deref()
                .map(|s| format!(" by `{}`", shorten(s, 80)))
                .unwrap_or_default();
            format!(
                "{verb} in layer {}{step}, but still readable from layer {layer}",
                rb.layer_index
            )
        }
        None => format!("{verb} in a later layer, but still readable from layer {layer}"),
    };
    let what = match f.status {
        Status::Present => "still present in the final filesystem".to_string(),
        Status::Deleted => by("deleted"),
        Status::Overwritten => by("overwritten"),
        Status::Opaque => by("hidden by an opaque directory"),
        Status::Metadata => format!(
            "in the image metadata ({}), shown by docker inspect",
            f.location
                .field_name
                .as_deref()
                .or(f.location.field.as_deref())
                .unwrap_or("config")
        ),
    };
    format!("{}, {what}.", f.rule_name)
}

/// Where the secret starts. The end is left out: it would give away the secret's
/// length, and results read from the layer cache know only its first characters.
fn region(loc: &FindingLocation) -> Region {
    Region {
        start_line: loc.line.max(1),
        start_column: loc.column.max(1),
    }
}

/// GitHub matches alerts across uploads by `primaryLocationLineHash`; the finding's
/// fingerprint already names the rule, secret and place, so its first 16 hex digits
/// serve, in GitHub's `hash:occurrence` form.
fn line_hash(fingerprint: &str) -> String {
    let hex = fingerprint.rsplit(':').next().unwrap_or(fingerprint);
    format!("{}:1", hex.get(..16).unwrap_or(hex))
}

/// Joins non-empty segments with `/`, each percent-encoded so that only RFC 3986
/// path characters remain and `.`/`..` stay names rather than steps.
fn uri_of<'s>(segments: impl IntoIterator<Item = &'s str>) -> String {
    segments
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(|s| match s {
            "." => "%2E".to_string(),
            ".." => "%2E%2E".to_string(),
            _ => encode_segment(s),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_encoded_per_segment() {
        assert_eq!(
            uri_of(["layer", "4", "root", ".aws", "credentials"]),
            "layer/4/root/.aws/credentials"
        );
        assert_eq!(uri_of(["config", "Env[1]"]), "config/Env%5B1%5D");
        assert_eq!(
            uri_of(["layer", "0", "my dir", "ü#?%", "", "..", "."]),
            "layer/0/my%20dir/%C3%BC%23%3F%25/%2E%2E/%2E"
        );
        assert_eq!(
            uri_of(["config", "annotations.a/b"]),
            "config/annotations.a%2Fb"
        );
    }

    #[test]
    fn rule_names_are_pascal_case() {
        assert_eq!(pascal_case("github-pat"), "GithubPat");
        assert_eq!(pascal_case("private-key-rsa"), "PrivateKeyRsa");
        assert_eq!(pascal_case("corp.os_2"), "CorpOs2");
        assert_eq!(pascal_case("--"), "--");
    }

    #[test]
    fn region_is_the_start_only() {
        let loc = FindingLocation {
            line: 0,
            column: 8,
            ..FindingLocation::default()
        };
        let r = region(&loc);
        assert_eq!((r.start_line, r.start_column), (1, 8));
    }

    #[test]
    fn line_hash_is_a_prefix_of_the_fingerprint() {
        assert_eq!(
            line_hash("sha256:0123456789abcdef0123456789abcdef"),
            "0123456789abcdef:1"
        );
    }
}
