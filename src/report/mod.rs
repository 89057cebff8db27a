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

/// Writes the outcome as it is given.
fn write_as_is(out: &mut dyn Write, outcome: &Outcome, opts: &ReportOptions) -> io::Result<()> {
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
