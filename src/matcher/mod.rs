//! Matching: one Hyperscan block database holds every rule; Hyperscan reports
//! candidate match ends, and each rule's own regex confirms and extracts the secret
//! within the entry that holds the candidate.
//!
//! Takes a byte buffer (a mapped layer) and a list of [`Item`]s (the ranges of its
//! file entries); gives [`RawMatch`]es relative to each item. Entries are scanned in
//! chunks of many small files per Hyperscan call, chunks in parallel, with one
//! scratch space per worker.

pub mod cache;
pub mod check;

use crate::error::{Error, Result};
use crate::rules::{KEYWORD_REACH, Kind, Prefiltered, Rule, RuleSet, filters};
use hyperscan::Block;
use hyperscan::prelude::*;
use rayon::prelude::*;
use std::ops::Range;
use std::path::Path;
use std::sync::Mutex;

/// How much data one Hyperscan call takes at most when batching small entries.
const CHUNK_BYTES: usize = 8 << 20;
/// Largest piece of one huge entry given to one Hyperscan call: small enough that the
/// pages of a piece can be released once it is scanned, keeping memory flat.
const PIECE_BYTES: usize = 16 << 20;
/// Candidate ends of one rule closer than this are confirmed together.
const MERGE_GAP: u64 = 256;

/// One scannable piece of a buffer, e.g. a file's bytes in a mapped layer.
#[derive(Clone, Debug)]
pub struct Item<'a> {
    pub range: Range<usize>,
    /// Path used by path-based rule filters and allowlists.
    pub path: Option<&'a [u8]>,
}

/// A confirmed match, offsets relative to its item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawMatch {
    pub item: usize,
    pub rule: usize,
    pub secret: Range<usize>,
    pub whole: Range<usize>,
}

/// All rules compiled for scanning.
pub struct Matcher {
    pub rules: RuleSet,
    db: Option<BlockDatabase>,
    /// Rules that Hyperscan could not compile even as a prefilter; confirmed by regex alone.
    regex_only: Vec<usize>,
    /// Human-readable notes about rules Hyperscan could not compile exactly.
    pub notes: Vec<String>,
    scratch: Mutex<Vec<Scratch>>,
    max_window: usize,
    /// Rules told by a [`crate::rules::Detector`] instead of a pattern: run on every
    /// item whole.
    detectors: Vec<usize>,
    /// The value prefixes of provider formats (lowercase), from the provider rules'
    /// keywords: a generic rule's value that starts with one belongs to that format and
    /// is left to its rule ([`claimed_prefixes`]).
    claimed: Vec<Vec<u8>>,
}

fn hs_pattern(rule: &Rule, id: usize, prefilter: bool) -> Result<Pattern> {
    let mut flags = CompileFlags::MULTILINE;
    if prefilter {
        flags |= CompileFlags::PREFILTER;
    }
    let mut p = Pattern::with_flags(rule.pattern.clone(), flags)
        .map_err(|e| Error::Hyperscan(e.to_string()))?;
    p.id = Some(id);
    Ok(p)
}

impl Matcher {
    /// Compiles all rules into one database. A rule Hyperscan rejects is retried as a
    /// prefilter pattern, and failing that is matched by its regex alone; either way a
    /// note says so.
    pub fn new(rules: RuleSet) -> Result<Matcher> {
        Self::with_cache(rules, None)
    }

    /// Like [`Matcher::new`], but reuses a compiled database from `cache_dir` when one
    /// was stored there for exactly these patterns and this Hyperscan build, and stores
    /// it otherwise. A missing, stale or corrupt cache entry only costs a compile.
    pub fn with_cache(rules: RuleSet, cache_dir: Option<&Path>) -> Result<Matcher> {
        let key = cache::key(&rules);
        let cached = cache_dir.and_then(|d| cache::load(d, &key, rules.rules.len()));
        let compiled = match cached {
            Some(c) => c,
            None => {
                let c = compile(&rules)?;
                if let Some(d) = cache_dir {
                    cache::store(d, &key, &c);
                }
                c
            }
        };
        let regex_only: Vec<usize> = (0..rules.rules.len())
            .filter(|&i| compiled.excluded[i])
            .collect();
        let max_window = rules.rules.iter().map(|r| r.window).max().unwrap_or(0);
        let notes = rules.notes.iter().cloned().chain(compiled.notes).collect();
        let claimed = claimed_prefixes(&rules);
        let detectors = (0..rules.rules.len())
            .filter(|&i| rules.rules[i].detector.is_some())
            .collect();
        Ok(Matcher {
            detectors,
            claimed,
            rules,
            db: compiled.db,
            regex_only,
            notes,
            scratch: Mutex::new(Vec::new()),
            max_window,
        })
    }

