//! The scan: targets in, findings and a summary out. Opens every target, reads and
//! matches each distinct layer once (layers in parallel), then works out per image the
//! status of every match and scans the image metadata.

use crate::finding::{Finding, Location, RemovedBy, fingerprint};
use crate::outcome::{ImageInfo, LayerInfo, Outcome, RuleInfo, ScanError, Summary};
use crate::image::Image;
use crate::layer::{FileRef, TarEntry, walk_layer};
use crate::matcher::{Item, Matcher, RawMatch};
use crate::overlay::{LayerFs, Status, is_whiteout, status_of};
use crate::packages::{FileHashes, PackageDb, is_package_db_path};
use crate::redact::HashedSecret;
use crate::source::{self, Store};
use crate::spool::Spool;
use crate::thirdparty::ThirdParty;
use crate::util::{display_bytes, line_col};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Scan settings.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `os/arch[/variant]` to restrict multi-platform inputs to.
    pub platform: Option<String>,
    /// Where the spool directory is created (system temp dir by default).
    pub spool_dir: Option<PathBuf>,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Report findings on unmodified package files too.
    pub include_package_files: bool,
    /// Drop findings whose path matches one of these.
    pub exclude_paths: Vec<regex::bytes::Regex>,
    /// Caps on nested archives and compressed files.
    pub limits: crate::content::Limits,
    /// Caps on decompressing layers.
    pub layer_caps: crate::layer::LayerCaps,
    /// Also scan every image the Docker daemon holds.
    pub all_images: bool,
    /// Docker daemon connection settings.
    pub daemon: crate::source::daemon::DaemonOptions,
    /// Where layer results are cached across runs (none: every layer is read).
    pub layer_cache: Option<crate::results_cache::LayerCache>,
    /// Secrets will be shown in full: cached results (which hold no secret values)
    /// are used only for layers without findings.
    pub reveal: bool,
}

/// A secret as a layer scan keeps it: in full, or (from the results cache, which
/// never stores secret values) only as its redacted form.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Secret {
    Full(Vec<u8>),
    Redacted(String),
}

impl Secret {
    fn shown(&self) -> String {
        match self {
            Secret::Full(b) => display_bytes(b),
            Secret::Redacted(s) => s.clone(),
        }
    }
}

/// A confirmed match inside one layer entry, with what the report needs.
#[derive(Clone, Serialize, Deserialize)]
struct LayerMatch {
    entry: usize,
    path: Vec<u8>,
    rule: usize,
    secret: Secret,
    /// Set once the layer's diff_id is known (see [`fingerprint`]).
    fingerprint: String,
    /// The secret by rule alone (see [`crate::finding::value_fingerprint`]) and by
    /// hash (to merge places and mask it where a cached result left only its head);
    /// set with `fingerprint`.
    value_fingerprint: String,
    hashed: Option<HashedSecret>,
    /// The known public test key the secret is (see [`crate::testkeys`]).
    known_key: Option<String>,
    line: u64,
    column: u64,
    offset: u64,
    /// Content hashes of the whole file, to compare with package records; for a file
    /// larger than [`EAGER_HASH_BYTES`], computed later and only if a package lists it.
    hashes: Option<FileHashes>,
    /// For a secret inside a nested archive or compressed file: the file's path, then
    /// the inner names; empty otherwise.
    nested: Vec<String>,
}

/// A match found inside an expanded file, relative to the innermost content.
#[derive(Clone)]
struct InnerMatch {
    chain: Vec<String>,
    rule: usize,
    secret: Vec<u8>,
    line: u64,
    column: u64,
    offset: u64,
}

/// Expansions already matched, by content hash: the same archive in two layers (or
/// two images) is expanded and matched once.
type ContentCache =
    std::sync::Mutex<HashMap<[u8; 32], Arc<(Vec<InnerMatch>, Vec<crate::content::Skip>)>>>;

/// The result of reading and matching one layer blob.
#[derive(Default, Serialize, Deserialize)]
struct LayerResult {
    fs: LayerFs,
    matches: Vec<LayerMatch>,
    /// Package-manager record files in this layer: (entry index, path, bytes).
    records: Vec<(usize, Vec<u8>, Vec<u8>)>,
    digest: Option<String>,
    diff_id: Option<String>,
    bytes: u64,
    errors: Vec<(Option<String>, String)>,
    /// (path, inner chain, reason) of what a content limit or fault cut short.
    skips: Vec<(String, Vec<String>, String)>,
}

