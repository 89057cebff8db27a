//! Layers: takes a layer blob, gives its uncompressed tar as one mapped byte range plus
//! an index of the tar's entries.
//!
//! Compression is sniffed from magic bytes (gzip, zstd, none), never taken from the
//! media type. A compressed layer is decompressed once into a spool file and mapped; a
//! plain tar is used in place. Both digests are computed on the way: the blob digest
//! over the stored bytes and the diff_id over the tar.

pub mod tar_index;

use crate::error::{Error, Result};
use crate::source::store::{Blob, map_file};
use crate::spool::Spool;
use crate::util::{HashingReader, HashingWriter};
use std::io::{BufWriter, Read, Write};

pub use tar_index::{EntryKind, TarEntry, TarIndex, index_tar};

/// The compression of a blob, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// Sniffs compression from magic bytes.
pub fn sniff(data: &[u8]) -> Compression {
    if data.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Decompresses `data` into `out`, at most `limit` bytes. Returns the decompressed size
/// (more than `limit` when the stream holds more); on a corrupt or truncated stream,
/// everything decoded before the fault has been written.
pub fn decompress_into(
    c: Compression,
    data: &[u8],
    out: &mut std::fs::File,
    limit: u64,
) -> Result<u64> {
    let mut w = BufWriter::with_capacity(1 << 20, out);
    let n = copy_decoded(c, data, &mut w, limit.saturating_add(1));
    w.flush()
        .map_err(|e| Error::Layer(format!("writing spool: {e}")))?;
    n
}

fn copy_decoded(c: Compression, data: &[u8], w: &mut impl Write, limit: u64) -> Result<u64> {
    let res = match c {
        Compression::None => std::io::copy(&mut data.take(limit), w),
        Compression::Gzip => {
            let d = flate2::read::MultiGzDecoder::new(data);
            std::io::copy(&mut d.take(limit), w)
        }
        Compression::Zstd => match zstd::stream::read::Decoder::with_buffer(data) {
            Ok(mut d) => {
                let _ = d.window_log_max(31);
                std::io::copy(&mut d.take(limit), w)
            }
            Err(e) => Err(e),
        },
    };
    res.map_err(|e| Error::Layer(format!("{} stream: {}", c.as_str(), describe_io(&e))))
}

fn describe_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "truncated (unexpected end of data)".into(),
        _ => e.to_string(),
    }
}

/// Reads a blob front to back, releasing what is behind it from memory.
struct BlobReader<'a> {
    blob: &'a Blob,
    pos: usize,
    released: usize,
}

impl Read for BlobReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let data = self.blob.bytes();
        let n = buf.len().min(data.len() - self.pos);
        buf[..n].copy_from_slice(&data[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos - self.released >= 64 << 20 {
            self.blob.release(self.released..self.pos);
            self.released = self.pos;
        }
        Ok(n)
    }
}

/// A layer ready to scan: its tar bytes, mapped.
pub struct OpenedLayer {
    /// The uncompressed tar.
    pub tar: Blob,
    pub compression: Compression,
    /// sha256 of the blob as stored.
    pub digest: String,
    /// sha256 of the uncompressed tar.
    pub diff_id: String,
    /// Size of the blob as stored.
    pub stored_size: u64,
    /// Set when the stream was corrupt or truncated; `tar` holds what was decoded before.
    pub decode_error: Option<String>,
    /// Set when a cap cut decompression short; `tar` holds what was decoded up to it.
    pub truncated: Option<String>,
    /// The spool file; removed when this is dropped.
    _spool_file: Option<tempfile::NamedTempFile>,
}

/// Caps on decompressing one layer.
#[derive(Clone, Copy, Debug)]
pub struct LayerCaps {
    /// Most bytes a layer may decompress to.
    pub max_bytes: u64,
    /// Largest decompressed-to-compressed ratio (never below 1 GiB in all).
    pub max_ratio: u64,
}

impl LayerCaps {
    /// Most bytes a blob of `stored` bytes may decompress to.
    pub fn cap(&self, stored: u64) -> u64 {
        self.max_bytes
            .min(stored.saturating_mul(self.max_ratio).max(1 << 30))
    }

    /// Whether [`LayerCaps::cap`] of `stored` bytes is the byte cap (else the ratio cap).
    pub fn byte_cap_applies(&self, stored: u64) -> bool {
        self.cap(stored) == self.max_bytes
    }
}

impl Default for LayerCaps {
    fn default() -> Self {
        LayerCaps {
            max_bytes: 64 << 30,
            max_ratio: 1000,
        }
    }
}

/// Opens a layer blob: sniff, decompress to the spool if needed (within `caps`), hash, map.
pub fn open_layer(blob: &Blob, spool: &Spool, caps: &LayerCaps) -> Result<OpenedLayer> {
    let raw = blob.bytes();
    let compression = sniff(raw);
    if compression == Compression::None {
        let mut h = <sha2::Sha256 as sha2::Digest>::new();
        blob.for_each_chunk(0..raw.len(), |c| sha2::Digest::update(&mut h, c));
        let digest = format!("sha256:{}", hex::encode(sha2::Digest::finalize(h)));
        return Ok(OpenedLayer {
            tar: blob.clone(),
            compression,
            diff_id: digest.clone(),
            digest,
            stored_size: raw.len() as u64,
            decode_error: None,
            truncated: None,
            _spool_file: None,
        });
    }
    let cap = caps.cap(raw.len() as u64);
    let mut file = spool.file()?;
    let mut reader = HashingReader::new(BlobReader {
        blob,
        pos: 0,
        released: 0,
    });
    let mut writer = HashingWriter::new(BufWriter::with_capacity(1 << 20, file.as_file_mut()));
    let decode_error = match compression {
        Compression::Gzip => {
            let d = flate2::read::MultiGzDecoder::new(&mut reader);
            std::io::copy(&mut d.take(cap), &mut writer).err()
        }
        Compression::Zstd => match zstd::stream::read::Decoder::new(&mut reader) {
            Ok(mut d) => {
                let _ = d.window_log_max(31);
                std::io::copy(&mut d.take(cap), &mut writer).err()
            }
            Err(e) => Some(e),
        },
        Compression::None => None,
    }
    .map(|e| format!("{} stream: {}", compression.as_str(), describe_io(&e)));
    let (mut bw, diff_id, written) = writer.finish();
    let truncated = (written >= cap && decode_error.is_none()).then(|| {
        if caps.byte_cap_applies(raw.len() as u64) {
            format!("layer decompresses to more than --max-layer-bytes {} MiB; scanned the first {} MiB", caps.max_bytes >> 20, cap >> 20)
        } else {
            format!("layer inflates more than --max-layer-ratio {}x; scanned the first {} MiB", caps.max_ratio, cap >> 20)
        }
    });
    bw.flush()
        .map_err(|e| Error::Layer(format!("writing spool {}: {e}", spool.path().display())))?;
    drop(bw);
    // Hash whatever the decoder did not consume (trailing bytes) so the digest covers the blob.
    let _ = std::io::copy(&mut reader, &mut std::io::sink());
    let (digest, _) = reader.finish();
    let tar = map_file(file.path())?;
    Ok(OpenedLayer {
        tar,
        compression,
        digest,
        diff_id,
        stored_size: raw.len() as u64,
        decode_error,
        truncated,
        _spool_file: Some(file),
    })
}
