//! Layer opening: arbitrary bytes as a layer blob through `layer::open_layer` (sniff,
//! gzip/zstd decompression into the spool within small caps, both digests), then the
//! tar index of the result. The blob digest always covers the whole blob; an
//! uncompressed blob is its own tar; nothing past the cap is written.
#![no_main]

use layerhound::layer::{Compression, index_tar, open_layer};
use layerhound::source::Blob;
use layerhound_fuzz::{CAPS, check_index, spool};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let blob = Blob::from_vec(data.to_vec());
    let spool = spool();
    let mut opened = open_layer(&blob, &spool, &CAPS).expect("open_layer on an in-memory blob");
    let (blob_digest, diff_id) = opened.digests();
    let digest = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(data))
    );
    assert_eq!(blob_digest, digest);
    assert_eq!(opened.stored_size, data.len() as u64);
    let tar = opened.tar.bytes();
    if opened.compression == Compression::None {
        assert_eq!(tar, data);
        assert_eq!(diff_id, digest);
    } else {
        assert!(tar.len() as u64 <= CAPS.max_bytes);
    }
    let idx = index_tar(tar);
    check_index(tar, &idx);
});
