//! The layer results cache and its limits, end to end: `--cache-max` keeps the cache
//! under the cap (least recently used first) and findings stay the same however much
//! was evicted; an entry over the bound is not written; `cache info`, `cache prune` and
//! `cache clear`.

use crate::fixture::{self, Entry, Form, Image, Layer};
use crate::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// An image of `layers` layers of `files` small files each, with secrets in two.
fn layered_image(layers: usize, files: usize) -> Image {
    let mut img = Image::new("corp/cached:1").env(&format!("GITHUB_TOKEN={GITHUB_APP}"));
    for l in 0..layers {
        let mut entries = vec![Entry::dir(&format!("l{l}/"))];
        for f in 0..files {
            entries.push(Entry::file(
                &format!("l{l}/f{f}.txt"),
                format!("layer {l}, file {f}\n"),
            ));
        }
        if l == 1 {
            entries.push(Entry::file(
                "l1/token.txt",
                format!("token: {GITHUB_PAT}\n"),
            ));
        }
        if l + 1 == layers {
            entries.push(Entry::file(
                "root/.npmrc",
                format!("//npm.example.test/:_authToken={NPM_TOKEN}\n"),
            ));
        }
        img = img.step(&format!("COPY l{l} /l{l}"), Layer::new(entries).gzip());
    }
    img
}

/// The entries under `cache/layers`: (path, size, modification time), by path.
fn entries(cache: &Path) -> Vec<(PathBuf, u64, SystemTime)> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(cache.join("layers")) else {
        return out;
    };
    for d in dirs {
        for e in std::fs::read_dir(d.unwrap().path()).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::metadata(&p).unwrap();
            out.push((p, meta.len(), meta.modified().unwrap()));
        }
    }
    out.sort();
    out
}

fn total(entries: &[(PathBuf, u64, SystemTime)]) -> u64 {
    entries.iter().map(|e| e.1).sum()
}

/// The entry file of the blob `digest` under `cache`, if there is one.
fn entry_of(cache: &Path, digest: &str) -> Option<PathBuf> {
    let name = format!("{}.bin", digest.strip_prefix("sha256:").unwrap());
    entries(cache)
        .into_iter()
        .map(|e| e.0)
        .find(|p| p.file_name().unwrap().to_string_lossy() == name)
}

/// `layerhound cache info --json` of `cache`, with `extra` options.
fn info(cache: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "cache",
        "info",
        "--json",
        "--cache",
        cache.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stderr}"))
}

