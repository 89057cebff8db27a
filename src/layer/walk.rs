//! Walks a layer's tar front to back and hands its files to a [`Visitor`].
//!
//! A plain tar is indexed in place and its files are slices of the map. A compressed
//! layer is decoded on a thread of its own into a short queue of chunks while this
//! thread reads the tar from that queue: small files are gathered into batches, a file
//! larger than a batch is read into a buffer of its own, and only a file larger than
//! [`LayerCaps::in_memory`] goes to a spool file. Decoding, hashing the tar (the diff_id)
//! and matching thus overlap, and a layer costs no more memory or disk than its largest
//! file, whatever its size.

use super::tar_index::{Head, entry_error, head_of};
use super::{
    BlobReader, Compression, Digest, EntryKind, LayerCaps, TarEntry, describe_io, index_tar, sniff,
};
use crate::blob::{Blob, map_file};
use crate::spool::{DiskGuard, Spool};
use std::cell::RefCell;
use std::io::{BufWriter, Read, Write};
use std::ops::Range;
use std::sync::mpsc;

/// Decoded bytes per chunk passed from the decoding thread.
const CHUNK: usize = 1 << 20;
/// Most bytes asked of the decoder at once.
const READ_STEP: usize = 64 << 10;
/// Chunks queued ahead of the reader.
const CHUNKS_AHEAD: usize = 8;
/// Small files are handed over together, up to this many bytes at a time.
const BATCH_BYTES: usize = 8 << 20;

/// One file of a layer: its entry in [`WalkedLayer::entries`] and its bytes' range in
/// the data handed along with it.
#[derive(Clone, Debug)]
pub struct FileRef {
    pub entry: usize,
    pub range: Range<usize>,
}

/// Receives a layer's regular files (whiteouts and empty files included) in tar order.
pub trait Visitor {
    /// `data[f.range]` holds the bytes of each of `files`; `entries` holds every entry
    /// read so far, the given files' among them. `release(r)` may be called once
    /// `data[r]` is no longer needed, to drop mapped pages from memory.
    fn files(
        &mut self,
        data: &[u8],
        files: &[FileRef],
        entries: &[TarEntry],
        release: &(dyn Fn(Range<usize>) + Sync),
    );
}

/// What walking a layer found besides its files.
#[derive(Debug)]
pub struct WalkedLayer {
    pub compression: Compression,
    /// Size of the blob as stored.
    pub stored_size: u64,
    /// Size of the tar (what was decoded of it).
    pub tar_size: u64,
    pub entries: Vec<TarEntry>,
    /// Set when the tar was malformed or truncated; `entries` holds those before it.
    pub index_error: Option<String>,
    /// Set when the stream was corrupt or truncated, or the spool could not be
    /// written; what was read before the fault has been visited.
    pub decode_error: Option<String>,
    /// Set when a cap cut decompression short.
    pub truncated: Option<String>,
    digest: Option<Digest>,
    diff_id: Option<Digest>,
}

impl WalkedLayer {
    /// The blob digest and the diff_id (empty when the walk was asked for no digests),
    /// waiting for them if they are still being computed.
    pub fn digests(&mut self) -> (String, String) {
        let digest = self.digest.as_mut().map(Digest::get).unwrap_or_default();
        let diff_id = match &mut self.diff_id {
            Some(d) => d.get(),
            None => digest.clone(),
        };
        (digest, diff_id)
    }
}

