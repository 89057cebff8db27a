//! The scan: targets in, findings and a summary out. Opens every target, reads and
//! matches each distinct layer once (layers in parallel), then works out per image the
//! status of every match and scans the image metadata.

mod findings;
mod layer;

use crate::image::Image;
use crate::matcher::Matcher;
use crate::outcome::{Outcome, ScanError, Summary};
use crate::source::{self, Store};
use crate::spool::Spool;
use crate::util::display_bytes;
use findings::{rules_used, sort_findings};
use layer::{
    ContentCache, EarlyResults, LayerError, LayerResult, Secret, Unverified, cache_entry,
    cached_layer, for_cache, media_type_note, scan_layer, scan_stream,
};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

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
    let mut opened = open_all(targets, matcher, opts, &spool, &cache, &mut out.summary);
    let plan = plan_jobs(&opened, &mut out.summary);
    let results = read_layers(&mut opened, &plan, matcher, opts, &spool, &cache);
    out.summary.layers_from_cache = results.iter().filter(|r| r.1).count();
    let results: Vec<LayerResult> = results.into_iter().map(|(r, _)| r).collect();
    fold_layer_results(&opened, &plan, &results, &mut out);
    let ctx = findings::Context {
        matcher,
        opts,
        spool: &spool,
        stores: &opened.stores,
    };
    let mut late_hashes = HashMap::new();
    for (ti, img) in &opened.images {
        let jobs: Vec<usize> = img
            .layers
            .iter()
            .map(|l| plan.job_of[&(*ti, opened.stores[*ti].canonical(&l.blob))])
            .collect();
        let layers: Vec<&LayerResult> = jobs.iter().map(|&j| &results[j]).collect();
        findings::image_findings(
            &ctx,
            findings::ImageInput {
                store: *ti,
                image: img,
                layers: &layers,
                jobs: &jobs,
            },
            &mut late_hashes,
            &mut out,
        );
    }
    finish(&mut out, matcher);
    drop(spool);
    out
}

/// The opened targets: their stores, their images (each with its store's position),
/// the attempt (target position) of each store, and layers a stream handed over early.
struct Opened {
    stores: Vec<Store>,
    images: Vec<(usize, Image)>,
    attempts: Vec<usize>,
    early: EarlyResults,
}

/// Opens every target. Layers of a stream (a daemon's export, standard input) are
/// scanned as they arrive, while the rest of the stream is read; their claims are
/// checked once the manifest is known. Should a name arrive twice, the store keeps the
/// last, and so does this: each arrival is numbered, and a result never replaces one
/// of a later arrival.
fn open_all(
    targets: &[String],
    matcher: &Matcher,
    opts: &Options,
    spool: &Spool,
    cache: &ContentCache,
    summary: &mut Summary,
) -> Opened {
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
    let arrived = |name: String, stream: &mut dyn std::io::Read| {
        let key = (attempt.get(), name);
        let seq = arrivals.get() + 1;
        arrivals.set(seq);
        // A layer the results cache holds under the digest its name claims is only
        // hashed here, and taken from the cache later.
        let claimed = claimed_digest(&key.1);
        if let (Some(c), Some(d)) = (&opts.layer_cache, &claimed)
            && cache_entry(c, d, opts.reveal).is_some()
        {
            let (digest, size) = crate::util::sha256_of_reader(stream).unwrap_or_default();
            if digest == *d {
                keep(key, seq, None);
                return crate::source::store::Streamed { digest, size };
            }
            let mut r = LayerResult {
                digest: Some(digest.clone()),
                ..Default::default()
            };
            r.errors.push(LayerError::new(
                crate::error::ErrorKind::DigestMismatch,
                None,
                format!(
                    "{}: its bytes are not what its name says ({digest}); not scanned",
                    key.1
                ),
            ));
            keep(
                key,
                seq,
                Some(Unverified {
                    r,
                    stored_size: size,
                    decoded_whole: false,
                }),
            );
            return crate::source::store::Streamed { digest, size };
        }
        let u = scan_stream(stream, matcher, spool, opts, cache);
        let layer = crate::source::store::Streamed {
            digest: u.r.digest.clone().unwrap_or_default(),
            size: u.stored_size,
        };
        keep(key, seq, Some(u));
        layer
    };
    let (stores, images, attempts) =
        open_targets(targets, opts, spool, summary, &arrived, &attempt);
    Opened {
        stores,
        images,
        attempts,
        early: early.into_inner().unwrap_or_default(),
    }
}

