//! Rules: TOML files (a superset of gitleaks' `[[rules]]`) loaded into [`Rule`]s.
//!
//! Takes rule file text (built-in, embedded at build time, or user files via `--rules`)
//! and gives validated rules with compiled confirmation regexes. The Hyperscan side is
//! built from the same patterns by [`crate::matcher`].

pub mod filters;
pub mod keystore;

use crate::error::{Error, Result};
use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;
use std::path::Path;

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// Default number of bytes a match may span (confirmation window).
pub const DEFAULT_WINDOW: usize = 4096;

/// How sure a rule is that its matches are real secrets.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Deserialize,
    serde::Serialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

/// What makes a rule's match a secret.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The secret has a format of its own: a provider prefix, a fixed structure, a
    /// checksum, a key block. Reported wherever it is found.
    #[default]
    Provider,
    /// A value of no format of its own, told by a provider's context (a key name, a
    /// config file, a connection string). Set aside in third-party code by default.
    Context,
    /// Any credential-like assignment, of any provider. Set aside in third-party code
    /// by default.
    Generic,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Provider => "provider",
            Kind::Context => "context",
            Kind::Generic => "generic",
        }
    }
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// What an allowlist regex is tested against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegexTarget {
    Secret,
    Match,
    Line,
}

/// A gitleaks-style allowlist: a finding that matches any entry is dropped
/// (or all kinds of entries present, with `condition = "AND"`).
#[derive(Clone, Debug)]
pub struct Allowlist {
    pub regexes: Vec<Regex>,
    pub target: RegexTarget,
    pub stopwords: Vec<String>,
    pub paths: Vec<Regex>,
    pub and: bool,
    /// For global allowlists: the rule ids it applies to (all when empty).
    pub target_rules: Vec<String>,
    /// Built in for context and generic rules (their kind): drops a candidate that shows
    /// no evidence of being a literal secret ([`filters::lacks_evidence`]).
    pub no_evidence: Option<Kind>,
}

impl Allowlist {
    /// Whether this allowlist drops a finding.
    pub fn allows(&self, secret: &[u8], whole: &[u8], line: &[u8], path: Option<&[u8]>) -> bool {
        if let Some(kind) = self.no_evidence {
            return filters::lacks_evidence(kind, secret, whole, line).is_some();
        }
        let target = match self.target {
            RegexTarget::Secret => secret,
            RegexTarget::Match => whole,
            RegexTarget::Line => line,
        };
        let mut checks: Vec<bool> = Vec::with_capacity(3);
        if !self.regexes.is_empty() {
            checks.push(self.regexes.iter().any(|r| r.is_match(target)));
        }
        if !self.stopwords.is_empty() {
            let lower = secret.to_ascii_lowercase();
            checks.push(self.stopwords.iter().any(|w| memfind(&lower, w.as_bytes())));
        }
        if !self.paths.is_empty() {
            checks.push(path.is_some_and(|p| self.paths.iter().any(|r| r.is_match(p))));
        }
        if checks.is_empty() {
            return false;
        }
        if self.and {
            checks.iter().all(|&c| c)
        } else {
            checks.iter().any(|&c| c)
        }
    }
}

fn memfind(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// One validated rule.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// What Hyperscan compiles: the regex as written, or the rule's `prefilter`, a
    /// cheaper pattern that matches wherever the regex does (each of its matches is
    /// confirmed by the regex on the lines around it).
    pub pattern: String,
    /// The confirmation regex (bytes, Unicode off, multi-line).
    pub regex: Regex,
    pub secret_group: usize,
    pub entropy: Option<f64>,
    /// A checksum the secret must carry.
    pub checksum: Option<filters::Checksum>,
    /// A structure the secret must have (e.g. a decodable JWT).
    pub structure: Option<filters::Structure>,
    pub confidence: Confidence,
    /// Whether the secret has a format of its own, or is told by its context only.
    pub kind: Kind,
    /// Whether the rule applies to binary files (false for rules too noisy there).
    pub binary: bool,
    pub window: usize,
    pub keywords: Vec<String>,
    pub references: Vec<String>,
    pub examples: Vec<String>,
    pub negative_examples: Vec<String>,
    pub allowlists: Vec<Allowlist>,
    /// The files the rule applies to (a shadow file, a `.pgpass`); none: every file.
    /// A rule with a path never applies to config metadata.
    pub path: Option<Regex>,
    /// Where the examples of a rule with a `path` are checked (and planted, in the
    /// end-to-end test): a path the filter admits.
    pub example_path: Option<String>,
    /// The file the rule came from (`builtin:aws.toml` or a user path).
    pub origin: String,
    /// For a rule that is not a regex but code reading a file's structure (a keystore
    /// opened with a default password): which. Such a rule has no Hyperscan pattern.
    pub detector: Option<Detector>,
    /// Whether Hyperscan looks for something else than the regex: the rule's
    /// `prefilter` (each match confirmed by the regex over the rule's window on both
    /// sides), or its keywords (confirmed from the keyword's line to
    /// [`KEYWORD_REACH`] bytes on).
    pub prefiltered: Prefiltered,
}

