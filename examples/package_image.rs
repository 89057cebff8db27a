//! Builds the image that `bench/package-noise.sh` scans: a real Debian root filesystem
//! (debootstrap + apt-get + pip, dpkg database included) as one gzip layer, then
//!
//! - an app layer with one file per rule, `app/planted/<rule-id>.txt` (or
//!   `app/planted/<rule-id>/<example path>` for a rule restricted to one kind of file),
//!   holding that rule's first example (from `PLANTED.json`, an object
//!   `{"rule-id": "example" | {"example": …, "path": …}, ...}`),
//! - a layer that rewrites files of the base layer with a line appended to each
//!   (`--append REL_PATH LINE`, repeatable): package-owned files that no longer match
//!   their `md5sums`, and pip-installed files, whose secrets must still be reported,
//! - an `ENV` with a secret (`--env KEY=VALUE`, repeatable).
//!
//! `cargo run --release --example package_image -- ROOTFS PLANTED.json OUT.tar
//!  [--append REL_PATH LINE]... [--env KEY=VALUE]...`

#![allow(clippy::unwrap_used)] // a bench tool fails by panicking

#[path = "../tests/integration/fixture.rs"]
mod fixture;

use fixture::{Entry, Image, Layer};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn usage() -> ! {
    eprintln!(
        "usage: package_image ROOTFS PLANTED.json OUT.tar [--append REL_PATH LINE]... [--env KEY=VALUE]..."
    );
    std::process::exit(2);
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        usage();
    }
    let (rootfs, planted, out) = (Path::new(&args[0]), &args[1], &args[2]);
    let mut appends: Vec<(String, String)> = Vec::new();
    let mut envs: Vec<String> = Vec::new();
    let mut rest = args[3..].iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--append" => {
                let (Some(p), Some(l)) = (rest.next(), rest.next()) else {
                    usage()
                };
                appends.push((p.trim_start_matches('/').to_string(), l.clone()));
            }
            "--env" => envs.push(rest.next().unwrap_or_else(|| usage()).clone()),
            _ => usage(),
        }
    }

    // (a) base: the whole root filesystem.
    let base = fixture::entries_from_dir(rootfs)?;
    let base_bytes: usize = base
        .iter()
        .map(|e| match e {
            Entry::File { data, .. } => data.len(),
            _ => 0,
        })
        .sum();
    eprintln!(
        "base layer: {} entries, {} file bytes from {}",
        base.len(),
        base_bytes,
        rootfs.display()
    );

    // (c) app layer with one planted example per rule.
    let planted: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(planted)?).map_err(std::io::Error::other)?;
    let mut app = vec![Entry::dir("app/"), Entry::dir("app/planted/")];
    for (id, example) in &planted {
        // Either the example, or {"example": …, "path": …} for a rule restricted to one
        // kind of file (planted at its example path).
        let (text, path) = match example {
            serde_json::Value::Object(o) => (
                o.get("example")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default(),
                o.get("path")
                    .and_then(|v| v.as_str())
                    .map_or_else(|| format!("{id}.txt"), str::to_string),
            ),
            v => (v.as_str().unwrap_or_default(), format!("{id}.txt")),
        };
        app.push(Entry::file(
            &format!("app/planted/{path}"),
            format!("{text}\n"),
        ));
    }
    eprintln!("app layer: {} planted rule examples", planted.len());

    // (d) modified files of the base layer: original content + one appended line.
    let mut modified = Vec::new();
    for (rel, line) in &appends {
        let src = rootfs.join(rel);
        let mut data = std::fs::read(&src)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", src.display())))?;
        if !data.is_empty() && !data.ends_with(b"\n") {
            data.push(b'\n');
        }
        data.extend_from_slice(line.as_bytes());
        data.push(b'\n');
        let mode = std::fs::metadata(&src)?.permissions().mode() & 0o7777;
        modified.push(Entry::file_mode(rel, data, mode));
        eprintln!("modified: {rel}");
    }

    let mut img = Image::new("bench/debian-packages:1.0")
        .env("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for kv in &envs {
        img = img.env(kv);
    }
    img = img
        .step(
            "RUN debootstrap --variant=minbase bookworm / && apt-get install -y --no-install-recommends python3 python3-pip openssl ca-certificates ssl-cert && pip install --break-system-packages boto3 botocore requests",
            Layer::new(base).gzip(),
        )
        .step("COPY planted/ /app/planted/", Layer::new(app).gzip());
    if !modified.is_empty() {
        let cmd = appends
            .iter()
            .map(|(p, _)| format!("echo … >> /{p}"))
            .collect::<Vec<_>>()
            .join(" && ");
        img = img.step(&format!("RUN {cmd}"), Layer::new(modified).gzip());
    }
    img = img.cmd(&["python3"]);
    fixture::write(fixture::Form::DockerClassic, &[img], Path::new(out))?;
    eprintln!("wrote {out}");
    Ok(())
}
