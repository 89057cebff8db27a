//! `docker save` archives: `manifest.json` lists each image's config and layers. The
//! classic layout names them `<hex>.json` and `<id>/layer.tar`; Docker 25+ names them
//! `blobs/sha256/<hex>` inside an OCI layout. The same reader serves both.

use super::{Resolved, SourceIssue, Store, attach_config, read_json};
use crate::error::{Error, Result};
use crate::image::{Image, LayerRef, config_fields, platform_of};
use oci_spec::image::ImageConfiguration;
use serde::Deserialize;

/// One element of `manifest.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SaveManifestEntry {
    pub config: String,
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    /// Layer file names; read one by one, so that an entry that is no file name costs
    /// only its layer.
    #[serde(default)]
    pub layers: Vec<serde_json::Value>,
}

/// The digest a save-archive member name implies (`<hex>.json`, `blobs/sha256/<hex>`).
fn implied_digest(name: &str) -> Option<String> {
    let stem = name
        .strip_prefix("blobs/sha256/")
        .or_else(|| name.strip_suffix(".json"))?;
    (stem.len() == 64 && stem.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("sha256:{stem}"))
}

/// Whether a reference names a tag (`name` means `name:latest`).
pub fn ref_matches(tag: &str, wanted: &str) -> bool {
    let norm = |s: &str| {
        let last = s.rsplit('/').next().unwrap_or(s);
        if last.contains(':') || s.contains('@') {
            s.to_string()
        } else {
            format!("{s}:latest")
        }
    };
    norm(tag) == norm(wanted)
        || norm(tag.trim_start_matches("docker.io/library/")) == norm(wanted)
        || norm(tag.trim_start_matches("docker.io/")) == norm(wanted)
}

/// Lists the images of a docker save archive.
pub fn images(store: &Store, label: &str, wanted: Option<&str>) -> Result<Resolved> {
    if !store.contains("manifest.json") {
        return Err(Error::Format(format!(
            "{label}: no manifest.json: not a docker save archive{}",
            if store.contains("oci-layout") {
                " (it holds an OCI layout: use oci-archive:)"
            } else {
                ""
            }
        )));
    }
    let mut out = Resolved::default();
    let (entries, _): (Vec<SaveManifestEntry>, _) =
        read_json(store, "manifest.json", None, &mut out.issues)?;
    if entries.is_empty() {
        return Err(Error::Format(format!(
            "{label}: manifest.json lists no images"
        )));
    }
    let mut seen_configs = std::collections::HashSet::new();
    let mut all_tags: Vec<String> = Vec::new();
    for entry in entries {
        let tags = entry.repo_tags.clone().unwrap_or_default();
        all_tags.extend(tags.iter().cloned());
        if let Some(w) = wanted
            && !tags.iter().any(|t| ref_matches(t, w))
        {
            continue;
        }
        if !seen_configs.insert(entry.config.clone()) {
            continue;
        }
        let expected = implied_digest(&entry.config);
        let (cfg, config_digest): (ImageConfiguration, String) =
            match read_json(store, &entry.config, expected.as_deref(), &mut out.issues) {
                Ok(v) => v,
                Err(e) => {
                    out.issues.push(SourceIssue {
                        kind: e.kind(),
                        message: format!("{label}: config {}: {e}", entry.config),
                    });
                    continue;
                }
            };
        let image = match tags.first() {
            Some(t) => format!("{label}: {t}"),
            None => format!("{label}: config {}", entry.config),
        };
        let mut layers: Vec<LayerRef> = Vec::new();
        for (index, name) in entry.layers.iter().enumerate() {
            // A name that escapes the archive or names nothing fails when the layer is
            // read (the store refuses it); an entry that is no name fails here.
            let Some(name) = name.as_str() else {
                out.issues.push(SourceIssue {
                    kind: crate::error::ErrorKind::Corrupt,
                    message: format!(
                        "{image}: layer {index}: manifest.json Layers[{index}] is {}, not a file name",
                        super::clip(&name.to_string(), 80)
                    ),
                });
                continue;
            };
            layers.push(LayerRef {
                index,
                blob: name.to_string(),
                digest: name
                    .strip_prefix("blobs/")
                    .and_then(|_| implied_digest(name)),
                diff_id: None,
                media_type: None,
                size: None,
                created_by: None,
                title: None,
            });
        }
        attach_config(
            &mut layers,
            entry.layers.len(),
            &cfg,
            &image,
            &mut out.issues,
        );
        out.images.push(Image {
            source: label.to_string(),
            reference: tags.first().cloned(),
            tags,
            repo_digests: Vec::new(),
            platform: platform_of(&cfg),
            config_digest,
            manifest_digest: None,
            layers,
            metadata: config_fields(&cfg),
        });
    }
    if out.images.is_empty()
        && let Some(w) = wanted
    {
        return Err(Error::Target(format!(
            "{label}: no image tagged {w} (tags there: {})",
            if all_tags.is_empty() {
                "none".to_string()
            } else {
                all_tags.join(", ")
            }
        )));
    }
    Ok(out)
}
