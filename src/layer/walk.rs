//! Walks a layer's tar front to back and hands its files to a [`Visitor`].
//!
//! A plain tar is indexed in place and its files are slices of the map. A compressed
//! layer is decoded on a thread of its own into a short queue of chunks while this
//! thread reads the tar from that queue: small files are gathered into batches, a file
//! larger than a batch is read into a buffer of its own, and a file larger than
//! [`WINDOW_BYTES`] is handed over in overlapping windows. Only an archive that must be
//! read by random access (a zip) goes to a spool file, up to [`LayerCaps::spool_max`].
//! Decoding, hashing the tar (the diff_id) and matching thus overlap, and a layer costs
//! the same memory and no disk, whatever its size.
//!
//! Extension headers (GNU long names and links, PAX records) are screened before the
//! tar parser reads them: one over its cap is taken out of the stream and reported,
//! and the rest of the layer is read.

use super::tar_index::{
    Block, EntryProblem, Head, entry_error, head_of, pax_problem, screen_block,
};
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
const BATCH_BYTES: usize = 4 << 20;
/// A file up to this size is handed over whole; a larger one in windows of this size.
pub const WINDOW_BYTES: usize = 8 << 20;

/// One file of a layer: its entry in [`WalkedLayer::entries`] and its bytes' range in
/// the data handed along with it.
#[derive(Clone, Debug)]
pub struct FileRef {
    pub entry: usize,
    pub range: Range<usize>,
}

/// Where a window of a large file lies in it (see [`Visitor::window`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// Offset in the file of the window's first byte.
    pub offset: u64,
    /// The window's bytes that no earlier window held.
    pub fresh: Range<usize>,
    /// A match belongs to this window when its secret starts in this range.
    pub accept: Range<usize>,
    /// Line and column (from 1) of the window's first byte.
    pub line: u64,
    pub column: u64,
    /// Whether this is the file's last window.
    pub last: bool,
}

impl Window {
    /// Line and column in the file of byte `at` of the window `data`.
    pub fn line_col(&self, data: &[u8], at: usize) -> (u64, u64) {
        let (line, column) = crate::util::line_col(data, at);
        if line == 1 {
            (self.line, self.column + column - 1)
        } else {
            (self.line + line - 1, column)
        }
    }

    /// Moves the window's start past `passed`, its first bytes.
    fn advance(&mut self, passed: &[u8]) {
        self.offset += passed.len() as u64;
        let newlines = memchr::memchr_iter(b'\n', passed).count() as u64;
        match memchr::memrchr(b'\n', passed) {
            Some(last) => {
                self.line += newlines;
                self.column = (passed.len() - last) as u64;
            }
            None => self.column += passed.len() as u64,
        }
    }
}

/// Receives a layer's regular files (whiteouts and empty files included) in tar order.
pub trait Visitor {
    /// Bytes of context a match needs on either side of where its secret starts: the
    /// windows of a large file overlap by twice this.
    fn context(&self) -> usize {
        64 << 10
    }

    /// Whether a file too large to hand over whole, starting with `head`, must still be
    /// read whole (an archive read by random access): it then goes through a spool file.
    fn wants_whole(&self, _head: &[u8]) -> bool {
        false
    }

    /// One window of a file too large to hand over whole; `file.range` is all of
    /// `data`. Windows come in order, the last with `w.last` set.
    fn window(&mut self, data: &[u8], file: &FileRef, entries: &[TarEntry], w: &Window);

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
    /// Entries whose headers were over a cap (the rest of the layer was read).
    pub problems: Vec<EntryProblem>,
    /// Files read, but not all of their content (an archive larger than `--spool-max`).
    pub skipped: Vec<EntryProblem>,
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
    let mut w = WalkedLayer::new(compression);
    w.stored_size = raw.len() as u64;
    w.digest = digests.then(|| Digest::spawn(blob.clone()));
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
        w.problems = idx.problems;
        return w;
    }
    let cap = caps.max_bytes;
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(CHUNKS_AHEAD);
        let (back_tx, back_rx) = mpsc::channel::<Vec<u8>>();
        let decoder = std::thread::Builder::new()
            .name("layer-decode".into())
            .spawn_scoped(s, move || {
                let reader = BlobReader {
                    blob,
                    pos: 0,
                    released: 0,
                };
                decode(reader, compression, cap, &tx, &back_rx)
            });
        let decoder = match decoder {
            Ok(d) => d,
            Err(e) => {
                w.decode_error = Some(format!("cannot start a decoding thread: {e}"));
                return;
            }
        };
        let read = read_tar_from(rx, back_tx, spool, caps, visitor);
        let decoded = decoder.join().unwrap_or_else(|_| Decoded {
            error: Some("decoding thread failed".into()),
            written: 0,
            diff_id: String::new(),
        });
        w.finish(read, decoded, caps);
    });
    w
}

