//! Redaction: takes every secret a scan found and masks it wherever it appears in text
//! that came from an image, so that no output carries a secret without `--reveal`.
//!
//! Two steps, both fed by one [`Redactor`] that the scan fills with every secret it
//! found (set aside or not, in every image of the run):
//! - [`Redact`]: every string of an `Outcome` is rewritten
//!   before a printer sees it, so that shortening or wrapping a string for display can
//!   never leave part of a secret behind;
//! - [`Redactor::scrub`]: every byte a report or a diagnostic writes passes through it
//!   last, raw and in the escaped forms JSON and HTML give, so that a field a printer
//!   takes from the image without the first step still cannot carry a secret out.
//!
//! A secret known only from the layer results cache (which never stores secret values)
//! is recognised by its first characters, its length and the SHA-256 of its text.

use sha2::{Digest as _, Sha256};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Secrets at least this many characters long show their last 4 characters too.
const SHOW_TAIL_FROM: usize = 16;

/// The shown form of a secret: its first 4 characters, `…`, and for a secret of 16
/// characters or more its last 4, so that two tokens of one kind can be told apart
/// (`ghp_…8wXH`) while at most half of any secret, and never 8 characters in a row,
/// is shown.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let head: String = chars.iter().take(4).collect();
    if chars.len() >= SHOW_TAIL_FROM {
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}…{tail}")
    } else {
        format!("{head}…")
    }
}

/// A secret the cache knows only by its first characters, byte length and SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct HashedSecret {
    pub head: String,
    pub len: usize,
    pub sha256: [u8; 32],
    /// Its shown form (see [`mask`]).
    pub masked: String,
}

impl HashedSecret {
    /// The hashed form of a secret's text.
    pub fn of(secret: &str) -> HashedSecret {
        HashedSecret {
            head: secret.chars().take(4).collect(),
            len: secret.len(),
            sha256: Sha256::digest(secret.as_bytes()).into(),
            masked: mask(secret),
        }
    }
}

/// Every secret a run found, to mask wherever it appears. Its `Debug` form shows
/// counts only.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Secrets in full, longest first.
    full: Vec<String>,
    /// Secrets known only by hash.
    hashed: Vec<HashedSecret>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Redactor {{ {} secrets, {} by hash }}",
            self.full.len(),
            self.hashed.len()
        )
    }
}

/// Secrets shorter than this are masked in fields but not searched for in the written
/// output: a short string can occur in the report's own text and markup.
const MIN_SCRUB_LEN: usize = 8;

/// Shorter "secrets" (a rule that took `p` or `app` for a password) are not searched
/// for in text at all: masking every `p` would mangle every path of the report.
const MIN_MASK_LEN: usize = 4;

/// Below this length a secret is masked only where it stands alone, not inside a
/// longer word or number (`hunter2` in `echo hunter2`, not `test` in `latest`).
const MASK_INSIDE_WORDS_FROM: usize = 12;

/// Whether `text[start..end]` is not part of a longer run of letters and digits, or is
/// long enough to be masked wherever it is.
fn stands_alone(text: &[u8], start: usize, end: usize) -> bool {
    if end - start >= MASK_INSIDE_WORDS_FROM {
        return true;
    }
    let word = |b: u8| b.is_ascii_alphanumeric();
    let before = start.checked_sub(1).map(|i| text[i]);
    let after = text.get(end).copied();
    let glued_before = before.is_some_and(word) && word(text[start]);
    let glued_after = after.is_some_and(word) && word(text[end - 1]);
    !glued_before && !glued_after
}

impl Redactor {
    /// Adds a secret known in full.
    pub fn add(&mut self, secret: &str) {
        if !secret.is_empty() {
            self.full.push(secret.to_string());
        }
    }

    /// Adds a secret known only by hash (from the results cache).
    pub fn add_hashed(&mut self, h: HashedSecret) {
        if h.len > 0 && !h.head.is_empty() {
            self.hashed.push(h);
        }
    }

    /// Sorts and de-duplicates; call once all secrets are in.
    pub fn finish(&mut self) {
        self.full
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        self.full.dedup();
        self.hashed.sort();
        self.hashed.dedup();
        // A hashed secret also known in full needs no hashing.
        let known: std::collections::HashSet<[u8; 32]> = self
            .full
            .iter()
            .map(|s| Sha256::digest(s.as_bytes()).into())
            .collect();
        self.hashed.retain(|h| !known.contains(&h.sha256));
    }