/// Walks `blob` as a layer (sniffed: gzip, zstd or a plain tar), within `caps`, handing
/// its files to `visitor`. With `digests`, the blob's sha256 is computed on a thread of
/// its own meanwhile.
pub fn walk_layer(
    blob: &Blob,
    spool: &Spool,
    caps: &LayerCaps,
    digests: bool,
    visitor: &mut dyn Visitor,
) -> WalkedLayer {
    let raw = blob.bytes();
    let compression = sniff(raw);
    let mut w = WalkedLayer {
        compression,
        stored_size: raw.len() as u64,
        tar_size: 0,
        entries: Vec::new(),
        index_error: None,
        decode_error: None,
        truncated: None,
        digest: digests.then(|| Digest::spawn(blob.clone())),
        diff_id: None,
    };
    if compression == Compression::None {
        let idx = index_tar(raw);
        let files: Vec<FileRef> = idx
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.kind == EntryKind::File)
            .map(|(entry, e)| FileRef {
                entry,
                range: e.data.clone(),
            })
            .collect();
        visitor.files(raw, &files, &idx.entries, &|r| blob.release(r));
        w.tar_size = raw.len() as u64;
        w.entries = idx.entries;
        w.index_error = idx.error;
        return w;
    }
    let cap = caps.cap(raw.len() as u64);
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(CHUNKS_AHEAD);
        let (back_tx, back_rx) = mpsc::channel::<Vec<u8>>();
        let decoder = std::thread::Builder::new()
            .name("layer-decode".into())
            .spawn_scoped(s, move || decode(blob, compression, cap, &tx, &back_rx));
        let decoder = match decoder {
            Ok(d) => d,
            Err(e) => {
                w.decode_error = Some(format!("cannot start a decoding thread: {e}"));
                return;
            }
        };
        let feed = RefCell::new(Feed {
            rx,
            back: back_tx,
            chunk: None,
            at: 0,
            pos: 0,
            owed: 0,
        });
        let mut reader = TarReader {
            feed: &feed,
            spool,
            caps,
            visitor,
            entries: Vec::new(),
            batch: Vec::new(),
            batch_files: Vec::new(),
            big: Vec::new(),
            error: None,
            stopped: None,
        };
        reader.read_tar();
        let TarReader {
            entries,
            error,
            stopped,
            ..
        } = reader;
        let mut feed = feed.into_inner();
        if stopped.is_none() {
            // The rest of the stream (end blocks, padding) counts in the diff_id.
            feed.drain();
        }
        drop(feed);
        let decoded = decoder.join().unwrap_or_else(|_| Decoded {
            error: Some("decoding thread failed".into()),
            written: 0,
            diff_id: String::new(),
        });
        w.entries = entries;
        w.index_error = error;
        w.tar_size = decoded.written;
        w.decode_error = stopped.or(decoded.error);
        if decoded.written >= cap && w.decode_error.is_none() {
            w.truncated = Some(if caps.byte_cap_applies(w.stored_size) {
                format!(
                    "layer decompresses to more than --max-layer-bytes {} MiB; scanned the first {} MiB",
                    caps.max_bytes >> 20,
                    cap >> 20
                )
            } else {
                format!(
                    "layer inflates more than --max-layer-ratio {}x; scanned the first {} MiB",
                    caps.max_ratio,
                    cap >> 20
                )
            });
        }
        w.diff_id = Some(Digest::Ready(decoded.diff_id));
    });
    w
}

/// What the decoding thread reports when the stream ends.
struct Decoded {
    error: Option<String>,
    /// Bytes decoded (at most the cap).
    written: u64,
    /// `sha256:<hex>` of the decoded bytes.
    diff_id: String,
}