struct Job {
    target: usize,
    /// Stored size of the blob (0 when it cannot be opened).
    size: u64,
    /// What reading it will cost, roughly: its expected uncompressed size.
    work: u64,
    /// The first image using it, and the layer's position in that image's list (which
    /// skips layers left out for a bad descriptor), for error context and expectations.
    image: usize,
    layer: usize,
}

/// Matched files up to this size are hashed while their layer is open; larger ones
/// only when a package database lists their path (rare: the layer is read again).
const EAGER_HASH_BYTES: usize = 16 << 20;

/// Most bytes of package records read from one layer.
const MAX_RECORD_BYTES: usize = 256 << 20;

/// Runs a scan of `targets`.
pub fn run(targets: &[String], matcher: &Matcher, opts: &Options) -> Outcome {
    let mut out = Outcome::default();
    out.summary.notes.extend(matcher.notes.iter().cloned());
    let spool = match Spool::new(opts.spool_dir.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            out.summary
                .errors
                .push(ScanError::about("(spool)", e.to_string()));
            return out;
        }
    };
    let cache: ContentCache = Default::default();
    // Layers of a stream (a daemon's export) are scanned as they arrive, while the
    // rest of the stream is read; their claims are checked once the manifest is known.
    // Should a name arrive twice, the store keeps the last, and so does this: each
    // arrival is numbered, and a result never replaces one of a later arrival.
    let early: Mutex<EarlyResults> = Default::default();
    let keep = |key: (usize, String), seq: u64, u: Option<Unverified>| {
        if let Ok(mut e) = early.lock()
            && e.get(&key).is_none_or(|(s, _)| *s < seq)
        {
            e.insert(key, (seq, u));
        }
    };
    let attempt = std::cell::Cell::new(0usize);
    let arrivals = std::cell::Cell::new(0u64);
    let (stores, images, attempts) = rayon::in_place_scope(|scope| {
        let arrived = |name: String, digest: String, blob: crate::blob::Blob| {
            let key = (attempt.get(), name);
            let seq = arrivals.get() + 1;
            arrivals.set(seq);
            // A layer the results cache holds is taken from there later instead.
            if opts
                .layer_cache
                .as_ref()
                .is_some_and(|c| cache_entry(c, &digest, opts.reveal).is_some())
            {
                keep(key, seq, None);
                return;
            }
            let (keep, spool, cache) = (&keep, &spool, &cache);
            scope.spawn(move |_| {
                keep(
                    key,
                    seq,
                    Some(scan_blob(&blob, matcher, spool, opts, cache)),
                )
            });
        };
        open_targets(targets, opts, &spool, &mut out.summary, &arrived, &attempt)
    });
    let mut early = early.into_inner().unwrap_or_default();

    // Distinct layers across all images.
    let mut job_of: HashMap<(usize, String), usize> = HashMap::new();
    let mut jobs: Vec<Job> = Vec::new();
    for (ii, (ti, img)) in images.iter().enumerate() {
        for (pos, l) in img.layers.iter().enumerate() {
            let blob = stores[*ti].get(&l.blob).ok();
            if let Some(note) = blob.as_ref().and_then(|b| media_type_note(img, l, b)) {
                out.summary.notes.push(note);
            }
            job_of
                .entry((*ti, stores[*ti].canonical(&l.blob)))
                .or_insert_with(|| {
                    jobs.push(Job {
                        target: *ti,
                        size: blob.as_ref().map_or(0, |b| b.len() as u64),
                        work: blob
                            .as_ref()
                            .map_or(0, |b| crate::layer::estimated_tar_size(b.bytes())),
                        image: ii,
                        layer: pos,
                    });
                    jobs.len() - 1
                });
        }
    }

    // Largest first, so the big layers do not end the run alone on one core.
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&j| std::cmp::Reverse(jobs[j].work));
    let early_by_job: Vec<Mutex<Option<Unverified>>> = jobs
        .iter()
        .map(|j| {
            let blob = &images[j.image].1.layers[j.layer].blob;
            let key = (attempts[j.target], stores[j.target].canonical(blob));
            Mutex::new(early.remove(&key).and_then(|(_, u)| u))
        })
        .collect();
    let bar = progress_bar(opts.progress, jobs.iter().map(|j| j.size).sum());
    let mut results: Vec<(usize, (LayerResult, bool))> = order
        .par_iter()
        .map(|&j| {
            let job = &jobs[j];
            let img = &images[job.image].1;
            let lref = &img.layers[job.layer];
            if let Some(b) = &bar {
                // Only what cannot hold a secret: the scan has not found them all yet.
                b.set_message(format!("image {} layer {}", job.image + 1, lref.index));
            }
            let store = &stores[job.target];
            let cached = opts
                .layer_cache
                .as_ref()
                .and_then(|c| cached_layer(c, store, lref, opts.reveal));
            let from_cache = cached.is_some();
            let r = cached.unwrap_or_else(|| {
                let scanned = early_by_job[j].lock().ok().and_then(|mut e| e.take());
                let r = match scanned {
                    Some(u) => u.verified(lref),
                    None => scan_layer(store, lref, matcher, &spool, opts, &cache),
                };
                if let (Some(c), Some(d)) = (&opts.layer_cache, &r.digest)
                    && r.errors.is_empty()
                {
                    c.store(d, &for_cache(&r));
                }
                r
            });
            if let Some(b) = &bar {
                b.inc(job.size);
            }
            (j, (r, from_cache))
        })
        .collect();
    results.sort_by_key(|(j, _)| *j);
    out.summary.layers_from_cache = results.iter().filter(|(_, (_, c))| *c).count();
    let results: Vec<LayerResult> = results.into_iter().map(|(_, (r, _))| r).collect();
    if let Some(b) = bar {
        b.finish_and_clear();
    }

    for (job, r) in jobs.iter().zip(&results) {
        let img = &images[job.image].1;
        let lref = &img.layers[job.layer];
        for (path, message) in &r.errors {
            out.summary.errors.push(ScanError {
                image: img.source.clone(),
                layer_index: Some(lref.index),
                layer_digest: r.digest.clone().or_else(|| lref.digest.clone()),
                path: path.clone(),
                message: message.clone(),
            });
        }
        for (path, chain, reason) in &r.skips {
            let place = std::iter::once(path.as_str())
                .chain(chain.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" → ");
            out.summary.skip(
                reason,
                format!("{}: layer {}: {place}", img.source, lref.index),
            );
        }
        out.summary.bytes_scanned += r.bytes;
    }
    out.summary.layers = jobs.len();
    out.summary.images = images.len();
    // Every secret found in a layer is masked in every output, whether or not its
    // finding is reported: a package file's secret may also sit in a build step.
    for r in &results {
        for m in &r.matches {
            match (&m.secret, &m.hashed) {
                (Secret::Full(b), _) => out.redactor.add(&display_bytes(b)),
                (Secret::Redacted(_), Some(h)) => out.redactor.add_hashed(h.clone()),
                (Secret::Redacted(_), None) => {}
            }
        }
    }

    // Hashes of large matched files, computed when a package lists one: by job, entry.
    let mut late_hashes: HashMap<usize, HashMap<usize, FileHashes>> = HashMap::new();
    // Findings, image by image.
    for (ti, img) in &images {
        let layer_results: Vec<&LayerResult> = img
            .layers
            .iter()
            .map(|l| &results[job_of[&(*ti, stores[*ti].canonical(&l.blob))]])
            .collect();
        let fss: Vec<&LayerFs> = layer_results.iter().map(|r| &r.fs).collect();
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
                .zip(&layer_results)
                .map(|(l, r)| LayerInfo {
                    index: l.index,
                    digest: r.digest.clone().or_else(|| l.digest.clone()),
                    diff_id: r.diff_id.clone().or_else(|| l.diff_id.clone()),
                    created_by: l.created_by.clone(),
                    size: r.bytes,
                })
                .collect(),
        });
        let mut dbs: Vec<Option<(PackageDb, ThirdParty)>> =
            (0..img.layers.len()).map(|_| None).collect();
        for (pos, (l, r)) in img.layers.iter().zip(&layer_results).enumerate() {
            let job = job_of[&(*ti, stores[*ti].canonical(&l.blob))];
            for m in &r.matches {
                if opts.exclude_paths.iter().any(|re| re.is_match(&m.path)) {
                    out.summary.suppressed.excluded_paths += 1;
                    continue;
                }
                let (db, third) =
                    dbs[pos].get_or_insert_with(|| package_db_as_of(&layer_results, &fss, pos));
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
                                rehash_entries(&stores[*ti], l, &spool, &opts.layer_caps, &wanted)
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
        for mf in &img.metadata {
            let value = mf.value.as_bytes();
            let matches = match matcher.scan_bytes(value, None) {
                Ok(m) => best_per_span(matcher, m),
                Err(e) => {
                    out.summary.errors.push(ScanError {
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
    out.redactor.finish();
    // Each place in report order, then one finding per secret value and image.
    sort_findings(&mut out.findings);
    out.findings = crate::finding::group_by_value(std::mem::take(&mut out.findings));
    sort_findings(&mut out.findings);
    out.rules = rules_used(matcher, &out.findings);
    out.recount();
    // Every message in our words, on one line.
    for e in &mut out.summary.errors {
        e.message = crate::util::plain_message(&e.message);
        e.path = e.path.as_deref().map(crate::util::plain_message);
    }
    for n in &mut out.summary.notes {
        *n = crate::util::plain_message(n);
    }
    drop(spool);
    out
}

/// Report order: image, then layer (config fields last), path, field, offset, rule.
fn sort_findings(findings: &mut [Finding]) {
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
fn rules_used(matcher: &Matcher, findings: &[Finding]) -> Vec<RuleInfo> {
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

fn platform_matches(have: &str, want: &str) -> bool {
    let h: Vec<&str> = have.split('/').collect();
    let w: Vec<&str> = want.split('/').collect();
    w.iter().enumerate().all(|(i, part)| h.get(i) == Some(part))
}

/// Opens every target (and the daemon's images with `--all-images`) and lists the
/// images to scan, recording what went wrong in `summary`.
/// `attempt` is set to each target's position in turn while it is opened (`arrived`
/// hears of its streamed layers then); the third list gives it for each store.
fn open_targets(
    targets: &[String],
    opts: &Options,
    spool: &Spool,
    summary: &mut Summary,
    arrived: crate::source::Arrived<'_>,
    attempt: &std::cell::Cell<usize>,
) -> (Vec<Store>, Vec<(usize, Image)>, Vec<usize>) {
    let mut stores: Vec<Store> = Vec::new();
    let mut attempts: Vec<usize> = Vec::new();
    let mut images: Vec<(usize, Image)> = Vec::new();
    let mut work: Vec<String> = targets.to_vec();
    if opts.all_images {
        work.push("docker-daemon:".to_string());
    }
    for (ai, raw) in work.iter().enumerate() {
        attempt.set(ai);
        let opened = crate::target::parse(raw)
            .and_then(|t| source::open(&t, spool, &opts.layer_caps, opts.daemon, Some(arrived)));
        let opened = match opened {
            Ok(v) => v,
            Err(e) => {
                summary
                    .errors
                    .push(ScanError::about(raw.clone(), e.to_string()));
                continue;
            }
        };
        let label = opened.label.clone();
        for issue in opened.issues {
            summary.errors.push(ScanError::about(
                label.clone(),
                issue
                    .message
                    .strip_prefix(&format!("{label}: "))
                    .unwrap_or(&issue.message)
                    .to_string(),
            ));
        }
        for s in opened.skipped {
            summary.skip("attestation manifest (not an image)", s);
        }
        let mut imgs = opened.images;
        if let Some(p) = &opts.platform {
            let available: Vec<String> = imgs.iter().map(|i| i.platform.clone()).collect();
            imgs.retain(|i| platform_matches(&i.platform, p));
            if imgs.is_empty() {
                summary.errors.push(ScanError::about(
                    label.clone(),
                    format!(
                        "no image for platform {p} (available: {})",
                        if available.is_empty() {
                            "none".into()
                        } else {
                            available.join(", ")
                        }
                    ),
                ));
            }
        }
        let ti = stores.len();
        stores.push(opened.store);
        attempts.push(ai);
        images.extend(imgs.into_iter().map(|i| (ti, i)));
    }

    (stores, images, attempts)
}

/// A bar on stderr: stored layer bytes done of total, and the layer being read.
fn progress_bar(enabled: bool, total: u64) -> Option<indicatif::ProgressBar> {
    if !enabled || total == 0 {
        return None;
    }
    let b = indicatif::ProgressBar::new(total);
    b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {bytes}/{total_bytes} [{elapsed_precise}] {wide_bar} {msg}",
    ) {
        b.set_style(style);
    }
    b.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(b)
}

/// Expands one file (nested archives, compressed payloads, UTF-16 text) and matches
/// every view of it.
fn expand_and_match(
    bytes: &[u8],
    path: &[u8],
    matcher: &Matcher,
    limits: &crate::content::Limits,
) -> (Vec<InnerMatch>, Vec<crate::content::Skip>) {
    let name = display_bytes(path);
    let (views, mut skips) = crate::content::expand(bytes, &name, limits);
    let mut out = Vec::new();
    for v in views {
        let inner_path = v.chain.last().map(|c| c.as_bytes()).unwrap_or(path);
        let ms = match matcher.scan_bytes(&v.data, Some(inner_path)) {
            Ok(ms) => best_per_span(matcher, ms),
            Err(e) => {
                skips.push(crate::content::Skip {
                    chain: v.chain.clone(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        for m in ms {
            let (line, column) = line_col(&v.data, m.secret.start);
            let offset = match &v.offsets {
                Some(map) => map
                    .get(m.secret.start)
                    .copied()
                    .map_or(m.secret.start as u64, u64::from),
                None => m.secret.start as u64,
            };
            out.push(InnerMatch {
                chain: v.chain.clone(),
                rule: m.rule,
                secret: v.data[m.secret.clone()].to_vec(),
                line,
                column,
                offset,
            });
        }
    }
    (out, skips)
}

/// The package records visible in the filesystem made by layers `0..=pos`.
fn package_db_as_of(
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

/// Among matches of the same span, keeps the one from the most specific rule: the
/// most confident, and at equal confidence a provider format before a context or
/// generic rule. A context or generic match whose span overlaps a provider-format
/// match is dropped too: a Docker Hub token under a `[registry] token =` line is a
/// Docker Hub token, not a Cargo registry token.
fn best_per_span(matcher: &Matcher, mut ms: Vec<RawMatch>) -> Vec<RawMatch> {
    let rules = &matcher.rules.rules;
    ms.sort_by(|a, b| {
        (a.item, a.secret.start, a.secret.end)
            .cmp(&(b.item, b.secret.start, b.secret.end))
            .then_with(|| rules[b.rule].confidence.cmp(&rules[a.rule].confidence))
            .then_with(|| rules[a.rule].kind.cmp(&rules[b.rule].kind))
            .then_with(|| a.rule.cmp(&b.rule))
    });
    ms.dedup_by(|a, b| a.item == b.item && a.secret == b.secret);
    let provider: Vec<(usize, std::ops::Range<usize>)> = ms
        .iter()
        .filter(|m| rules[m.rule].kind == crate::rules::Kind::Provider)
        .map(|m| (m.item, m.secret.clone()))
        .collect();
    if !provider.is_empty() {
        ms.retain(|m| {
            rules[m.rule].kind == crate::rules::Kind::Provider
                || !provider.iter().any(|(item, span)| {
                    *item == m.item && span.start < m.secret.end && m.secret.start < span.end
                })
        });
    }
    ms
}

/// Matches the files of one layer as its walk hands them over.
struct LayerScanner<'a> {
    matcher: &'a Matcher,
    limits: &'a crate::content::Limits,
    cache: &'a ContentCache,
    matches: Vec<LayerMatch>,
    records: Vec<(usize, Vec<u8>, Vec<u8>)>,
    record_bytes: usize,
    errors: Vec<(Option<String>, String)>,
    skips: Vec<(String, Vec<String>, String)>,
}

impl crate::layer::Visitor for LayerScanner<'_> {
    fn files(
        &mut self,
        data: &[u8],
        files: &[FileRef],
        entries: &[TarEntry],
        release: &(dyn Fn(std::ops::Range<usize>) + Sync),
    ) {
        let matcher = self.matcher;
        let scanned: Vec<&FileRef> = files
            .iter()
            .filter(|f| !f.range.is_empty() && !is_whiteout(&entries[f.entry].path))
            .collect();
        let items: Vec<Item<'_>> = scanned
            .iter()
            .map(|f| Item {
                range: f.range.clone(),
                path: Some(entries[f.entry].path.as_slice()),
            })
            .collect();
        let first = self.matches.len();
        match matcher.scan_items_releasing(data, &items, release) {
            Ok(ms) => {
                let mut hashes: HashMap<usize, Option<FileHashes>> = HashMap::new();
                for m in best_per_span(matcher, ms) {
                    let f = scanned[m.item];
                    let bytes = &data[f.range.clone()];
                    let h = hashes
                        .entry(m.item)
                        .or_insert_with(|| eager_hashes(bytes))
                        .clone();
                    let (line, column) = line_col(bytes, m.secret.start);
                    self.matches.push(LayerMatch {
                        entry: f.entry,
                        path: entries[f.entry].path.clone(),
                        rule: m.rule,
                        secret: Secret::Full(bytes[m.secret.clone()].to_vec()),
                        fingerprint: String::new(),
                        value_fingerprint: String::new(),
                        hashed: None,
                        known_key: None,
                        line,
                        column,
                        offset: m.secret.start as u64,
                        hashes: h,
                        nested: Vec::new(),
                    });
                }
            }
            Err(e) => {
                let e = (None, e.to_string());
                if !self.errors.contains(&e) {
                    self.errors.push(e);
                }
            }
        }
        for f in &scanned {
            let bytes = &data[f.range.clone()];
            if !crate::content::worth_expanding(bytes) {
                continue;
            }
            let e = &entries[f.entry];
            let key: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(bytes).into();
            let cached = self.cache.lock().ok().and_then(|c| c.get(&key).cloned());
            let expanded = match cached {
                Some(x) => x,
                None => {
                    let x = Arc::new(expand_and_match(bytes, &e.path, matcher, self.limits));
                    if let Ok(mut c) = self.cache.lock() {
                        c.insert(key, x.clone());
                    }
                    x
                }
            };
            let path = display_bytes(&e.path);
            for s in &expanded.1 {
                self.skips
                    .push((path.clone(), s.chain.clone(), s.reason.clone()));
            }
            if expanded.0.is_empty() {
                continue;
            }
            // A secret stored verbatim in the compressed bytes (small streams keep
            // literals as they are) is reported once, by its nested location.
            let entry = f.entry;
            let mut batch = self.matches.split_off(first);
            batch.retain(|m| {
                m.entry != entry
                    || !m.nested.is_empty()
                    || !expanded.0.iter().any(|x| {
                        x.rule == m.rule && matches!(&m.secret, Secret::Full(s) if *s == x.secret)
                    })
            });
            self.matches.append(&mut batch);
            let h = eager_hashes(bytes);
            for m in &expanded.0 {
                self.matches.push(LayerMatch {
                    entry,
                    path: e.path.clone(),
                    rule: m.rule,
                    secret: Secret::Full(m.secret.clone()),
                    fingerprint: String::new(),
                    value_fingerprint: String::new(),
                    hashed: None,
                    known_key: None,
                    line: m.line,
                    column: m.column,
                    offset: m.offset,
                    hashes: h.clone(),
                    nested: if m.chain.is_empty() {
                        Vec::new()
                    } else {
                        std::iter::once(path.clone())
                            .chain(m.chain.iter().cloned())
                            .collect()
                    },
                });
            }
        }
        for f in files {
            let e = &entries[f.entry];
            // Package databases whole; third-party manifests up to what names them.
            let keep = if is_package_db_path(&e.path) {
                Some(f.range.len())
            } else {
                crate::thirdparty::manifest_limit(&e.path).map(|n| n.min(f.range.len()))
            };
            let Some(keep) = keep else { continue };
            if self.record_bytes > MAX_RECORD_BYTES {
                continue;
            }
            self.record_bytes += keep;
            if self.record_bytes > MAX_RECORD_BYTES {
                self.errors.push((
                    Some(display_bytes(&e.path)),
                    format!(
                        "package records exceed {} MiB in this layer; the rest are not read",
                        MAX_RECORD_BYTES >> 20
                    ),
                ));
                continue;
            }
            let start = f.range.start;
            self.records
                .push((f.entry, e.path.clone(), data[start..start + keep].to_vec()));
        }
    }
}

/// A note when a layer's known media type names another compression than its blob's
/// magic bytes show. The blob is read as the bytes say (as containerd does); an unknown
/// media type is the source's error, not noted here.
fn media_type_note(
    img: &Image,
    l: &crate::image::LayerRef,
    blob: &crate::blob::Blob,
) -> Option<String> {
    let media = l.media_type.as_deref()?;
    let said = crate::layer::compression_of_media_type(media)?;
    let found = crate::layer::sniff(blob.bytes());
    if found == said {
        return None;
    }
    let name = |c| match c {
        crate::layer::Compression::None => "a plain tar",
        c => c.as_str(),
    };
    let (said, found) = (name(said), name(found));
    let digest = l.digest.as_deref().unwrap_or(&l.blob);
    Some(format!(
        "{}: layer {} ({digest}): media type {media} announces {said} but the blob is {found}; read as {found}",
        img.source, l.index
    ))
}

/// Reads, verifies, indexes and matches one layer blob.
fn scan_layer(
    store: &Store,
    lref: &crate::image::LayerRef,
    matcher: &Matcher,
    spool: &Spool,
    opts: &Options,
    cache: &ContentCache,
) -> LayerResult {
    match store.get(&lref.blob) {
        Ok(blob) => scan_blob(&blob, matcher, spool, opts, cache).verified(lref),
        Err(e) => LayerResult {
            errors: vec![(None, format!("{}: {e}", lref.blob))],
            ..Default::default()
        },
    }
}

/// Layers scanned as they arrived from a stream, by (target attempt, member name): the
/// arrival's number and the result (none when the results cache holds the layer).
type EarlyResults = HashMap<(usize, String), (u64, Option<Unverified>)>;

/// A layer blob read, indexed and matched, not yet checked against what a manifest
/// and config claim of it.
struct Unverified {
    r: LayerResult,
    stored_size: u64,
    decoded_whole: bool,
}

impl Unverified {
    /// The result, with an error for each claim of `lref` the blob contradicts.
    fn verified(mut self, lref: &crate::image::LayerRef) -> LayerResult {
        let digest = self.r.digest.clone().unwrap_or_default();
        let diff_id = self.r.diff_id.clone().unwrap_or_default();
        self.r.errors.extend(expectation_errors(
            lref,
            &digest,
            &diff_id,
            self.stored_size,
            self.decoded_whole,
        ));
        self.r
    }
}

/// Reads, indexes and matches one layer blob, computing its digest and diff_id.
fn scan_blob(
    blob: &crate::blob::Blob,
    matcher: &Matcher,
    spool: &Spool,
    opts: &Options,
    cache: &ContentCache,
) -> Unverified {
    let mut r = LayerResult::default();
    let mut scanner = LayerScanner {
        matcher,
        limits: &opts.limits,
        cache,
        matches: Vec::new(),
        records: Vec::new(),
        record_bytes: 0,
        errors: Vec::new(),
        skips: Vec::new(),
    };
    let mut walked = walk_layer(blob, spool, &opts.layer_caps, true, &mut scanner);
    if let Some(t) = &walked.truncated {
        r.skips.push(("(layer)".into(), Vec::new(), t.clone()));
    }
    r.bytes = walked.tar_size;
    // A layer cut short by a cap ends mid-entry; that is the counted skip, not corruption.
    // A corrupt stream cuts the tar short too: one error says both.
    match (&walked.decode_error, walked.index_error.take()) {
        (Some(d), Some(e)) => r
            .errors
            .push((None, format!("{d}; scanned what was readable ({e})"))),
        (Some(d), None) => r
            .errors
            .push((None, format!("{d}; scanned what was readable"))),
        (None, Some(e)) if walked.truncated.is_none() => r.errors.push((None, e)),
        _ => {}
    }
    r.matches = scanner.matches;
    r.records = scanner.records;
    r.errors.extend(scanner.errors);
    r.skips.extend(scanner.skips);
    r.fs = LayerFs::build(&walked.entries);
    let (digest, diff_id) = walked.digests();
    r.digest = Some(digest);
    r.diff_id = Some(diff_id.clone());
    for m in &mut r.matches {
        if let Secret::Full(secret) = &m.secret {
            let path = display_bytes(&m.path);
            let mut place: Vec<&str> = vec![&diff_id, &path];
            place.extend(m.nested.iter().skip(1).map(String::as_str));
            let rule_id = &matcher.rules.rules[m.rule].id;
            m.fingerprint = fingerprint(rule_id, secret, &place);
            m.value_fingerprint = crate::finding::value_fingerprint(rule_id, secret);
            m.hashed = Some(HashedSecret::of(&display_bytes(secret)));
            m.known_key = crate::testkeys::lookup(secret);
        }
    }
    Unverified {
        r,
        stored_size: walked.stored_size,
        decoded_whole: walked.decode_error.is_none() && walked.truncated.is_none(),
    }
}

fn eager_hashes(bytes: &[u8]) -> Option<FileHashes> {
    (bytes.len() <= EAGER_HASH_BYTES).then(|| FileHashes::of_bytes(bytes))
}

/// Hashes the wanted files of a layer as its walk hands them over.
struct Rehasher<'a> {
    wanted: &'a [usize],
    found: HashMap<usize, FileHashes>,
}

impl crate::layer::Visitor for Rehasher<'_> {
    fn files(
        &mut self,
        data: &[u8],
        files: &[FileRef],
        _: &[TarEntry],
        _: &(dyn Fn(std::ops::Range<usize>) + Sync),
    ) {
        for f in files {
            if self.wanted.contains(&f.entry) {
                self.found
                    .insert(f.entry, FileHashes::of_bytes(&data[f.range.clone()]));
            }
        }
    }
}

/// The hashes of the given entries of a layer, reading the layer again.
fn rehash_entries(
    store: &Store,
    lref: &crate::image::LayerRef,
    spool: &Spool,
    caps: &crate::layer::LayerCaps,
    wanted: &[usize],
) -> HashMap<usize, FileHashes> {
    let Ok(blob) = store.get(&lref.blob) else {
        return HashMap::new();
    };
    let mut v = Rehasher {
        wanted,
        found: HashMap::new(),
    };
    walk_layer(&blob, spool, caps, false, &mut v);
    v.found
}

/// What a layer's manifest and config entries claim that its blob contradicts. The
/// diff_id is compared only when the whole stream was decoded.
fn expectation_errors(
    lref: &crate::image::LayerRef,
    digest: &str,
    diff_id: &str,
    stored_size: u64,
    decoded_whole: bool,
) -> Vec<(Option<String>, String)> {
    let mut errors = Vec::new();
    if let Some(exp) = &lref.digest
        && exp != digest
    {
        errors.push((
            None,
            format!("blob digest mismatch: expected {exp}, found {digest}"),
        ));
    }
    if let Some(exp) = &lref.diff_id
        && exp != diff_id
        && decoded_whole
    {
        errors.push((
            None,
            format!("diff_id mismatch: expected {exp}, found {diff_id}"),
        ));
    }
    if let Some(size) = lref.size
        && size != stored_size
    {
        errors.push((
            None,
            format!("size mismatch: descriptor says {size} bytes, blob has {stored_size}"),
        ));
    }
    errors
}

/// The cached result of a layer, if there is one for the digest its manifest (or, for
/// a plain docker save layer, its config) claims and the blob really has that digest.
/// Decompression and matching are skipped; the claims are checked as on a full read.
fn cached_layer(
    cache: &crate::results_cache::LayerCache,
    store: &Store,
    lref: &crate::image::LayerRef,
    reveal: bool,
) -> Option<LayerResult> {
    let claimed = lref.digest.as_deref().or(lref.diff_id.as_deref())?;
    // The entry first: reading it costs far less than hashing the blob.
    let mut r = cache_entry(cache, claimed, reveal)?;
    let blob = store.get(&lref.blob).ok()?;
    let digest = crate::layer::sha256_of(&blob);
    if digest != claimed {
        return None;
    }
    let diff_id = r.diff_id.clone().unwrap_or_default();
    let truncated = r
        .skips
        .iter()
        .any(|(p, c, _)| p == "(layer)" && c.is_empty());
    r.errors = expectation_errors(lref, &digest, &diff_id, blob.len() as u64, !truncated);
    Some(r)
}

/// The cached result for the blob `digest`, if one is there and will do: a `--reveal`
/// scan reads layers with findings again, for their secrets.
fn cache_entry(
    cache: &crate::results_cache::LayerCache,
    digest: &str,
    reveal: bool,
) -> Option<LayerResult> {
    let r: LayerResult = cache.load(digest)?;
    (r.digest.as_deref() == Some(digest) && (!reveal || r.matches.is_empty())).then_some(r)
}

/// The form of a layer result the cache keeps: secrets reduced to their redacted form.
fn for_cache(r: &LayerResult) -> LayerResult {
    LayerResult {
        fs: r.fs.clone(),
        matches: r
            .matches
            .iter()
            .map(|m| LayerMatch {
                secret: Secret::Redacted(crate::redact::mask(&m.secret.shown())),
                ..m.clone()
            })
            .collect(),
        records: r.records.clone(),
        digest: r.digest.clone(),
        diff_id: r.diff_id.clone(),
        bytes: r.bytes,
        errors: Vec::new(),
        skips: r.skips.clone(),
    }
}