/// Runs a `cache` subcommand; gives (exit code, stdout, stderr).
fn cache_cmd(args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["cache"];
    all.extend_from_slice(args);
    let out = run(&all);
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn from_cache(report: &Value) -> u64 {
    report["summary"]["layers_from_cache"].as_u64().unwrap_or(0)
}

/// The summary without `layers_from_cache`, which is all a cache may change.
fn summary_sans_cache(report: &Value) -> Value {
    let mut s = report["summary"].clone();
    s.as_object_mut().unwrap().remove("layers_from_cache");
    s
}

#[test]
fn a_small_cache_max_keeps_the_cache_under_it_and_findings_stay_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("img");
    fixture::write(Form::OciDir, &[layered_image(20, 30)], &img).unwrap();
    let t = target(Form::OciDir, &img);
    let (code, uncached, _) = scan_json(&t, &["--no-cache"]);
    assert_eq!(code, 1, "the image has findings");
    let layers = uncached["summary"]["layers"].as_u64().unwrap() as usize;
    assert_eq!(layers, 20);
    // With the default cap every layer is cached.
    let full = dir.path().join("full");
    scan_json(&t, &["--cache", full.to_str().unwrap()]);
    let all = entries(&full);
    assert_eq!(all.len(), layers);
    let largest = all.iter().map(|e| e.1).max().unwrap();
    // Room for some entries, each within the bound (an eighth of the cap).
    let cap = (total(&all) / 2).max(largest * 8);
    assert!(cap < total(&all), "the cap leaves some out");

    let small = dir.path().join("small");
    let args = [
        "--cache",
        small.to_str().unwrap(),
        "--cache-max",
        &cap.to_string(),
    ];
    let (_, first, stderr) = scan_json(&t, &args);
    let kept = entries(&small);
    assert!(total(&kept) <= cap, "{} > {cap}", total(&kept));
    assert!(!kept.is_empty() && kept.len() < layers, "{}", kept.len());
    assert_eq!(first["findings"], uncached["findings"], "{stderr}");
    // Again: what is left comes from the cache, the rest is read again and cached,
    // the cap still holds, and the findings do not change.
    let (_, again, _) = scan_json(&t, &args);
    assert_eq!(from_cache(&again), kept.len() as u64);
    assert!(total(&entries(&small)) <= cap);
    assert_eq!(again["findings"], uncached["findings"]);
    assert_eq!(again["images"], uncached["images"]);
    assert_eq!(summary_sans_cache(&again), uncached["summary"]);
    assert_report_no_leak("again", &again, "", &[GITHUB_PAT, NPM_TOKEN]);
    // A size with a suffix is taken too; a cap of nothing caches nothing.
    let now = entries(&small).len() as u64;
    let (_, suffixed, _) = scan_json(
        &t,
        &["--cache", small.to_str().unwrap(), "--cache-max", "1M"],
    );
    assert_eq!(from_cache(&suffixed), now);
    let none = dir.path().join("none");
    let (_, zero, _) = scan_json(&t, &["--cache", none.to_str().unwrap(), "--cache-max", "0"]);
    assert!(entries(&none).is_empty());
    assert_eq!(zero["findings"], uncached["findings"]);
}

#[test]
fn least_recently_used_entries_go_first() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    // Image a's entries are large next to image b's one: a cap around both bounds
    // entries (an eighth of it) well above b's.
    let built_a = fixture::write(Form::OciDir, &[layered_image(3, 200)], &a).unwrap();
    let built_b = fixture::write(
        Form::OciDir,
        &[Image::new("corp/other:1").step(
            "COPY x /x",
            Layer::new(vec![Entry::file("x/one.txt", "other\n")]),
        )],
        &b,
    )
    .unwrap();
    let cache = dir.path().join("cache");
    let c = cache.to_str().unwrap();
    let (ta, tb) = (target(Form::OciDir, &a), target(Form::OciDir, &b));
    scan_json(&ta, &["--cache", c]);
    // Every entry of image a marked used long ago, but its first layer's: a re-scan
    // marks them all used now.
    let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    for (p, _, _) in entries(&cache) {
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(long_ago).unwrap();
    }
    let (_, r, _) = scan_json(&ta, &["--cache", c]);
    assert_eq!(from_cache(&r), 3);
    assert!(
        entries(&cache).iter().all(|e| e.2 > long_ago),
        "read entries are marked used"
    );
    // Layer 0 of a read long ago, layers 1 and 2 just now.
    let first = entry_of(&cache, &built_a[0].layers[0].digest).unwrap();
    let f = std::fs::File::options().write(true).open(&first).unwrap();
    f.set_modified(long_ago).unwrap();
    // Image b's one entry needs room: with a cap of exactly what a and b take less
    // one byte, only the least recently used entry goes.
    let before = total(&entries(&cache));
    let (_, rb, _) = scan_json(&tb, &["--cache", c, "--cache-max", "10G"]);
    assert_eq!(from_cache(&rb), 0);
    let b_entry = entry_of(&cache, &built_b[0].layers[0].digest).unwrap();
    let cap = before + std::fs::metadata(&b_entry).unwrap().len() - 1;
    // Read b again with the cap: nothing is written, so nothing is evicted yet.
    scan_json(&tb, &["--cache", c, "--cache-max", &cap.to_string()]);
    assert_eq!(entries(&cache).len(), 4);
    std::fs::remove_file(&b_entry).unwrap();
    scan_json(&tb, &["--cache", c, "--cache-max", &cap.to_string()]);
    assert!(entry_of(&cache, &built_b[0].layers[0].digest).is_some());
    assert!(!first.exists(), "the least recently used entry is evicted");
    for l in &built_a[0].layers[1..] {
        assert!(entry_of(&cache, &l.digest).is_some(), "recently used: kept");
    }
    assert!(total(&entries(&cache)) <= cap);
}

