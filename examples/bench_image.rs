//! Builds the end-to-end benchmark image: a Debian root filesystem as its base layer,
//! a `node_modules`-like layer of tens of thousands of small files, a layer of large
//! incompressible blobs, a layer of large text files, and a small app layer with
//! planted secrets (one of them deleted by a last layer). Writes it as an OCI layout
//! directory and as a Docker 25+ `docker save` archive, each with gzip layers and each
//! with zstd layers, and a list of the planted secrets as JSON lines
//! (`{"rule_id","secret","path","status"}`).
//!
//! `cargo run --release --example bench_image -- ROOTFS OUT_DIR [SCALE]`
//!
//! SCALE (default 1.0) multiplies the generated content: 1.0 gives about 2 GB of
//! layer tars on top of the root filesystem.

#![allow(clippy::unwrap_used)] // a bench tool fails by panicking

#[path = "../tests/integration/fixture.rs"]
mod fixture;
#[allow(dead_code)]
#[path = "../tests/integration/images.rs"]
mod images;

use fixture::{Compression, Entry, Form, Image, Layer};
use std::io::Write;
use std::path::Path;

/// splitmix64: a fast, deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.below(words.len() as u64) as usize]
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(n);
        v
    }
    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[self.below(16) as usize]))
            .collect()
    }
}

const JS_WORDS: &[&str] = &[
    "function",
    "return",
    "const",
    "let",
    "var",
    "if",
    "else",
    "for",
    "while",
    "this",
    "module.exports",
    "require",
    "exports",
    "prototype",
    "undefined",
    "null",
    "true",
    "false",
    "new",
    "typeof",
    "Object.defineProperty",
    "Array.isArray",
    "callback",
    "options",
    "value",
    "index",
    "length",
    "result",
    "error",
    "buffer",
    "stream",
    "promise",
    "resolve",
    "reject",
    "async",
    "await",
    "default",
    "props",
    "state",
];

/// A JavaScript-looking source file of about `size` bytes.
fn js_file(rng: &mut Rng, size: usize) -> Vec<u8> {
    let mut s = String::with_capacity(size + 128);
    s.push_str("'use strict';\n\n");
    while s.len() < size {
        let indent = "  ".repeat(rng.below(4) as usize);
        let n = 3 + rng.below(9);
        s.push_str(&indent);
        for i in 0..n {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(rng.pick(JS_WORDS));
            if rng.below(5) == 0 {
                s.push_str(&format!("_{}", rng.below(1000)));
            }
        }
        s.push_str(if rng.below(3) == 0 { " {\n" } else { ";\n" });
    }
    s.into_bytes()
}

const LEVELS: &[&str] = &["INFO ", "INFO ", "INFO ", "DEBUG", "WARN ", "ERROR"];
const PATHS: &[&str] = &[
    "/api/v1/users",
    "/api/v1/orders",
    "/healthz",
    "/api/v2/search",
    "/static/app.js",
    "/api/v1/payments",
    "/login",
    "/metrics",
];

/// A service log of about `size` bytes.
fn log_file(rng: &mut Rng, size: usize) -> Vec<u8> {
    let mut s = String::with_capacity(size + 256);
    let mut t = 1_700_000_000u64;
    while s.len() < size {
        t += rng.below(3);
        s.push_str(&format!(
            "{t}.{:03} {} request id={} method=GET path={} status={} dur={}ms user=u{}\n",
            rng.below(1000),
            rng.pick(LEVELS),
            rng.hex(16),
            rng.pick(PATHS),
            [200, 200, 200, 201, 204, 301, 404, 500][rng.below(8) as usize],
            rng.below(900),
            rng.below(50_000),
        ));
    }
    s.into_bytes()
}

struct Planted {
    rule_id: &'static str,
    secret: String,
    path: &'static str,
    status: &'static str,
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (rootfs, out, scale) = match args.as_slice() {
        [r, o] => (r, o, 1.0),
        [r, o, s] => (r, o, s.parse::<f64>().expect("SCALE is a number")),
        _ => {
            eprintln!("usage: bench_image ROOTFS OUT_DIR [SCALE]");
            std::process::exit(2);
        }
    };
    let scaled = |n: f64| (n * scale) as usize;
    let out = Path::new(out);
    std::fs::create_dir_all(out)?;
    let mut rng = Rng(0x6c61_7965_7268_6f75);

    let base = fixture::entries_from_dir(Path::new(rootfs))?;
    eprintln!("base layer: {} entries from {rootfs}", base.len());

