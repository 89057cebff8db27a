//! OCI image layouts (a directory or a tar): `index.json` → (nested) indexes →
//! manifests → config and layers. Every manifest reachable from the index is an image;
//! a multi-platform index gives one image per platform.

use super::{Resolved, SourceIssue, Store, attach_config, blob_path, read_json};
use crate::error::ErrorKind;
use crate::error::{Error, Result};
use crate::image::{Image, LayerRef, annotation_fields, config_fields, platform_of};
use crate::layer::LAYER_MEDIA_TYPES;
use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};
use std::collections::HashMap;

const REF_NAME: &str = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME: &str = "io.containerd.image.name";
const MAX_DEPTH: usize = 16;

const INDEX_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

struct Walk<'a> {
    store: &'a Store,
    label: &'a str,
    out: Resolved,
    seen_manifests: std::collections::HashSet<String>,
    /// Indexes already walked: one reached again (a diamond, or one index listed many
    /// times) can only lead to manifests already seen, so it is not walked twice.
    seen_indexes: std::collections::HashSet<String>,
}

/// Lists the images of an OCI layout.
pub fn images(store: &Store, label: &str, wanted: Option<&str>) -> Result<Resolved> {
    if !store.contains("index.json") {
        return Err(Error::Format(format!(
            "{label}: no index.json: not an OCI image layout{}",
            if store.contains("manifest.json") {
                " (it holds a docker save archive: use docker-archive:)"
            } else {
                ""
            }
        )));
    }
    let mut w = Walk {
        store,
        label,
        out: Resolved::default(),
        seen_manifests: Default::default(),
        seen_indexes: Default::default(),
    };
    let (index, _): (ImageIndex, _) = read_json(store, "index.json", None, &mut w.out.issues)?;
    let mut names = Vec::new();
    for desc in index.manifests() {
        let ann = desc.annotations().clone().unwrap_or_default();
        let name = ann
            .get(CONTAINERD_NAME)
            .or_else(|| ann.get(REF_NAME))
            .cloned();
        if let Some(want) = wanted {
            let ok = ann.get(REF_NAME).is_some_and(|r| r == want)
                || ann
                    .get(CONTAINERD_NAME)
                    .is_some_and(|r| super::docker::ref_matches(r, want));
            if !ok {
                if let Some(n) = &name {
                    names.push(n.clone());
                }
                continue;
            }
        }
        w.descriptor(desc, name.as_deref(), &mut Vec::new(), Vec::new());
    }
    if let Some(want) = wanted
        && w.out.images.is_empty()
        && w.out.issues.is_empty()
    {
        return Err(Error::Target(format!(
            "{label}: no image named {want:?} (index.json names: {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )));
    }
    Ok(w.out)
}

impl Walk<'_> {
    fn issue(&mut self, kind: ErrorKind, message: String) {
        self.out.issues.push(SourceIssue { kind, message });
    }

    fn descriptor(
        &mut self,
        desc: &Descriptor,
        name: Option<&str>,
        chain: &mut Vec<String>,
        mut inherited: Vec<(String, String)>,
    ) {
        let digest = desc.digest().to_string();
        let media = desc.media_type().to_string();
        if chain.contains(&digest) {
            self.issue(
                ErrorKind::Corrupt,
                format!("{}: index loop at {digest}", self.label),
            );
            return;
        }
        if chain.len() >= MAX_DEPTH {
            self.issue(
                ErrorKind::Corrupt,
                format!(
                    "{}: indexes nested deeper than {MAX_DEPTH} at {digest}",
                    self.label
                ),
            );
            return;
        }
        for (k, v) in desc.annotations().iter().flatten() {
            inherited.push((k.clone(), v.clone()));
        }
        if desc
            .annotations()
            .as_ref()
            .and_then(|a| a.get("vnd.docker.reference.type"))
            .is_some_and(|t| t == "attestation-manifest")
        {
            self.out.skipped.push(format!("{}: {digest}", self.label));
            return;
        }
        let path = match blob_path(&digest) {
            Ok(p) => p,
            Err(e) => return self.issue(e.kind(), format!("{}: {e}", self.label)),
        };
        if INDEX_TYPES.contains(&media.as_str()) {
            if !self.seen_indexes.insert(digest.clone()) {
                return;
            }
            let index: ImageIndex =
                match read_json(self.store, &path, Some(&digest), &mut self.out.issues) {
                    Ok((i, _)) => i,
                    Err(e) => {
                        return self
                            .issue(e.kind(), format!("{}: index {digest}: {e}", self.label));
                    }
                };
            chain.push(digest);
            for d in index.manifests() {
                self.descriptor(d, name, chain, inherited.clone());
            }
            chain.pop();
        } else if MANIFEST_TYPES.contains(&media.as_str()) {
            if !self.seen_manifests.insert(digest.clone()) {
                return;
            }
            self.manifest(desc, &path, name, inherited);
        } else {
            self.issue(ErrorKind::Corrupt, format!(
                "{}: descriptor {digest}: unknown media type {media:?} (expected an image index or manifest)",
                self.label
            ));
        }
    }

    fn manifest(
        &mut self,
        desc: &Descriptor,
        path: &str,
        name: Option<&str>,
        inherited: Vec<(String, String)>,
    ) {
        let digest = desc.digest().to_string();
        let manifest: ImageManifest =
            match read_json(self.store, path, Some(&digest), &mut self.out.issues) {
                Ok((m, _)) => m,
                Err(e) => {
                    return self.issue(e.kind(), format!("{}: manifest {digest}: {e}", self.label));
                }
            };
        let cdesc = manifest.config();
        let cdigest = cdesc.digest().to_string();
        let cfg: ImageConfiguration = match blob_path(&cdigest)
            .and_then(|p| read_json(self.store, &p, Some(&cdigest), &mut self.out.issues))
        {
            Ok((c, _)) => c,
            Err(e) => {
                return self.issue(e.kind(), format!("{}: config {cdigest}: {e}", self.label));
            }
        };
        let mut layers = Vec::new();
        for (index, l) in manifest.layers().iter().enumerate() {
            let ld = l.digest().to_string();
            let media = l.media_type().to_string();
            if !LAYER_MEDIA_TYPES.contains(&media.as_str()) {
                self.issue(ErrorKind::Corrupt, format!(
                    "{}: layer {index} ({ld}): unknown media type {media:?}; scanned by content",
                    self.label
                ));
            }
            let blob = match blob_path(&ld) {
                Ok(p) => p,
                Err(e) => {
                    self.issue(
                        ErrorKind::Corrupt,
                        format!("{}: layer {index}: {e}", self.label),
                    );
                    continue;
                }
            };
            layers.push(LayerRef {
                index,
                blob,
                digest: Some(ld),
                diff_id: None,
                media_type: Some(media),
                size: Some(l.size()),
                created_by: None,
            });
        }
        attach_config(
            &mut layers,
            manifest.layers().len(),
            &cfg,
            self.label,
            &mut self.out.issues,
        );
        let mut metadata = config_fields(&cfg);
        let mut ann: HashMap<String, String> = inherited.into_iter().collect();
        ann.extend(manifest.annotations().clone().unwrap_or_default());
        metadata.extend(annotation_fields(ann.iter()));
        let platform = desc
            .platform()
            .as_ref()
            .map(|p| {
                let mut s = format!("{}/{}", p.os(), p.architecture());
                if let Some(v) = p.variant() {
                    s.push('/');
                    s.push_str(v);
                }
                s
            })
            .unwrap_or_else(|| platform_of(&cfg));
        self.out.images.push(Image {
            source: self.label.to_string(),
            reference: name.map(str::to_string),
            tags: name.map(str::to_string).into_iter().collect(),
            repo_digests: Vec::new(),
            platform,
            config_digest: cdigest,
            manifest_digest: Some(digest),
            layers,
            metadata,
        });
    }
}