/// The digest a stream member's name claims (`blobs/sha256/<hex>`), if it claims one.
fn claimed_digest(name: &str) -> Option<String> {
    let hex = name.strip_prefix("blobs/sha256/")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| format!("sha256:{hex}"))
}

/// The distinct layers to read across all images, and which of them each image layer
/// is (by store and canonical blob name).
struct Plan {
    jobs: Vec<Job>,
    job_of: HashMap<(usize, String), usize>,
}

/// Lists the distinct layers, noting media types that contradict a blob's bytes.
fn plan_jobs(opened: &Opened, summary: &mut Summary) -> Plan {
    let (stores, images) = (&opened.stores, &opened.images);
    let mut job_of: HashMap<(usize, String), usize> = HashMap::new();
    let mut jobs: Vec<Job> = Vec::new();
    for (ii, (ti, img)) in images.iter().enumerate() {
        for (pos, l) in img.layers.iter().enumerate() {
            let blob = stores[*ti].get(&l.blob).ok();
            if let Some(note) = blob.as_ref().and_then(|b| media_type_note(img, l, b)) {
                summary.notes.push(note);
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
    Plan { jobs, job_of }
}

/// Reads every job's layer, costliest first and in parallel (so the big layers do not
/// end the run alone on one core): from the cache, from what a stream handed over
/// early, or from its blob. Gives each job's result, and whether it came from the
/// cache, in job order. When it wrote to the cache, the cache is trimmed to its cap.
fn read_layers(
    opened: &mut Opened,
    plan: &Plan,
    matcher: &Matcher,
    opts: &Options,
    spool: &Spool,
    cache: &ContentCache,
) -> Vec<(LayerResult, bool)> {
    let jobs = &plan.jobs;
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    let cost: Vec<u64> = jobs
        .iter()
        .map(|j| job_cost(j, &opened.images[j.image].1.layers[j.layer], opts))
        .collect();
    order.sort_by_key(|&j| std::cmp::Reverse(cost[j]));
    let wrote = std::sync::atomic::AtomicBool::new(false);
    let early_by_job: Vec<Mutex<Option<Unverified>>> = jobs
        .iter()
        .map(|j| {
            let blob = &opened.images[j.image].1.layers[j.layer].blob;
            let key = (
                opened.attempts[j.target],
                opened.stores[j.target].canonical(blob),
            );
            Mutex::new(opened.early.remove(&key).and_then(|(_, u)| u))
        })
        .collect();
    let (stores, images) = (&opened.stores, &opened.images);
    let bar = progress_bar(opts.progress, jobs.iter().map(|j| j.size).sum());
    let mut results: Vec<(usize, (LayerResult, bool))> = order
        .par_iter()
        .map(|&j| {
            let job = &jobs[j];
            let lref = &images[job.image].1.layers[job.layer];
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
                    None => scan_layer(store, lref, matcher, spool, opts, cache),
                };
                if let (Some(c), Some(d)) = (&opts.layer_cache, &r.digest)
                    && r.errors.is_empty()
                    && c.store(d, &for_cache(&r))
                {
                    wrote.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                r
            });
            if let Some(b) = &bar {
                b.inc(job.size);
            }
            (j, (r, from_cache))
        })
        .collect();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some(c) = &opts.layer_cache
        && wrote.into_inner()
    {
        c.enforce_cap();
    }
    results.sort_by_key(|(j, _)| *j);
    results.into_iter().map(|(_, r)| r).collect()
}

/// What reading a job will cost, roughly, in bytes of tar read and matched: a layer
/// the results cache holds is only hashed (its stored bytes, several times faster per
/// byte than reading and matching), any other is read whole.
fn job_cost(job: &Job, lref: &crate::image::LayerRef, opts: &Options) -> u64 {
    let cached = opts.layer_cache.as_ref().is_some_and(|c| {
        lref.digest
            .as_deref()
            .or(lref.diff_id.as_deref())
            .is_some_and(|d| c.contains(d))
    });
    if cached { job.size / 4 } else { job.work }
}

/// Each layer's errors, skips and size into the summary, and every secret found in a
/// layer into the redactor: it is masked in every output whether or not its finding is
/// reported (a package file's secret may also sit in a build step).
fn fold_layer_results(opened: &Opened, plan: &Plan, results: &[LayerResult], out: &mut Outcome) {
    for (job, r) in plan.jobs.iter().zip(results) {
        let img = &opened.images[job.image].1;
        let lref = &img.layers[job.layer];
        for e in &r.errors {
            out.summary.errors.push(ScanError {
                kind: e.kind,
                image: img.source.clone(),
                layer_index: Some(lref.index),
                layer_digest: r.digest.clone().or_else(|| lref.digest.clone()),
                path: e.path.clone(),
                message: e.message.clone(),
            });
        }
        for s in &r.skips {
            let place = std::iter::once(s.path.as_deref().unwrap_or("(the layer)"))
                .chain(s.chain.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" → ");
            out.summary.skip(
                &s.reason,
                format!("{}: layer {}: {place}", img.source, lref.index),
            );
        }
        out.summary.bytes_scanned += r.bytes;
        for m in &r.matches {
            match (&m.secret, &m.hashed) {
                (Secret::Full(b), _) => out.redactor.add(&display_bytes(b)),
                (Secret::Redacted(_), Some(h)) => out.redactor.add_hashed(h.clone()),
                (Secret::Redacted(_), None) => {}
            }
        }
    }
    out.summary.layers = plan.jobs.len();
    out.summary.images = opened.images.len();
}

/// One finding per secret value and image, in report order; totals; every message in
/// our words, on one line.
fn finish(out: &mut Outcome, matcher: &Matcher) {
    out.redactor.finish();
    // Each place in report order, then one finding per secret value and image.
    sort_findings(&mut out.findings);
    out.findings = crate::finding::group_by_value(std::mem::take(&mut out.findings));
    sort_findings(&mut out.findings);
    out.rules = rules_used(matcher, &out.findings);
    out.recount();
    for e in &mut out.summary.errors {
        e.message = crate::util::plain_message(&e.message);
        e.path = e.path.as_deref().map(crate::util::plain_message);
    }
    for n in &mut out.summary.notes {
        *n = crate::util::plain_message(n);
    }
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
                    .push(ScanError::about(raw.clone(), e.to_string()).of_kind(e.kind()));
                continue;
            }
        };
        let label = opened.label.clone();
        for issue in opened.issues {
            summary.errors.push(
                ScanError::about(
                    label.clone(),
                    issue
                        .message
                        .strip_prefix(&format!("{label}: "))
                        .unwrap_or(&issue.message)
                        .to_string(),
                )
                .of_kind(issue.kind),
            );
        }
        if let Some(c) = &opened.cut {
            summary.skip(c, label.clone());
        }
        for s in opened.skipped {
            // Not an image: a note that leaves the exit code alone.
            summary.notes.push(s);
        }
        let mut imgs = opened.images;
        if let Some(p) = &opts.platform {
            let available: Vec<String> = imgs.iter().map(|i| i.platform.clone()).collect();
            imgs.retain(|i| platform_matches(&i.platform, p));
            if imgs.is_empty() {
                summary.errors.push(
                    ScanError::about(
                        label.clone(),
                        format!(
                            "no image for platform {p} (available: {})",
                            if available.is_empty() {
                                "none".into()
                            } else {
                                available.join(", ")
                            }
                        ),
                    )
                    .of_kind(crate::error::ErrorKind::Target),
                );
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
