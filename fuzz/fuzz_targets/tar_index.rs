//! Layer tar indexing: arbitrary bytes through `layer::index_tar`, then the overlay of
//! the indexed entries and `status_of` for every entry. The input is cut at
//! `--8<--` into up to four layers, so whiteouts and overwrites act across layers.
#![no_main]

use layerhound::layer::index_tar;
use layerhound_fuzz::{SEPARATOR, check_index, overlay_all};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut layers = Vec::new();
    let mut rest = data;
    while layers.len() < 3
        && let Some(i) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR)
    {
        let idx = index_tar(&rest[..i]);
        check_index(&rest[..i], &idx);
        layers.push(idx);
        rest = &rest[i + SEPARATOR.len()..];
    }
    let idx = index_tar(rest);
    check_index(rest, &idx);
    layers.push(idx);
    overlay_all(&layers);
});