/// Decodes `blob` into chunks sent on `tx`, at most `cap` bytes, hashing them on the
/// way. Stops early when the reader hangs up.
fn decode(
    blob: &Blob,
    c: Compression,
    cap: u64,
    tx: &mpsc::SyncSender<(Vec<u8>, usize)>,
    back: &mpsc::Receiver<Vec<u8>>,
) -> Decoded {
    let mut reader = BlobReader {
        blob,
        pos: 0,
        released: 0,
    };
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    let mut written = 0u64;
    let describe = |e: std::io::Error| format!("{} stream: {}", c.as_str(), describe_io(&e));
    let decoder: std::io::Result<Box<dyn Read + '_>> = match c {
        Compression::Gzip => Ok(Box::new(flate2::bufread::MultiGzDecoder::new(&mut reader))),
        _ => zstd::stream::read::Decoder::with_buffer(&mut reader).map(|mut d| {
            let _ = d.window_log_max(31);
            Box::new(d) as Box<dyn Read + '_>
        }),
    };
    let mut error = None;
    match decoder {
        Err(e) => error = Some(describe(e)),
        Ok(d) => {
            let mut d = d.take(cap);
            loop {
                let mut buf = back.try_recv().unwrap_or_else(|_| vec![0; CHUNK]);
                let mut n = 0;
                while n < buf.len() {
                    // Small reads: a decoder that fails drops what it decoded in the
                    // failing call, so keep that short.
                    let end = buf.len().min(n + READ_STEP);
                    match d.read(&mut buf[n..end]) {
                        Ok(0) => break,
                        Ok(k) => n += k,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            error = Some(describe(e));
                            break;
                        }
                    }
                }
                sha2::Digest::update(&mut hasher, &buf[..n]);
                written += n as u64;
                let full = n == buf.len();
                if n > 0 && tx.send((buf, n)).is_err() {
                    break;
                }
                if !full || error.is_some() {
                    break;
                }
            }
        }
    }
    Decoded {
        error,
        written,
        diff_id: format!("sha256:{}", hex::encode(sha2::Digest::finalize(hasher))),
    }
}

/// The decoded tar as the decoding thread delivers it, with a count of bytes taken
/// ahead of the tar parser.
struct Feed {
    rx: mpsc::Receiver<(Vec<u8>, usize)>,
    back: mpsc::Sender<Vec<u8>>,
    chunk: Option<(Vec<u8>, usize)>,
    at: usize,
    /// Bytes of the tar consumed so far.
    pos: u64,
    /// Bytes this module has read out of the tar for the parser's current entry; the
    /// parser skips over them without seeing them again.
    owed: u64,
}

impl Feed {
    /// The bytes available now, waiting for the next chunk if none are; empty at the end.
    fn available(&mut self) -> &[u8] {
        if self.chunk.as_ref().is_none_or(|(_, n)| self.at >= *n) {
            if let Some((buf, _)) = self.chunk.take() {
                let _ = self.back.send(buf);
            }
            self.at = 0;
            self.chunk = self.rx.recv().ok();
        }
        match &self.chunk {
            Some((buf, n)) => &buf[self.at..*n],
            None => &[],
        }
    }

    fn consume(&mut self, n: usize) {
        self.at += n;
        self.pos += n as u64;
    }

    /// Passes up to `n` bytes to `sink`; returns how many there were.
    fn take(
        &mut self,
        n: u64,
        mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> (u64, std::io::Result<()>) {
        let mut left = n;
        while left > 0 {
            let avail = self.available();
            if avail.is_empty() {
                break;
            }
            let k = avail.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let res = sink(&avail[..k]);
            self.consume(k);
            left -= k as u64;
            if res.is_err() {
                return (n - left, res);
            }
        }
        (n - left, Ok(()))
    }

    /// Reads the rest of the stream.
    fn drain(&mut self) {
        while !self.available().is_empty() {
            let k = self.available().len();
            self.consume(k);
        }
    }
}

/// The tar parser's view of the feed: bytes already taken ahead are skipped, not read.
struct FeedRead<'a>(&'a RefCell<Feed>);

impl Read for FeedRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut f = self.0.borrow_mut();
        if f.owed > 0 {
            // The parser reads here only to skip over an entry's data, which was taken
            // ahead and is not needed again: the bytes are counted, not copied.
            let k = usize::try_from(f.owed).unwrap_or(usize::MAX).min(buf.len());
            f.owed -= k as u64;
            return Ok(k);
        }
        let avail = f.available();
        let k = avail.len().min(buf.len());
        buf[..k].copy_from_slice(&avail[..k]);
        f.consume(k);
        Ok(k)
    }
}