    /// True when there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.full.is_empty() && self.hashed.is_empty()
    }

    /// The byte ranges of `text` that hold a secret, merged and sorted.
    fn ranges(&self, text: &str) -> Vec<(usize, usize)> {
        let mut ranges = Vec::new();
        let bytes = text.as_bytes();
        for s in self.full.iter().filter(|s| s.len() >= MIN_MASK_LEN) {
            let finder = memchr::memmem::Finder::new(s.as_bytes());
            ranges.extend(
                finder
                    .find_iter(bytes)
                    .map(|i| (i, i + s.len()))
                    .filter(|&(i, e)| stands_alone(bytes, i, e)),
            );
        }
        for h in self.hashed.iter().filter(|h| h.len >= MIN_MASK_LEN) {
            let finder = memchr::memmem::Finder::new(h.head.as_bytes());
            for i in finder.find_iter(bytes) {
                let end = i + h.len;
                if let Some(cand) = text.get(i..end)
                    && stands_alone(bytes, i, end)
                    && <[u8; 32]>::from(Sha256::digest(cand.as_bytes())) == h.sha256
                {
                    ranges.push((i, end));
                }
            }
        }
        if ranges.is_empty() {
            return ranges;
        }
        build_arg_values(text, &mut ranges);
        merge(ranges)
    }

    /// `text` with every secret in it masked (see [`mask`]); borrowed when it holds none.
    /// A range that joins several secrets (or a build argument's value) shows only its
    /// first characters.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.is_empty() {
            return Cow::Borrowed(text);
        }
        let ranges = self.ranges(text);
        if ranges.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (s, e) in ranges {
            out.push_str(&text[at..s]);
            out.push_str(&mask(&text[s..e]));
            at = e;
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }

    /// Written output with every secret of at least [`MIN_SCRUB_LEN`] bytes masked,
    /// whether it appears raw, JSON-escaped or HTML-escaped.
    pub fn scrub<'a>(&self, out: &'a [u8]) -> Cow<'a, [u8]> {
        let mut forms: Vec<(Vec<u8>, String)> = Vec::new();
        for s in self.full.iter().filter(|s| s.len() >= MIN_SCRUB_LEN) {
            let masked = mask(s);
            forms.push((s.as_bytes().to_vec(), masked.clone()));
            let json = serde_json::to_string(s).unwrap_or_default();
            let json = json.trim_matches('"');
            if json != s {
                forms.push((json.as_bytes().to_vec(), masked.clone()));
            }
            let html = html_escape(s);
            if html != *s {
                forms.push((html.into_bytes(), masked.clone()));
            }
        }
        let hashed: Vec<&HashedSecret> = self
            .hashed
            .iter()
            .filter(|h| h.len >= MIN_SCRUB_LEN)
            .collect();
        if forms.is_empty() && hashed.is_empty() {
            return Cow::Borrowed(out);
        }
        let mut hits: Vec<(usize, usize, String)> = Vec::new();
        for (needle, masked) in &forms {
            let finder = memchr::memmem::Finder::new(needle);
            hits.extend(
                finder
                    .find_iter(out)
                    .map(|i| (i, i + needle.len(), masked.clone())),
            );
        }
        for h in hashed {
            let finder = memchr::memmem::Finder::new(h.head.as_bytes());
            for i in finder.find_iter(out) {
                if let Some(cand) = out.get(i..i + h.len)
                    && <[u8; 32]>::from(Sha256::digest(cand)) == h.sha256
                {
                    hits.push((i, i + h.len, h.masked.clone()));
                }
            }
        }
        if hits.is_empty() {
            return Cow::Borrowed(out);
        }
        hits.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)));
        let mut res = Vec::with_capacity(out.len());
        let mut at = 0;
        for (s, e, masked) in hits {
            if s < at {
                // Inside (or overlapping) a range already masked: mask its tail too.
                if e > at {
                    at = e;
                }
                continue;
            }
            res.extend_from_slice(&out[at..s]);
            res.extend_from_slice(masked.as_bytes());
            at = e;
        }
        res.extend_from_slice(&out[at..]);
        Cow::Owned(res)
    }
}

