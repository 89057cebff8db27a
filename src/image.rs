//! The image model every source produces: refs, platform, config metadata and the
//! ordered layers with their expected digests and the build step that made each.

use oci_spec::image::ImageConfiguration;

/// One layer of one image, as the manifest and config describe it.
#[derive(Clone, Debug)]
pub struct LayerRef {
    /// Position in the image, 0-based.
    pub index: usize,
    /// Name of the blob in the store.
    pub blob: String,
    /// Expected blob digest, from the manifest (None for classic docker save).
    pub digest: Option<String>,
    /// Expected diff_id, from the config's rootfs.
    pub diff_id: Option<String>,
    pub media_type: Option<String>,
    pub size: Option<u64>,
    /// The history step that made this layer.
    pub created_by: Option<String>,
    /// For a layer of an OCI artifact that is not a tar: the file name it is scanned
    /// under (its `org.opencontainers.image.title`, else its media type).
    pub title: Option<String>,
}

/// A metadata field to scan, e.g. `Env[2]` with its value.
#[derive(Clone, Debug)]
pub struct MetaField {
    pub field: String,
    /// What the field is, for people: `Env GITHUB_TOKEN`, `Label org.example.source`,
    /// `history[10], the build step of layer 3`.
    pub name: String,
    pub value: String,
    /// For a build step: the layer it made (None for steps that made no layer).
    pub layer_index: Option<usize>,
}

/// One image (one platform of one reference) in an input.
#[derive(Clone, Debug)]
pub struct Image {
    /// The input it came from, as `transport:path`.
    pub source: String,
    /// The reference it is known by (first tag or ref name).
    pub reference: Option<String>,
    /// Every tag or name it is known by.
    pub tags: Vec<String>,
    /// Registry digests (`name@sha256:…`) the daemon knows it by.
    pub repo_digests: Vec<String>,
    /// `os/arch[/variant]`.
    pub platform: String,
    pub config_digest: String,
    pub manifest_digest: Option<String>,
    pub layers: Vec<LayerRef>,
    pub metadata: Vec<MetaField>,
}

/// Builds the platform string of a config.
pub fn platform_of(cfg: &ImageConfiguration) -> String {
    let mut p = format!("{}/{}", cfg.os(), cfg.architecture());
    if let Some(v) = cfg.variant() {
        p.push('/');
        p.push_str(v);
    }
    p
}

/// The metadata fields of a config that get scanned, with their field names.
pub fn config_fields(cfg: &ImageConfiguration) -> Vec<MetaField> {
    let mut out = Vec::new();
    let mut push = |field: String, name: String, value: &str, layer_index: Option<usize>| {
        if !value.is_empty() {
            out.push(MetaField {
                field,
                name,
                value: value.to_string(),
                layer_index,
            });
        }
    };
    if let Some(c) = cfg.config() {
        for (i, e) in c.env().iter().flatten().enumerate() {
            let var = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
            push(format!("Env[{i}]"), format!("Env {var}"), e, None);
        }
        let mut labels: Vec<_> = c.labels().iter().flatten().collect();
        labels.sort();
        for (k, v) in labels {
            push(
                format!("Labels.{k}"),
                format!("Label {k}"),
                &format!("{k}={v}"),
                None,
            );
        }
        for (i, e) in c.cmd().iter().flatten().enumerate() {
            push(format!("Cmd[{i}]"), format!("Cmd[{i}]"), e, None);
        }
        for (i, e) in c.entrypoint().iter().flatten().enumerate() {
            push(
                format!("Entrypoint[{i}]"),
                format!("Entrypoint[{i}]"),
                e,
                None,
            );
        }
    }
    let mut layer = 0;
    for (i, h) in cfg.history().iter().flatten().enumerate() {
        let made = !h.empty_layer().unwrap_or(false);
        if let Some(cb) = h.created_by() {
            let (name, index) = if made {
                (
                    format!("history[{i}], the build step of layer {layer}"),
                    Some(layer),
                )
            } else {
                (
                    format!("history[{i}], a build step that made no layer"),
                    None,
                )
            };
            push(format!("history[{i}].created_by"), name, cb, index);
        }
        if made {
            layer += 1;
        }
    }
    out
}

/// Annotation fields (`annotations.<key>`), sorted by key.
pub fn annotation_fields<'a>(
    annotations: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Vec<MetaField> {
    let mut v: Vec<_> = annotations.into_iter().collect();
    v.sort();
    v.into_iter()
        .map(|(k, val)| MetaField {
            field: format!("annotations.{k}"),
            name: format!("Annotation {k}"),
            value: format!("{k}={val}"),
            layer_index: None,
        })
        .collect()
}

/// `created_by` of each non-empty history entry, in order: the build step of each layer.
pub fn layer_steps(cfg: &ImageConfiguration) -> Vec<Option<String>> {
    cfg.history()
        .iter()
        .flatten()
        .filter(|h| !h.empty_layer().unwrap_or(false))
        .map(|h| h.created_by().clone())
        .collect()
}
