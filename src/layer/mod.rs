//! Layers: takes a layer blob and walks its tar, handing its files to a visitor, with
//! an index of the tar's entries.
//!
//! Compression is sniffed from magic bytes (gzip, zstd, none), never taken from the
//! media type. A plain tar is used in place; a compressed layer is decoded as a stream
//! (see [`walk`]). Both digests are computed on the way: the blob digest over the
//! stored bytes and the diff_id over the tar.

pub mod tar_index;
pub mod walk;

use crate::blob::Blob;
use crate::error::{Error, Result};
use std::io::{BufWriter, Read, Write};

pub use tar_index::{EntryKind, EntryProblem, TarEntry, TarIndex, index_tar};
pub use walk::{FileRef, Visitor, WalkedLayer, Window, walk_layer, walk_single_file, walk_stream};

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

/// Media types a layer descriptor may carry.
pub const LAYER_MEDIA_TYPES: &[&str] = &[
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar.zstd",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
];

/// The compression a known layer media type announces; `None` for a type that is
/// not a layer tar.
pub fn compression_of_media_type(media: &str) -> Option<Compression> {
    if !LAYER_MEDIA_TYPES.contains(&media) {
        return None;
    }
    Some(if media.ends_with("gzip") {
        Compression::Gzip
    } else if media.ends_with("zstd") {
        Compression::Zstd
    } else {
        Compression::None
    })
}

/// Whether `data` may be a layer: compressed, or a tar (a POSIX or GNU header).
pub fn looks_like_layer(data: &[u8]) -> bool {
    sniff(data) != Compression::None || data.get(257..262) == Some(b"ustar")
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

/// The size `data` will probably decompress to, read from the stream's own trailer or
/// header (gzip ISIZE, zstd frame content size) without decoding; for ordering work
/// only, never trusted.
pub fn estimated_tar_size(data: &[u8]) -> u64 {
    let stored = data.len() as u64;
    match sniff(data) {
        Compression::None => stored,
        Compression::Gzip => {
            // ISIZE is the size modulo 2^32 of the last member; deflate never makes
            // data twice as large, so take the smallest agreeing value above half
            // the stored size.
            let isize = data
                .last_chunk::<4>()
                .map_or(0, |b| u64::from(u32::from_le_bytes(*b)));
            let mut n = isize;
            while n < stored / 2 && n < (1 << 40) {
                n += 1 << 32;
            }
            n
        }
        Compression::Zstd => match zstd::zstd_safe::get_frame_content_size(data) {
            Ok(Some(n)) => n,
            _ => stored.saturating_mul(4),
        },
    }
}

/// Decompresses `data` into `out`, at most `limit` bytes. Returns the decompressed size
/// (more than `limit` when the stream holds more); on a corrupt or truncated stream,
/// everything decoded before the fault has been written.
pub fn decompress_into(c: Compression, data: &[u8], out: impl Write, limit: u64) -> Result<u64> {
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
        let data = std::io::BufRead::fill_buf(self)?;
        let n = buf.len().min(data.len());
        buf[..n].copy_from_slice(&data[..n]);
        std::io::BufRead::consume(self, n);
        Ok(n)
    }
}

/// Decoders read the mapped blob in place, without copying it into a buffer first.
impl std::io::BufRead for BlobReader<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        let data = self.blob.bytes();
        Ok(&data[self.pos..data.len().min(self.pos + (256 << 10))])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.blob.len());
        if self.pos - self.released >= 8 << 20 {
            self.blob.release(self.released..self.pos);
            self.released = self.pos;
        }
    }
}

/// A sha256 digest being computed on another thread, or already known.
#[derive(Debug)]
enum Digest {
    Ready(String),
    Running(std::thread::JoinHandle<String>),
}

impl Digest {
    /// Hashes `blob` on a thread of its own, so that a layer's digests cost no time on
    /// the thread that decodes and matches it while a core is free.
    fn spawn(blob: Blob) -> Digest {
        match std::thread::Builder::new()
            .name("layer-digest".into())
            .spawn({
                let blob = blob.clone();
                move || sha256_of(&blob)
            }) {
            Ok(h) => Digest::Running(h),
            Err(_) => Digest::Ready(sha256_of(&blob)),
        }
    }

    fn get(&mut self) -> String {
        if let Digest::Running(_) = self {
            let Digest::Running(h) = std::mem::replace(self, Digest::Ready(String::new())) else {
                unreachable!("checked above")
            };
            // A hashing thread cannot fail short of a panic, which is a bug.
            *self = Digest::Ready(h.join().unwrap_or_else(|_| "sha256:(failed)".into()));
        }
        match self {
            Digest::Ready(s) => s.clone(),
            Digest::Running(_) => String::new(),
        }
    }
}

/// `sha256:<hex>` of a whole blob, read chunk by chunk and released behind.
pub fn sha256_of(blob: &Blob) -> String {
    let mut h = <sha2::Sha256 as sha2::Digest>::new();
    blob.for_each_chunk(0..blob.len(), |c| sha2::Digest::update(&mut h, c));
    format!("sha256:{}", hex::encode(sha2::Digest::finalize(h)))
}

/// Caps on reading one layer. There is no ratio cap and no time budget: a layer is read
/// to its end or to `max_bytes`, in flat memory and without disk, so a bomb costs only
/// time, and whatever a cap leaves unread is reported.
#[derive(Clone, Copy, Debug)]
pub struct LayerCaps {
    /// Most bytes a layer may decompress to (the byte budget).
    pub max_bytes: u64,
    /// Largest file read whole through a spool file because it is an archive read by
    /// random access (a zip's central directory is at its end); a larger one is
    /// matched as bytes only.
    pub spool_max: u64,
    /// Spool writing stops (an error) before its filesystem has less than this free.
    pub min_free: u64,
}

impl Default for LayerCaps {
    fn default() -> Self {
        LayerCaps {
            max_bytes: 1 << 40,
            spool_max: 4 << 30,
            min_free: 512 << 20,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn estimated_sizes_come_from_trailers_and_headers() {
        let text = b"line of text\n".repeat(10_000);
        assert_eq!(estimated_tar_size(&gzip(&text)), text.len() as u64);
        // Incompressible data: the gzip is a little larger than what it holds.
        let mut x = 0x9e37_79b9_u32;
        let noise: Vec<u8> = (0..100_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        assert_eq!(estimated_tar_size(&gzip(&noise)), noise.len() as u64);
        let z = zstd::bulk::compress(&text, 3).unwrap();
        assert_eq!(estimated_tar_size(&z), text.len() as u64);
        // A streamed frame without a content size: a guess from the stored size.
        let z = zstd::encode_all(&text[..], 3).unwrap();
        assert_eq!(estimated_tar_size(&z), 4 * z.len() as u64);
        assert_eq!(estimated_tar_size(b"plain"), 5);
    }
}
