//! Layer walking: arbitrary bytes as a layer blob through `layer::walk_layer` (sniff,
//! gzip/zstd decoding within small caps, files in memory or in the spool, both
//! digests), checking every file handed over. The blob digest always covers the whole
//! blob; an uncompressed blob is its own tar; nothing past the cap is decoded.
#![no_main]

use layerhound::blob::Blob;
use layerhound::layer::Compression;
use layerhound_fuzz::{CAPS, spool, walk_checked};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let blob = Blob::from_vec(data.to_vec());
    let spool = spool();
    let (mut walked, _) = walk_checked(&blob, &spool);
    let (blob_digest, diff_id) = walked.digests();
    let digest = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(data))
    );
    assert_eq!(blob_digest, digest);
    assert_eq!(walked.stored_size, data.len() as u64);
    if walked.compression == Compression::None {
        assert_eq!(walked.tar_size, data.len() as u64);
        assert_eq!(diff_id, digest);
    } else {
        assert!(walked.tar_size <= CAPS.max_bytes);
    }
});