#[test]
fn an_entry_over_the_bound_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("img");
    let image = Image::new("corp/big:1")
        .step(
            "COPY small /small",
            Layer::new(vec![Entry::file(
                "small/token.txt",
                format!("token: {GITHUB_PAT}\n"),
            )]),
        )
        .step(
            "COPY big /big",
            Layer::new(
                (0..400)
                    .map(|f| Entry::file(&format!("big/file-{f:04}.txt"), format!("{f}\n")))
                    .collect(),
            )
            .gzip(),
        );
    let built = fixture::write(Form::OciDir, &[image], &img).unwrap();
    let t = target(Form::OciDir, &img);
    let (_, uncached, _) = scan_json(&t, &["--no-cache"]);
    let probe = dir.path().join("probe");
    scan_json(&t, &["--cache", probe.to_str().unwrap()]);
    let size = |cache: &Path, i: usize| {
        std::fs::metadata(entry_of(cache, &built[0].layers[i].digest).unwrap())
            .unwrap()
            .len()
    };
    let (small, big) = (size(&probe, 0), size(&probe, 1));
    assert!(small < big);
    // Entries are bounded by an eighth of the cap: one byte short for the big one.
    let cap = (big - 1) * 8;
    let cache = dir.path().join("cache");
    let args = [
        "--cache",
        cache.to_str().unwrap(),
        "--cache-max",
        &cap.to_string(),
    ];
    let (_, first, _) = scan_json(&t, &args);
    assert!(entry_of(&cache, &built[0].layers[0].digest).is_some());
    assert!(
        entry_of(&cache, &built[0].layers[1].digest).is_none(),
        "not written"
    );
    assert_eq!(entries(&cache).len(), 1, "no temporary file left behind");
    let (_, again, _) = scan_json(&t, &args);
    assert_eq!(from_cache(&again), 1, "the big layer is read every time");
    assert_eq!(first["findings"], uncached["findings"]);
    assert_eq!(again["findings"], uncached["findings"]);
}

#[test]
fn cache_info_reports_entries_bytes_cap_and_rulesets() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("img");
    fixture::write(Form::OciDir, &[reference_image()], &img).unwrap();
    let cache = dir.path().join("cache");
    let c = cache.to_str().unwrap();
    let empty = info(&cache, &[]);
    assert_eq!(
        (empty["entries"].as_u64(), empty["bytes"].as_u64()),
        (Some(0), Some(0))
    );
    let (_, r, _) = scan_json(&target(Form::OciDir, &img), &["--cache", c]);
    let layers = r["summary"]["layers"].as_u64().unwrap();
    let v = info(&cache, &[]);
    assert_eq!(v["cache_dir"], c);
    assert_eq!(v["entries"].as_u64(), Some(layers));
    assert_eq!(v["bytes"].as_u64(), Some(total(&entries(&cache))));
    assert_eq!(v["max_bytes"].as_u64(), Some(1 << 30));
    let rulesets = v["rulesets"].as_array().unwrap();
    assert_eq!(rulesets.len(), 1);
    assert_eq!(rulesets[0]["current"], true);
    assert_eq!(rulesets[0]["dir"], v["current"]);
    assert_eq!(rulesets[0]["entries"].as_u64(), Some(layers));
    assert!(
        cache
            .join("layers")
            .join(v["current"].as_str().unwrap())
            .is_dir()
    );
    // The cap shown is the one given; other limits name another ruleset directory.
    assert_eq!(
        info(&cache, &["--max", "2G"])["max_bytes"].as_u64(),
        Some(2 << 30)
    );
    let other = info(&cache, &["--max-depth", "1"]);
    assert_ne!(other["current"], v["current"]);
    assert_eq!(other["rulesets"][0]["current"], false);
    // As text.
    let (code, text, _) = cache_cmd(&["info", "--cache", c]);
    assert_eq!(code, 0);
    assert!(text.contains(&format!("cache directory  {c}")), "{text}");
    assert!(text.contains(&format!("{layers} entries")), "{text}");
    assert!(text.contains("(cap 1.0 GiB)"), "{text}");
    assert!(text.contains("current"), "{text}");
}

