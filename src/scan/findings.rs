//! An image's findings from its layers' results: the order reports use, the rules
//! behind them, and the package records visible at a layer.

use super::Options;
use super::layer::{LayerResult, Secret, best_per_span, rehash_entries};
use crate::finding::{Finding, Location, RemovedBy, fingerprint};
use crate::image::Image;
use crate::matcher::Matcher;
use crate::outcome::{ImageInfo, LayerInfo, Outcome, RuleInfo, ScanError};
use crate::overlay::{LayerFs, Status, status_of};
use crate::packages::{FileHashes, PackageDb, is_package_db_path};
use crate::redact::HashedSecret;
use crate::source::Store;
use crate::spool::Spool;
use crate::thirdparty::ThirdParty;
use crate::util::{display_bytes, line_col};
use std::collections::{BTreeMap, HashMap};

/// Report order: image, then layer (config fields last), path, field, offset, rule.
pub(super) fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (
            &a.image,
            &a.reference,
            &a.platform,
            a.location.layer_index.map_or(usize::MAX, |i| i),
        )
            .cmp(&(
                &b.image,
                &b.reference,
                &b.platform,
                b.location.layer_index.map_or(usize::MAX, |i| i),
            ))
            .then_with(|| a.location.path.cmp(&b.location.path))
            .then_with(|| a.location.field.cmp(&b.location.field))
            .then_with(|| a.location.offset.cmp(&b.location.offset))
            .then_with(|| a.rule_id.cmp(&b.rule_id))
    });
}

/// The rules that produced `findings`, one per id, sorted by id.
pub(super) fn rules_used(matcher: &Matcher, findings: &[Finding]) -> Vec<RuleInfo> {
    let used: std::collections::BTreeSet<&str> =
        findings.iter().map(|f| f.rule_id.as_str()).collect();
    let mut by_id: BTreeMap<&str, RuleInfo> = BTreeMap::new();
    for r in &matcher.rules.rules {
        if used.contains(r.id.as_str()) {
            by_id.entry(r.id.as_str()).or_insert_with(|| r.into());
        }
    }
    by_id.into_values().collect()
}

/// The package records visible in the filesystem made by layers `0..=pos`.
pub(super) fn package_db_as_of(
    results: &[&LayerResult],
    fss: &[&LayerFs],
    pos: usize,
) -> (PackageDb, ThirdParty) {
    let below = &fss[..=pos];
    let mut visible: Vec<(&[u8], &[u8])> = Vec::new();
    for (j, r) in results.iter().enumerate().take(pos + 1) {
        for (entry, path, bytes) in &r.records {
            if status_of(below, j, *entry, path).0 == Status::Present {
                visible.push((path, bytes));
            }
        }
    }
    let (manifests, records): (Vec<_>, Vec<_>) = visible.into_iter().partition(|(p, _)| {
        crate::thirdparty::manifest_limit(p).is_some() && !is_package_db_path(p)
    });
    (PackageDb::build(records), ThirdParty::build(manifests))
}

/// What the findings of one image are made from.
pub(super) struct Context<'a> {
    pub(super) matcher: &'a Matcher,
    pub(super) opts: &'a Options,
    pub(super) spool: &'a Spool,
    pub(super) stores: &'a [Store],
}

/// One image and its layers' results (and job numbers), in layer order.
pub(super) struct ImageInput<'a> {
    pub(super) store: usize,
    pub(super) image: &'a Image,
    pub(super) layers: &'a [&'a LayerResult],
    pub(super) jobs: &'a [usize],
}

/// Hashes of large matched files, computed when a package lists one: by job, entry.
pub(super) type LateHashes = HashMap<usize, HashMap<usize, FileHashes>>;

/// Adds an image's facts, its layer findings and its metadata findings to `out`, each
/// place one finding (merged per secret value later), set-aside ones counted.
pub(super) fn image_findings(
    ctx: &Context<'_>,
    input: ImageInput<'_>,
    late_hashes: &mut LateHashes,
    out: &mut Outcome,
) {
    let (img, layer_results) = (input.image, input.layers);
    out.images.push(ImageInfo {
        image: img.source.clone(),
        reference: img.reference.clone(),
        tags: img.tags.clone(),
        repo_digests: img.repo_digests.clone(),
        platform: img.platform.clone(),
        config_digest: img.config_digest.clone(),
        manifest_digest: img.manifest_digest.clone(),
        layers: img
            .layers
            .iter()
            .zip(layer_results)
            .map(|(l, r)| LayerInfo {
                index: l.index,
                digest: r.digest.clone().or_else(|| l.digest.clone()),
                diff_id: r.diff_id.clone().or_else(|| l.diff_id.clone()),
                created_by: l.created_by.clone(),
                size: r.bytes,
            })
            .collect(),
    });
    layer_findings(ctx, &input, late_hashes, out);
    metadata_findings(ctx, img, out);
}