/// What Hyperscan looks for instead of a rule's regex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prefiltered {
    /// The regex itself.
    No,
    /// The rule's `prefilter`.
    Pattern,
    /// The rule's keywords ([`keyword_prefilter`]).
    Keywords,
}

/// How far past a keyword the regex of a rule looked for by its keywords may end: a
/// key name and its value on the keyword's line, or a few lines of a YAML block.
pub const KEYWORD_REACH: usize = 1536;

/// Words too common in code and configuration to stand for a rule on their own.
#[rustfmt::skip]
const COMMON_KEYWORDS: &[&str] = &[
    "password", "passwd", "secret", "token", "apikey", "api_key", "api-key", "bearer",
    "authorization", "client", "access", "private", "credential", "credentials", "login",
    "auth", "key", "pass", "user", "username", "config", "server", "service", "account",
    "database", "webhook", "header", "basic", "oauth", "session",
    // Frequent in real code (counted in npm, PyPI, crates and Debian source trees):
    "stream", "connect", "_auth", "_password", "metal", "packet", "privatekey",
    "private-key", "private_key", "cursor", "semaphore", "session_token", "sessiontoken",
    "security_token", "segment", "monday", "endor", "auth_key", "_salt", "nonce_key",
    "identitytoken", "registrytoken", "bundle_", "together", "_authtoken", "fingerprint",
    "key_file", "secret_key", "mysql",
];

/// The Hyperscan pattern of a context rule without a `prefilter` whose keywords are
/// all distinctive (five characters or more, plain, not a common word): the keywords,
/// case-insensitive. `None` leaves the rule's own pattern.
fn keyword_prefilter(kind: Kind, prefiltered: Prefiltered, keywords: &[String]) -> Option<String> {
    let plain = |k: &str| {
        k.len() >= 5
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            && !COMMON_KEYWORDS.contains(&k.to_ascii_lowercase().as_str())
    };
    if kind != Kind::Context
        || prefiltered != Prefiltered::No
        || keywords.is_empty()
        || !keywords.iter().all(|k| plain(k))
    {
        return None;
    }
    let alts: Vec<String> = keywords.iter().map(|k| regex::escape(k)).collect();
    Some(format!("(?i)(?:{})", alts.join("|")))
}

/// Rules told by reading a file's structure rather than by a regex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Detector {
    /// A JKS, JCEKS or PKCS#12 keystore with a key entry that opens with a default
    /// password ([`keystore`]).
    JavaKeystore,
}

impl Detector {
    /// The range of what the detector finds in a whole file's bytes, if anything.
    pub fn detect(self, data: &[u8]) -> Option<std::ops::Range<usize>> {
        match self {
            Detector::JavaKeystore => {
                if !keystore::looks_like_keystore(data) {
                    return None;
                }
                keystore::open_with_default_password(data).map(|o| o.first_key)
            }
        }
    }

    /// Files the detector must find and must not find, for `rules check` and the
    /// end-to-end tests.
    pub fn examples(self) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        match self {
            Detector::JavaKeystore => {
                use keystore::sample_jks;
                (
                    vec![sample_jks("changeit", true), sample_jks("password", true)],
                    vec![
                        sample_jks("changeit", false),
                        sample_jks("Vq7#pL2x!mR9", true),
                    ],
                )
            }
        }
    }
}