    fn take_scratch(&self) -> Result<Option<Scratch>> {
        let Some(db) = &self.db else { return Ok(None) };
        if let Some(s) = self.scratch.lock().ok().and_then(|mut v| v.pop()) {
            return Ok(Some(s));
        }
        db.alloc_scratch()
            .map(Some)
            .map_err(|e| Error::Hyperscan(e.to_string()))
    }

    fn put_scratch(&self, s: Option<Scratch>) {
        if let (Some(s), Ok(mut v)) = (s, self.scratch.lock()) {
            v.push(s);
        }
    }

    /// Whether a generic rule's value carries a provider's format, in part: it starts
    /// with a provider prefix (`dp.`, `sgp_`, `GOCSPX-`…) or has a shape that
    /// [`filters::claimed_shape_fails`] knows. Such a value is that provider's to report:
    /// when its rule did not take it (a truncated token, an unknown token type), it is a
    /// near miss, not a secret of no format. `whole` is the generic rule's match.
    fn claimed_by_provider(&self, secret: &[u8], whole: &[u8]) -> bool {
        self.claimed
            .iter()
            .any(|p| secret.len() > p.len() && secret[..p.len()].eq_ignore_ascii_case(p))
            || filters::claimed_shape_fails(secret, whole)
    }

    /// The most bytes a match of any rule may span.
    pub fn max_window(&self) -> usize {
        self.max_window
    }

    /// Scans one standalone buffer (a metadata field, an example).
    pub fn scan_bytes(&self, data: &[u8], path: Option<&[u8]>) -> Result<Vec<RawMatch>> {
        self.scan_items(
            data,
            &[Item {
                range: 0..data.len(),
                path,
            }],
        )
    }