/// Reads the tar from the feed and hands files to the visitor.
struct TarReader<'a, 'v> {
    feed: &'a RefCell<Feed>,
    spool: &'a Spool,
    caps: &'a LayerCaps,
    visitor: &'v mut dyn Visitor,
    entries: Vec<TarEntry>,
    /// Small files waiting to be handed over together.
    batch: Vec<u8>,
    batch_files: Vec<FileRef>,
    /// The buffer of a file larger than a batch.
    big: Vec<u8>,
    /// Malformed or truncated tar.
    error: Option<String>,
    /// Why reading stopped before the end of the stream (the spool could not be written).
    stopped: Option<String>,
}

impl TarReader<'_, '_> {
    fn read_tar(&mut self) {
        let mut ar = tar::Archive::new(FeedRead(self.feed));
        let mut entries = match ar.entries() {
            Ok(e) => e,
            Err(e) => {
                self.error = Some(format!("not a tar archive: {e}"));
                return;
            }
        };
        // An empty layer is no tar at all, and not an error.
        if self.feed.borrow_mut().available().is_empty() {
            return;
        }
        loop {
            let e = match entries.next() {
                None => break,
                Some(Ok(e)) => e,
                Some(Err(err)) => {
                    self.error = Some(entry_error(self.entries.len(), &err));
                    break;
                }
            };
            let Head {
                path,
                kind,
                stored,
                link,
            } = head_of(&e);
            drop(e);
            let start = self.feed.borrow().pos;
            let usize_start = usize::try_from(start).unwrap_or(usize::MAX);
            let index = self.entries.len();
            self.entries.push(TarEntry {
                path,
                kind,
                data: usize_start..usize_start,
                link,
            });
            let got = if kind == EntryKind::File {
                match self.take_file(index, stored) {
                    Some(n) => n,
                    None => break,
                }
            } else {
                self.feed.borrow_mut().take(stored, |_| Ok(())).0
            };
            if kind == EntryKind::File {
                self.entries[index].data =
                    usize_start..usize_start.saturating_add(usize::try_from(got).unwrap_or(0));
            }
            // Padding to the next 512-byte block, taken too so that the parser never
            // meets the end of the stream while skipping.
            let pad = (512 - stored % 512) % 512;
            let mut f = self.feed.borrow_mut();
            let got_pad = if got == stored {
                f.take(pad, |_| Ok(())).0
            } else {
                0
            };
            f.owed = got + got_pad;
            if got < stored || got_pad < pad {
                drop(f);
                if kind == EntryKind::File {
                    let end = start.saturating_add(stored);
                    self.error = Some(format!(
                        "truncated tar: entry {} ends at byte {end}, layer has {}",
                        crate::util::display_bytes(&self.entries[index].path),
                        start + got
                    ));
                }
                break;
            }
        }
        self.flush();
    }

    /// Reads a file of `size` bytes into the batch, a buffer of its own or the spool.
    /// Returns the bytes read, or None when the walk must stop.
    fn take_file(&mut self, entry: usize, size: u64) -> Option<u64> {
        if size as usize <= BATCH_BYTES && size <= self.caps.in_memory {
            if self.batch.len() + size as usize > BATCH_BYTES {
                self.flush();
            }
            let from = self.batch.len();
            let batch = &mut self.batch;
            let (got, _) = self.feed.borrow_mut().take(size, |b| {
                batch.extend_from_slice(b);
                Ok(())
            });
            self.batch_files.push(FileRef {
                entry,
                range: from..self.batch.len(),
            });
            return Some(got);
        }
        self.flush();
        if size <= self.caps.in_memory {
            let mut big = std::mem::take(&mut self.big);
            big.clear();
            let (got, _) = self.feed.borrow_mut().take(size, |b| {
                big.extend_from_slice(b);
                Ok(())
            });
            let files = [FileRef {
                entry,
                range: 0..big.len(),
            }];
            self.visitor.files(&big, &files, &self.entries, &|_| {});
            self.big = big;
            return Some(got);
        }
        self.spill(entry, size)
    }