/// The text as the HTML report escapes it.
fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// In a build step that records build arguments (`|2 KEY=VALUE KEY=VALUE cmd…`, as
/// `docker build` writes them), a value that holds a secret is masked whole.
fn build_arg_values(text: &str, ranges: &mut Vec<(usize, usize)>) {
    let Some(rest) = text.strip_prefix('|') else {
        return;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let Ok(n) = rest[..digits].parse::<usize>() else {
        return;
    };
    let mut at = 1 + digits;
    let bytes = text.as_bytes();
    let mut args = Vec::new();
    for _ in 0..n {
        while at < bytes.len() && bytes[at] == b' ' {
            at += 1;
        }
        let start = at;
        while at < bytes.len() && bytes[at] != b' ' {
            at += 1;
        }
        if start == at {
            break;
        }
        if let Some(eq) = text[start..at].find('=') {
            args.push((start + eq + 1, at));
        }
    }
    let hit: Vec<(usize, usize)> = args
        .into_iter()
        .filter(|&(vs, ve)| vs < ve && ranges.iter().any(|&(s, e)| s < ve && e > vs))
        .collect();
    ranges.extend(hit);
}

fn merge(mut ranges: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    ranges.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (s, e) in ranges {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// A value whose image-derived strings can be masked in place.
pub trait Redact {
    fn redact_with(&mut self, r: &Redactor);
}

impl Redact for String {
    fn redact_with(&mut self, r: &Redactor) {
        if let Cow::Owned(s) = r.text(self) {
            *self = s;
        }
    }
}

impl<T: Redact> Redact for Option<T> {
    fn redact_with(&mut self, r: &Redactor) {
        if let Some(v) = self {
            v.redact_with(r);
        }
    }
}

impl<T: Redact> Redact for Vec<T> {
    fn redact_with(&mut self, r: &Redactor) {
        for v in self {
            v.redact_with(r);
        }
    }
}

impl<V: Redact> Redact for BTreeMap<String, V> {
    fn redact_with(&mut self, r: &Redactor) {
        let old = std::mem::take(self);
        for (mut k, mut v) in old {
            k.redact_with(r);
            v.redact_with(r);
            self.insert(k, v);
        }
    }
}

impl Redact for usize {
    fn redact_with(&mut self, _: &Redactor) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(full: &[&str]) -> Redactor {
        let mut r = Redactor::default();
        for s in full {
            r.add(s);
        }
        r.finish();
        r
    }

    #[test]
    fn masks_every_occurrence_longest_first() {
        let r = redactor(&["abcdefghij", "abcdefghijklmnop"]);
        assert_eq!(
            r.text("x abcdefghijklmnop y abcdefghij z"),
            "x abcd…mnop y abcd… z"
        );
        assert!(matches!(r.text("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn build_argument_values_holding_a_secret_are_masked_whole() {
        let r = redactor(&["s3cr3tpassw0rd"]);
        let step =
            "|2 DB_URL=postgres://app:s3cr3tpassw0rd@db.example.test/app MODE=prod /bin/sh -c make";
        assert_eq!(
            r.text(step),
            "|2 DB_URL=post…/app MODE=prod /bin/sh -c make"
        );
    }

    #[test]
    fn hashed_secrets_are_found_by_head_length_and_hash() {
        let mut r = Redactor::default();
        r.add_hashed(HashedSecret::of("ghp_0123456789abcdef"));
        r.finish();
        assert_eq!(
            r.text("token ghp_0123456789abcdef and ghp_other"),
            "token ghp_…cdef and ghp_other"
        );
        assert_eq!(
            &*r.scrub(b"\"ghp_0123456789abcdef\""),
            "\"ghp_…cdef\"".as_bytes()
        );
    }

    #[test]
    fn scrub_masks_raw_json_and_html_forms() {
        let r = redactor(&["pa\"ss<word>123"]);
        let out = b"a pa\"ss<word>123 b pa\\\"ss<word>123 c pa&quot;ss&lt;word&gt;123";
        let s = r.scrub(out);
        let s = String::from_utf8_lossy(&s);
        assert!(!s.contains("word"), "{s}");
        assert_eq!(s.matches("pa\"s…").count(), 3, "{s}");
    }

    #[test]
    fn tiny_and_short_secrets_never_mangle_other_words() {
        let r = redactor(&["p", "app", "test", "hunter2"]);
        assert_eq!(
            r.text("app/vendor/pem-3.0.6/src/lib.rs"),
            "app/vendor/pem-3.0.6/src/lib.rs"
        );
        assert_eq!(r.text("latest test"), "latest test…");
        assert_eq!(r.text("echo hunter2; hunter22"), "echo hunt…; hunter22");
    }

    #[test]
    fn short_secrets_are_masked_in_fields_only() {
        let r = redactor(&["hunter2"]);
        assert_eq!(r.text("pw hunter2"), "pw hunt…");
        assert!(matches!(r.scrub(b"hunter2"), Cow::Borrowed(_)));
    }
}