/// A whole ruleset: rules plus global allowlists.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub global_allowlists: Vec<Allowlist>,
    /// Rule ids to drop (gitleaks `[extend] disabledRules`), applied by [`RuleSet::overlay`].
    pub disabled: Vec<String>,
    /// Allowlists to add to rules defined elsewhere (a gitleaks rule with an `id` and
    /// no `regex` extends the rule of that id): (rule id, allowlists, file).
    pub patches: Vec<(String, Vec<Allowlist>, String)>,
    /// What loading decided that a user should know (skipped or overridden rules).
    pub notes: Vec<String>,
}

/// gitleaks' `[extend]` table.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawExtend {
    use_default: Option<bool>,
    path: Option<String>,
    #[serde(default)]
    disabled_rules: Vec<String>,
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    extend: Option<RawExtend>,
    #[serde(default)]
    rules: Vec<RawRule>,
    #[serde(default)]
    allowlist: Option<RawAllowlist>,
    #[serde(default)]
    allowlists: Vec<RawAllowlist>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRule {
    id: String,
    name: Option<String>,
    description: Option<String>,
    regex: Option<String>,
    prefilter: Option<String>,
    secret_group: Option<usize>,
    entropy: Option<f64>,
    checksum: Option<filters::Checksum>,
    structure: Option<filters::Structure>,
    confidence: Option<Confidence>,
    kind: Option<Kind>,
    binary: Option<bool>,
    window: Option<usize>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default, alias = "negative_examples")]
    negative_examples: Vec<String>,
    #[serde(default)]
    allowlist: Option<RawAllowlist>,
    #[serde(default)]
    allowlists: Vec<RawAllowlist>,
    path: Option<String>,
    #[serde(alias = "example_path")]
    example_path: Option<String>,
    detector: Option<Detector>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAllowlist {
    #[serde(default)]
    regexes: Vec<String>,
    regex_target: Option<String>,
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
    condition: Option<String>,
    #[serde(default)]
    target_rules: Vec<String>,
}

/// Compiles a pattern for confirmation: bytes, ASCII classes, `^`/`$` at line ends.
pub fn compile_confirm(pattern: &str) -> std::result::Result<Regex, String> {
    build_regex(pattern, true)
}

/// Compiles an allowlist or path regex: bytes, ASCII classes.
fn compile_aux(pattern: &str) -> std::result::Result<Regex, String> {
    build_regex(pattern, false)
}

fn build_regex(pattern: &str, multi_line: bool) -> std::result::Result<Regex, String> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .multi_line(multi_line)
        .size_limit(64 << 20)
        .build()
        .map_err(|e| {
            e.to_string()
                .lines()
                .last()
                .unwrap_or("invalid regex")
                .to_string()
        })
}

impl RawAllowlist {
    fn build(self, file: &str, rule_id: &str) -> Result<Allowlist> {
        let err = |reason: String| Error::Rule {
            file: file.to_string(),
            rule_id: rule_id.to_string(),
            reason,
        };
        let target = match self.regex_target.as_deref() {
            None | Some("secret") => RegexTarget::Secret,
            Some("match") => RegexTarget::Match,
            Some("line") => RegexTarget::Line,
            Some(other) => return Err(err(format!("unknown regexTarget {other:?}"))),
        };
        let and = match self
            .condition
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None | Some("OR") => false,
            Some("AND") => true,
            Some(other) => return Err(err(format!("unknown allowlist condition {other:?}"))),
        };
        let regexes = self
            .regexes
            .iter()
            .map(|r| compile_aux(r).map_err(|e| err(format!("allowlist regex {r:?}: {e}"))))
            .collect::<Result<_>>()?;
        let paths = self
            .paths
            .iter()
            .map(|r| compile_aux(r).map_err(|e| err(format!("allowlist path {r:?}: {e}"))))
            .collect::<Result<_>>()?;
        Ok(Allowlist {
            regexes,
            target,
            stopwords: self
                .stopwords
                .iter()
                .map(|s| s.to_ascii_lowercase())
                .collect(),
            paths,
            and,
            target_rules: self.target_rules,
            no_evidence: None,
        })
    }
}