/// The findings of an image's layer matches: excluded paths, known test keys and
/// package files set aside (and counted), the rest with their status.
fn layer_findings(
    ctx: &Context<'_>,
    input: &ImageInput<'_>,
    late_hashes: &mut LateHashes,
    out: &mut Outcome,
) {
    let (matcher, opts) = (ctx.matcher, ctx.opts);
    let (img, layer_results) = (input.image, input.layers);
    let fss: Vec<&LayerFs> = layer_results.iter().map(|r| &r.fs).collect();
    let mut dbs: Vec<Option<(PackageDb, ThirdParty)>> =
        (0..img.layers.len()).map(|_| None).collect();
    for (pos, (l, r)) in img.layers.iter().zip(layer_results).enumerate() {
        let job = input.jobs[pos];
        for m in &r.matches {
            if opts.exclude_paths.iter().any(|re| re.is_match(&m.path)) {
                out.summary.suppressed.excluded_paths += 1;
                continue;
            }
            let (db, third) =
                dbs[pos].get_or_insert_with(|| package_db_as_of(layer_results, &fss, pos));
            let rule = &matcher.rules.rules[m.rule];
            let package = db.classify_with(&m.path, || {
                m.hashes.clone().or_else(|| {
                    late_hashes
                        .entry(job)
                        .or_insert_with(|| {
                            let wanted: Vec<usize> = r
                                .matches
                                .iter()
                                .filter(|x| x.hashes.is_none())
                                .map(|x| x.entry)
                                .collect();
                            rehash_entries(
                                &ctx.stores[input.store],
                                l,
                                ctx.spool,
                                &opts.layer_caps,
                                &wanted,
                            )
                        })
                        .get(&m.entry)
                        .cloned()
                })
            });
            let package = package.or_else(|| third.classify(&m.path, &m.nested));
            if let Some(k) = &m.known_key
                && !opts.include_package_files
            {
                out.summary.suppressed.set_aside_test_key(k);
                continue;
            }
            if let Some(p) = &package
                && !opts.include_package_files
                && out.summary.suppressed.set_aside_package(p, rule)
            {
                continue;
            }
            let (status, removed) = status_of(&fss, pos, m.entry, &m.path);
            let links = r.fs.links_to(&m.path);
            let path = display_bytes(&m.path);
            let diff_id = r
                .diff_id
                .clone()
                .or_else(|| l.diff_id.clone())
                .unwrap_or_default();
            out.findings.push(Finding {
                rule_id: rule.id.clone(),
                rule_name: rule.name.clone(),
                confidence: rule.confidence,
                secret: m.secret.shown(),
                secret_is_masked: matches!(m.secret, Secret::Redacted(_)),
                fingerprint: m.fingerprint.clone(),
                value_fingerprint: m.value_fingerprint.clone(),
                test_key: m.known_key.clone(),
                places: Vec::new(),
                value_id: m.hashed.as_ref().map(|h| h.sha256).unwrap_or_default(),
                image: img.source.clone(),
                reference: img.reference.clone(),
                platform: img.platform.clone(),
                status,
                removed_by: removed.map(|j| RemovedBy {
                    layer_index: img.layers[j].index,
                    created_by: img.layers[j].created_by.clone(),
                }),
                package,
                location: Location {
                    layer_index: Some(l.index),
                    layer_digest: r.digest.clone().or_else(|| l.digest.clone()),
                    diff_id: Some(diff_id),
                    created_by: l.created_by.clone(),
                    links: links
                        .iter()
                        .take(crate::finding::MAX_LINKS_SHOWN)
                        .map(|p| display_bytes(p))
                        .collect(),
                    links_omitted: links.len().saturating_sub(crate::finding::MAX_LINKS_SHOWN),
                    path: Some(path),
                    nested: m.nested.clone(),
                    line: m.line,
                    column: m.column,
                    offset: m.offset,
                    ..Location::default()
                },
            });
        }
    }
}

/// The findings in an image's config fields and annotations.
fn metadata_findings(ctx: &Context<'_>, img: &Image, out: &mut Outcome) {
    let (matcher, opts) = (ctx.matcher, ctx.opts);
    for mf in &img.metadata {
        let value = mf.value.as_bytes();
        let matches = match matcher.scan_bytes(value, None) {
            // A rule restricted to its own files (a shadow file) is not about metadata.
            Ok(m) => best_per_span(
                matcher,
                m.into_iter()
                    .filter(|x| matcher.rules.rules[x.rule].path.is_none())
                    .collect(),
            ),
            Err(e) => {
                out.summary.errors.push(ScanError {
                    kind: e.kind(),
                    image: img.source.clone(),
                    layer_index: None,
                    layer_digest: None,
                    path: Some(mf.field.clone()),
                    message: e.to_string(),
                });
                continue;
            }
        };
        for m in matches {
            let rule = &matcher.rules.rules[m.rule];
            let secret = &value[m.secret.clone()];
            let test_key = crate::testkeys::lookup(secret);
            if let Some(k) = &test_key
                && !opts.include_package_files
            {
                out.redactor.add(&display_bytes(secret));
                out.summary.suppressed.set_aside_test_key(k);
                continue;
            }
            let (line, column) = line_col(value, m.secret.start);
            let shown = display_bytes(secret);
            out.redactor.add(&shown);
            out.findings.push(Finding {
                rule_id: rule.id.clone(),
                rule_name: rule.name.clone(),
                confidence: rule.confidence,
                value_id: HashedSecret::of(&shown).sha256,
                secret_is_masked: false,
                secret: shown,
                fingerprint: fingerprint(&rule.id, secret, &[&mf.field]),
                value_fingerprint: crate::finding::value_fingerprint(&rule.id, secret),
                test_key,
                places: Vec::new(),
                image: img.source.clone(),
                reference: img.reference.clone(),
                platform: img.platform.clone(),
                status: Status::Metadata,
                removed_by: None,
                package: None,
                location: Location {
                    field: Some(mf.field.clone()),
                    field_name: Some(mf.name.clone()),
                    step_of_layer: mf.layer_index,
                    line,
                    column,
                    offset: m.secret.start as u64,
                    ..Location::default()
                },
            });
        }
    }
}
