//! One layer blob in, one [`LayerResult`] out: reads the blob as a stream (or takes
//! it from the layer results cache once its digest is verified), matches every file
//! and every view of a nested file, keeps package records and third-party manifests,
//! and checks the blob's digest and diff_id against what the image claims.

use super::Options;
use crate::error::ErrorKind;
use crate::finding::fingerprint;
use crate::image::Image;
use crate::layer::{FileRef, TarEntry, Window, walk_layer};
use crate::matcher::{Item, Matcher, RawMatch};
use crate::overlay::{LayerFs, is_whiteout};
use crate::packages::{FileHashes, is_package_db_path};
use crate::redact::HashedSecret;
use crate::source::Store;
use crate::spool::Spool;
use crate::util::{display_bytes, line_col};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// A secret as a layer scan keeps it: in full, or (from the results cache, which
/// never stores secret values) only as its redacted form.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) enum Secret {
    Full(Vec<u8>),
    Redacted(String),
}

impl Secret {
    pub(super) fn shown(&self) -> String {
        match self {
            Secret::Full(b) => display_bytes(b),
            Secret::Redacted(s) => s.clone(),
        }
    }
}

/// A confirmed match inside one layer entry, with what the report needs.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct LayerMatch {
    pub(super) entry: usize,
    pub(super) path: Vec<u8>,
    pub(super) rule: usize,
    pub(super) secret: Secret,
    /// Set once the layer's diff_id is known (see [`fingerprint`]).
    pub(super) fingerprint: String,
    /// The secret by rule alone (see [`crate::finding::value_fingerprint`]) and by
    /// hash (to merge places and mask it where a cached result left only its head);
    /// set with `fingerprint`.
    pub(super) value_fingerprint: String,
    pub(super) hashed: Option<HashedSecret>,
    /// The known public test key the secret is (see [`crate::testkeys`]).
    pub(super) known_key: Option<String>,
    pub(super) line: u64,
    pub(super) column: u64,
    pub(super) offset: u64,
    /// Content hashes of the whole file, to compare with package records; for a file
    /// larger than [`EAGER_HASH_BYTES`], computed later and only if a package lists it.
    pub(super) hashes: Option<FileHashes>,
    /// For a secret inside a nested archive or compressed file: the file's path, then
    /// the inner names; empty otherwise.
    pub(super) nested: Vec<String>,
}

impl LayerMatch {
    /// A match of `rule` at `at` (line, column, offset) of entry `entry`, its
    /// fingerprints set once the layer's diff_id is known.
    fn new(
        entry: usize,
        path: &[u8],
        rule: usize,
        secret: Vec<u8>,
        at: (u64, u64, u64),
        hashes: Option<FileHashes>,
    ) -> LayerMatch {
        LayerMatch {
            entry,
            path: path.to_vec(),
            rule,
            secret: Secret::Full(secret),
            fingerprint: String::new(),
            value_fingerprint: String::new(),
            hashed: None,
            known_key: None,
            line: at.0,
            column: at.1,
            offset: at.2,
            hashes,
            nested: Vec::new(),
        }
    }
}

/// A match found inside an expanded file, relative to the innermost content.
#[derive(Clone)]
pub(super) struct InnerMatch {
    pub(super) chain: Vec<String>,
    pub(super) rule: usize,
    pub(super) secret: Vec<u8>,
    pub(super) line: u64,
    pub(super) column: u64,
    pub(super) offset: u64,
}

/// Expansions already matched, by content hash: the same archive in two layers (or
/// two images) is expanded and matched once.
pub(super) type ContentCache =
    std::sync::Mutex<HashMap<[u8; 32], Arc<(Vec<InnerMatch>, Vec<crate::content::Skip>)>>>;

/// The result of reading and matching one layer blob.
#[derive(Default, Serialize, Deserialize)]
pub(super) struct LayerResult {
    pub(super) fs: LayerFs,
    pub(super) matches: Vec<LayerMatch>,
    /// Package-manager record files in this layer: (entry index, path, bytes).
    pub(super) records: Vec<(usize, Vec<u8>, Vec<u8>)>,
    pub(super) digest: Option<String>,
    pub(super) diff_id: Option<String>,
    pub(super) bytes: u64,
    pub(super) errors: Vec<LayerError>,
    /// What a limit or a fault cut short.
    pub(super) skips: Vec<LayerSkip>,
}

/// A problem reading a layer: of what kind, at which path of it (none: the layer as a
/// whole), in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct LayerError {
    pub(super) kind: crate::error::ErrorKind,
    pub(super) path: Option<String>,
    pub(super) message: String,
}

