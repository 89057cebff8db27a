//! Writes a small demo image with planted secrets (present, deleted, overwritten,
//! hidden by an opaque directory, and in the image config) as a docker save archive.
//!
//! `cargo run --example demo_image -- OUT.tar [FORM]` where FORM is one of
//! docker-classic (default), docker-oci, oci-dir, oci-archive; a third argument
//! `plain` writes every layer uncompressed.

#![allow(clippy::unwrap_used)] // a demo tool fails by panicking

#[path = "../tests/integration/fixture.rs"]
mod fixture;
#[allow(dead_code)]
#[path = "../tests/integration/images.rs"]
mod images;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = args.next().unwrap_or_else(|| "demo-image.tar".into());
    let form = match args.next().as_deref() {
        None | Some("docker-classic") => fixture::Form::DockerClassic,
        Some("docker-oci") => fixture::Form::DockerOci,
        Some("oci-dir") => fixture::Form::OciDir,
        Some("oci-archive") => fixture::Form::OciArchive,
        Some(other) => {
            eprintln!("unknown form {other}");
            std::process::exit(2);
        }
    };
    let mut image = images::reference_image();
    if args.next().as_deref() == Some("plain") {
        // Plain layers, as `docker save` writes them and every daemon loads them.
        for s in &mut image.steps {
            if let Some(l) = &mut s.layer {
                l.compression = fixture::Compression::None;
            }
        }
    }
    fixture::write(form, &[image], std::path::Path::new(&out))?;
    eprintln!("wrote {out} ({})", form.name());
    Ok(())
}