impl RawRule {
    fn build(self, file: &str) -> Result<Rule> {
        let id = self.id.clone();
        let err = |reason: String| Error::Rule {
            file: file.to_string(),
            rule_id: id.clone(),
            reason,
        };
        if self.id.trim().is_empty() {
            return Err(err("empty id".into()));
        }
        let pattern = match (self.regex, self.detector) {
            (Some(_), Some(_)) => {
                return Err(err(
                    "a rule takes a `regex` or a `detector`, not both".into()
                ));
            }
            (Some(r), None) => r,
            // Never matches: a detector rule is not matched by pattern.
            (None, Some(_)) => r"[^\x00-\xFF]".to_string(),
            (None, None) => {
                return Err(err("no `regex` (path-only rules are not supported)".into()));
            }
        };
        let regex = compile_confirm(&pattern).map_err(|e| err(format!("invalid regex: {e}")))?;
        let prefiltered = if self.prefilter.is_some() {
            Prefiltered::Pattern
        } else {
            Prefiltered::No
        };
        let pattern = match self.prefilter {
            Some(p) => {
                compile_confirm(&p).map_err(|e| err(format!("invalid prefilter: {e}")))?;
                p
            }
            None => pattern,
        };
        let groups = regex.captures_len() - 1;
        let secret_group = match self.secret_group {
            Some(g) if g > groups => {
                return Err(err(format!(
                    "secretGroup {g} but the regex has {groups} capture group(s)"
                )));
            }
            Some(g) => g,
            None => usize::from(groups >= 1),
        };
        if let Some(e) = self.entropy
            && !(0.0..=8.0).contains(&e)
        {
            return Err(err(format!("entropy {e} is outside 0..=8")));
        }
        let mut allowlists = Vec::new();
        for a in self.allowlist.into_iter().chain(self.allowlists) {
            allowlists.push(a.build(file, &self.id)?);
        }
        let kind = self.kind.unwrap_or_default();
        // A context rule told by a provider's name looks for the name alone: Hyperscan
        // compiles a few literals instead of the key-name and value pattern (which costs
        // most of the database's compile time), and the regex confirms around each.
        // (Not a rule for one kind of file: its keywords may name the file, not its text.)
        let (pattern, prefiltered) = match keyword_prefilter(kind, prefiltered, &self.keywords) {
            Some(p) if self.detector.is_none() && self.path.is_none() => (p, Prefiltered::Keywords),
            _ => (pattern, prefiltered),
        };
        if kind != Kind::Provider {
            // A value of no format of its own must show it is a literal secret.
            allowlists.push(Allowlist {
                regexes: Vec::new(),
                target: RegexTarget::Secret,
                stopwords: Vec::new(),
                paths: Vec::new(),
                and: false,
                target_rules: Vec::new(),
                no_evidence: Some(kind),
            });
        }
        let path = self
            .path
            .map(|p| compile_aux(&p).map_err(|e| err(format!("invalid path regex: {e}"))))
            .transpose()?;
        // The built-in rules with a `path` all have one (a unit test holds them to it);
        // a gitleaks rule with a `path` and no example path is checked without a path.
        if let (Some(re), Some(p)) = (&path, &self.example_path)
            && !re.is_match(p.as_bytes())
        {
            return Err(err(format!(
                "example_path {p:?} is not admitted by the rule's path"
            )));
        }
        Ok(Rule {
            name: self
                .name
                .or_else(|| self.description.clone())
                .unwrap_or_else(|| self.id.clone()),
            id: self.id,
            description: self.description,
            pattern,
            regex,
            secret_group,
            entropy: self.entropy,
            checksum: self.checksum,
            structure: self.structure,
            confidence: self.confidence.unwrap_or(Confidence::Medium),
            kind,
            binary: self.binary.unwrap_or(true),
            window: self.window.unwrap_or(DEFAULT_WINDOW).clamp(64, 1 << 20),
            keywords: self.keywords,
            references: self.references,
            examples: self.examples,
            negative_examples: self.negative_examples,
            allowlists,
            path,
            example_path: self.example_path,
            origin: file.to_string(),
            detector: self.detector,
            prefiltered,
        })
    }
}