impl LayerError {
    pub(super) fn new(
        kind: crate::error::ErrorKind,
        path: Option<String>,
        message: impl Into<String>,
    ) -> LayerError {
        LayerError {
            kind,
            path,
            message: message.into(),
        }
    }
}

/// Something a limit or a fault left unread: a file of the layer (with the chain of
/// inner names, for nested content), or the layer as a whole (`path` None).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct LayerSkip {
    pub(super) path: Option<String>,
    pub(super) chain: Vec<String>,
    pub(super) reason: String,
}

/// Matched files up to this size are hashed while their layer is open; larger ones
/// only when a package database lists their path (rare: the layer is read again).
pub(super) const EAGER_HASH_BYTES: usize = 16 << 20;

/// Most bytes of package records read from one layer.
pub(super) const MAX_RECORD_BYTES: usize = 256 << 20;

/// Expands one file (nested archives, compressed payloads, UTF-16 text) and matches
/// every view of it.
pub(super) fn expand_and_match(
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

/// Among matches of the same span, keeps the one from the most specific rule: the
/// most confident, and at equal confidence a provider format before a context or
/// generic rule. A context or generic match whose span overlaps a provider-format
/// match is dropped too: a Docker Hub token under a `[registry] token =` line is a
/// Docker Hub token, not a Cargo registry token.
pub(super) fn best_per_span(matcher: &Matcher, mut ms: Vec<RawMatch>) -> Vec<RawMatch> {
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
pub(super) struct LayerScanner<'a> {
    pub(super) matcher: &'a Matcher,
    pub(super) limits: &'a crate::content::Limits,
    pub(super) cache: &'a ContentCache,
    pub(super) matches: Vec<LayerMatch>,
    pub(super) records: Vec<(usize, Vec<u8>, Vec<u8>)>,
    pub(super) record_bytes: usize,
    pub(super) errors: Vec<LayerError>,
    pub(super) skips: Vec<LayerSkip>,
}

impl crate::layer::Visitor for LayerScanner<'_> {
    fn context(&self) -> usize {
        self.matcher.max_window()
    }

    fn wants_whole(&self, head: &[u8]) -> bool {
        crate::content::worth_expanding(head)
    }

    fn window(&mut self, data: &[u8], file: &FileRef, entries: &[TarEntry], w: &Window) {
        let path = &entries[file.entry].path;
        if is_whiteout(path) {
            return;
        }
        let items = [Item {
            range: 0..data.len(),
            path: Some(path.as_slice()),
        }];
        let ms = match self.matcher.scan_items_releasing(data, &items, &|_| {}) {
            Ok(ms) => ms,
            Err(e) => {
                let e = LayerError::new(e.kind(), None, e.to_string());
                if !self.errors.contains(&e) {
                    self.errors.push(e);
                }
                return;
            }
        };
        for m in best_per_span(self.matcher, ms) {
            if !w.accept.contains(&m.secret.start) {
                continue;
            }
            let (line, column) = w.line_col(data, m.secret.start);
            self.matches.push(LayerMatch::new(
                file.entry,
                path,
                m.rule,
                data[m.secret.clone()].to_vec(),
                (line, column, w.offset + m.secret.start as u64),
                None,
            ));
        }
    }

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
                    self.matches.push(LayerMatch::new(
                        f.entry,
                        &entries[f.entry].path,
                        m.rule,
                        bytes[m.secret.clone()].to_vec(),
                        (line, column, m.secret.start as u64),
                        h,
                    ));
                }
            }
            Err(e) => {
                let e = LayerError::new(e.kind(), None, e.to_string());
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
                self.skips.push(LayerSkip {
                    path: Some(path.clone()),
                    chain: s.chain.clone(),
                    reason: s.reason.clone(),
                });
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
                let mut found = LayerMatch::new(
                    entry,
                    &e.path,
                    m.rule,
                    m.secret.clone(),
                    (m.line, m.column, m.offset),
                    h.clone(),
                );
                if !m.chain.is_empty() {
                    found.nested = std::iter::once(path.clone())
                        .chain(m.chain.iter().cloned())
                        .collect();
                }
                self.matches.push(found);
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
                self.errors.push(LayerError::new(
                    crate::error::ErrorKind::Limit,
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
pub(super) fn media_type_note(
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
pub(super) fn scan_layer(
    store: &Store,
    lref: &crate::image::LayerRef,
    matcher: &Matcher,
    spool: &Spool,
    opts: &Options,
    cache: &ContentCache,
) -> LayerResult {
    match store.get(&lref.blob) {
        Ok(blob) => match &lref.title {
            // A layer of an OCI artifact that is no tar: one file.
            Some(title) if !artifact_tar(lref, &blob) => {
                let mut scanner = LayerScanner::new(matcher, opts, cache);
                let walked = crate::layer::walk_single_file(&blob, title.as_bytes(), &mut scanner);
                layer_result(walked, scanner, matcher).verified(lref)
            }
            _ => scan_blob(&blob, matcher, spool, opts, cache).verified(lref),
        },
        Err(e) => LayerResult {
            errors: vec![LayerError::new(
                e.kind(),
                None,
                format!("{}: {e}", lref.blob),
            )],
            ..Default::default()
        },
    }
}

/// Whether a layer of an OCI artifact is a tar to walk: a plain tar, or a compressed
/// stream its media type calls a tar (a Helm chart's `…tar+gzip`). Anything else is
/// scanned as one file (compressed files and archives inside it are still opened).
fn artifact_tar(lref: &crate::image::LayerRef, blob: &crate::blob::Blob) -> bool {
    let data = blob.bytes();
    match crate::layer::sniff(data) {
        crate::layer::Compression::None => data.get(257..262) == Some(b"ustar"),
        _ => lref
            .media_type
            .as_deref()
            .is_some_and(|m| m.contains("tar")),
    }
}

/// Layers scanned as they arrived from a stream, by (target attempt, member name): the
/// arrival's number and the result (none when the results cache holds the layer).
pub(super) type EarlyResults = HashMap<(usize, String), (u64, Option<Unverified>)>;

/// A layer blob read, indexed and matched, not yet checked against what a manifest
/// and config claim of it.
pub(super) struct Unverified {
    pub(super) r: LayerResult,
    pub(super) stored_size: u64,
    pub(super) decoded_whole: bool,
}

impl Unverified {
    /// The result, with an error for each claim of `lref` the blob contradicts.
    pub(super) fn verified(mut self, lref: &crate::image::LayerRef) -> LayerResult {
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
pub(super) fn scan_blob(
    blob: &crate::blob::Blob,
    matcher: &Matcher,
    spool: &Spool,
    opts: &Options,
    cache: &ContentCache,
) -> Unverified {
    let mut scanner = LayerScanner::new(matcher, opts, cache);
    let walked = walk_layer(blob, spool, &opts.layer_caps, true, &mut scanner);
    layer_result(walked, scanner, matcher)
}

/// Reads, indexes and matches one layer arriving as a stream, reading it to its end,
/// computing its digest and diff_id.
pub(super) fn scan_stream(
    stream: &mut dyn std::io::Read,
    matcher: &Matcher,
    spool: &Spool,
    opts: &Options,
    cache: &ContentCache,
) -> Unverified {
    let mut scanner = LayerScanner::new(matcher, opts, cache);
    let walked = crate::layer::walk_stream(stream, spool, &opts.layer_caps, &mut scanner);
    layer_result(walked, scanner, matcher)
}

impl<'a> LayerScanner<'a> {
    fn new(matcher: &'a Matcher, opts: &'a Options, cache: &'a ContentCache) -> Self {
        LayerScanner {
            matcher,
            limits: &opts.limits,
            cache,
            matches: Vec::new(),
            records: Vec::new(),
            record_bytes: 0,
            errors: Vec::new(),
            skips: Vec::new(),
        }
    }
}

/// The result of a layer walked by `scanner`.
fn layer_result(
    mut walked: crate::layer::WalkedLayer,
    scanner: LayerScanner<'_>,
    matcher: &Matcher,
) -> Unverified {
    let mut r = LayerResult::default();
    if let Some(t) = &walked.truncated {
        r.skips.push(LayerSkip {
            path: None,
            chain: Vec::new(),
            reason: t.clone(),
        });
    }
    r.bytes = walked.tar_size;
    // A layer cut short by a cap ends mid-entry; that is the counted skip, not corruption.
    // A corrupt stream cuts the tar short too: one error says both.
    match (&walked.decode_error, walked.index_error.take()) {
        (Some(d), Some(e)) => r.errors.push(LayerError::new(
            ErrorKind::Corrupt,
            None,
            format!("{d}; scanned what was readable ({e})"),
        )),
        (Some(d), None) => r.errors.push(LayerError::new(
            ErrorKind::Corrupt,
            None,
            format!("{d}; scanned what was readable"),
        )),
        (None, Some(e)) if walked.truncated.is_none() => {
            r.errors.push(LayerError::new(ErrorKind::Corrupt, None, e))
        }
        _ => {}
    }
    let named = |p: &Option<Vec<u8>>| {
        p.as_deref()
            .map(|p| crate::util::clip_for_message(&display_bytes(p), 256))
    };
    for p in std::mem::take(&mut walked.problems) {
        r.errors
            .push(LayerError::new(ErrorKind::Limit, named(&p.path), p.message));
    }
    for p in std::mem::take(&mut walked.skipped) {
        r.skips.push(LayerSkip {
            path: named(&p.path),
            chain: Vec::new(),
            reason: p.message,
        });
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

pub(super) fn eager_hashes(bytes: &[u8]) -> Option<FileHashes> {
    (bytes.len() <= EAGER_HASH_BYTES).then(|| FileHashes::of_bytes(bytes))
}

/// Hashes the wanted files of a layer as its walk hands them over.
pub(super) struct Rehasher<'a> {
    pub(super) wanted: &'a [usize],
    pub(super) found: HashMap<usize, FileHashes>,
    /// A file handed over in windows, hashed so far.
    pub(super) partial: Option<(usize, crate::packages::Hashers)>,
}

impl crate::layer::Visitor for Rehasher<'_> {
    fn window(&mut self, data: &[u8], file: &FileRef, _: &[TarEntry], w: &Window) {
        if !self.wanted.contains(&file.entry) {
            return;
        }
        if w.offset == 0 {
            self.partial = Some((file.entry, crate::packages::Hashers::default()));
        }
        if let Some((entry, h)) = &mut self.partial
            && *entry == file.entry
        {
            h.update(&data[w.fresh.clone()]);
        }
        if w.last
            && let Some((entry, h)) = self.partial.take()
        {
            self.found.insert(entry, h.finish());
        }
    }

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
pub(super) fn rehash_entries(
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
        partial: None,
    };
    walk_layer(&blob, spool, caps, false, &mut v);
    v.found
}

/// What a layer's manifest and config entries claim that its blob contradicts. The
/// diff_id is compared only when the whole stream was decoded.
pub(super) fn expectation_errors(
    lref: &crate::image::LayerRef,
    digest: &str,
    diff_id: &str,
    stored_size: u64,
    decoded_whole: bool,
) -> Vec<LayerError> {
    let mut errors = Vec::new();
    if let Some(exp) = &lref.digest
        && exp != digest
    {
        errors.push(LayerError::new(
            ErrorKind::DigestMismatch,
            None,
            format!("blob digest mismatch: expected {exp}, found {digest}"),
        ));
    }
    if let Some(exp) = &lref.diff_id
        && exp != diff_id
        && decoded_whole
    {
        errors.push(LayerError::new(
            ErrorKind::DiffIdMismatch,
            None,
            format!("diff_id mismatch: expected {exp}, found {diff_id}"),
        ));
    }
    if let Some(size) = lref.size
        && size != stored_size
    {
        errors.push(LayerError::new(
            ErrorKind::SizeMismatch,
            None,
            format!("size mismatch: descriptor says {size} bytes, blob has {stored_size}"),
        ));
    }
    errors
}

/// The cached result of a layer, if there is one for the digest its manifest (or, for
/// a plain docker save layer, its config) claims and the blob really has that digest.
/// Decompression and matching are skipped; the claims are checked as on a full read.
pub(super) fn cached_layer(
    cache: &crate::results_cache::LayerCache,
    store: &Store,
    lref: &crate::image::LayerRef,
    reveal: bool,
) -> Option<LayerResult> {
    let claimed = lref.digest.as_deref().or(lref.diff_id.as_deref())?;
    // No entry, no hashing: a look at the directory costs nothing next to it.
    if !cache.contains(claimed) {
        return None;
    }
    let hash = || store.sha256(&lref.blob).ok();
    let (mut r, (digest, size)) = if reveal {
        // An entry with matches will not do for `--reveal`: read it before hashing.
        let r = cache_entry(cache, claimed, reveal)?;
        (r, hash()?)
    } else {
        // The entry is decoded while the blob is hashed (on another core when free).
        let (hashed, r) = rayon::join(hash, || cache_entry(cache, claimed, reveal));
        (r?, hashed?)
    };
    if digest != claimed {
        return None;
    }
    let diff_id = r.diff_id.clone().unwrap_or_default();
    let truncated = r.skips.iter().any(|s| s.path.is_none());
    r.errors = expectation_errors(lref, &digest, &diff_id, size, !truncated);
    Some(r)
}

/// The cached result for the blob `digest`, if one is there and will do: a `--reveal`
/// scan reads layers with findings again, for their secrets.
pub(super) fn cache_entry(
    cache: &crate::results_cache::LayerCache,
    digest: &str,
    reveal: bool,
) -> Option<LayerResult> {
    let r: LayerResult = cache.load(digest)?;
    (r.digest.as_deref() == Some(digest) && (!reveal || r.matches.is_empty())).then_some(r)
}

/// The form of a layer result the cache keeps: secrets reduced to their redacted form.
pub(super) fn for_cache(r: &LayerResult) -> LayerResult {
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
