//! Build attestations: BuildKit stores provenance (and SBOM) attestations as extra
//! manifests in an image index (annotation `vnd.docker.reference.type:
//! attestation-manifest`, layers of media type `application/vnd.in-toto+json`). In
//! provenance `mode=max` they record every build argument's value, so a token passed
//! with `--build-arg` is pushed with the image. Each string of an attestation becomes a
//! metadata field of the image it attests, located by its JSON path:
//! `attestation[provenance].predicate.invocation.parameters.args.build-arg:GH_TOKEN`.

use super::store::Store;
use super::{SourceIssue, read_json};
use crate::image::MetaField;
use crate::util::short_digest;
use oci_spec::image::{Descriptor, ImageManifest};
use serde_json::Value;

/// The annotation that marks an attestation manifest in an index.
pub const REFERENCE_TYPE: &str = "vnd.docker.reference.type";
/// The annotation that names the manifest an attestation is about.
pub const REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";
/// Most strings read from the attestations of one manifest.
const MAX_FIELDS: usize = 200_000;

/// Whether an index entry is an attestation manifest.
pub fn is_attestation(desc: &Descriptor) -> bool {
    desc.annotations()
        .as_ref()
        .and_then(|a| a.get(REFERENCE_TYPE))
        .is_some_and(|t| t == "attestation-manifest")
}

/// An attestation read: the manifest it attests and its strings as metadata fields.
pub struct Attestation {
    pub digest: String,
    pub subject: Option<String>,
    pub fields: Vec<MetaField>,
}

/// Reads the attestation manifest `desc` names and every in-toto statement in it. What
/// cannot be read is given back as a note (an attestation is not an image: it never
/// hides the images beside it).
pub fn read(store: &Store, desc: &Descriptor, label: &str) -> Result<Attestation, String> {
    let digest = desc.digest().to_string();
    let subject = desc
        .annotations()
        .as_ref()
        .and_then(|a| a.get(REFERENCE_DIGEST))
        .cloned();
    let note = |what: String| format!("{label}: attestation manifest {digest}: {what}");
    let path = super::blob_path(&digest).map_err(|e| note(e.to_string()))?;
    let mut issues: Vec<SourceIssue> = Vec::new();
    let (manifest, _): (ImageManifest, _) =
        read_json(store, &path, Some(&digest), &mut issues).map_err(|e| note(e.to_string()))?;
    let mut fields = Vec::new();
    for (i, layer) in manifest.layers().iter().enumerate() {
        let ld = layer.digest().to_string();
        let what = format!("layer {i} ({ld})");
        let media = layer.media_type().to_string();
        if !media.contains("json") {
            return Err(note(format!(
                "{what}: media type {media:?} is not JSON; not read"
            )));
        }
        let lpath = super::blob_path(&ld).map_err(|e| note(format!("{what}: {e}")))?;
        let (statement, _): (Value, _) = read_json(store, &lpath, Some(&ld), &mut issues)
            .map_err(|e| note(format!("{what}: {e}")))?;
        let kind = predicate_kind(
            layer
                .annotations()
                .as_ref()
                .and_then(|a| a.get("in-toto.io/predicate-type"))
                .map(String::as_str)
                .or_else(|| statement.get("predicateType").and_then(Value::as_str)),
        );
        let prefix = format!("attestation[{kind}]");
        let mut leaves = Vec::new();
        strings(&statement, &mut String::new(), &mut leaves);
        for (p, value) in leaves {
            if fields.len() >= MAX_FIELDS {
                return Err(note(format!(
                    "more than {MAX_FIELDS} strings; the rest are not read"
                )));
            }
            fields.push(MetaField {
                field: format!("{prefix}{p}"),
                name: format!("{kind} attestation {}: {}", short_digest(&digest), &p[1..]),
                value,
                layer_index: None,
            });
        }
    }
    if let Some(i) = issues.first() {
        return Err(note(i.message.clone()));
    }
    Ok(Attestation {
        digest,
        subject,
        fields,
    })
}

/// `provenance`, `sbom` or `attestation`, from an in-toto predicate type.
fn predicate_kind(t: Option<&str>) -> &'static str {
    match t {
        Some(t) if t.contains("provenance") => "provenance",
        Some(t) if t.contains("spdx") || t.contains("cyclonedx") => "sbom",
        _ => "attestation",
    }
}

/// Every string leaf of `v` with its path: `.key` for object members (`["key"]` when
/// the key holds a dot or a bracket), `[i]` for array elements.
fn strings(v: &Value, path: &mut String, out: &mut Vec<(String, String)>) {
    if out.len() > MAX_FIELDS {
        return;
    }
    match v {
        Value::String(s) => out.push((path.clone(), s.clone())),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                strings(x, path, out);
                path.truncate(len);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                let len = path.len();
                if k.contains(['.', '[', ']']) {
                    path.push_str(&format!("[{k:?}]"));
                } else {
                    path.push('.');
                    path.push_str(k);
                }
                strings(x, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_leaves_carry_their_json_paths() {
        let v: Value = serde_json::from_str(
            r#"{"predicate":{"invocation":{"parameters":{"args":{"build-arg:GH_TOKEN":"t","a.b":"x"}}},
                "materials":[{"uri":"u"},{"uri":"v"}]},"n":3}"#,
        )
        .unwrap();
        let mut out = Vec::new();
        strings(&v, &mut String::new(), &mut out);
        out.sort();
        assert_eq!(
            out,
            [
                (
                    ".predicate.invocation.parameters.args.build-arg:GH_TOKEN".to_string(),
                    "t".to_string()
                ),
                (
                    r#".predicate.invocation.parameters.args["a.b"]"#.to_string(),
                    "x".to_string()
                ),
                (".predicate.materials[0].uri".to_string(), "u".to_string()),
                (".predicate.materials[1].uri".to_string(), "v".to_string()),
            ]
        );
        assert_eq!(
            predicate_kind(Some("https://slsa.dev/provenance/v0.2")),
            "provenance"
        );
        assert_eq!(predicate_kind(Some("https://spdx.dev/Document")), "sbom");
        assert_eq!(predicate_kind(None), "attestation");
    }
}