impl RuleSet {
    /// Parses one rule file's text; `origin` names it in errors. An `[extend] path` is
    /// not followed here (see [`RuleSet::load_path`]).
    pub fn parse(text: &str, origin: &str) -> Result<RuleSet> {
        Self::parse_raw(text, origin).map(|(set, _)| set)
    }

    fn parse_raw(text: &str, origin: &str) -> Result<(RuleSet, Option<String>)> {
        let raw: RawFile = toml::from_str(text).map_err(|e| Error::RuleFile {
            file: origin.to_string(),
            reason: e.to_string().replace('\n', " "),
        })?;
        let mut set = RuleSet::default();
        let extend = raw.extend.unwrap_or_default();
        if extend.use_default == Some(true) && extend.path.is_some() {
            return Err(Error::RuleFile {
                file: origin.to_string(),
                reason: "[extend] takes useDefault or path, not both".into(),
            });
        }
        set.disabled = extend.disabled_rules;
        for a in raw.allowlist.into_iter().chain(raw.allowlists) {
            set.global_allowlists
                .push(a.build(origin, "(global allowlist)")?);
        }
        for r in raw.rules {
            if r.regex.is_none() && r.detector.is_none() {
                let allowlists = r
                    .allowlist
                    .into_iter()
                    .chain(r.allowlists)
                    .map(|a| a.build(origin, &r.id))
                    .collect::<Result<Vec<_>>>()?;
                if r.path.is_some() && allowlists.is_empty() {
                    set.notes.push(format!(
                        "rule {} ({origin}): path-only rules (no regex) are not supported; skipped",
                        r.id
                    ));
                } else {
                    set.patches.push((r.id, allowlists, origin.to_string()));
                }
                continue;
            }
            set.rules.push(r.build(origin)?);
        }
        Ok((set, extend.path))
    }

    /// The rules embedded in the binary.
    pub fn builtin() -> Result<RuleSet> {
        use rayon::prelude::*;
        // The files' regexes are compiled on every core, then joined in file order.
        let parsed: Vec<Result<RuleSet>> = BUILTIN_RULE_FILES
            .par_iter()
            .map(|(name, text)| RuleSet::parse(text, &format!("builtin:{name}")))
            .collect();
        let mut set = RuleSet::default();
        for p in parsed {
            set.extend(p?)?;
        }
        Ok(set)
    }

    /// Loads a rule file, or every `*.toml` file in a directory.
    pub fn load_path(path: &Path) -> Result<RuleSet> {
        let mut set = RuleSet::default();
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        let files: Vec<_> = if meta.is_dir() {
            let mut v: Vec<_> = walkdir::WalkDir::new(path)
                .follow_links(false)
                .into_iter()
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            v.sort();
            v
        } else {
            vec![path.to_path_buf()]
        };
        for f in files {
            set.overlay(Self::load_file(&f, 0)?);
        }
        Ok(set)
    }

    /// Loads one file, following gitleaks' `[extend] path` (at most two levels deep);
    /// the extending file's rules take precedence.
    fn load_file(f: &Path, depth: usize) -> Result<RuleSet> {
        let text = std::fs::read_to_string(f).map_err(|e| Error::io(f, e))?;
        let origin = f.display().to_string();
        let (set, extend) = Self::parse_raw(&text, &origin)?;
        let Some(base_path) = extend else {
            return Ok(set);
        };
        if depth >= 2 {
            return Err(Error::RuleFile {
                file: origin,
                reason: "[extend] path chains deeper than 2 files".into(),
            });
        }
        let base_file = f.parent().unwrap_or(Path::new(".")).join(base_path);
        let mut base = Self::load_file(&base_file, depth + 1)?;
        base.overlay(set);
        Ok(base)
    }

