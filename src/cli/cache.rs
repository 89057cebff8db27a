//! `layerhound cache info|prune|clear`: what the layer results under the cache
//! directory take, the cap applied and other rulesets' results removed now, or every
//! layer result removed. The cache directory is found as `scan` finds it, and the
//! current ruleset directory is the one a `scan` with the same rule and limit options
//! reads and writes.

use super::rules::load_rules;
use super::scan::scan_limits;
use super::{LimitArgs, RuleArgs, fail, print_bytes};
use clap::{Args, Subcommand};
use layerhound::results_cache::{self, LayerCache, format_size};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub(crate) enum CacheCommand {
    /// The cache directory, its layer results (entries and bytes, in all and per
    /// ruleset directory) and the cap.
    Info(CacheInfoArgs),
    /// Remove the layer results of other rules, limits or program versions than the
    /// current ones, then the least recently used until the rest fit under the cap.
    Prune(CacheKeyArgs),
    /// Remove every cached layer result (everything layerhound wrote under the
    /// cache's layers/ directory).
    Clear(CacheDirArgs),
}

#[derive(Args)]
pub(crate) struct CacheDirArgs {
    /// Cache directory; default: $LAYERHOUND_CACHE_DIR, else
    /// $XDG_CACHE_HOME/layerhound, else ~/.cache/layerhound.
    #[arg(long = "cache", value_name = "DIR")]
    pub(crate) cache: Option<PathBuf>,
}

/// What decides the current ruleset directory (the rule and limit options, as given
/// to `scan`) and the cap.
#[derive(Args)]
pub(crate) struct CacheKeyArgs {
    #[command(flatten)]
    pub(crate) dir: CacheDirArgs,
    /// The cap on the layer results, such as 512M or 2G (as `scan --cache-max`).
    #[arg(
        long = "max",
        value_name = "SIZE",
        env = "LAYERHOUND_CACHE_MAX",
        default_value = "1G",
        value_parser = results_cache::parse_size
    )]
    pub(crate) max: u64,
    #[command(flatten)]
    pub(crate) rules: RuleArgs,
    #[command(flatten)]
    pub(crate) limits: LimitArgs,
}

#[derive(Args)]
pub(crate) struct CacheInfoArgs {
    #[command(flatten)]
    pub(crate) key: CacheKeyArgs,
    /// Write JSON instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run_cache(command: CacheCommand) -> ExitCode {
    let done = match command {
        CacheCommand::Info(a) => info(&a),
        CacheCommand::Prune(a) => prune(&a),
        CacheCommand::Clear(a) => clear(&a),
    };
    match done {
        Ok(text) => print_bytes(text.as_bytes()),
        Err(e) => fail(&e),
    }
}

/// `--cache DIR`, else the default cache directory, as `scan` finds it.
fn cache_dir(a: &CacheDirArgs) -> Result<PathBuf, String> {
    a.cache
        .clone()
        .or_else(layerhound::matcher::cache::default_dir)
        .ok_or_else(|| {
            "no cache directory: HOME is not set; pass --cache DIR or set LAYERHOUND_CACHE_DIR"
                .to_string()
        })
}

/// The cache a `scan` with these options uses.
fn current(a: &CacheKeyArgs) -> Result<LayerCache, String> {
    let root = cache_dir(&a.dir)?;
    let rules = load_rules(&a.rules, &[])?;
    let (limits, caps) = scan_limits(&a.limits);
    Ok(LayerCache::for_scan(&root, &rules, &limits, &caps).with_max_bytes(a.max))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn info(a: &CacheInfoArgs) -> Result<String, String> {
    let cache = current(&a.key)?;
    let root = cache.root();
    let u = results_cache::usage(root).map_err(|e| format!("cache info: {e}"))?;
    let current = cache
        .dir()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if a.json {
        let dirs: Vec<serde_json::Value> = u
            .dirs
            .iter()
            .map(|d| {
                serde_json::json!({
                    "dir": d.name,
                    "entries": d.entries,
                    "bytes": d.bytes,
                    "current": d.name == current,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "cache_dir": root.display().to_string(),
            "entries": u.entries,
            "bytes": u.bytes,
            "max_bytes": cache.max_bytes(),
            "current": current,
            "rulesets": dirs,
        });
        return serde_json::to_string_pretty(&doc)
            .map(|s| s + "\n")
            .map_err(|e| format!("cache info: {e}"));
    }
    let mut text = format!(
        "cache directory  {}\nlayer results    {}, {} (cap {})\n",
        root.display(),
        plural(u.entries, "entry", "entries"),
        format_size(u.bytes),
        format_size(cache.max_bytes()),
    );
    for d in &u.dirs {
        text.push_str(&format!(
            "  layers/{}  {:>12}  {:>10}  {}\n",
            d.name,
            plural(d.entries, "entry", "entries"),
            format_size(d.bytes),
            if d.name == current {
                "current"
            } else {
                "other rules, limits or version (cache prune removes it)"
            }
        ));
    }
    Ok(text)
}

fn prune(a: &CacheKeyArgs) -> Result<String, String> {
    let cache = current(a)?;
    let removed = cache.prune().map_err(|e| format!("cache prune: {e}"))?;
    let left = results_cache::usage(cache.root()).map_err(|e| format!("cache prune: {e}"))?;
    Ok(format!(
        "removed {} ({}) from {}; {} ({}) left, cap {}\n",
        plural(removed.entries, "entry", "entries"),
        format_size(removed.bytes),
        cache.root().display(),
        plural(left.entries, "entry", "entries"),
        format_size(left.bytes),
        format_size(cache.max_bytes()),
    ))
}

fn clear(a: &CacheDirArgs) -> Result<String, String> {
    let root = cache_dir(a)?;
    let removed = results_cache::clear(&root).map_err(|e| format!("cache clear: {e}"))?;
    Ok(format!(
        "removed {} ({}) from {}\n",
        plural(removed.entries, "entry", "entries"),
        format_size(removed.bytes),
        root.join("layers").display(),
    ))
}
