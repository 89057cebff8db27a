//! The `layerhound` command: parses arguments, runs the library, maps the outcome to
//! an exit code (0 nothing found, 1 findings, 2 error or incomplete scan).

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use layerhound::matcher::Matcher;
use layerhound::policy::{self, Baseline, BaselineFile, IgnoreList};
use layerhound::report::{self, Format, ReportOptions};
use layerhound::rules::{Confidence, RuleSet, check};
use layerhound::outcome::Outcome;
use layerhound::scan;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Exit status: 0 when no reported finding fails the policy (--fail-on), 1 when one does, \
2 on an error or an incomplete scan (and, with --strict, when anything was skipped).

An ignore file (.layerhoundignore in the current directory, or --ignore-file FILE) holds \
TOML [[ignore]] entries, each with a fingerprint, a rule, a path glob, or a rule and a \
path glob, and a reason. `layerhound baseline create TARGET -o FILE` records the \
fingerprints of today's findings (never their secrets); `scan --baseline FILE` reports \
only the new ones.";

#[derive(Parser)]
#[command(
    name = "layerhound",
    version,
    about = "Find secrets in container images, offline, layer by layer",
    after_long_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan images: docker-archive:PATH, oci:DIR[:REF], oci-archive:PATH[:REF],
    /// docker-daemon:REF, a bare path or a bare image reference.
    Scan(Box<ScanArgs>),
    /// Record the findings of a scan as accepted, for `scan --baseline`.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// List or check rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout, or write one page per command into DIR.
    Man {
        /// Write layerhound.1, layerhound-scan.1 and the others into this directory.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum BaselineCommand {
    /// Scan TARGETs and write the fingerprints of their findings (never the secrets)
    /// to FILE; takes the scan options that decide what is found.
    Create(Box<BaselineCreateArgs>),
}

#[derive(Args)]
struct BaselineCreateArgs {
    /// Where to write the baseline (JSON); `-` for stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: PathBuf,
    #[command(flatten)]
    scan: ScanOptions,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Args)]
#[command(next_help_heading = "Rules")]
struct RuleArgs {
    /// Add rules from a TOML file or a directory of them (repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Do not load the built-in rules.
    #[arg(long)]
    no_builtin_rules: bool,
    /// Use only these rule ids (repeatable).
    #[arg(long = "rule", value_name = "ID")]
    only: Vec<String>,
    /// Leave out these rule ids (repeatable).
    #[arg(long = "exclude-rule", value_name = "ID")]
    exclude: Vec<String>,
    /// Use only rules at or above this confidence.
    #[arg(long, value_enum, value_name = "LEVEL", default_value = "low")]
    min_confidence: Confidence,
}

/// What to scan and everything that decides what is found: shared by `scan` and
/// `baseline create`, so a baseline is made exactly as the scans it is used with.
#[derive(Args)]
struct ScanOptions {
    /// What to scan.
    #[arg(required_unless_present = "all_images", value_name = "TARGET")]
    targets: Vec<String>,
    /// Scan every image the Docker daemon holds (each layer read once).
    #[arg(long)]
    all_images: bool,
    /// Scan only this platform of multi-platform images (os/arch[/variant]).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    platform: Option<String>,
    /// Also report what is set aside as package code: findings in unmodified files of
    /// installed packages (dpkg, apk, Python wheels) and in keys packages generate at
    /// install time, and findings of context and generic rules in third-party code
    /// (npm, Python, Cargo, Go, Ruby, Composer, Maven trees).
    #[arg(long, alias = "include-third-party")]
    include_package_files: bool,
    /// Leave out findings whose path inside the image matches REGEX (repeatable);
    /// they are counted in summary.suppressed.excluded_paths.
    #[arg(long = "exclude-path", value_name = "REGEX")]
    exclude_paths: Vec<String>,
    /// Exit with 2 when anything was skipped or truncated (see summary.skipped).
    #[arg(long)]
    strict: bool,
    /// No progress bar and no messages besides the report and errors.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// No progress bar (notes are still shown).
    #[arg(long)]
    no_progress: bool,
    /// Flags of other scanners that layerhound answers with its own equivalent.
    #[command(flatten)]
    foreign: ForeignFlags,
    /// Directory for the private spool (decompressed layers); default: the system temp dir.
    #[arg(long, value_name = "DIR", env = "LAYERHOUND_SPOOL_DIR")]
    spool_dir: Option<PathBuf>,
    /// Cache directory (compiled rule database); default: $LAYERHOUND_CACHE_DIR,
    /// else $XDG_CACHE_HOME/layerhound, else ~/.cache/layerhound.
    #[arg(long = "cache", value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Use and write no cache.
    #[arg(long, conflicts_with = "cache")]
    no_cache: bool,
    #[command(flatten)]
    rules: RuleArgs,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    daemon: DaemonArgs,
}

