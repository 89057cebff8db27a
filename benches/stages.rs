//! Throughput of the hot stages, on data generated here.
//!
//! - `match`: every built-in rule over text files (mostly clean, a few secrets), the
//!   work that should vanish behind decompression;
//! - `index`: indexing the tar of a layer with many small files (node_modules-like);
//! - `walk_gzip`: walking a gzip layer (decoding, reading the tar, handing every file
//!   over) with both digests, the floor for gzip images.
//!
//! `cargo bench --bench stages`

#![allow(clippy::unwrap_used)] // a benchmark fails by panicking

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use layerhound::blob::Blob;
use layerhound::layer::{FileRef, LayerCaps, TarEntry, Visitor, Window, index_tar, walk_layer};
use layerhound::matcher::{Item, Matcher};
use layerhound::rules::RuleSet;
use layerhound::spool::Spool;
use std::io::Write;

/// `n` files of about `size` bytes of log-like text, one in 50 with a token; returns the
/// concatenated bytes and each file's range.
fn files(n: usize, size: usize) -> (Vec<u8>, Vec<std::ops::Range<usize>>) {
    let mut data = Vec::with_capacity(n * size);
    let mut ranges = Vec::with_capacity(n);
    for i in 0..n {
        let start = data.len();
        let mut line = 0u64;
        while data.len() - start < size {
            line += 1;
            writeln!(
                data,
                "{i:06}:{line:06} INFO GET /api/v1/items/{} 200 {}ms user=svc-{}",
                line * 7919 % 100_003,
                line % 997,
                i % 17
            )
            .unwrap();
        }
        if i % 50 == 0 {
            data.extend_from_slice(b"token=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\n");
        }
        ranges.push(start..data.len());
    }
    (data, ranges)
}

fn tar_of(n: usize, size: usize) -> Vec<u8> {
    let (data, ranges) = files(n, size);
    let mut b = tar::Builder::new(Vec::new());
    for (i, r) in ranges.iter().enumerate() {
        let mut h = tar::Header::new_gnu();
        h.set_size(r.len() as u64);
        h.set_mode(0o644);
        b.append_data(
            &mut h,
            format!("node_modules/pkg{}/lib/file{i}.js", i % 500),
            &data[r.clone()],
        )
        .unwrap();
    }
    b.into_inner().unwrap()
}

fn bench_match(c: &mut Criterion) {
    let matcher = Matcher::new(RuleSet::builtin().unwrap()).unwrap();
    let (data, ranges) = files(2_000, 16 << 10);
    let items: Vec<Item<'_>> = ranges
        .iter()
        .map(|r| Item {
            range: r.clone(),
            path: None,
        })
        .collect();
    let mut g = c.benchmark_group("stages");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.bench_function("match", |b| {
        b.iter(|| matcher.scan_items(&data, &items).unwrap().len())
    });
    let tar = tar_of(20_000, 2 << 10);
    g.throughput(Throughput::Bytes(tar.len() as u64));
    g.bench_function("index", |b| b.iter(|| index_tar(&tar).entries.len()));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    let blob = Blob::from_vec(gz.finish().unwrap());
    let spool = Spool::new(None).unwrap();
    g.bench_function("walk_gzip", |b| {
        b.iter(|| {
            let mut v = CountFiles(0);
            let mut w = walk_layer(&blob, &spool, &LayerCaps::default(), true, &mut v);
            (w.digests().1.len(), v.0)
        })
    });
    g.finish();
}

/// Counts the bytes of the files a walk hands over.
struct CountFiles(usize);

impl Visitor for CountFiles {
    fn window(&mut self, _: &[u8], _: &FileRef, _: &[TarEntry], w: &Window) {
        self.0 += w.fresh.len();
    }

    fn files(
        &mut self,
        _: &[u8],
        files: &[FileRef],
        _: &[TarEntry],
        _: &(dyn Fn(std::ops::Range<usize>) + Sync),
    ) {
        self.0 += files.iter().map(|f| f.range.len()).sum::<usize>();
    }
}

criterion_group!(benches, bench_match);
criterion_main!(benches);
