//! Reports: takes an [`Outcome`] and writes it as `pretty` (for people), `json` (one
//! document), `jsonl` (one finding per line, then a summary line), `sarif` (SARIF
//! 2.1.0, for code-scanning services) or `html` (one self-contained page). Secrets are
//! redacted unless `reveal` is set.

mod html;
mod pretty;
mod sarif;

use crate::finding::Finding;
use crate::outcome::Outcome;
use serde::Serialize;
use std::io::{self, Write};

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Pretty,
    Json,
    Jsonl,
    Sarif,
    Html,
}

/// Report settings.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    pub format: Format,
    pub reveal: bool,
    pub color: bool,
    /// Terminal width for the pretty format.
    pub width: usize,
    /// How the scan was run, for the HTML report's reader.
    pub run: RunInfo,
}

/// When and how a scan was run.
#[derive(Clone, Debug, Default)]
pub struct RunInfo {
    /// `2026-12-02 18:05:33 UTC` (from `SOURCE_DATE_EPOCH` when set, for reproducible
    /// reports).
    pub started: String,
    /// The command line, as typed.
    pub command: String,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    findings: &'a [Finding],
    summary: &'a crate::outcome::Summary,
    images: &'a [crate::outcome::ImageInfo],
}

/// One line for people: `5 findings (1 present, 1 deleted, …) in 1 image, 4 layers`.
pub fn summary_line(s: &crate::outcome::Summary) -> String {
    pretty::summary_clauses(s).join(" ")
}

/// Writes the report. Without `reveal`, every string from the image is masked first
/// (see [`Outcome::redacted`]) and every byte written passes through the scan's
/// redactor last, so no field, present or future, can carry a secret out.
pub fn write(out: &mut dyn Write, outcome: &Outcome, opts: &ReportOptions) -> io::Result<()> {
    if opts.reveal {
        return write_as_is(out, outcome, opts);
    }
    let masked = outcome.redacted();
    let mut buf = Vec::new();
    write_as_is(&mut buf, &masked, opts)?;
    out.write_all(&outcome.redactor.scrub(&buf))
}

/// Writes the outcome as it is given. JSON output (JSON, JSONL, SARIF) has DEL and the
/// C1 controls escaped too, which JSON itself leaves raw: a path from an image holding
/// one cannot drive a terminal that shows the report.
fn write_as_is(out: &mut dyn Write, outcome: &Outcome, opts: &ReportOptions) -> io::Result<()> {
    if matches!(opts.format, Format::Json | Format::Jsonl | Format::Sarif) {
        let mut buf = Vec::new();
        write_formatted(&mut buf, outcome, opts)?;
        return out.write_all(&escape_json_controls(&buf));
    }
    write_formatted(out, outcome, opts)
}

/// `json` with every DEL (U+007F) and C1 control (U+0080 to U+009F) written as a `\u`
/// escape. Outside strings JSON holds none, so the document means the same.
pub fn escape_json_controls(json: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let needs = |w: &[u8]| w[0] == 0x7f || (w[0] == 0xc2 && (0x80..=0x9f).contains(&w[1]));
    if !json.windows(2).any(needs) && json.last() != Some(&0x7f) {
        return std::borrow::Cow::Borrowed(json);
    }
    let mut out = Vec::with_capacity(json.len() + 16);
    let mut i = 0;
    while i < json.len() {
        match (json[i], json.get(i + 1)) {
            (0x7f, _) => {
                out.extend_from_slice(b"\\u007f");
                i += 1;
            }
            (0xc2, Some(&b)) if (0x80..=0x9f).contains(&b) => {
                out.extend_from_slice(format!("\\u{:04x}", u32::from(b)).as_bytes());
                i += 2;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Writes the outcome in its format.
fn write_formatted(out: &mut dyn Write, outcome: &Outcome, opts: &ReportOptions) -> io::Result<()> {
    let findings = &outcome.findings;
    match opts.format {
        Format::Json => {
            let doc = JsonReport {
                version: 1,
                findings,
                summary: &outcome.summary,
                images: &outcome.images,
            };
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)
        }
        Format::Jsonl => {
            for f in findings {
                serde_json::to_writer(&mut *out, f)?;
                writeln!(out)?;
            }
            serde_json::to_writer(
                &mut *out,
                &serde_json::json!({ "summary": &outcome.summary }),
            )?;
            writeln!(out)
        }
        Format::Pretty => pretty::write(out, outcome, findings, opts),
        Format::Sarif => sarif::write(out, outcome, findings),
        Format::Html => html::write(out, outcome, findings, opts.reveal, &opts.run),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn del_and_c1_controls_are_escaped_in_json() {
        let v = serde_json::json!({"path": "a\u{7f}b\u{9b}31mc\u{80}é\u{a0}", "n": 1});
        let raw = serde_json::to_vec(&v).unwrap();
        let escaped = escape_json_controls(&raw);
        let text = std::str::from_utf8(&escaped).unwrap();
        assert!(
            !text
                .chars()
                .any(|c| c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c)),
            "{text}"
        );
        assert!(
            text.contains("\\u007f") && text.contains("\\u009b") && text.contains("\\u0080"),
            "{text}"
        );
        // The same document, and other text (é, U+00A0) untouched.
        let back: serde_json::Value = serde_json::from_slice(&escaped).unwrap();
        assert_eq!(back, v);
        assert!(matches!(
            escape_json_controls(b"{\"a\":\"\xc3\xa9\"}"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
