//! Builds an image from a root filesystem directory (e.g. Debian packages unpacked with
//! `dpkg-deb -x`) as its gzip base layer, with the demo's app layers on top: secrets
//! that are present, deleted, overwritten, hidden by an opaque directory, planted
//! inside a package-owned path, and in the image config.
//!
//! `cargo run --release --example rootfs_image -- ROOTFS OUT.tar`

#![allow(clippy::unwrap_used)] // a demo tool fails by panicking

#[path = "../tests/integration/fixture.rs"]
mod fixture;
#[allow(dead_code)]
#[path = "../tests/integration/images.rs"]
mod images;

use fixture::{Entry, Image, Layer};
use std::path::Path;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [rootfs, out] = args.as_slice() else {
        eprintln!("usage: rootfs_image ROOTFS OUT.tar");
        std::process::exit(2);
    };
    let base = fixture::entries_from_dir(Path::new(rootfs))?;
    eprintln!("base layer: {} entries from {rootfs}", base.len());
    let demo = images::reference_image();
    let mut img = Image::new("demo/debian-app:1.0")
        .env("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    img.env.extend(demo.env.iter().skip(1).cloned());
    img = img.step(
        "ADD debian-rootfs.tar.gz / # debian bookworm packages",
        Layer::new(base).gzip(),
    );
    for s in demo.steps {
        img.steps.push(s);
    }
    // A package-owned file modified in the image: still a finding.
    img = img.step(
        "RUN echo \"export AWS_ACCESS_KEY_ID=…\" >> /etc/bash.bashrc",
        Layer::new(vec![Entry::file(
            "etc/bash.bashrc",
            format!(
                "# System-wide .bashrc file\nexport AWS_ACCESS_KEY_ID={}\n",
                images::AWS_KEY_ID
            ),
        )])
        .gzip(),
    );
    fixture::write(fixture::Form::DockerClassic, &[img], Path::new(out))?;
    eprintln!("wrote {out}");
    Ok(())
}
