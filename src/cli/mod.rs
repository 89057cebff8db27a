//! The command line: argument structs shared by the commands, one file per command
//! (`scan`, `baseline`, `rules`, `cache`, `docs` for completions and man pages), and the
//! one way an error leaves the program ([`fail`]).

mod baseline;
mod cache;
mod docs;
mod rules;
mod scan;

pub(crate) use baseline::run_baseline;
pub(crate) use cache::{CacheCommand, run_cache};
pub(crate) use docs::{completions, man};
pub(crate) use rules::{check_rules, list_rules};
pub(crate) use scan::run_scan;

use clap::{Args, Parser, Subcommand, ValueEnum};
use layerhound::policy;
use layerhound::report::Format;
use layerhound::rules::Confidence;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

pub(crate) const AFTER_HELP: &str = "\
Exit status: 0 when no reported finding fails the policy (--fail-on), 1 when one does, \
2 on an error or an incomplete scan: anything a limit or an unreadable entry left unscanned
(unless --allow-incomplete).

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
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Scan images: docker-archive:PATH, oci:DIR[:REF], oci-archive:PATH[:REF],
    /// docker-daemon:REF, a bare path or a bare image reference.
    Scan(Box<ScanArgs>),
    /// Record the findings of a scan as accepted, for `scan --baseline`.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// List or check rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Show, prune or clear the cache of layer results.
    #[command(subcommand)]
    Cache(CacheCommand),
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
pub(crate) enum BaselineCommand {
    /// Scan TARGETs and write the fingerprints of their findings (never the secrets)
    /// to FILE; takes the scan options that decide what is found.
    Create(Box<BaselineCreateArgs>),
}

#[derive(Args)]
pub(crate) struct BaselineCreateArgs {
    /// Where to write the baseline (JSON); `-` for stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: PathBuf,
    #[command(flatten)]
    pub(crate) scan: ScanOptions,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Args)]
#[command(next_help_heading = "Rules")]
pub(crate) struct RuleArgs {
    /// Add rules from a TOML file or a directory of them (repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    pub(crate) rules: Vec<PathBuf>,
    /// Do not load the built-in rules.
    #[arg(long)]
    pub(crate) no_builtin_rules: bool,
    /// Use only these rule ids (repeatable).
    #[arg(long = "rule", value_name = "ID")]
    pub(crate) only: Vec<String>,
    /// Leave out these rule ids (repeatable).
    #[arg(long = "exclude-rule", value_name = "ID")]
    pub(crate) exclude: Vec<String>,
    /// Use only rules at or above this confidence.
    #[arg(long, value_enum, value_name = "LEVEL", default_value = "low")]
    pub(crate) min_confidence: Confidence,
}

/// What to scan and everything that decides what is found: shared by `scan` and
/// `baseline create`, so a baseline is made exactly as the scans it is used with.
#[derive(Args)]
pub(crate) struct ScanOptions {
    /// What to scan.
    #[arg(required_unless_present = "all_images", value_name = "TARGET")]
    pub(crate) targets: Vec<String>,
    /// Scan every image the Docker daemon holds (each layer read once).
    #[arg(long)]
    pub(crate) all_images: bool,
    /// Scan only this platform of multi-platform images (os/arch[/variant]).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub(crate) platform: Option<String>,
    /// Also report what is set aside as package code: findings in unmodified files of
    /// installed packages (dpkg, apk, Python wheels) and in keys packages generate at
    /// install time, and findings of context and generic rules in third-party code
    /// (npm, Python, Cargo, Go, Ruby, Composer, Maven trees).
    #[arg(long, alias = "include-third-party")]
    pub(crate) include_package_files: bool,
    /// Leave out findings whose path inside the image matches REGEX (repeatable);
    /// they are counted in summary.suppressed.excluded_paths.
    #[arg(long = "exclude-path", value_name = "REGEX")]
    pub(crate) exclude_paths: Vec<String>,
    /// Exit with 0 or 1 even when a limit or an unreadable entry left something
    /// unscanned (a warning and summary.skipped still say what); by default that is
    /// an incomplete scan, exit 2.
    #[arg(long)]
    pub(crate) allow_incomplete: bool,
    /// Exit with 2 when anything was skipped (the default; kept for old scripts).
    #[arg(long, hide = true, conflicts_with = "allow_incomplete")]
    pub(crate) strict: bool,
    /// No progress bar and no messages besides the report and errors.
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
    /// No progress bar (notes are still shown).
    #[arg(long)]
    pub(crate) no_progress: bool,
    /// Flags of other scanners that layerhound answers with its own equivalent.
    #[command(flatten)]
    pub(crate) foreign: ForeignFlags,
    /// Directory for the private spool (decompressed layers); default: the system temp dir.
    #[arg(long, value_name = "DIR", env = "LAYERHOUND_SPOOL_DIR")]
    pub(crate) spool_dir: Option<PathBuf>,
    /// Cache directory (compiled rule database); default: $LAYERHOUND_CACHE_DIR,
    /// else $XDG_CACHE_HOME/layerhound, else ~/.cache/layerhound.
    #[arg(long = "cache", value_name = "DIR")]
    pub(crate) cache: Option<PathBuf>,
    /// Use and write no cache.
    #[arg(long, conflicts_with = "cache")]
    pub(crate) no_cache: bool,
    /// Most bytes the cached layer results may take (all rulesets together), such as
    /// 512M or 2G; after a scan writes some, the least recently used go first.
    #[arg(
        long,
        value_name = "SIZE",
        env = "LAYERHOUND_CACHE_MAX",
        default_value = "1G",
        value_parser = layerhound::results_cache::parse_size
    )]
    pub(crate) cache_max: u64,
    #[command(flatten)]
    pub(crate) rules: RuleArgs,
    #[command(flatten)]
    pub(crate) limits: LimitArgs,
    #[command(flatten)]
    pub(crate) daemon: DaemonArgs,
}

