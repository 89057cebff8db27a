//! Builds the images that `bench/realcode.sh` scans: a `docker save` archive (classic
//! layout: `manifest.json`, `<config>.json`, `<id>/layer.tar`, uncompressed layers as
//! `docker save` writes them) whose layers are directories on disk, in order, each with
//! the given build step as its history entry.
//!
//! `cargo run --release --example realcode_image -- OUT.tar TAG DIR=CREATED_BY...`
//!
//! Each layer tar is made by the test-fixture builder (`fixture::entries_from_dir`,
//! `fixture::build_layer`: sorted entries, uid 0, fixed mtime, so the same trees give
//! the same bytes) and streamed into the archive on its own, so memory stays near three
//! times the largest layer rather than several times the whole image.

#![allow(clippy::unwrap_used)] // a bench tool fails by panicking

#[path = "../tests/integration/fixture.rs"]
mod fixture;

use fixture::{Entry, Layer};
use serde_json::json;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

fn usage() -> ! {
    eprintln!("usage: realcode_image OUT.tar TAG DIR=CREATED_BY...");
    std::process::exit(2);
}

fn append(out: &mut tar::Builder<BufWriter<File>>, path: &str, data: &[u8]) -> std::io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(fixture::MTIME);
    h.set_uid(0);
    h.set_gid(0);
    out.append_data(&mut h, path, data)
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        usage();
    }
    let (out_path, tag) = (Path::new(&args[0]), &args[1]);
    let tmp = out_path.with_extension("tar.part");
    let mut out = tar::Builder::new(BufWriter::with_capacity(1 << 20, File::create(&tmp)?));
    let (mut diff_ids, mut history, mut layer_paths) = (Vec::new(), Vec::new(), Vec::new());
    for spec in &args[2..] {
        let Some((dir, created_by)) = spec.split_once('=') else {
            usage()
        };
        let entries = fixture::entries_from_dir(Path::new(dir))?;
        let (files, bytes) = entries.iter().fold((0usize, 0usize), |(n, b), e| match e {
            Entry::File { data, .. } => (n + 1, b + data.len()),
            _ => (n, b),
        });
        let layer = Layer::new(entries);
        let (blob, tar, built) = fixture::build_layer(&layer)?;
        drop((tar, layer));
        let id = built.diff_id.trim_start_matches("sha256:").to_string();
        eprintln!(
            "layer {}: {files} files, {bytes} file bytes, {} tar bytes, from {dir}",
            diff_ids.len(),
            blob.len()
        );
        append(&mut out, &format!("{id}/VERSION"), b"1.0")?;
        append(
            &mut out,
            &format!("{id}/json"),
            serde_json::to_string(&json!({"id": id}))?.as_bytes(),
        )?;
        append(&mut out, &format!("{id}/layer.tar"), &blob)?;
        layer_paths.push(format!("{id}/layer.tar"));
        diff_ids.push(built.diff_id);
        history.push(json!({"created": fixture::CREATED, "created_by": created_by}));
    }
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "created": fixture::CREATED,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NODE_ENV=production"],
            "Cmd": ["node", "/app/server.js"],
            "WorkingDir": "/app",
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }))?;
    let config_name = format!(
        "{}.json",
        fixture::sha256_digest(&config).trim_start_matches("sha256:")
    );
    append(&mut out, &config_name, &config)?;
    let manifest = serde_json::to_vec(&json!([{
        "Config": config_name,
        "RepoTags": [tag],
        "Layers": layer_paths,
    }]))?;
    append(&mut out, "manifest.json", &manifest)?;
    let (repo, t) = fixture::split_tag(tag);
    let top = diff_ids
        .last()
        .map(|d| d.trim_start_matches("sha256:").to_string());
    append(
        &mut out,
        "repositories",
        &serde_json::to_vec(&json!({repo: {t.unwrap_or("latest"): top}}))?,
    )?;
    out.into_inner()?.flush()?;
    std::fs::rename(&tmp, out_path)?;
    eprintln!("wrote {}", out_path.display());
    Ok(())
}