    /// Scans every item of `data`. Items must be sorted by start and not overlap.
    pub fn scan_items(&self, data: &[u8], items: &[Item<'_>]) -> Result<Vec<RawMatch>> {
        self.scan_items_releasing(data, items, &|_| {})
    }

    /// Like [`Matcher::scan_items`], calling `release` with each range of `data` once
    /// it has been scanned (a mapped layer drops those pages from memory).
    pub fn scan_items_releasing(
        &self,
        data: &[u8],
        items: &[Item<'_>],
        release: &(dyn Fn(Range<usize>) + Sync),
    ) -> Result<Vec<RawMatch>> {
        let pieces = plan_pieces(items, self.max_window);
        let results: Vec<Result<Vec<RawMatch>>> = pieces
            .par_iter()
            .map(|piece| {
                let r = self.scan_piece(data, items, piece);
                release(piece.range.clone());
                r
            })
            .collect();
        let mut out = Vec::new();
        for r in results {
            out.extend(r?);
        }
        if !self.regex_only.is_empty() {
            for (k, item) in items.iter().enumerate() {
                for &ri in &self.regex_only {
                    let bytes = &data[item.range.clone()];
                    self.confirm(ri, k, bytes, item.path, 0, bytes.len(), true, &mut out);
                }
            }
        }
        for &ri in &self.detectors {
            let rule = &self.rules.rules[ri];
            let Some(detector) = rule.detector else {
                continue;
            };
            for (k, item) in items.iter().enumerate() {
                let bytes = &data[item.range.clone()];
                if rule
                    .path
                    .as_ref()
                    .is_some_and(|re| !item.path.is_some_and(|p| re.is_match(p)))
                {
                    continue;
                }
                if let Some(found) = detector.detect(bytes) {
                    out.push(RawMatch {
                        item: k,
                        rule: ri,
                        secret: found.clone(),
                        whole: found,
                    });
                }
            }
        }
        out.sort_by_key(|m| (m.item, m.secret.start, m.secret.end, m.rule));
        out.dedup_by(|a, b| a.item == b.item && a.rule == b.rule && a.secret == b.secret);
        Ok(out)
    }

    /// Scans the items of one piece, each file in its own Hyperscan call so that `^`,
    /// `$` and `\b` see the file's own start and end, as the confirming regex does.
    fn scan_piece(&self, data: &[u8], items: &[Item<'_>], piece: &Piece) -> Result<Vec<RawMatch>> {
        let Some(db) = &self.db else {
            return Ok(Vec::new());
        };
        let scratch = self.take_scratch()?;
        let Some(scratch_ref) = scratch.as_ref() else {
            return Ok(Vec::new());
        };
        let nrules = self.rules.rules.len();
        let mut open: Vec<Option<(u64, u64)>> = vec![None; nrules];
        let mut ranges: Vec<(usize, u64, u64)> = Vec::new();
        let mut out = Vec::new();
        let mut failure = None;
        for (k, item) in items
            .iter()
            .enumerate()
            .take(piece.items.end)
            .skip(piece.items.start)
        {
            // A huge item is split over several pieces; scan only this piece's part.
            let start = item.range.start.max(piece.range.start);
            let end = item.range.end.min(piece.range.end);
            if start >= end {
                continue;
            }
            let res = db.scan(
                &data[start..end],
                scratch_ref,
                |id: u32, _from: u64, to: u64, _flags: u32| {
                    let id = id as usize;
                    match &mut open[id] {
                        Some((_, hi)) if to <= *hi + MERGE_GAP => *hi = to.max(*hi),
                        slot => {
                            if let Some((lo, hi)) = slot.take() {
                                ranges.push((id, lo, hi));
                            }
                            *slot = Some((to, to));
                        }
                    }
                    Matching::Continue
                },
            );
            if let Err(e) = res {
                failure = Some(Error::Hyperscan(e.to_string()));
                break;
            }
            for (id, slot) in open.iter_mut().enumerate() {
                if let Some((lo, hi)) = slot.take() {
                    ranges.push((id, lo, hi));
                }
            }
            let bytes = &data[item.range.clone()];
            let shift = start - item.range.start;
            for (rule, lo, hi) in ranges.drain(..) {
                let (e_lo, e_hi) = (shift + lo as usize, shift + hi as usize);
                self.confirm(
                    rule,
                    k,
                    bytes,
                    item.path,
                    e_lo.max(1),
                    e_hi,
                    false,
                    &mut out,
                );
            }
        }
        self.put_scratch(scratch);
        match failure {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Runs rule `ri`'s regex over the lines around candidate ends `e_lo..=e_hi` of `bytes`
    /// (or all of `bytes` when `whole` is set) and keeps the matches that pass the filters.
    #[allow(clippy::too_many_arguments)]
    fn confirm(
        &self,
        ri: usize,
        item: usize,
        bytes: &[u8],
        path: Option<&[u8]>,
        e_lo: usize,
        e_hi: usize,
        whole: bool,
        out: &mut Vec<RawMatch>,
    ) {
        let rule = &self.rules.rules[ri];
        if !rule.binary && looks_binary(bytes) {
            return;
        }
        if let (Some(re), Some(p)) = (&rule.path, path)
            && !re.is_match(p)
        {
            return;
        }
        let (ws, we) = if whole {
            (0, bytes.len())
        } else if rule.prefiltered == Prefiltered::Pattern {
            window(
                bytes,
                e_lo,
                (e_hi + rule.window).min(bytes.len()),
                rule.window,
            )
        } else if rule.prefiltered == Prefiltered::Keywords {
            // From the keyword's line (a key name begins a few characters before the
            // keyword at most) to KEYWORD_REACH bytes past it.
            window(bytes, e_lo, (e_hi + KEYWORD_REACH).min(bytes.len()), 256)
        } else {
            window(bytes, e_lo, e_hi, rule.window)
        };
        for caps in rule.regex.captures_iter(&bytes[ws..we]) {
            let (Some(m), Some(s)) = (caps.get(0), caps.get(rule.secret_group)) else {
                continue;
            };
            let secret = ws + s.start()..ws + s.end();
            let whole_range = ws + m.start()..ws + m.end();
            if self.accept(rule, bytes, &secret, &whole_range, path) {
                out.push(RawMatch {
                    item,
                    rule: ri,
                    secret,
                    whole: whole_range,
                });
            }
        }
    }

    fn accept(
        &self,
        rule: &Rule,
        bytes: &[u8],
        secret: &Range<usize>,
        whole: &Range<usize>,
        path: Option<&[u8]>,
    ) -> bool {
        let s = &bytes[secret.clone()];
        if s.is_empty() {
            return false;
        }
        if let Some(min) = rule.entropy
            && filters::shannon_entropy(s) < min
        {
            return false;
        }
        if rule.checksum.is_some_and(|c| !c.verify(s))
            || rule.structure.is_some_and(|st| !st.verify(s))
        {
            return false;
        }
        if filters::placeholder_reason(s).is_some() {
            return false;
        }
        let w = &bytes[whole.clone()];
        if rule.kind == Kind::Generic && self.claimed_by_provider(s, w) {
            return false;
        }
        let line = line_around(bytes, secret.start);
        !rule
            .allowlists
            .iter()
            .chain(
                self.rules
                    .global_allowlists
                    .iter()
                    .filter(|a| a.target_rules.is_empty() || a.target_rules.contains(&rule.id)),
            )
            .any(|a| a.allows(s, w, line, path))
    }
}

/// A compiled database and how each rule got into it.
pub(crate) struct Compiled {
    pub db: Option<BlockDatabase>,
    pub prefilter: Vec<bool>,
    pub excluded: Vec<bool>,
    pub notes: Vec<String>,
}

fn compile(rules: &RuleSet) -> Result<Compiled> {
    let mut prefilter = vec![false; rules.rules.len()];
    let mut excluded = vec![false; rules.rules.len()];
    let mut notes = Vec::new();
    let db = loop {
        let patterns: Vec<Pattern> = rules
            .rules
            .iter()
            .enumerate()
            .filter(|(i, r)| !excluded[*i] && r.detector.is_none())
            .map(|(i, r)| hs_pattern(r, i, prefilter[i]))
            .collect::<Result<_>>()?;
        if patterns.is_empty() {
            break None;
        }
        let ids: Vec<usize> = patterns.iter().map(|p| p.id.unwrap_or(0)).collect();
        match Patterns(patterns).build::<Block>() {
            Ok(db) => break Some(db),
            Err(err) => {
                // Find the first pattern that fails on its own.
                let bad = ids.iter().copied().find(|&i| {
                    hs_pattern(&rules.rules[i], i, prefilter[i])
                        .and_then(|p| {
                            p.build::<Block>()
                                .map_err(|e| Error::Hyperscan(e.to_string()))
                        })
                        .is_err()
                });
                let Some(i) = bad else {
                    return Err(Error::Hyperscan(err.to_string()));
                };
                let rule = &rules.rules[i];
                if prefilter[i] {
                    excluded[i] = true;
                    let tag = format!("rule {} ({}): ", rule.id, rule.origin);
                    notes.retain(|n: &String| !n.starts_with(&tag));
                    notes.push(format!(
                        "rule {} ({}): Hyperscan cannot compile it; matched by regex alone",
                        rule.id, rule.origin
                    ));
                } else {
                    prefilter[i] = true;
                    notes.push(format!(
                        "rule {} ({}): compiled as a Hyperscan prefilter",
                        rule.id, rule.origin
                    ));
                }
            }
        }
    };
    Ok(Compiled {
        db,
        prefilter,
        excluded,
        notes,
    })
}

/// A NUL byte in the first 8 KiB: the test git and grep use for binary files.
fn looks_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(8192)].contains(&0)
}

/// The confirmation window for candidate ends `e_lo..=e_hi`: from the earliest line
/// start within `span` bytes before `e_lo` to the end of the line holding `e_hi`.
fn window(bytes: &[u8], e_lo: usize, e_hi: usize, span: usize) -> (usize, usize) {
    let s0 = e_lo.saturating_sub(span);
    let ws = if s0 == 0 {
        0
    } else {
        let last = e_lo.saturating_sub(1);
        match bytes[s0 - 1..last].iter().position(|&b| b == b'\n') {
            Some(i) => s0 + i,
            None => s0,
        }
    };
    let cap = (e_hi + span).min(bytes.len());
    let we = match bytes[e_hi.min(cap)..cap].iter().position(|&b| b == b'\n') {
        Some(i) => e_hi + i,
        None => cap,
    };
    (ws, we)
}

/// The value prefixes that provider rules' keywords give: ending in `_`, `-`, `.` or
/// `~` after at least three characters (`ghp_`, `glpat-`, `dp.st.`, `sk-proj-`), less
/// a single part that is a common word or abbreviation any value may start with
/// (`key-`, `app_`, `sdk-`, `live_`…), and key-block headers.
fn claimed_prefixes(rules: &RuleSet) -> Vec<Vec<u8>> {
    const COMMON: &[&str] = &[
        "key", "api", "token", "live", "pat", "sat", "v1", "t1", "app", "web", "res", "ser", "sdk",
        "ss", "sk", "pk", "rk", "test", "prod", "dev", "user", "auth", "pub", "priv", "secret",
        "pass", "tok", "acc", "usr", "org", "svc", "srv", "cli", "bot", "ci", "id", "client",
        "server", "access", "admin", "root", "private", "public", "session",
    ];
    let mut out: Vec<Vec<u8>> = rules
        .rules
        .iter()
        .filter(|r| r.kind == Kind::Provider)
        .flat_map(|r| r.keywords.iter())
        .filter(|k| {
            let parts: Vec<&str> = k
                .split(['_', '-', '.', '~'])
                .filter(|p| !p.is_empty())
                .collect();
            // Two parts or more (`sk-proj-`, `dp.pt.`) are distinctive as a whole.
            let distinctive = match parts.as_slice() {
                [one] => one.len() >= 3 && !COMMON.contains(&one.to_ascii_lowercase().as_str()),
                // Not a JWT's start, nor a number.
                [first, _, ..] => {
                    !first.starts_with("eyj") && !first.bytes().all(|b| b.is_ascii_digit())
                }
                [] => false,
            };
            k.len() >= 4
                && k.ends_with(['_', '-', '.', '~'])
                && !k.starts_with(['-', '.'])
                && !k.contains(' ')
                && distinctive
        })
        .map(|k| k.to_ascii_lowercase().into_bytes())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn line_around(bytes: &[u8], pos: usize) -> &[u8] {
    let start = bytes[..pos]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let end = bytes[pos..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| pos + i);
    &bytes[start..end]
}

/// A contiguous region of the buffer given to one Hyperscan call, and the items in it.
#[derive(Debug)]
struct Piece {
    range: Range<usize>,
    items: Range<usize>,
}

/// Groups small items into chunks and splits huge ones into overlapping pieces.
fn plan_pieces(items: &[Item<'_>], overlap: usize) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut k = 0;
    while k < items.len() {
        let it = &items[k];
        if it.range.len() > PIECE_BYTES {
            let mut start = it.range.start;
            loop {
                let end = (start + PIECE_BYTES).min(it.range.end);
                pieces.push(Piece {
                    range: start..end,
                    items: k..k + 1,
                });
                if end == it.range.end {
                    break;
                }
                start = end - overlap.min(end - it.range.start);
            }
            k += 1;
            continue;
        }
        let first = k;
        let start = it.range.start;
        let mut end = it.range.end;
        k += 1;
        while k < items.len()
            && items[k].range.len() <= PIECE_BYTES
            && items[k].range.end - start <= CHUNK_BYTES
        {
            end = items[k].range.end;
            k += 1;
        }
        pieces.push(Piece {
            range: start..end,
            items: first..k,
        });
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(toml: &str) -> Matcher {
        Matcher::new(RuleSet::parse(toml, "t.toml").unwrap()).unwrap()
    }

    const RULE: &str = r#"
[[rules]]
id = "tok"
name = "Token"
regex = '''tok_([A-Za-z0-9]{20})'''
confidence = "high"
"#;

    #[test]
    fn a_generic_value_in_part_of_a_provider_format_is_left_to_that_provider() {
        // A generic rule and a provider rule with a value prefix, as the built-in sets have.
        let m = matcher(
            r#"
[[rules]]
id = "acme"
regex = '''\b(acme_[A-Za-z0-9]{40})\b'''
keywords = ["acme_"]
confidence = "high"
[[rules]]
id = "generic"
kind = "generic"
regex = '''[A-Z_]{0,20}TOKEN=([^\s]{16,80})'''
confidence = "medium"
"#,
        );
        let found = |data: &[u8]| -> Vec<&str> {
            m.scan_bytes(data, None)
                .unwrap()
                .iter()
                .map(|r| m.rules.rules[r.rule].id.as_str())
                .collect()
        };
        // A random value of no format is the generic rule's.
        assert_eq!(found(b"SERVICE_TOKEN=Qm7vT2xR9pLk4sW8nB3c"), ["generic"]);
        // The provider's prefix with the wrong length: a truncated acme token, not a secret.
        assert!(found(b"SERVICE_TOKEN=acme_Qm7vT2xR9pLk4sW8nB3c").is_empty());
        assert!(found(b"SERVICE_TOKEN=ACME_Qm7vT2xR9pLk4sW8nB3c").is_empty());
        // Shapes without a prefix (filters::claimed_shape_fails).
        assert!(found(b"AZURE_CLIENT_SECRET_TOKEN=oRq8Q~Pldgx5lCZu").is_empty());
        assert!(found(b"OKTA_API_TOKEN=00uDAlkt3ggUqLl5dwy1").is_empty());
        assert!(found(b"TRUENAS_TOKEN=1-zW285l4LR6264lPkJSUxgZ1PUtgAxxc2").is_empty());
        assert!(
            found(b"DOPPLER_TOKEN=dp.xx.OG1Z0xREm0yRJ6dXytV7mBqrGNBiPXrZvbhni2Z0iDm").is_empty()
        );
        // The same values under other names are not claimed by Okta's or TrueNAS's shape.
        assert_eq!(found(b"SERVICE_TOKEN=00uDAlkt3ggUqLl5dwy1"), ["generic"]);
        assert_eq!(
            found(b"SERVICE_TOKEN=1-zW285l4LR6264lPkJSUxgZ1PUtgAxxc2"),
            ["generic"]
        );
    }

    #[test]
    fn a_context_rule_with_distinctive_keywords_is_looked_for_by_them() {
        let toml = r#"
[[rules]]
id = "acme-yaml"
kind = "context"
regex = '''acme:\r?\n(?:[ \t]+[^\r\n]{0,80}\r?\n){0,4}?[ \t]+secret:[ \t]*([A-Za-z0-9]{24})'''
keywords = ["acme"]
confidence = "medium"
[[rules]]
id = "acme-long"
kind = "context"
regex = '''acmecorp:\r?\n(?:[ \t]+[^\r\n]{0,80}\r?\n){0,4}?[ \t]+secret:[ \t]*([A-Za-z0-9]{24})'''
keywords = ["acmecorp"]
confidence = "medium"
"#;
        let m = matcher(toml);
        // A short keyword keeps the rule's own pattern; a distinctive one stands for it.
        assert_eq!(m.rules.rules[0].prefiltered, Prefiltered::No);
        assert_eq!(m.rules.rules[1].prefiltered, Prefiltered::Keywords);
        assert_eq!(m.rules.rules[1].pattern, "(?i)(?:acmecorp)");
        // The value is found lines after the keyword: the regex confirms over the
        // window on both sides of the keyword.
        let data = b"acmecorp:\n  region: eu\n  secret: Qm7vT2xR9pLk4sW8nB3cZ5yD\n";
        let got = m.scan_bytes(data, None).unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(&data[got[0].secret.clone()], b"Qm7vT2xR9pLk4sW8nB3cZ5yD");
    }

    #[test]
    fn hyperscan_looks_for_the_prefilter_and_the_regex_confirms() {
        let rule = |prefilter: &str| {
            matcher(&format!(
                "[[rules]]\nid = \"d\"\nregex = '''\\b(M[a-z]{{8}}\\.[a-z]{{4}})\\b'''\n\
                 prefilter = '''{prefilter}'''\nconfidence = \"high\"\n"
            ))
        };
        let data = b"x = Mqxkzrwpv.tbnq; y = Nqxkzrwpv.tbnq; z = abc.tbnq";
        let got = rule(r"\.[a-z]{4}").scan_bytes(data, None).unwrap();
        // Three prefilter hits; the regex confirms only the one it matches.
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(&data[got[0].secret.clone()], b"Mqxkzrwpv.tbnq");
        // Hyperscan runs the prefilter, not the regex: one that never hits finds nothing.
        assert!(rule("qqqq").scan_bytes(data, None).unwrap().is_empty());
        let bad = "[[rules]]\nid = \"d\"\nregex = 'a'\nprefilter = '('\n";
        assert!(RuleSet::parse(bad, "t.toml").is_err());
    }

    #[test]
    fn finds_in_several_items_with_item_relative_offsets() {
        let m = matcher(RULE);
        let data = b"....x tok_Zr8vQ2mN7pL4xK9wT1bY....tok_aB3dE5gH7jK9mN1pQ3sT";
        let items = [
            Item {
                range: 4..32,
                path: None,
            },
            Item {
                range: 32..data.len(),
                path: None,
            },
        ];
        let got = m.scan_items(data, &items).unwrap();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].item, 0);
        assert_eq!(&data[4..][got[0].secret.clone()], b"Zr8vQ2mN7pL4xK9wT1bY");
        assert_eq!(got[1].item, 1);
        assert_eq!(got[1].whole.start, 2);
    }

    #[test]
    fn anchored_pattern_matches_at_the_start_of_every_item() {
        // Regression: items were scanned concatenated, so `^` never held at an item's
        // first byte (the byte before it is tar padding, not a newline).
        let m = matcher(
            "[[rules]]\nid = \"a\"\nregex = '''^_auth=([A-Za-z0-9]{16})$'''\nconfidence = \"high\"\n",
        );
        let data = b"\0\0_auth=Zr8vQ2mN7pL4xK9w\0\0_auth=aB3dE5gH7jK9mN1p";
        let items = [
            Item {
                range: 2..24,
                path: None,
            },
            Item {
                range: 26..data.len(),
                path: None,
            },
        ];
        assert_eq!(m.scan_items(data, &items).unwrap().len(), 2);
    }

    #[test]
    fn match_across_items_is_not_reported() {
        let m = matcher(RULE);
        let data = b"tok_Zr8vQ2mN7pL4xK9wT1bY";
        let items = [
            Item {
                range: 0..10,
                path: None,
            },
            Item {
                range: 10..data.len(),
                path: None,
            },
        ];
        assert!(m.scan_items(data, &items).unwrap().is_empty());
    }

    #[test]
    fn placeholder_and_entropy_filters_apply() {
        let m = matcher(&RULE.replace("confidence", "entropy = 3.5\nconfidence"));
        assert!(
            m.scan_bytes(b"tok_xxxxxxxxxxxxxxxxxxxx", None)
                .unwrap()
                .is_empty()
        );
        assert!(
            m.scan_bytes(b"tok_aaaaaaaaaaaaaaaabbbb", None)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            m.scan_bytes(b"tok_Zr8vQ2mN7pL4xK9wT1bY", None)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn uncompilable_pattern_falls_back_to_regex() {
        // `(?-u:…)` is Rust regex syntax that Hyperscan rejects.
        let m = matcher(
            r#"
[[rules]]
id = "weird"
regex = '''(?-u:k)=([a-z]{3})\b'''
confidence = "low"
"#,
        );
        assert!(
            m.notes.iter().any(|n| n.contains("regex alone")),
            "{:?}",
            m.notes
        );
        let got = m
            .scan_items(
                b" k=qwz  k=abc",
                &[Item {
                    range: 0..13,
                    path: None,
                }],
            )
            .unwrap();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1].secret, 10..13);
    }

    #[test]
    fn rules_can_stay_out_of_binaries() {
        let m = matcher(&RULE.replace("confidence", "binary = false\nconfidence"));
        assert_eq!(
            m.scan_bytes(b"x tok_Zr8vQ2mN7pL4xK9wT1bY", None)
                .unwrap()
                .len(),
            1
        );
        assert!(
            m.scan_bytes(b"\x7fELF\0\0 tok_Zr8vQ2mN7pL4xK9wT1bY", None)
                .unwrap()
                .is_empty()
        );
        let all = matcher(RULE);
        assert_eq!(
            all.scan_bytes(b"\x7fELF\0\0 tok_Zr8vQ2mN7pL4xK9wT1bY", None)
                .unwrap()
                .len(),
            1,
            "binaries are scanned by default"
        );
    }

    #[test]
    fn window_bounds() {
        let b = b"aaa\nbbb tok\nccc";
        assert_eq!(window(b, 11, 11, 4096), (0, 11));
        assert_eq!(window(b, 11, 11, 5), (6, 11));
        assert_eq!(window(b, 11, 11, 8), (4, 11));
    }

    #[test]
    fn pieces_split_huge_items_with_overlap() {
        let items = [Item {
            range: 0..PIECE_BYTES * 2 + 10,
            path: None,
        }];
        let p = plan_pieces(&items, 100);
        assert_eq!(p.len(), 3);
        assert_eq!(p[1].range.start, PIECE_BYTES - 100);
        assert_eq!(p[2].range.end, PIECE_BYTES * 2 + 10);
    }
}