/// Walks a layer that arrives as a stream (a member of an archive read from standard
/// input, a daemon's export or a compressed archive), reading it to its end: the
/// stream is decoded on this thread while `visitor` is handed the files on another.
/// Both digests are computed on the way.
pub fn walk_stream(
    stream: &mut dyn Read,
    spool: &Spool,
    caps: &LayerCaps,
    visitor: &mut (dyn Visitor + Send),
) -> WalkedLayer {
    let mut hashed = crate::util::HashingReader::new(stream);
    let mut src = std::io::BufReader::with_capacity(256 << 10, &mut hashed);
    let compression = std::io::BufRead::fill_buf(&mut src).map_or(Compression::None, sniff);
    let mut w = WalkedLayer::new(compression);
    let cap = caps.max_bytes;
    let decoded = std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(CHUNKS_AHEAD);
        let (back_tx, back_rx) = mpsc::channel::<Vec<u8>>();
        let reader = std::thread::Builder::new()
            .name("layer-read".into())
            .spawn_scoped(s, move || read_tar_from(rx, back_tx, spool, caps, visitor));
        let decoded = decode(&mut src, compression, cap, &tx, &back_rx);
        drop(tx);
        match reader {
            Ok(r) => r.join().ok().map(|read| (read, decoded)),
            Err(_) => None,
        }
    });
    // The rest of the stream (past a cap or a fault) counts in the blob's digest.
    let _ = std::io::copy(&mut src, &mut std::io::sink());
    drop(src);
    let (digest, stored) = hashed.finish();
    w.stored_size = stored;
    w.digest = Some(Digest::Ready(digest));
    match decoded {
        Some((read, decoded)) => w.finish(read, decoded, caps),
        None => w.decode_error = Some("the layer reading thread failed".into()),
    }
    if compression == Compression::None {
        w.diff_id = None;
    }
    w
}

/// Hands a blob that is not a tar to `visitor` as one file called `name` (a layer of
/// an OCI artifact: a JSON document, a WASM module, a signature), its digest computed
/// on a thread of its own meanwhile.
pub fn walk_single_file(blob: &Blob, name: &[u8], visitor: &mut dyn Visitor) -> WalkedLayer {
    let mut w = WalkedLayer::new(Compression::None);
    w.stored_size = blob.len() as u64;
    w.tar_size = w.stored_size;
    w.digest = Some(Digest::spawn(blob.clone()));
    let entry = TarEntry {
        path: crate::util::normalize_path(name),
        kind: EntryKind::File,
        data: 0..blob.len(),
        link: None,
    };
    let files = [FileRef {
        entry: 0,
        range: 0..blob.len(),
    }];
    visitor.files(blob.bytes(), &files, std::slice::from_ref(&entry), &|r| {
        blob.release(r)
    });
    w.entries = vec![entry];
    w
}

impl WalkedLayer {
    fn new(compression: Compression) -> WalkedLayer {
        WalkedLayer {
            compression,
            stored_size: 0,
            tar_size: 0,
            entries: Vec::new(),
            index_error: None,
            decode_error: None,
            truncated: None,
            problems: Vec::new(),
            skipped: Vec::new(),
            digest: None,
            diff_id: None,
        }
    }

    /// Takes in what reading the tar and decoding the stream gave.
    fn finish(&mut self, read: TarRead, decoded: Decoded, caps: &LayerCaps) {
        self.problems = read.problems;
        self.skipped = read.skipped;
        self.entries = read.entries;
        self.index_error = read.error;
        self.tar_size = decoded.written;
        self.decode_error = read.stopped.or(decoded.error);
        if decoded.written >= caps.max_bytes && self.decode_error.is_none() {
            self.truncated = Some(format!(
                "layer decompresses to more than --max-layer-bytes {} MiB; read the first {} MiB",
                caps.max_bytes >> 20,
                caps.max_bytes >> 20
            ));
        }
        self.diff_id = Some(Digest::Ready(decoded.diff_id));
    }
}

/// What reading a tar from the decoded chunks gave.
struct TarRead {
    entries: Vec<TarEntry>,
    error: Option<String>,
    stopped: Option<String>,
    problems: Vec<EntryProblem>,
    skipped: Vec<EntryProblem>,
}

