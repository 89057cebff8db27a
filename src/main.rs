//! The `layerhound` command: parses arguments, runs the library, maps the outcome to
//! an exit code (0 nothing found, 1 findings, 2 error or incomplete scan).

use clap::{Args, Parser, Subcommand, ValueEnum};
use layerhound::matcher::Matcher;
use layerhound::report::{self, Format, ReportOptions};
use layerhound::rules::{Confidence, RuleSet, check};
use layerhound::scan;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "layerhound",
    version,
    about = "Find secrets in container images, offline, layer by layer"
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
    /// List or check rules.
    #[command(subcommand)]
    Rules(RulesCommand),
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Args)]
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
    #[arg(long, value_enum, default_value = "low")]
    min_confidence: Confidence,
}

#[derive(Args)]
struct ScanArgs {
    /// What to scan.
    #[arg(required_unless_present = "all_images", value_name = "TARGET")]
    targets: Vec<String>,
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
    /// A compressed layer that decompresses to at most MIB is held in memory; larger
    /// ones go to a spool file (0: always spool).
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    spool_memory: u64,
    /// Exit with 2 when anything was skipped or truncated (see summary.skipped).
    #[arg(long)]
    strict: bool,
    /// Scan every image the Docker daemon holds (each layer read once).
    #[arg(long)]
    all_images: bool,
    /// Seconds allowed for connecting to the Docker daemon and for each request.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    daemon_timeout: u64,
    /// Seconds of silence tolerated in the middle of a daemon's export stream.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    daemon_idle_timeout: u64,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "pretty")]
    format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Show secrets in full instead of redacted.
    #[arg(long)]
    reveal: bool,
    /// Scan only this platform of multi-platform images (os/arch[/variant]).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    platform: Option<String>,
    /// Directory for the private spool (decompressed layers); default: the system temp dir.
    #[arg(long, value_name = "DIR", env = "LAYERHOUND_SPOOL_DIR")]
    spool_dir: Option<PathBuf>,
    /// Also report findings in unmodified files of installed packages (dpkg, apk,
    /// Python wheels) and in keys packages generate at install time.
    #[arg(long)]
    include_package_files: bool,
    /// Leave out findings whose path inside the image matches REGEX (repeatable);
    /// they are counted in summary.suppressed.excluded_paths.
    #[arg(long = "exclude-path", value_name = "REGEX")]
    exclude_paths: Vec<String>,
    /// Cache directory (compiled rule database); default: $LAYERHOUND_CACHE_DIR,
    /// else $XDG_CACHE_HOME/layerhound, else ~/.cache/layerhound.
    #[arg(long = "cache", value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Use and write no cache.
    #[arg(long, conflicts_with = "cache")]
    no_cache: bool,
    /// No progress bar and no messages besides the report and errors.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Colour in the pretty format (NO_COLOR is honoured with auto).
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
    #[command(flatten)]
    rules: RuleArgs,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// One line per rule: id, confidence, name.
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

fn load_rules(a: &RuleArgs) -> layerhound::Result<RuleSet> {
    let mut set = if a.no_builtin_rules {
        RuleSet::default()
    } else {
        RuleSet::builtin()?
    };
    for p in &a.rules {
        set.overlay(RuleSet::load_path(p)?);
    }
    set.finish();
    set.select(&a.only, &a.exclude, a.min_confidence);
    Ok(set)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Scan(args) => run_scan(*args),
        Command::Rules(RulesCommand::List { format, rules }) => match load_rules(&rules) {
            Ok(set) => {
                let mut out = std::io::stdout().lock();
                for r in &set.rules {
                    let res = if format == Format::Pretty {
                        writeln!(out, "{:<40} {:<6} {}", r.id, r.confidence.as_str(), r.name)
                    } else {
                        writeln!(
                            out,
                            "{}",
                            serde_json::json!({"id": r.id, "name": r.name, "confidence": r.confidence, "origin": r.origin, "references": r.references, "examples": r.examples})
                        )
                    };
                    if res.is_err() {
                        return ExitCode::from(2);
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

fn fail(msg: &str) -> ExitCode {
    eprintln!("layerhound: error: {msg}");
    ExitCode::from(2)
}

fn run_scan(args: ScanArgs) -> ExitCode {
    layerhound::spool::install_signal_cleanup();
    let set = match load_rules(&args.rules) {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    let cache_dir = if args.no_cache {
        None
    } else {
        args.cache
            .clone()
            .or_else(layerhound::matcher::cache::default_dir)
    };
    let matcher = match Matcher::with_cache(set, cache_dir.as_deref()) {
        Ok(m) => m,
        Err(e) => return fail(&e.to_string()),
    };
    let mut exclude_paths = Vec::new();
    for p in &args.exclude_paths {
        match regex::bytes::RegexBuilder::new(p).unicode(false).build() {
            Ok(re) => exclude_paths.push(re),
            Err(e) => {
                return fail(&format!(
                    "--exclude-path {p:?}: {}",
                    e.to_string().lines().last().unwrap_or("invalid regex")
                ));
            }
        }
    }
    let stderr_tty = std::io::stderr().is_terminal();
    let limits = layerhound::content::Limits {
        max_depth: args.max_depth,
        max_bytes: args.max_nested_bytes.saturating_mul(1 << 20),
        max_ratio: args.max_ratio.max(1),
        max_entries: args.max_entries,
    };
    let layer_caps = layerhound::layer::LayerCaps {
        max_bytes: args.max_layer_bytes.saturating_mul(1 << 20),
        max_ratio: args.max_layer_ratio.max(1),
        in_memory: args.spool_memory.saturating_mul(1 << 20),
    };
    // Everything that decides what a layer scan yields keys the layer results cache.
    let layer_cache = cache_dir.as_deref().map(|dir| {
        let rules = format!(
            "{:?}\n{:?}",
            matcher.rules.rules, matcher.rules.global_allowlists
        );
        let options = format!(
            "{limits:?}\n{} {}",
            layer_caps.max_bytes, layer_caps.max_ratio
        );
        layerhound::results_cache::LayerCache::new(dir, &[rules.as_bytes(), options.as_bytes()])
    });
    let opts = scan::Options {
        platform: args.platform.clone(),
        spool_dir: args.spool_dir.clone(),
        progress: stderr_tty && !args.quiet,
        include_package_files: args.include_package_files,
        exclude_paths,
        all_images: args.all_images,
        layer_caps,
        limits,
        layer_cache,
        reveal: args.reveal,
        daemon: layerhound::source::daemon::DaemonOptions {
            timeout: std::time::Duration::from_secs(args.daemon_timeout.max(1)),
            idle_timeout: std::time::Duration::from_secs(args.daemon_idle_timeout.max(1)),
        },
    };
    let outcome = scan::run(&args.targets, &matcher, &opts);
    let to_tty = args.output.is_none() && std::io::stdout().is_terminal();
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => to_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    let ropts = ReportOptions {
        format: args.format,
        reveal: args.reveal,
        color,
        width: terminal_width(),
    };
    let written = match &args.output {
        Some(path) => std::fs::File::create(path)
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
    for e in &outcome.summary.errors {
        eprintln!("layerhound: error: {e}");
    }
    if !args.quiet {
        for n in &outcome.summary.notes {
            eprintln!("layerhound: note: {n}");
        }
    }
    if let Err(e) = written {
        if e.contains("Broken pipe") {
            return ExitCode::from(2);
        }
        return fail(&format!("writing report: {e}"));
    }
    if !outcome.summary.errors.is_empty() || (args.strict && !outcome.summary.skipped.is_empty()) {
        ExitCode::from(2)
    } else if !outcome.findings.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}
