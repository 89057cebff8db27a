//! `layerhound scan`: reads the policy files, scans, applies the policy, writes the
//! report and the diagnostics, and gives the exit code.

use super::rules::load_rules;
use super::{ColorChoice, PolicyArgs, ScanArgs, ScanOptions, fail};
use layerhound::matcher::Matcher;
use layerhound::outcome::Outcome;
use layerhound::policy::{self, Baseline, IgnoreList};
use layerhound::report::{self, Format, ReportOptions};
use layerhound::scan;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// Compiles the rules and scans the targets; an error here is one line, for [`fail`].
pub(crate) fn scan_targets(
    args: &ScanOptions,
    reveal: bool,
    named_rules: &[(String, String)],
) -> Result<Outcome, String> {
    let set = load_rules(&args.rules, named_rules)?;
    let cache_dir = if args.no_cache {
        None
    } else {
        args.cache
            .clone()
            .or_else(layerhound::matcher::cache::default_dir)
    };
    let matcher = Matcher::with_cache(set, cache_dir.as_deref()).map_err(|e| e.to_string())?;
    let mut exclude_paths = Vec::new();
    for p in &args.exclude_paths {
        let re = regex::bytes::RegexBuilder::new(p)
            .unicode(false)
            .build()
            .map_err(|e| {
                format!(
                    "--exclude-path {p:?}: {}",
                    e.to_string().lines().last().unwrap_or("invalid regex")
                )
            })?;
        exclude_paths.push(re);
    }
    let (limits, layer_caps) = scan_limits(&args.limits);
    let layer_cache = cache_dir.as_deref().map(|dir| {
        layerhound::results_cache::LayerCache::for_scan(dir, &matcher.rules, &limits, &layer_caps)
            .with_max_bytes(args.cache_max)
    });
    let opts = scan::Options {
        platform: args.platform.clone(),
        spool_dir: args.spool_dir.clone(),
        progress: std::io::stderr().is_terminal() && !args.quiet && !args.no_progress,
        include_package_files: args.include_package_files,
        exclude_paths,
        all_images: args.all_images,
        layer_caps,
        limits,
        layer_cache,
        reveal,
        daemon: layerhound::source::daemon::DaemonOptions {
            timeout: std::time::Duration::from_secs(args.daemon.daemon_timeout.max(1)),
            idle_timeout: std::time::Duration::from_secs(args.daemon.daemon_idle_timeout.max(1)),
        },
    };
    let mut outcome = scan::run(&args.targets, &matcher, &opts);
    // Every error, warning, note and skip any printer shows, on one plain line.
    outcome.summary.make_plain();
    Ok(outcome)
}

/// The content limits and layer caps the limit flags ask for (they also key the layer
/// results cache: `cache info` and `cache prune` work out the current one with them).
pub(crate) fn scan_limits(
    l: &super::LimitArgs,
) -> (layerhound::content::Limits, layerhound::layer::LayerCaps) {
    let limits = layerhound::content::Limits {
        max_depth: l.max_depth,
        max_bytes: l.max_nested_bytes.saturating_mul(1 << 20),
        max_ratio: l.max_ratio.max(1),
        max_entries: l.max_entries,
    };
    let layer_caps = layerhound::layer::LayerCaps {
        max_bytes: l.max_layer_bytes.saturating_mul(1 << 20),
        spool_max: l.spool_max.saturating_mul(1 << 20),
        min_free: l.min_free_disk.saturating_mul(1 << 20),
    };
    (limits, layer_caps)
}

/// Errors always, notes unless `--quiet`, on stderr; without `reveal`, masked like
/// the report (see [`Outcome::redacted`]).
pub(crate) fn print_diagnostics(outcome: &Outcome, quiet: bool, reveal: bool) {
    // Only the summary is printed here: only it is masked.
    let mut shown = outcome.summary.clone();
    if !reveal {
        layerhound::redact::Redact::redact_with(&mut shown, &outcome.redactor);
    }
    let mut lines = Vec::new();
    for e in &shown.errors {
        lines.push(format!("layerhound: error: {e}"));
    }
    for (reason, s) in &shown.skipped {
        let example = s
            .examples
            .first()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default();
        lines.push(format!(
            "layerhound: warning: not scanned, {} time{}: {reason}{example}",
            s.count,
            if s.count == 1 { "" } else { "s" }
        ));
    }
    if !quiet {
        for n in &shown.notes {
            lines.push(format!("layerhound: note: {n}"));
        }
    }
    let mut text = lines.join("\n").into_bytes();
    if text.is_empty() {
        return;
    }
    text.push(b'\n');
    let text = if reveal {
        std::borrow::Cow::Borrowed(&text[..])
    } else {
        outcome.redactor.scrub(&text)
    };
    let _ = std::io::stderr().lock().write_all(&text);
}

/// True when the scan is incomplete: an error, or (unless `--allow-incomplete`)
/// anything skipped.
pub(crate) fn incomplete(outcome: &Outcome, allow_incomplete: bool) -> bool {
    !outcome.summary.errors.is_empty() || (!allow_incomplete && !outcome.summary.skipped.is_empty())
}

/// The ignore file to use: `--ignore-file`, else `.layerhoundignore` in the current
/// directory when there is one (and not `--no-ignore-file`). Ok(None): no ignore file.
fn ignore_list(args: &PolicyArgs) -> layerhound::Result<Option<(IgnoreList, Option<String>)>> {
    if let Some(path) = &args.ignore_file {
        return IgnoreList::load(path).map(|l| Some((l, None)));
    }
    let found = std::path::Path::new(policy::IGNORE_FILE_NAME);
    if args.no_ignore_file || !found.exists() {
        return Ok(None);
    }
    let list = IgnoreList::load(found)?;
    let note = format!(
        "read {} entr{} from ./{} (--no-ignore-file to leave it out)",
        list.len(),
        if list.len() == 1 { "y" } else { "ies" },
        policy::IGNORE_FILE_NAME
    );
    Ok(Some((list, Some(note))))
}

