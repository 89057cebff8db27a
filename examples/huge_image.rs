//! Writes an OCI layout directory whose one gzip layer holds a generated log file of
//! SIZE MiB with a GitHub token on its last line (streamed; any size).
//!
//! `cargo run --release --example huge_image -- OUT_DIR SIZE_MIB`

#![allow(clippy::unwrap_used)] // a bench tool fails by panicking

#[path = "../tests/integration/fixture.rs"]
mod fixture;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, mib] = args.as_slice() else {
        eprintln!("usage: huge_image OUT_DIR SIZE_MIB");
        std::process::exit(2);
    };
    let size = mib.parse::<u64>().unwrap() << 20;
    let tail = "final token=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";
    let (line, col) =
        fixture::write_huge_oci(std::path::Path::new(out), "var/log/huge.log", size, tail).unwrap();
    eprintln!(
        "wrote {out}: {mib} MiB entry, token on line {line}, column {}",
        col + 12
    );
}
