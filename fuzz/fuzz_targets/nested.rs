//! Nested content: `content::expand` on arbitrary bytes (zip, tar, gzip, zstd, bzip2,
//! xz, UTF-16) with small limits. What it produces must stay within a bound set by
//! those limits, and every decoded UTF-16 byte must map back into the input.
#![no_main]

use layerhound::content::{Limits, expand};
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_depth: 3,
    max_bytes: 1 << 20,
    max_ratio: 50,
    max_entries: 64,
};

fuzz_target!(|data: &[u8]| {
    let (views, _skips) = expand(data, "fuzz.tar.gz", &LIMITS);
    let total: usize = views.iter().map(|v| v.data.len()).sum();
    // Each expanded byte is copied at most once per level, and UTF-16 decoding at most
    // doubles a view (3 UTF-8 bytes per 2-byte unit gives 1.5x).
    let bound = (LIMITS.max_bytes as usize + data.len()) * 2 * (LIMITS.max_depth + 1);
    assert!(total <= bound, "{total} > {bound}");
    assert!(
        views
            .iter()
            .all(|v| v.chain.len() <= 2 * LIMITS.max_depth + 1)
    );
    for v in &views {
        if let Some(off) = &v.offsets {
            assert_eq!(off.len(), v.data.len());
        }
    }
});
