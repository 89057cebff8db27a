//! OCI image layouts (a directory or a tar): `index.json` → (nested) indexes →
//! manifests → config and layers. Every manifest reachable from the index is an image;
//! a multi-platform index gives one image per platform.

use super::{
    Resolved, SourceIssue, Store, attach_config, blob_path, invalid_digest, read_json,
    read_json_blob,
};
use crate::error::ErrorKind;
use crate::error::{Error, Result};
use crate::image::{Image, LayerRef, annotation_fields, config_fields, platform_of};
use crate::layer::LAYER_MEDIA_TYPES;
use crate::util::short_digest;
use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};
use serde_json::Value;
use std::collections::HashMap;

const REF_NAME: &str = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME: &str = "io.containerd.image.name";
const MAX_DEPTH: usize = 16;

const INDEX_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
/// Config media types of images; a manifest with another is an OCI artifact.
const IMAGE_CONFIG_TYPES: &[&str] = &[
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// A descriptor in a list that does not parse: its annotations (those that are
/// strings) and what is wrong with it.
struct BadDescriptor {
    annotations: HashMap<String, String>,
    error: Error,
}

/// Each descriptor of a list (an index's `manifests`, a manifest's `layers`), or what
/// is wrong with it.
type Descriptors = Vec<std::result::Result<Descriptor, Box<BadDescriptor>>>;

/// Reads a JSON document holding a list of descriptors in `field` (checking its digest
/// when one is expected). It is read typed; should that fail and some descriptor of the
/// list not parse on its own, the rest of the document is read typed without the list,
/// so that one bad descriptor costs only itself. `list` gives the typed document's own.
fn read_with_descriptors<T: serde::de::DeserializeOwned>(
    store: &Store,
    name: &str,
    expected: Option<&str>,
    issues: &mut Vec<SourceIssue>,
    field: &str,
    list: impl Fn(&T) -> &Vec<Descriptor>,
) -> Result<WithDescriptors<T>> {
    let (blob, _) = read_json_blob(store, name, expected, issues)?;
    let json_error = |e: serde_json::Error| Error::Json {
        what: name.to_string(),
        reason: e.to_string(),
    };
    let whole = match serde_json::from_slice::<T>(blob.bytes()) {
        Ok(t) => {
            let descs = list(&t).iter().cloned().map(Ok).collect();
            return Ok((t, descs));
        }
        Err(e) => e,
    };
    let mut doc: Value = match serde_json::from_slice(blob.bytes()) {
        Ok(v) => v,
        Err(_) => return Err(json_error(whole)),
    };
    let Some(items) = doc
        .get_mut(field)
        .and_then(Value::as_array_mut)
        .map(std::mem::take)
    else {
        return Err(json_error(whole));
    };
    let descs: Descriptors = items.into_iter().map(descriptor_of).collect();
    if descs.iter().all(std::result::Result::is_ok) {
        // The list was not the trouble.
        return Err(json_error(whole));
    }
    let t = serde_json::from_value::<T>(doc).map_err(json_error)?;
    Ok((t, descs))
}

/// A typed document and its descriptors.
type WithDescriptors<T> = (T, Descriptors);

/// One descriptor of a list, read on its own: a malformed digest (the usual reason a
/// descriptor does not parse) is an invalid digest, anything else invalid JSON.
fn descriptor_of(v: Value) -> std::result::Result<Descriptor, Box<BadDescriptor>> {
    let annotations = v
        .get("annotations")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let digest = v
        .get("digest")
        .map(|d| d.as_str().map_or_else(|| d.to_string(), str::to_string));
    serde_json::from_value::<Descriptor>(v).map_err(|e| {
        Box::new(BadDescriptor {
            annotations,
            error: match digest {
                Some(d) if blob_path(&d).is_err() => invalid_digest(&d),
                _ => Error::Json {
                    what: "descriptor".to_string(),
                    reason: e.to_string(),
                },
            },
        })
    })
}

/// How an image is named in its errors: its reference name and manifest, or the
/// manifest alone.
fn image_name(name: Option<&str>, manifest_digest: &str) -> String {
    match name {
        Some(n) => format!("{n} (manifest {})", short_digest(manifest_digest)),
        None => format!("manifest {}", short_digest(manifest_digest)),
    }
}

struct Walk<'a> {
    store: &'a Store,
    label: &'a str,
    out: Resolved,
    seen_manifests: std::collections::HashSet<String>,
    /// Indexes already walked: one reached again (a diamond, or one index listed many
    /// times) can only lead to manifests already seen, so it is not walked twice.
    seen_indexes: std::collections::HashSet<String>,
    /// Attestations read, given to the images they attest once all are listed.
    attestations: Vec<super::attestation::Attestation>,
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
        attestations: Vec::new(),
    };
    let (_, entries) = read_with_descriptors::<ImageIndex>(
        store,
        "index.json",
        None,
        &mut w.out.issues,
        "manifests",
        ImageIndex::manifests,
    )?;
    let mut names = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let ann = match &entry {
            Ok(desc) => desc.annotations().clone().unwrap_or_default(),
            Err(bad) => bad.annotations.clone(),
        };
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
        let place = match &name {
            Some(n) => format!("index.json: manifests[{i}] ({n})"),
            None => format!("index.json: manifests[{i}]"),
        };
        match entry {
            Ok(desc) => w.descriptor(&desc, name.as_deref(), &place, &mut Vec::new(), Vec::new()),
            Err(bad) => w.issue(bad.error.kind(), format!("{label}: {place}: {}", bad.error)),
        }
    }
    for a in std::mem::take(&mut w.attestations) {
        let attested: Vec<&mut Image> = w
            .out
            .images
            .iter_mut()
            .filter(|i| a.subject.is_some() && i.manifest_digest == a.subject)
            .collect();
        if attested.is_empty() {
            w.out.skipped.push(format!(
                "{label}: attestation manifest {}: attests {}, not an image read here; not scanned",
                a.digest,
                a.subject.as_deref().unwrap_or("no named manifest")
            ));
        }
        for img in attested {
            img.metadata.extend(a.fields.iter().cloned());
        }
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

    /// Walks the index or manifest `desc` names; `place` says where the descriptor is
    /// (`index.json: manifests[0]`), for its errors.
    fn descriptor(
        &mut self,
        desc: &Descriptor,
        name: Option<&str>,
        place: &str,
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
        if super::attestation::is_attestation(desc) {
            match super::attestation::read(self.store, desc, self.label) {
                Ok(a) => self.attestations.push(a),
                Err(note) => self.out.skipped.push(note),
            }
            return;
        }
        let path = match blob_path(&digest) {
            Ok(p) => p,
            Err(e) => return self.issue(e.kind(), format!("{}: {place}: {e}", self.label)),
        };
        if INDEX_TYPES.contains(&media.as_str()) {
            if !self.seen_indexes.insert(digest.clone()) {
                return;
            }
            let entries = match read_with_descriptors::<ImageIndex>(
                self.store,
                &path,
                Some(&digest),
                &mut self.out.issues,
                "manifests",
                ImageIndex::manifests,
            ) {
                Ok((_, entries)) => entries,
                Err(e) => {
                    return self.issue(e.kind(), format!("{}: index {digest}: {e}", self.label));
                }
            };
            chain.push(digest.clone());
            for (i, entry) in entries.into_iter().enumerate() {
                let place = match name {
                    Some(n) => format!("{n} (index {}): manifests[{i}]", short_digest(&digest)),
                    None => format!("index {}: manifests[{i}]", short_digest(&digest)),
                };
                match entry {
                    Ok(d) => self.descriptor(&d, name, &place, chain, inherited.clone()),
                    Err(bad) => self.issue(
                        bad.error.kind(),
                        format!("{}: {place}: {}", self.label, bad.error),
                    ),
                }
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
        let (manifest, layer_descs) = match read_with_descriptors::<ImageManifest>(
            self.store,
            path,
            Some(&digest),
            &mut self.out.issues,
            "layers",
            ImageManifest::layers,
        ) {
            Ok(m) => m,
            Err(e) => {
                return self.issue(e.kind(), format!("{}: manifest {digest}: {e}", self.label));
            }
        };
        let image = format!("{}: {}", self.label, image_name(name, &digest));
        let cdesc = manifest.config();
        let cdigest = cdesc.digest().to_string();
        if !IMAGE_CONFIG_TYPES.contains(&cdesc.media_type().to_string().as_str()) {
            return self.artifact(&manifest, layer_descs, &digest, name, inherited);
        }
        let cfg: ImageConfiguration = match blob_path(&cdigest)
            .and_then(|p| read_json(self.store, &p, Some(&cdigest), &mut self.out.issues))
        {
            Ok((c, _)) => c,
            Err(e) => {
                return self.issue(e.kind(), format!("{}: config {cdigest}: {e}", self.label));
            }
        };
        let listed = layer_descs.len();
        let mut layers = Vec::new();
        for (l, _) in self.layer_refs(&image, layer_descs) {
            let media = l.media_type.as_deref().unwrap_or_default();
            if !LAYER_MEDIA_TYPES.contains(&media) {
                self.issue(
                    ErrorKind::Corrupt,
                    format!(
                        "{}: layer {} ({}): unknown media type {media:?}; scanned by content",
                        self.label,
                        l.index,
                        l.digest.as_deref().unwrap_or_default()
                    ),
                );
            }
            layers.push(l);
        }
        attach_config(&mut layers, listed, &cfg, &image, &mut self.out.issues);
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

    /// The layers of a manifest whose descriptors are good, as layer refs with their
    /// descriptors; a bad one is left out (its index kept by the others) with one error
    /// naming it.
    fn layer_refs(
        &mut self,
        image: &str,
        descs: Vec<std::result::Result<Descriptor, Box<BadDescriptor>>>,
    ) -> Vec<(LayerRef, Descriptor)> {
        let mut out = Vec::new();
        for (index, l) in descs.into_iter().enumerate() {
            let l = match l {
                Ok(l) => l,
                Err(bad) => {
                    self.issue(
                        bad.error.kind(),
                        format!("{image}: layer {index}: {}", bad.error),
                    );
                    continue;
                }
            };
            let ld = l.digest().to_string();
            let blob = match blob_path(&ld) {
                Ok(p) => p,
                Err(e) => {
                    self.issue(e.kind(), format!("{image}: layer {index}: {e}"));
                    continue;
                }
            };
            let layer = LayerRef {
                index,
                blob,
                digest: Some(ld),
                diff_id: None,
                media_type: Some(l.media_type().to_string()),
                size: Some(l.size()),
                created_by: None,
                title: None,
            };
            out.push((layer, l));
        }
        out
    }

    /// An OCI artifact (a Helm chart, a signature, an SBOM, a WASM module…): a
    /// manifest whose config is not an image config. Its layers are scanned by their
    /// content — archives walked, anything else as one file named by its title — with
    /// the artifact type in place of the platform; its annotations are metadata.
    fn artifact(
        &mut self,
        manifest: &ImageManifest,
        layer_descs: Vec<std::result::Result<Descriptor, Box<BadDescriptor>>>,
        digest: &str,
        name: Option<&str>,
        inherited: Vec<(String, String)>,
    ) {
        let cdesc = manifest.config();
        let kind = manifest
            .artifact_type()
            .as_ref()
            .map(|t| t.to_string())
            .unwrap_or_else(|| cdesc.media_type().to_string());
        let image = format!("{}: {}", self.label, image_name(name, digest));
        let mut layers = Vec::new();
        for (mut l, desc) in self.layer_refs(&image, layer_descs) {
            let media = l.media_type.clone().unwrap_or_default();
            l.title = Some(
                desc.annotations()
                    .as_ref()
                    .and_then(|a| a.get("org.opencontainers.image.title"))
                    .cloned()
                    .unwrap_or_else(|| media.replace('/', "_")),
            );
            l.created_by = Some(format!("{kind} layer ({media})"));
            layers.push(l);
        }
        let mut ann: HashMap<String, String> = inherited.into_iter().collect();
        ann.extend(manifest.annotations().clone().unwrap_or_default());
        self.out.images.push(Image {
            source: self.label.to_string(),
            reference: name.map(str::to_string),
            tags: name.map(str::to_string).into_iter().collect(),
            repo_digests: Vec::new(),
            platform: format!("artifact {kind}"),
            config_digest: cdesc.digest().to_string(),
            manifest_digest: Some(digest.to_string()),
            layers,
            metadata: annotation_fields(ann.iter()),
        });
    }
}