#[derive(Args)]
#[command(next_help_heading = "Limits")]
pub(crate) struct LimitArgs {
    /// Look inside archives and compressed files at most this many levels deep.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub(crate) max_depth: usize,
    /// Most bytes (MiB) the archives and compressed files inside one file may expand to.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    pub(crate) max_nested_bytes: u64,
    /// Largest decompressed-to-compressed ratio of a nested stream or member.
    #[arg(long, value_name = "RATIO", default_value_t = 250)]
    pub(crate) max_ratio: u64,
    /// Most members read from one nested archive.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub(crate) max_entries: usize,
    /// The byte budget: most bytes (MiB) one layer, or a compressed archive, may
    /// decompress to; the rest is not read (a warning, and exit 2 unless
    /// --allow-incomplete). Default 1 TiB.
    #[arg(long, value_name = "MIB", default_value_t = 1 << 20)]
    pub(crate) max_layer_bytes: u64,
    /// Largest archive inside a compressed layer (MiB) that is read whole through a
    /// spool file to look inside it (a zip or jar is read by random access); a larger
    /// one is matched as bytes only, and counted as skipped.
    #[arg(long, value_name = "MIB", default_value_t = 4096)]
    pub(crate) spool_max: u64,
    /// Stop writing the spool (an error naming the layer) before its filesystem has
    /// less than MIB free.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    pub(crate) min_free_disk: u64,
}

#[derive(Args)]
#[command(next_help_heading = "Docker daemon")]
pub(crate) struct DaemonArgs {
    /// Seconds allowed for connecting to the Docker daemon and for each request.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub(crate) daemon_timeout: u64,
    /// Seconds of silence tolerated in the middle of a daemon's export stream.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub(crate) daemon_idle_timeout: u64,
}

#[derive(Args)]
pub(crate) struct ScanArgs {
    #[command(flatten)]
    pub(crate) scan: ScanOptions,
    #[command(flatten)]
    pub(crate) report: ReportArgs,
    #[command(flatten)]
    pub(crate) policy: PolicyArgs,
}

/// Flags users of Trivy, gitleaks and TruffleHog type by habit, that do not fit
/// layerhound's model: each is an error naming the flag to use instead.
#[derive(Args)]
pub(crate) struct ForeignFlags {
    #[arg(long, hide = true, value_name = "SEVERITY")]
    pub(crate) severity: Option<String>,
    #[arg(long, hide = true)]
    pub(crate) only_verified: bool,
    #[arg(long, hide = true, value_name = "FILE")]
    pub(crate) config: Option<String>,
}

impl ForeignFlags {
    /// The error for the first foreign flag given, if any.
    pub(crate) fn refuse(&self) -> Option<&'static str> {
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
pub(crate) struct ReportArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "pretty")]
    pub(crate) format: Format,
    /// Same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub(crate) json: bool,
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
    pub(crate) redact: Option<u8>,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Show secrets in full instead of redacted.
    #[arg(long)]
    pub(crate) reveal: bool,
    /// Colour in the pretty format (NO_COLOR is honoured with auto).
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) color: ColorChoice,
}

#[derive(Args)]
#[command(next_help_heading = "Policy")]
pub(crate) struct PolicyArgs {
    /// Leave out findings whose fingerprint is in FILE (written by `layerhound baseline
    /// create`); they are counted in summary.suppressed.baseline.
    #[arg(long, value_name = "FILE")]
    pub(crate) baseline: Option<PathBuf>,
    /// Exit 1 only when a reported finding has one of these statuses; the report still
    /// lists every finding.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "STATUS[,STATUS...]"
    )]
    pub(crate) fail_on: Vec<policy::FailOn>,
    /// The exit code when a reported finding fails the policy (default 1; 0 reports
    /// without failing; 2 is kept for an incomplete scan).
    #[arg(long, value_name = "CODE", value_parser = scan::exit_code_value)]
    pub(crate) exit_code: Option<u8>,
    /// Ignore file: TOML [[ignore]] entries (fingerprint, rule and/or path glob, and a
    /// reason); default: .layerhoundignore in the current directory, if there is one.
    #[arg(long, value_name = "FILE", conflicts_with = "no_ignore_file")]
    pub(crate) ignore_file: Option<PathBuf>,
    /// Do not read .layerhoundignore from the current directory.
    #[arg(long)]
    pub(crate) no_ignore_file: bool,
}

#[derive(Subcommand)]
pub(crate) enum RulesCommand {
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

/// Writes generated text to stdout; a closed pipe (`| head`) ends the run quietly.
pub(crate) fn print_bytes(bytes: &[u8]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(2),
        Err(e) => fail(&format!("writing to stdout: {e}")),
    }
}

pub(crate) fn fail(msg: &str) -> ExitCode {
    eprintln!(
        "layerhound: error: {}",
        layerhound::util::plain_message(msg)
    );
    ExitCode::from(2)
}
