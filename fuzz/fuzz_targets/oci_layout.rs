//! OCI image layouts: index → nested indexes → manifests → configs and layers. A whole
//! oci-archive, or the documents of a layout (`index.json`, then blobs; see
//! `layout_tar`), which lets the fuzzer build index loops, long chains, bad digests and
//! media types. `source::oci::images` resolves it and every layer is walked.
#![no_main]

use layerhound::source::oci;
use layerhound_fuzz::fuzz_source;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzz_source(data, "index.json", "1.2", |store, wanted| {
        oci::images(store, "fuzz", wanted)
    });
});