    /// Lays `other` over this set the way gitleaks extends a configuration: its
    /// `disabledRules` are removed, a rule with an id already present replaces it (with
    /// a note), a regex-less rule adds its allowlists to the rule of that id, and the
    /// rest are added. Patches for ids not (yet) present are kept for a later overlay.
    pub fn overlay(&mut self, other: RuleSet) {
        self.notes.extend(other.notes);
        self.rules.retain(|r| !other.disabled.contains(&r.id));
        self.disabled.extend(other.disabled);
        for r in other.rules {
            if let Some(slot) = self.rules.iter_mut().find(|x| x.id == r.id) {
                self.notes.push(format!(
                    "rule {} from {} replaces the one from {}",
                    r.id, r.origin, slot.origin
                ));
                *slot = r;
            } else {
                self.rules.push(r);
            }
        }
        self.patches.extend(other.patches);
        let mut pending = Vec::new();
        for (id, allowlists, origin) in std::mem::take(&mut self.patches) {
            match self.rules.iter_mut().find(|x| x.id == id) {
                Some(rule) => rule.allowlists.extend(allowlists),
                None => pending.push((id, allowlists, origin)),
            }
        }
        self.patches = pending;
        self.global_allowlists.extend(other.global_allowlists);
    }

    /// Notes for patches that found no rule to extend.
    pub fn finish(&mut self) {
        for (id, _, origin) in std::mem::take(&mut self.patches) {
            self.notes.push(format!(
                "rule {id} ({origin}) has no regex and extends no known rule; ignored"
            ));
        }
    }

    /// Adds another set; a duplicate rule id is an error.
    pub fn extend(&mut self, other: RuleSet) -> Result<()> {
        for r in other.rules {
            if let Some(prev) = self.rules.iter().find(|x| x.id == r.id) {
                return Err(Error::Rule {
                    file: r.origin.clone(),
                    rule_id: r.id.clone(),
                    reason: format!("duplicate rule id (also defined in {})", prev.origin),
                });
            }
            self.rules.push(r);
        }
        self.global_allowlists.extend(other.global_allowlists);
        Ok(())
    }

    /// Keeps only rules selected by `only` (if non-empty), minus `exclude`, at or above `min`.
    pub fn select(&mut self, only: &[String], exclude: &[String], min: Confidence) {
        self.rules.retain(|r| {
            (only.is_empty() || only.iter().any(|o| o == &r.id))
                && !exclude.iter().any(|x| x == &r.id)
                && r.confidence >= min
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_load() {
        let set = RuleSet::builtin().expect("built-in rules load");
        assert!(set.rules.len() >= 40, "only {} rules", set.rules.len());
    }

    #[test]
    fn builtin_rules_exclude_no_paths() {
        // Path-based excludes in rules would be silent blind spots; noise from
        // operating-system files is handled by package awareness instead, and counted.
        // A rule may be restricted to its own files (a shadow file), with an example path.
        for r in RuleSet::builtin().unwrap().rules {
            assert_eq!(r.path.is_some(), r.example_path.is_some(), "{}", r.id);
            assert!(
                r.allowlists.iter().all(|a| a.paths.is_empty()),
                "{} has a path allowlist",
                r.id
            );
        }
    }

    #[test]
    fn broken_rule_names_file_and_id() {
        let text = "[[rules]]\nid = \"bad-one\"\nregex = '''(unclosed'''\n";
        let err = RuleSet::parse(text, "mine.toml").unwrap_err().to_string();
        assert!(
            err.contains("mine.toml") && err.contains("bad-one"),
            "{err}"
        );
        let text = "[[rules]]\nid = \"g\"\nregex = '''a(b)'''\nsecretGroup = 3\n";
        let err = RuleSet::parse(text, "x.toml").unwrap_err().to_string();
        assert!(err.contains("secretGroup 3"), "{err}");
    }

    #[test]
    fn gitleaks_fields_are_accepted() {
        let text = r#"
title = "custom"
[allowlist]
paths = ['''(^|/)vendor/''']
[[rules]]
id = "corp-token"
description = "Corp token"
regex = '''corp_([a-z0-9]{16})'''
secretGroup = 1
keywords = ["corp_"]
entropy = 2.5
tags = ["x"]
[[rules.allowlists]]
stopwords = ["deadbeef"]
"#;
        let set = RuleSet::parse(text, "g.toml").unwrap();
        assert_eq!(set.rules[0].name, "Corp token");
        assert_eq!(set.global_allowlists.len(), 1);
        assert!(set.rules[0].allowlists[0].allows(b"deadbeef00", b"", b"", None));
    }
}