#[derive(Args)]
#[command(next_help_heading = "Limits")]
struct LimitArgs {
    /// Look inside archives and compressed files at most this many levels deep.
    #[arg(long, value_name = "N", default_value_t = 3)]
    max_depth: usize,
    /// Most bytes (MiB) the archives and compressed files inside one file may expand to.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    max_nested_bytes: u64,
    /// Largest decompressed-to-compressed ratio of a nested stream or member.
    #[arg(long, value_name = "RATIO", default_value_t = 250)]
    max_ratio: u64,
    /// Most members read from one nested archive.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    max_entries: usize,
    /// Most bytes (MiB) one layer may decompress to; the rest of it is not scanned.
    #[arg(long, value_name = "MIB", default_value_t = 65_536)]
    max_layer_bytes: u64,
    /// Largest decompressed-to-compressed ratio of a layer (never capping below 1 GiB).
    #[arg(long, value_name = "RATIO", default_value_t = 1000)]
    max_layer_ratio: u64,
    /// A file of a compressed layer of at most MIB is held in memory while it is
    /// matched; a larger one goes to a spool file (0: spool every file past 8 MiB).
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    spool_memory: u64,
    /// Stop writing the spool (an error naming the layer) before its filesystem has
    /// less than MIB free.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    min_free_disk: u64,
}

#[derive(Args)]
#[command(next_help_heading = "Docker daemon")]
struct DaemonArgs {
    /// Seconds allowed for connecting to the Docker daemon and for each request.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    daemon_timeout: u64,
    /// Seconds of silence tolerated in the middle of a daemon's export stream.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    daemon_idle_timeout: u64,
}

#[derive(Args)]
struct ScanArgs {
    #[command(flatten)]
    scan: ScanOptions,
    #[command(flatten)]
    report: ReportArgs,
    #[command(flatten)]
    policy: PolicyArgs,
}

/// Flags users of Trivy, gitleaks and TruffleHog type by habit, that do not fit
/// layerhound's model: each is an error naming the flag to use instead.
#[derive(Args)]
struct ForeignFlags {
    #[arg(long, hide = true, value_name = "SEVERITY")]
    severity: Option<String>,
    #[arg(long, hide = true)]
    only_verified: bool,
    #[arg(long, hide = true, value_name = "FILE")]
    config: Option<String>,
}

impl ForeignFlags {
    /// The error for the first foreign flag given, if any.
    fn refuse(&self) -> Option<&'static str> {
        if self.severity.is_some() {
            return Some(
                "--severity: layerhound rates rules by confidence: use --min-confidence high|medium|low, and --fail-on for which statuses fail the scan",
            );
        }
        if self.only_verified {
            return Some(
                "--only-verified: layerhound never calls a provider (it works offline): use --min-confidence high for the most exact rules",
            );
        }
        if self.config.is_some() {
            return Some(
                "--config: layerhound reads rule files, gitleaks' TOML included, with --rules PATH",
            );
        }
        None
    }
}

#[derive(Args)]
#[command(next_help_heading = "Report")]
struct ReportArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "pretty")]
    format: Format,
    /// Same as --format json.
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// Redact secrets: the default without --reveal (accepted for users of gitleaks and
    /// TruffleHog; an optional percentage is ignored: at most 4 characters are shown).
    #[arg(
        long,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "100",
        value_name = "PERCENT",
        conflicts_with = "reveal"
    )]
    redact: Option<u8>,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Show secrets in full instead of redacted.
    #[arg(long)]
    reveal: bool,
    /// Colour in the pretty format (NO_COLOR is honoured with auto).
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
}

#[derive(Args)]
#[command(next_help_heading = "Policy")]
struct PolicyArgs {
    /// Leave out findings whose fingerprint is in FILE (written by `layerhound baseline
    /// create`); they are counted in summary.suppressed.baseline.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Exit 1 only when a reported finding has one of these statuses; the report still
    /// lists every finding.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "STATUS[,STATUS...]"
    )]
    fail_on: Vec<policy::FailOn>,
    /// The exit code when a reported finding fails the policy (default 1; 0 reports
    /// without failing; 2 is kept for an incomplete scan).
    #[arg(long, value_name = "CODE", value_parser = exit_code_value)]
    exit_code: Option<u8>,
    /// Ignore file: TOML [[ignore]] entries (fingerprint, rule and/or path glob, and a
    /// reason); default: .layerhoundignore in the current directory, if there is one.
    #[arg(long, value_name = "FILE", conflicts_with = "no_ignore_file")]
    ignore_file: Option<PathBuf>,
    /// Do not read .layerhoundignore from the current directory.
    #[arg(long)]
    no_ignore_file: bool,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// One line per rule: id, confidence, kind (provider, context, generic), name.
    List {
        #[arg(long, short = 'f', value_enum, default_value = "pretty")]
        format: Format,
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Compile every rule with Hyperscan and regex and run its examples; non-zero exit on any failure.
    Check {
        /// Rule files or directories to check (default: the built-in rules).
        paths: Vec<PathBuf>,
    },
}