/// `--exit-code`: any code but 2, which means an incomplete scan.
pub(crate) fn exit_code_value(s: &str) -> Result<u8, String> {
    match s.parse::<u8>() {
        Ok(2) => Err("2 means an incomplete scan; choose another code".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("a number from 0 to 255".into()),
    }
}

/// When the scan started (`SOURCE_DATE_EPOCH` when set) and the command line (without
/// `--output`).
fn run_info(started: std::time::SystemTime) -> report::RunInfo {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            started
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    // The report's own file name is left out: the same scan written to two files
    // gives the same bytes.
    let mut shown = Vec::new();
    let mut args = std::env::args();
    while let Some(a) = args.next() {
        if a == "-o" || a == "--output" {
            args.next();
        } else if !(a.starts_with("--output=") || a.starts_with("-o") && a.len() > 2) {
            shown.push(a);
        }
    }
    let command = shown
        .into_iter()
        .map(|a| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    report::RunInfo {
        started: layerhound::util::utc_timestamp(secs),
        command,
    }
}

pub(crate) fn run_scan(mut args: ScanArgs) -> ExitCode {
    let started = std::time::SystemTime::now();
    layerhound::spool::install_signal_cleanup();
    if let Some(e) = args.scan.foreign.refuse() {
        return fail(e);
    }
    if args.report.json {
        args.report.format = Format::Json;
    }
    // The policy files are read first: a bad one fails before any work is done.
    let ignore = match ignore_list(&args.policy) {
        Ok(i) => i,
        Err(e) => return fail(&e.to_string()),
    };
    let baseline = match args
        .policy
        .baseline
        .as_deref()
        .map(Baseline::load)
        .transpose()
    {
        Ok(b) => b,
        Err(e) => return fail(&e.to_string()),
    };
    let ignore_name = args.policy.ignore_file.as_ref().map_or_else(
        || policy::IGNORE_FILE_NAME.to_string(),
        |p| p.display().to_string(),
    );
    let named: Vec<(String, String)> = ignore
        .iter()
        .flat_map(|(l, _)| l.rule_ids())
        .map(|(n, id)| {
            (
                format!("{ignore_name}: [[ignore]] entry {n}"),
                id.to_string(),
            )
        })
        .collect();
    let mut outcome = match scan_targets(&args.scan, args.report.reveal, &named) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    if let Some((_, Some(note))) = &ignore {
        outcome.summary.notes.push(note.clone());
    }
    policy::apply(
        &mut outcome,
        ignore.as_ref().map(|(l, _)| l),
        baseline.as_ref(),
    );
    let r = &args.report;
    let to_tty = r.output.is_none() && std::io::stdout().is_terminal();
    let color = match r.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => to_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    let ropts = ReportOptions {
        format: r.format,
        reveal: r.reveal,
        color,
        width: terminal_width(),
        run: run_info(started),
    };
    // Pretty output to the terminal says nothing when there is nothing to say: with
    // `--quiet` on a clean image, or when no image could be read at all (the error on
    // stderr says why; a "0 findings in 0 images" would read as a clean result).
    let nothing_to_say = r.format == Format::Pretty
        && r.output.is_none()
        && outcome.findings.is_empty()
        && ((args.scan.quiet && outcome.summary.errors.is_empty())
            || (outcome.summary.images == 0 && !outcome.summary.errors.is_empty()));
    let written = match &r.output {
        _ if nothing_to_say => Ok(()),
        Some(path) => create_report_file(path, r.reveal)
            .and_then(|f| {
                let mut w = std::io::BufWriter::new(f);
                report::write(&mut w, &outcome, &ropts)?;
                w.flush()
            })
            .map_err(|e| format!("{}: {e}", path.display())),
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            report::write(&mut w, &outcome, &ropts)
                .and_then(|_| w.flush())
                .map_err(|e| e.to_string())
        }
    };
    print_diagnostics(&outcome, args.scan.quiet, r.reveal);
    if let Err(e) = written {
        if e.contains("Broken pipe") {
            return ExitCode::from(2);
        }
        return fail(&format!("writing report: {e}"));
    }
    if let Some(path) = &r.output
        && !args.scan.quiet
    {
        eprintln!(
            "layerhound: {}",
            layerhound::util::plain_message(&format!(
                "{}; report written to {}",
                report::summary_line(&outcome.summary),
                path.display()
            ))
        );
    }
    if incomplete(&outcome, args.scan.allow_incomplete) {
        ExitCode::from(2)
    } else if policy::fails(&outcome, &policy::FailOn::statuses(&args.policy.fail_on)) {
        ExitCode::from(args.policy.exit_code.unwrap_or(1))
    } else {
        ExitCode::SUCCESS
    }
}

/// The report file: readable by its owner only when it holds secrets in full.
fn create_report_file(path: &std::path::Path, reveal: bool) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    if reveal {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(0o600);
        // An existing file keeps its mode: narrow it too.
        if let Ok(meta) = std::fs::metadata(path)
            && meta.is_file()
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    o.open(path)
}

/// The width the pretty report fits: `COLUMNS` when set, else the terminal on stdout
/// (or on stderr, when stdout is piped), else 100.
fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|&c: &usize| c > 0)
        .or_else(|| {
            terminal_size::terminal_size_of(std::io::stdout())
                .or_else(|| terminal_size::terminal_size_of(std::io::stderr()))
                .map(|(w, _)| usize::from(w.0))
        })
        .unwrap_or(100)
}