    /// Writes a file too large for memory to a spool file, maps it and hands it over.
    fn spill(&mut self, entry: usize, size: u64) -> Option<u64> {
        let spool_err =
            |e: std::io::Error| format!("writing spool {}: {e}", self.spool.path().display());
        let mut file = match self.spool.file() {
            Ok(f) => f,
            Err(e) => {
                self.stopped = Some(e.to_string());
                return None;
            }
        };
        let (got, res) = {
            let mut w = BufWriter::with_capacity(
                1 << 20,
                DiskGuard::new(file.as_file_mut(), self.spool, self.caps.min_free),
            );
            let (got, res) = self.feed.borrow_mut().take(size, |b| w.write_all(b));
            (got, res.and_then(|()| w.flush()))
        };
        if let Err(e) = res {
            self.stopped = Some(match e.kind() {
                std::io::ErrorKind::StorageFull => e.to_string(),
                _ => spool_err(e),
            });
        }
        match map_file(file.path()) {
            Ok(map) => {
                let bytes = map.bytes();
                let files = [FileRef {
                    entry,
                    range: 0..bytes.len(),
                }];
                self.visitor
                    .files(bytes, &files, &self.entries, &|r| map.release(r));
            }
            Err(e) => {
                self.stopped.get_or_insert(e.to_string());
            }
        }
        if self.stopped.is_some() {
            let data = &mut self.entries[entry].data;
            data.end = data.start.saturating_add(usize::try_from(got).unwrap_or(0));
            return None;
        }
        Some(got)
    }