/// Loads and selects the rules. Every rule id the options name, and each of `named`
/// (where it is named, the id), must name a loaded rule.
fn load_rules(a: &RuleArgs, named: &[(String, String)]) -> Result<RuleSet, String> {
    let mut set = if a.no_builtin_rules {
        RuleSet::default()
    } else {
        RuleSet::builtin().map_err(|e| e.to_string())?
    };
    for p in &a.rules {
        set.overlay(RuleSet::load_path(p).map_err(|e| e.to_string())?);
    }
    set.finish();
    // A rule id that names no rule would scan with fewer rules than asked, silently.
    for (flag, ids) in [("--rule", &a.only), ("--exclude-rule", &a.exclude)] {
        for id in ids.iter() {
            check_rule_id(&set, id).map_err(|e| format!("{flag} {e}"))?;
        }
    }
    for (place, id) in named {
        check_rule_id(&set, id).map_err(|e| format!("{place}: rule {e}"))?;
    }
    set.select(&a.only, &a.exclude, a.min_confidence);
    if set.rules.is_empty() {
        return Err(if a.no_builtin_rules && a.rules.is_empty() {
            "no rules to scan with: --no-builtin-rules needs --rules PATH".to_string()
        } else {
            "no rules to scan with: the rule options leave none".to_string()
        });
    }
    Ok(set)
}

/// Ok when `id` names a loaded rule; else an error with the closest ids.
fn check_rule_id(set: &RuleSet, id: &str) -> Result<(), String> {
    if set.rules.iter().any(|r| r.id == id) {
        return Ok(());
    }
    let mut near: Vec<(usize, &str)> = set
        .rules
        .iter()
        .map(|r| (edit_distance(id, &r.id), r.id.as_str()))
        .collect();
    near.sort();
    let close: Vec<&str> = near
        .iter()
        .filter(|(d, _)| *d <= id.len().max(4) / 2)
        .take(3)
        .map(|(_, r)| *r)
        .collect();
    let hint = if close.is_empty() {
        " (`layerhound rules list` lists them)".to_string()
    } else {
        format!(" (did you mean {}?)", close.join(", "))
    };
    Err(format!("{id:?}: no such rule{hint}"))
}