    let mut planted = vec![
        Planted {
            rule_id: "github-pat",
            secret: images::GITHUB_PAT.into(),
            path: "app/.env",
            status: "present",
        },
        Planted {
            rule_id: "aws-access-key-id",
            secret: images::AWS_KEY_ID.into(),
            path: "app/config/settings.py",
            status: "present",
        },
        Planted {
            rule_id: "private-key-rsa",
            secret: String::new(),
            path: "root/.ssh/id_rsa",
            status: "deleted",
        },
        Planted {
            rule_id: "npm-access-token",
            secret: images::NPM_TOKEN.into(),
            path: "app/node_modules/left-pad-4242/.npmrc",
            status: "present",
        },
        Planted {
            rule_id: "github-app-installation-token",
            secret: images::GITHUB_APP.into(),
            path: "var/log/app/service-2.log",
            status: "present",
        },
    ];

    // node_modules: many small files.
    let files = scaled(40_000.0);
    let mut node = Vec::with_capacity(files + 2);
    for i in 0..files {
        let size = 512 + rng.below(11_000) as usize;
        node.push(Entry::file(
            &format!("app/node_modules/pkg-{}/lib/file-{i}.js", i / 25),
            js_file(&mut rng, size),
        ));
    }
    node.push(Entry::file(
        planted[3].path,
        format!(
            "registry=https://npm.example.test/\n//npm.example.test/:_authToken={}\n",
            images::NPM_TOKEN
        ),
    ));

    // Large incompressible blobs.
    let blobs: Vec<Entry> = (0..3)
        .map(|i| {
            Entry::file(
                &format!("opt/models/weights-{i}.bin"),
                rng.bytes(scaled(200.0 * 1024.0 * 1024.0)),
            )
        })
        .collect();

    // Large text files; the token sits near the end of the last one.
    let mut logs: Vec<Entry> = Vec::new();
    for i in 0..3 {
        let mut data = log_file(&mut rng, scaled(250.0 * 1024.0 * 1024.0));
        if i == 2 {
            writeln!(
                data,
                "0.000 DEBUG git clone https://x-access-token:{}@github.com/acme/app",
                images::GITHUB_APP
            )?;
            data.extend(log_file(&mut rng, 4096));
        }
        logs.push(Entry::file(&format!("var/log/app/service-{i}.log"), data));
    }

    let pem = images::pem_key();
    planted[2].secret = pem.lines().nth(1).unwrap_or_default().to_string();
    let app = vec![
        Entry::file(
            planted[0].path,
            format!("DEBUG=false\nGITHUB_TOKEN={}\n", images::GITHUB_PAT),
        ),
        Entry::file(
            planted[1].path,
            format!(
                "import os\nAWS_ACCESS_KEY_ID = \"{}\"\nREGION = \"eu-west-1\"\n",
                images::AWS_KEY_ID
            ),
        ),
        Entry::file(planted[2].path, pem.clone()),
        Entry::file("app/server.js", js_file(&mut rng, 20_000)),
    ];

    for (compression, name) in [(Compression::Gzip, "gzip"), (Compression::Zstd, "zstd")] {
        let layer = |entries: &Vec<Entry>| Layer::new(entries.clone()).compression(compression);
        let img = Image::new(&format!("bench/app:{name}"))
            .step(
                "ADD debian-bookworm-rootfs.tar.gz / # debootstrap minbase",
                layer(&base),
            )
            .step(
                "COPY node_modules /app/node_modules # buildkit",
                layer(&node),
            )
            .step("COPY models /opt/models # buildkit", layer(&blobs))
            .step("COPY logs /var/log/app # buildkit", layer(&logs))
            .step("COPY . /app # buildkit", layer(&app))
            .step(
                "RUN rm -f /root/.ssh/id_rsa # buildkit",
                layer(&vec![Entry::whiteout(planted[2].path)]),
            );
        let dir = out.join(format!("oci-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        let built = fixture::write(Form::OciDir, std::slice::from_ref(&img), &dir)?;
        fixture::write(
            Form::DockerOci,
            std::slice::from_ref(&img),
            &out.join(format!("docker-{name}.tar")),
        )?;
        let total: u64 = built[0].layers.iter().map(|l| l.size).sum();
        eprintln!(
            "wrote {name} image: {} layers, {total} bytes stored",
            built[0].layers.len()
        );
    }
    let mut list = std::fs::File::create(out.join("planted.jsonl"))?;
    for p in &planted {
        writeln!(
            list,
            "{}",
            serde_json::json!({"rule_id": p.rule_id, "secret": p.secret, "path": p.path, "status": p.status})
        )?;
    }
    Ok(())
}
