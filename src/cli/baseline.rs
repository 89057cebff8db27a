//! `layerhound baseline create`: scans as `scan` would and writes the fingerprints of
//! the findings' places, never a secret.

use super::scan::{incomplete, print_diagnostics, scan_targets};
use super::{BaselineCreateArgs, fail};
use layerhound::policy::BaselineFile;
use std::io::Write;
use std::process::ExitCode;

pub(crate) fn run_baseline(args: BaselineCreateArgs) -> ExitCode {
    if let Some(e) = args.scan.foreign.refuse() {
        return fail(e);
    }
    layerhound::spool::install_signal_cleanup();
    let outcome = match scan_targets(&args.scan, false, &[]) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    print_diagnostics(&outcome, args.scan.quiet, false);
    if incomplete(&outcome, args.scan.allow_incomplete) {
        return fail(&format!(
            "the scan is incomplete; no baseline written to {}",
            args.output.display()
        ));
    }
    // Paths and fields in a baseline are read by people: masked like a report.
    let doc = BaselineFile::of(&outcome.redacted().findings);
    let mut json = match serde_json::to_vec_pretty(&doc) {
        Ok(j) => outcome.redactor.scrub(&j).into_owned(),
        Err(e) => return fail(&format!("baseline: {e}")),
    };
    json.push(b'\n');
    let written = if args.output.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        out.write_all(&json).and_then(|()| out.flush())
    } else {
        write_atomically(&args.output, &json)
    };
    if let Err(e) = written {
        return fail(&format!("{}: {e}", args.output.display()));
    }
    if !args.scan.quiet && args.output.as_os_str() != "-" {
        eprintln!(
            "layerhound: wrote {} finding{} to {} (fingerprints and places, no secrets)",
            doc.findings.len(),
            if doc.findings.len() == 1 { "" } else { "s" },
            args.output.display()
        );
    }
    ExitCode::SUCCESS
}

/// Writes `bytes` to `path` through a temporary file beside it, so a reader never sees
/// half a file.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map(|_| ()).map_err(|e| e.error)
}