    /// Hands the batch of small files over.
    fn flush(&mut self) {
        if self.batch_files.is_empty() {
            return;
        }
        self.visitor
            .files(&self.batch, &self.batch_files, &self.entries, &|_| {});
        self.batch.clear();
        self.batch_files.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what a walk hands over, and how many spool files exist meanwhile.
    #[derive(Default)]
    struct Record {
        files: Vec<(usize, Vec<u8>, Vec<u8>)>,
        spooled: Vec<usize>,
        spool: Option<std::path::PathBuf>,
    }

    impl Visitor for Record {
        fn files(
            &mut self,
            data: &[u8],
            files: &[FileRef],
            entries: &[TarEntry],
            _: &(dyn Fn(Range<usize>) + Sync),
        ) {
            let in_spool = self
                .spool
                .as_ref()
                .map_or(0, |p| std::fs::read_dir(p).map_or(0, Iterator::count));
            for f in files {
                self.files.push((
                    f.entry,
                    entries[f.entry].path.clone(),
                    data[f.range.clone()].to_vec(),
                ));
                if in_spool > 0 {
                    self.spooled.push(f.entry);
                }
            }
        }
    }

    fn layer_tar() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |path: &str, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, path, data).unwrap();
        };
        for i in 0..500 {
            add(
                &format!("node_modules/p{i}/index.js"),
                format!("module {i}\n").repeat(i).as_bytes(),
            );
        }
        add("empty", b"");
        add(&format!("{}/long-name.txt", "d".repeat(300)), b"long");
        add("medium.bin", &vec![7u8; BATCH_BYTES + 5]);
        add("large.log", &b"line of log\n".repeat(1_200_000));
        add("after", b"the end");
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "link", "after").unwrap();
        b.into_inner().unwrap()
    }

    fn walk(blob: Vec<u8>, caps: &LayerCaps) -> (WalkedLayer, Record) {
        let spool = Spool::new(None).unwrap();
        let mut rec = Record {
            spool: Some(spool.path().to_path_buf()),
            ..Record::default()
        };
        let w = walk_layer(&Blob::from_vec(blob), &spool, caps, true, &mut rec);
        (w, rec)
    }

    #[test]
    fn every_compression_hands_over_the_same_files_and_digests() {
        let tar = layer_tar();
        let caps = LayerCaps {
            in_memory: 12 << 20,
            ..LayerCaps::default()
        };
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let forms = [
            tar.clone(),
            gz.finish().unwrap(),
            zstd::encode_all(&tar[..], 1).unwrap(),
        ];
        let (mut plain, plain_files) = walk(tar.clone(), &caps);
        let tar_digest = crate::util::sha256_digest(&tar);
        assert_eq!(plain.digests(), (tar_digest.clone(), tar_digest.clone()));
        assert_eq!(plain_files.files.len(), 505);
        for blob in &forms[1..] {
            let (mut w, rec) = walk(blob.clone(), &caps);
            assert_eq!(w.index_error, None);
            assert_eq!(w.decode_error, None);
            assert_eq!(w.tar_size, tar.len() as u64);
            assert_eq!(
                w.digests(),
                (crate::util::sha256_digest(blob), tar_digest.clone())
            );
            assert_eq!(rec.files, plain_files.files);
            let e: Vec<_> = w
                .entries
                .iter()
                .map(|e| (&e.path, e.kind, &e.data, &e.link))
                .collect();
            let p: Vec<_> = plain
                .entries
                .iter()
                .map(|e| (&e.path, e.kind, &e.data, &e.link))
                .collect();
            assert_eq!(e, p);
            // Only the file larger than `in_memory` went through the spool.
            let large = w
                .entries
                .iter()
                .position(|e| e.path == b"large.log")
                .unwrap();
            assert_eq!(rec.spooled, vec![large]);
        }
    }

    #[test]
    fn an_extended_sparse_file_walks_alike_plain_and_compressed() {
        let tar = super::super::tar_index::tests::extended_sparse_tar();
        let (plain, p) = walk(tar.clone(), &LayerCaps::default());
        let (z, g) = walk(
            zstd::encode_all(&tar[..], 1).unwrap(),
            &LayerCaps::default(),
        );
        assert_eq!((plain.index_error, z.index_error), (None, None));
        assert_eq!(p.files, g.files);
        let mut sparse = vec![b'a'; 512];
        sparse.extend(vec![b'b'; 512]);
        assert_eq!(p.files[0].2, sparse);
        assert_eq!(p.files[1].2, b"ok");
    }

    #[test]
    fn a_truncated_stream_hands_over_what_came_before_and_says_where_it_ended() {
        let tar = layer_tar();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        let cut = gz[..gz.len() * 3 / 4].to_vec();
        let (w, rec) = walk(cut, &LayerCaps::default());
        assert!(
            w.decode_error
                .as_deref()
                .is_some_and(|e| e.starts_with("gzip stream: truncated")),
            "{:?}",
            w.decode_error
        );
        assert!(
            w.index_error
                .as_deref()
                .is_some_and(|e| e.starts_with("truncated tar: entry "))
        );
        assert!(rec.files.len() > 500, "{}", rec.files.len());
        assert_eq!(
            rec.files[..500],
            walk(tar, &LayerCaps::default()).1.files[..500]
        );
    }

    #[test]
    fn the_layer_cap_stops_decoding() {
        let tar = layer_tar();
        let z = zstd::encode_all(&tar[..], 19).unwrap();
        let caps = LayerCaps {
            max_bytes: 1 << 20,
            max_ratio: 1,
            ..LayerCaps::default()
        };
        // The ratio cap never goes below 1 GiB, so the byte cap applies.
        let (w, rec) = walk(z, &caps);
        assert_eq!(w.tar_size, 1 << 20);
        assert!(
            w.truncated
                .as_deref()
                .is_some_and(|t| t.contains("--max-layer-bytes 1 MiB"))
        );
        assert!(!rec.files.is_empty());
    }
}