/// Reads the tar from the chunks `rx` delivers (handing each chunk back on `back` for
/// reuse), hands its files to `visitor`, and reads the rest of the stream.
fn read_tar_from(
    rx: mpsc::Receiver<(Vec<u8>, usize)>,
    back: mpsc::Sender<Vec<u8>>,
    spool: &Spool,
    caps: &LayerCaps,
    visitor: &mut dyn Visitor,
) -> TarRead {
    let feed = RefCell::new(Feed {
        rx,
        back,
        chunk: None,
        at: 0,
        pos: 0,
        owed: 0,
        pending: Vec::new(),
        pending_at: 0,
        problems: Vec::new(),
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
        problems: Vec::new(),
        skipped: Vec::new(),
    };
    reader.read_tar();
    let TarReader {
        entries,
        error,
        stopped,
        problems,
        skipped,
        ..
    } = reader;
    let mut feed = feed.into_inner();
    if stopped.is_none() {
        // The rest of the stream (end blocks, padding) counts in the diff_id.
        feed.drain();
    }
    TarRead {
        entries,
        error,
        stopped,
        problems,
        skipped,
    }
}

/// What the decoding thread reports when the stream ends.
struct Decoded {
    error: Option<String>,
    /// Bytes decoded (at most the cap).
    written: u64,
    /// `sha256:<hex>` of the decoded bytes.
    diff_id: String,
}

/// Decodes `reader` into chunks sent on `tx`, at most `cap` bytes, hashing them on the
/// way (the diff_id; not for a plain tar, whose diff_id is its digest, computed by the
/// caller). Stops early when the reader of the chunks hangs up.
fn decode(
    mut reader: impl std::io::BufRead,
    c: Compression,
    cap: u64,
    tx: &mpsc::SyncSender<(Vec<u8>, usize)>,
    back: &mpsc::Receiver<Vec<u8>>,
) -> Decoded {
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    let mut written = 0u64;
    let describe = |e: std::io::Error| format!("{} stream: {}", c.as_str(), describe_io(&e));
    let decoder: std::io::Result<Box<dyn Read + '_>> = match c {
        Compression::None => Ok(Box::new(&mut reader)),
        Compression::Gzip => Ok(Box::new(flate2::bufread::MultiGzDecoder::new(&mut reader))),
        Compression::Zstd => zstd::stream::read::Decoder::with_buffer(&mut reader).map(|mut d| {
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
                if c != Compression::None {
                    sha2::Digest::update(&mut hasher, &buf[..n]);
                }
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
    /// Header bytes screened ahead of the parser (see [`Feed::screen`]), served to it
    /// before anything else, and how many it has read.
    pending: Vec<u8>,
    pending_at: usize,
    /// Problems the screening found, not yet tied to an entry.
    problems: Vec<String>,
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

    /// Screens the headers at the parser's position: an extension header over its cap
    /// is taken out of the stream with its data (the parser would read it whole into
    /// memory); the next header, and an extension within its cap with its data, are
    /// kept in `pending` for the parser.
    fn screen(&mut self) {
        loop {
            let at = self.pos;
            let mut block = Vec::with_capacity(512);
            let _ = self.take(512, |b| {
                block.extend_from_slice(b);
                Ok(())
            });
            match screen_block(&block, at) {
                Block::Oversized { skip, message } => {
                    self.problems.push(message);
                    let _ = self.take(skip.map_or(u64::MAX, |s| s - 512), |_| Ok(()));
                    if skip.is_none() {
                        return;
                    }
                }
                Block::Extension { pax, size } => {
                    let padded = (size + 511) & !511;
                    let _ = self.take(padded, |b| {
                        block.extend_from_slice(b);
                        Ok(())
                    });
                    if pax {
                        let end = block.len().min(512 + size as usize);
                        self.problems.extend(pax_problem(&block[512..end], at));
                    }
                    self.pending = block;
                    self.pending_at = 0;
                    return;
                }
                Block::Other => {
                    self.pending = block;
                    self.pending_at = 0;
                    return;
                }
            }
        }
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
        // The parser reads a header as one read of 512 bytes: screen it first.
        if f.pending_at >= f.pending.len() && buf.len() == 512 {
            f.screen();
        }
        if f.pending_at < f.pending.len() {
            let from = f.pending_at;
            let k = (f.pending.len() - from).min(buf.len());
            buf[..k].copy_from_slice(&f.pending[from..from + k]);
            f.pending_at += k;
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
    problems: Vec<EntryProblem>,
    skipped: Vec<EntryProblem>,
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
                cut,
            } = head_of(&e);
            drop(e);
            self.tie_problems(Some(&path));
            if let Some(message) = cut {
                self.problems.push(EntryProblem {
                    path: Some(path.clone()),
                    message,
                });
            }
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
        self.tie_problems(None);
        self.flush();
    }

    /// Ties the problems the screening found to the entry they came before.
    fn tie_problems(&mut self, path: Option<&[u8]>) {
        let found = std::mem::take(&mut self.feed.borrow_mut().problems);
        self.problems
            .extend(found.into_iter().map(|message| EntryProblem {
                path: path.map(<[u8]>::to_vec),
                message,
            }));
    }

    /// Reads a file of `size` bytes into the batch or a buffer of its own; a larger one
    /// is handed over in overlapping windows, or, when the visitor needs it whole (a
    /// nested archive read by random access) and it fits `--spool-max`, through a
    /// spool file. Returns the bytes read, or None when the walk must stop.
    fn take_file(&mut self, entry: usize, size: u64) -> Option<u64> {
        if size as usize <= BATCH_BYTES {
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
        let mut big = std::mem::take(&mut self.big);
        big.clear();
        let first = size.min(WINDOW_BYTES as u64);
        let (got, _) = self.feed.borrow_mut().take(first, |b| {
            big.extend_from_slice(b);
            Ok(())
        });
        let whole = got == size;
        let got = if whole {
            let files = [FileRef {
                entry,
                range: 0..big.len(),
            }];
            self.visitor.files(&big, &files, &self.entries, &|_| {});
            Some(got)
        } else if got == first && self.visitor.wants_whole(&big) {
            if size <= self.caps.spool_max {
                let got = self.spill(entry, size, &big);
                big.clear();
                self.big = big;
                return got;
            }
            self.skipped.push(EntryProblem {
                path: Some(self.entries[entry].path.clone()),
                message: format!(
                    "archive larger than --spool-max {} MiB: its bytes were matched, its members not read",
                    self.caps.spool_max >> 20
                ),
            });
            Some(self.windows(entry, size, &mut big))
        } else {
            Some(self.windows(entry, size, &mut big))
        };
        self.big = big;
        got
    }

    /// Hands a file too large to hold over in windows of [`WINDOW_BYTES`] that overlap
    /// by twice the visitor's context: each match belongs to the one window where its
    /// secret starts at least the context away from either edge (or at the file's own
    /// edges), so it is seen whole, with its surroundings, exactly once. `win` holds
    /// the file's first bytes. Returns the bytes read.
    fn windows(&mut self, entry: usize, size: u64, win: &mut Vec<u8>) -> u64 {
        let ctx = self.visitor.context().clamp(4096, WINDOW_BYTES / 8);
        let mut w = Window {
            offset: 0,
            fresh: 0..win.len(),
            accept: 0..0,
            line: 1,
            column: 1,
            last: false,
        };
        let mut got = win.len() as u64;
        loop {
            w.last = got >= size || win.len() < WINDOW_BYTES;
            let from = if w.offset == 0 { 0 } else { ctx };
            w.accept = from..if w.last { win.len() } else { win.len() - ctx };
            let file = FileRef {
                entry,
                range: 0..win.len(),
            };
            self.visitor.window(win, &file, &self.entries, &w);
            if w.last {
                return got;
            }
            // Keep the last 2 × ctx bytes; what goes before them moves the position.
            let advance = win.len() - 2 * ctx;
            w.advance(&win[..advance]);
            win.drain(..advance);
            let want = (size - got).min((WINDOW_BYTES - win.len()) as u64);
            let (n, _) = self.feed.borrow_mut().take(want, |b| {
                win.extend_from_slice(b);
                Ok(())
            });
            got += n;
            w.fresh = 2 * ctx..win.len();
            if n < want {
                // The stream ended inside the file: what there is is the last window.
                w.last = true;
                w.accept = ctx..win.len();
                let file = FileRef {
                    entry,
                    range: 0..win.len(),
                };
                self.visitor.window(win, &file, &self.entries, &w);
                return got;
            }
        }
    }

    /// Writes a file that must be read whole to a spool file (its first bytes, `head`,
    /// are already read), maps it and hands it over.
    fn spill(&mut self, entry: usize, size: u64, head: &[u8]) -> Option<u64> {
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
            let res = w.write_all(head);
            let (got, res2) = self
                .feed
                .borrow_mut()
                .take(size - head.len() as u64, |b| w.write_all(b));
            (
                got + head.len() as u64,
                res.and(res2).and_then(|()| w.flush()),
            )
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
    use crate::layer::tar_index::MAX_LONG_NAME;

    /// Records what a walk hands over (a windowed file put back together), and how
    /// many spool files exist meanwhile.
    #[derive(Default)]
    struct Record {
        files: Vec<(usize, Vec<u8>, Vec<u8>)>,
        spooled: Vec<usize>,
        windowed: Vec<usize>,
        spool: Option<std::path::PathBuf>,
        partial: Vec<u8>,
    }

    impl Visitor for Record {
        fn context(&self) -> usize {
            4096
        }

        fn wants_whole(&self, head: &[u8]) -> bool {
            head.starts_with(b"PK\x03\x04")
        }

        fn window(&mut self, data: &[u8], file: &FileRef, entries: &[TarEntry], w: &Window) {
            assert_eq!(w.offset as usize, self.partial.len() - w.fresh.start);
            self.partial.extend_from_slice(&data[w.fresh.clone()]);
            if w.last {
                let whole = std::mem::take(&mut self.partial);
                self.files
                    .push((file.entry, entries[file.entry].path.clone(), whole));
                self.windowed.push(file.entry);
            }
        }

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
        add("large.log", &b"line of log\n".repeat(1_600_000));
        let mut zip = b"PK\x03\x04".to_vec();
        zip.resize(WINDOW_BYTES + 100, b'z');
        add("large.zip", &zip);
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
        let caps = LayerCaps::default();
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
        assert_eq!(plain_files.files.len(), 506);
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
            // The large log went in windows; only the archive read by random access
            // went through the spool.
            let at = |name: &[u8]| w.entries.iter().position(|e| e.path == name).unwrap();
            assert_eq!(rec.windowed, vec![at(b"large.log")]);
            assert_eq!(rec.spooled, vec![at(b"large.zip")]);
            // With a smaller spool, the archive is windowed too, and said so.
            let small = LayerCaps {
                spool_max: 1 << 20,
                ..caps
            };
            let (w, rec) = walk(blob.clone(), &small);
            assert_eq!(rec.files, plain_files.files);
            assert!(rec.spooled.is_empty());
            assert_eq!(rec.windowed, vec![at(b"large.log"), at(b"large.zip")]);
            assert_eq!(w.skipped.len(), 1);
            assert_eq!(w.skipped[0].path.as_deref(), Some(&b"large.zip"[..]));
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
            ..LayerCaps::default()
        };
        let (w, rec) = walk(z, &caps);
        assert_eq!(w.tar_size, 1 << 20);
        assert!(
            w.truncated
                .as_deref()
                .is_some_and(|t| t.contains("--max-layer-bytes 1 MiB"))
        );
        assert!(!rec.files.is_empty());
    }

    /// Finds every `MARK` a window accepts, with where the window says it is.
    #[derive(Default)]
    struct Marks {
        found: Vec<(u64, u64, u64)>,
        windows: usize,
    }

    impl Visitor for Marks {
        fn context(&self) -> usize {
            4096
        }
        fn window(&mut self, data: &[u8], _: &FileRef, _: &[TarEntry], w: &Window) {
            self.windows += 1;
            for at in memchr::memmem::find_iter(data, b"MARK") {
                if w.accept.contains(&at) {
                    let (line, col) = w.line_col(data, at);
                    self.found.push((w.offset + at as u64, line, col));
                }
            }
        }
        fn files(
            &mut self,
            data: &[u8],
            files: &[FileRef],
            _: &[TarEntry],
            _: &(dyn Fn(Range<usize>) + Sync),
        ) {
            for f in files {
                // Lines counted once, front to back.
                let d = &data[f.range.clone()];
                let (mut line, mut line_start, mut seen) = (1u64, 0usize, 0usize);
                for at in memchr::memmem::find_iter(d, b"MARK") {
                    for nl in memchr::memchr_iter(b'\n', &d[seen..at]) {
                        line += 1;
                        line_start = seen + nl + 1;
                    }
                    seen = at;
                    self.found
                        .push((at as u64, line, (at - line_start + 1) as u64));
                }
            }
        }
    }

    #[test]
    fn windows_find_each_match_once_with_its_line_and_column() {
        // Lines of varied length (one far longer than a window) with marks placed
        // everywhere, including across and right at window edges.
        let mut file = Vec::new();
        let mut x = 7u32;
        while file.len() < 3 * WINDOW_BYTES + 12_345 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let len = (x >> 8) as usize % 300;
            file.extend(std::iter::repeat_n(b'.', len));
            if x.is_multiple_of(4001) {
                file.extend_from_slice(b"MARK");
            }
            file.push(b'\n');
            if file.len() > WINDOW_BYTES && file.len() < WINDOW_BYTES + 400 {
                file.extend(std::iter::repeat_n(b'-', WINDOW_BYTES + 1000));
            }
        }
        let step = WINDOW_BYTES - 2 * 4096;
        for edge in [step, 2 * step, 3 * step] {
            for d in [-4097i64, -4096, -4095, -2, 0, 1, 4094, 4095, 4096] {
                let at = (edge as i64 + d) as usize;
                file[at..at + 4].copy_from_slice(b"MARK");
            }
        }
        let mut h = tar::Header::new_gnu();
        h.set_size(file.len() as u64);
        let mut b = tar::Builder::new(Vec::new());
        b.append_data(&mut h, "big.txt", &file[..]).unwrap();
        let tar = b.into_inner().unwrap();
        let spool = Spool::new(None).unwrap();
        let mut whole = Marks::default();
        walk_layer(
            &Blob::from_vec(tar.clone()),
            &spool,
            &LayerCaps::default(),
            false,
            &mut whole,
        );
        let mut windowed = Marks::default();
        let z = zstd::encode_all(&tar[..], 1).unwrap();
        walk_layer(
            &Blob::from_vec(z),
            &spool,
            &LayerCaps::default(),
            false,
            &mut windowed,
        );
        assert_eq!(windowed.windows, 4);
        assert!(whole.found.len() > 30, "{}", whole.found.len());
        assert_eq!(windowed.found, whole.found);
    }

    fn with_long_name(name_len: usize) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        b.append_data(&mut h, "before", &b"first"[..]).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(4);
        // The builder writes a GNU long name entry for a path over 100 bytes.
        b.append_data(&mut h, "n".repeat(name_len), &b"long"[..])
            .unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        b.append_data(&mut h, "after", &b"later"[..]).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn an_oversized_long_name_is_not_read_and_the_rest_of_the_layer_is() {
        let ok = with_long_name(1000);
        let big = with_long_name((MAX_LONG_NAME + 1) as usize);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&big).unwrap();
        for blob in [big.clone(), gz.finish().unwrap()] {
            let (w, rec) = walk(blob, &LayerCaps::default());
            assert_eq!((w.index_error, w.decode_error), (None, None));
            assert_eq!(w.problems.len(), 1, "{:?}", w.problems);
            let p = &w.problems[0];
            assert!(
                p.message.starts_with(
                    "GNU long name at byte 1024 of 1048578 bytes is over the 1024 KiB cap"
                ),
                "{}",
                p.message
            );
            // The entry is named by its own header's (truncated) name.
            assert_eq!(p.path.as_deref(), Some(&b"n".repeat(100)[..]));
            let names: Vec<&[u8]> = rec.files.iter().map(|f| &f.1[..]).collect();
            assert_eq!(names, [&b"before"[..], &b"n".repeat(100)[..], b"after"]);
            assert_eq!(rec.files[2].2, b"later");
        }
        let (w, rec) = walk(ok, &LayerCaps::default());
        assert!(w.problems.is_empty());
        assert_eq!(rec.files[1].1, b"n".repeat(1000));
    }

    #[test]
    fn a_pax_size_that_is_no_number_is_a_problem() {
        let mut b = tar::Builder::new(Vec::new());
        let rec = b"41 size=1000000000000000000000000000000\n";
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::XHeader);
        h.set_size(rec.len() as u64);
        b.append_data(&mut h, "pax", &rec[..]).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(3);
        b.append_data(&mut h, "last", &b"end"[..]).unwrap();
        let tar = b.into_inner().unwrap();
        let z = zstd::encode_all(&tar[..], 1).unwrap();
        for blob in [tar, z] {
            let (w, _) = walk(blob, &LayerCaps::default());
            assert_eq!(w.problems.len(), 1, "{:?}", w.problems);
            assert!(
                w.problems[0]
                    .message
                    .contains("gives a size of 1000000000000000000000000000000, not a number"),
                "{}",
                w.problems[0].message
            );
            assert_eq!(w.problems[0].path.as_deref(), Some(&b"last"[..]));
        }
    }
}