/// Levenshtein distance, for suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Scan(args) => run_scan(*args),
        Command::Baseline(BaselineCommand::Create(args)) => run_baseline(*args),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "layerhound", &mut script);
            print_bytes(&script)
        }
        Command::Man { dir: Some(dir) } => {
            match std::fs::create_dir_all(&dir)
                .and_then(|()| clap_mangen::generate_to(Cli::command(), &dir))
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&format!("writing man pages to {}: {e}", dir.display())),
            }
        }
        Command::Man { dir: None } => {
            let mut page = Vec::new();
            let cmd = Cli::command().disable_help_subcommand(true);
            match clap_mangen::Man::new(cmd).render(&mut page) {
                Ok(()) => print_bytes(&page),
                Err(e) => fail(&format!("man page: {e}")),
            }
        }
        Command::Rules(RulesCommand::List {
            format: Format::Sarif | Format::Html,
            ..
        }) => fail("rules list writes pretty, json or jsonl (one JSON object per rule and line)"),
        Command::Rules(RulesCommand::List { format, rules }) => match load_rules(&rules, &[]) {
            Ok(set) => {
                let mut out = std::io::stdout().lock();
                for r in &set.rules {
                    let res = if format == Format::Pretty {
                        writeln!(
                            out,
                            "{:<40} {:<6} {:<8} {}",
                            r.id,
                            r.confidence.as_str(),
                            r.kind.as_str(),
                            r.name
                        )
                    } else {
                        writeln!(
                            out,
                            "{}",
                            serde_json::json!({"id": r.id, "name": r.name, "confidence": r.confidence, "kind": r.kind, "origin": r.origin, "references": r.references, "examples": r.examples})
                        )
                    };
                    match res {
                        Ok(()) => {}
                        // `rules list | head`: the reader has what it wanted.
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                            return ExitCode::SUCCESS;
                        }
                        Err(e) => return fail(&format!("writing to stdout: {e}")),
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_string()),
        },
        Command::Rules(RulesCommand::Check { paths }) => {
            let set = if paths.is_empty() {
                RuleSet::builtin()
            } else {
                let mut s = RuleSet::default();
                paths
                    .iter()
                    .try_for_each(|p| s.extend(RuleSet::load_path(p)?))
                    .map(|_| s)
            };
            let set = match set {
                Ok(s) => s,
                Err(e) => return fail(&e.to_string()),
            };
            let failures = check::check(&set);
            for f in &failures {
                eprintln!("FAIL {f}");
            }
            let ok = set.rules.len()
                - failures
                    .iter()
                    .map(|f| &f.rule_id)
                    .collect::<std::collections::HashSet<_>>()
                    .len();
            println!("{ok} passed, {} failed", set.rules.len() - ok);
            if failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// Writes generated text to stdout; a closed pipe (`| head`) ends the run quietly.
fn print_bytes(bytes: &[u8]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(2),
        Err(e) => fail(&format!("writing to stdout: {e}")),
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!(
        "layerhound: error: {}",
        layerhound::util::plain_message(msg)
    );
    ExitCode::from(2)
}

/// Compiles the rules and scans the targets; an error here is one line, for [`fail`].
fn scan_targets(
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
    let l = &args.limits;
    let limits = layerhound::content::Limits {
        max_depth: l.max_depth,
        max_bytes: l.max_nested_bytes.saturating_mul(1 << 20),
        max_ratio: l.max_ratio.max(1),
        max_entries: l.max_entries,
    };
    let layer_caps = layerhound::layer::LayerCaps {
        max_bytes: l.max_layer_bytes.saturating_mul(1 << 20),
        max_ratio: l.max_layer_ratio.max(1),
        in_memory: l.spool_memory.saturating_mul(1 << 20),
        min_free: l.min_free_disk.saturating_mul(1 << 20),
    };
    // Everything that decides what a layer scan yields keys the layer results cache.
    let layer_cache = cache_dir.as_deref().map(|dir| {
        let rules = format!(
            "{:?}\n{:?}",
            matcher.rules.rules, matcher.rules.global_allowlists
        );
        let options = format!(
            "{limits:?}\n{} {}\n{}",
            layer_caps.max_bytes,
            layer_caps.max_ratio,
            layerhound::testkeys::TEST_KEYS_TOML
        );
        layerhound::results_cache::LayerCache::new(dir, &[rules.as_bytes(), options.as_bytes()])
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
    Ok(scan::run(&args.targets, &matcher, &opts))
}

/// Errors always, notes unless `--quiet`, on stderr; without `reveal`, masked like
/// the report (see [`Outcome::redacted`]).
fn print_diagnostics(outcome: &Outcome, quiet: bool, reveal: bool) {
    let masked;
    let shown = if reveal {
        outcome
    } else {
        masked = outcome.redacted();
        &masked
    };
    let mut lines = Vec::new();
    for e in &shown.summary.errors {
        lines.push(format!("layerhound: error: {e}"));
    }
    if !quiet {
        for n in &shown.summary.notes {
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

/// True when the scan is incomplete: an error, or with `--strict` anything skipped.
fn incomplete(outcome: &Outcome, strict: bool) -> bool {
    !outcome.summary.errors.is_empty() || (strict && !outcome.summary.skipped.is_empty())
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
fn exit_code_value(s: &str) -> Result<u8, String> {
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
        } else if !a.starts_with("--output=") && !(a.starts_with("-o") && a.len() > 2) {
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

fn run_scan(mut args: ScanArgs) -> ExitCode {
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
            "layerhound: {}; report written to {}",
            report::summary_line(&outcome.summary),
            path.display()
        );
    }
    if incomplete(&outcome, args.scan.strict) {
        ExitCode::from(2)
    } else if policy::fails(&outcome, &policy::FailOn::statuses(&args.policy.fail_on)) {
        ExitCode::from(args.policy.exit_code.unwrap_or(1))
    } else {
        ExitCode::SUCCESS
    }
}

fn run_baseline(args: BaselineCreateArgs) -> ExitCode {
    if let Some(e) = args.scan.foreign.refuse() {
        return fail(e);
    }
    layerhound::spool::install_signal_cleanup();
    let outcome = match scan_targets(&args.scan, false, &[]) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    print_diagnostics(&outcome, args.scan.quiet, false);
    if incomplete(&outcome, args.scan.strict) {
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