#[test]
fn cache_prune_removes_other_rulesets_and_applies_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("img");
    fixture::write(Form::OciDir, &[reference_image()], &img).unwrap();
    let t = target(Form::OciDir, &img);
    let cache = dir.path().join("cache");
    let c = cache.to_str().unwrap();
    let (_, r, _) = scan_json(&t, &["--cache", c]);
    let layers = r["summary"]["layers"].as_u64().unwrap();
    // Other limits: another ruleset directory, as another version or ruleset makes.
    scan_json(&t, &["--cache", c, "--max-depth", "1"]);
    let foreign = cache.join("layers/notes.txt");
    std::fs::write(&foreign, "not the cache's").unwrap();
    let before = info(&cache, &[]);
    assert_eq!(before["rulesets"].as_array().unwrap().len(), 2);
    let (code, out, stderr) = cache_cmd(&["prune", "--cache", c]);
    assert_eq!(code, 0, "{stderr}");
    assert!(out.contains(&format!("removed {layers} entries")), "{out}");
    let after = info(&cache, &[]);
    let rulesets = after["rulesets"].as_array().unwrap();
    assert_eq!(rulesets.len(), 1);
    assert_eq!(rulesets[0]["current"], true);
    assert_eq!(rulesets[0]["dir"], before["current"]);
    assert!(foreign.exists(), "what the cache did not write stays");
    // The current directory is still used.
    let (_, again, _) = scan_json(&t, &["--cache", c]);
    assert_eq!(from_cache(&again), layers);
    // --max applies a cap now.
    let (code, out, _) = cache_cmd(&["prune", "--cache", c, "--max", "0"]);
    assert_eq!(code, 0);
    assert!(out.contains("0 entries (0 B) left"), "{out}");
    assert_eq!(info(&cache, &[])["entries"], 0);
}

#[test]
fn cache_clear_empties_the_layer_results() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("img");
    fixture::write(Form::OciDir, &[reference_image()], &img).unwrap();
    let t = target(Form::OciDir, &img);
    let cache = dir.path().join("cache");
    let c = cache.to_str().unwrap();
    let (_, first, _) = scan_json(&t, &["--cache", c]);
    scan_json(&t, &["--cache", c, "--max-depth", "1"]);
    assert!(!entries(&cache).is_empty());
    let (code, out, stderr) = cache_cmd(&["clear", "--cache", c]);
    assert_eq!(code, 0, "{stderr}");
    assert!(out.starts_with("removed "), "{out}");
    assert!(entries(&cache).is_empty());
    let v = info(&cache, &[]);
    assert_eq!(
        (v["entries"].as_u64(), v["bytes"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(v["rulesets"].as_array().unwrap().is_empty());
    // The compiled rules stay; every layer is read again, with the same findings.
    assert!(std::fs::read_dir(&cache).unwrap().count() > 1);
    let (_, again, _) = scan_json(&t, &["--cache", c]);
    assert_eq!(from_cache(&again), 0);
    assert_eq!(again["findings"], first["findings"]);
}

#[test]
fn cache_errors_are_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let f = file.to_str().unwrap();
    for sub in ["info", "prune", "clear"] {
        let (code, out, stderr) = cache_cmd(&[sub, "--cache", f]);
        assert_eq!(code, 2, "{sub}: {out}");
        assert_eq!(stderr.lines().count(), 1, "{sub}: {stderr}");
        assert!(stderr.starts_with("layerhound: error: cache "), "{stderr}");
        assert!(stderr.contains(f), "{stderr}");
    }
    let (code, _, stderr) = cache_cmd(&["prune", "--max", "lots"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--max"), "{stderr}");
    let out = run(&["scan", "--cache-max", "12Q", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cache-max"));
}
