//! docker save archives: a whole archive opened with `Store::tar`, or the documents of
//! a layout (`manifest.json`, then blobs; see `layout_tar`), resolved by
//! `source::docker::images`; every layer is then opened, indexed and overlaid.
#![no_main]

use layerhound::source::docker;
use layerhound_fuzz::fuzz_source;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzz_source(data, "manifest.json", "corp/app:1.2", |store, wanted| {
        docker::images(store, "fuzz", wanted)
    });
});
