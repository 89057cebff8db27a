//! Helpers shared by the fuzz targets: a spool per input, small caps, a way to turn
//! one fuzz input into an image layout, and the walk every source target ends with
//! (open each layer, index it, build the overlay, ask the status of every entry).

use layerhound::blob::Blob;
use layerhound::image::Image;
use layerhound::layer::{
    FileRef, LayerCaps, TarEntry, TarIndex, Visitor, WalkedLayer, Window, walk_layer,
};
use layerhound::overlay::{LayerFs, status_of};
use layerhound::source::{Resolved, Store};
use layerhound::spool::Spool;
use layerhound::util::normalize_path;
use std::io::Write;

/// Where spool directories and input files go: /dev/shm when there is one.
pub fn scratch_dir() -> Option<&'static std::path::Path> {
    let shm = std::path::Path::new("/dev/shm");
    shm.is_dir().then_some(shm)
}

/// A fresh spool (one per input, so nothing outlives the run of one input).
pub fn spool() -> Spool {
    Spool::new(scratch_dir()).expect("spool directory")
}

/// Layer caps small enough that a bomb costs milliseconds.
pub const CAPS: LayerCaps = LayerCaps {
    max_bytes: 4 << 20,
    // Archives read by random access over a window go to the spool up to this.
    spool_max: 1 << 20,
    min_free: 0,
};

/// Writes `data` to a temporary file in `spool` (for readers that take a path).
pub fn input_file(spool: &Spool, data: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new()
        .prefix("fuzz-input-")
        .tempfile_in(spool.path())
        .expect("temp file");
    f.write_all(data).expect("write input");
    f.flush().expect("flush input");
    f
}

/// Separates the documents of a layout input.
pub const SEPARATOR: &[u8] = b"--8<--";

/// Turns one input into a tar holding an image layout: the documents of `data` (split
/// at [`SEPARATOR`]) are `first` (e.g. `index.json`, `manifest.json`), then blobs at
/// `blobs/sha256/<hex>` where `<hex>` is the sha256 of the document as written in the
/// input. In every document, `$N` (a digit) becomes the hex of document N, so the
/// input can point at its own blobs (digests then mismatch, which readers report).
pub fn layout_tar(data: &[u8], first: &str) -> Vec<u8> {
    let docs: Vec<&[u8]> = split(data, SEPARATOR).into_iter().take(10).collect();
    let hexes: Vec<String> = docs.iter().map(|d| sha256_hex(d)).collect();
    let mut b = tar::Builder::new(Vec::new());
    add(&mut b, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    for (i, doc) in docs.iter().enumerate() {
        let body = substitute(doc, &hexes);
        let name = if i == 0 {
            first.to_string()
        } else {
            format!("blobs/sha256/{}", hexes[i])
        };
        add(&mut b, &name, &body);
    }
    b.into_inner().expect("in-memory tar")
}

fn add(b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, name, data).expect("in-memory tar");
}

fn split<'a>(data: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(sep.len()).position(|w| w == sep) {
        out.push(&rest[..i]);
        rest = &rest[i + sep.len()..];
    }
    out.push(rest);
    out
}

fn substitute(doc: &[u8], hexes: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(doc.len());
    let mut i = 0;
    while i < doc.len() {
        if doc[i] == b'$'
            && let Some(d) = doc.get(i + 1).filter(|c| c.is_ascii_digit())
            && let Some(h) = hexes.get(usize::from(d - b'0'))
        {
            out.extend_from_slice(h.as_bytes());
            i += 2;
        } else {
            out.push(doc[i]);
            i += 1;
        }
    }
    out
}

fn sha256_hex(d: &[u8]) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(d))
}

/// Checks what every tar index must satisfy, whatever the input.
pub fn check_index(data: &[u8], idx: &TarIndex) {
    for e in &idx.entries {
        assert!(
            e.data.start <= e.data.end && e.data.end <= data.len(),
            "{e:?}"
        );
        assert_eq!(normalize_path(&e.path), e.path, "path not normalised");
    }
}

/// Checks what a layer walk hands over: every file's range lies in its data, belongs
/// to a file entry already read, and comes in tar order.
#[derive(Default)]
pub struct CheckFiles {
    pub files: usize,
    pub bytes: usize,
    last: Option<usize>,
}

impl Visitor for CheckFiles {
    fn window(&mut self, data: &[u8], f: &FileRef, entries: &[TarEntry], w: &Window) {
        assert!(f.range.end <= data.len(), "{f:?}");
        assert!(f.entry < entries.len(), "{f:?}");
        assert!(
            w.fresh.end <= data.len() && w.accept.end <= data.len(),
            "{w:?}"
        );
        if w.offset == 0 {
            assert!(self.last.is_none_or(|l| l < f.entry), "out of order: {f:?}");
            self.last = Some(f.entry);
            self.files += 1;
        }
        self.bytes += w.fresh.len();
    }

    fn files(
        &mut self,
        data: &[u8],
        files: &[FileRef],
        entries: &[TarEntry],
        _: &(dyn Fn(std::ops::Range<usize>) + Sync),
    ) {
        for f in files {
            assert!(
                f.range.start <= f.range.end && f.range.end <= data.len(),
                "{f:?}"
            );
            assert!(f.entry < entries.len(), "{f:?}");
            assert!(self.last.is_none_or(|l| l < f.entry), "out of order: {f:?}");
            self.last = Some(f.entry);
            self.files += 1;
            self.bytes += f.range.len();
        }
    }
}

/// Walks a layer blob with [`CheckFiles`], checking its entries too.
pub fn walk_checked(blob: &Blob, spool: &Spool) -> (WalkedLayer, CheckFiles) {
    let mut v = CheckFiles::default();
    let walked = walk_layer(blob, spool, &CAPS, true, &mut v);
    for e in &walked.entries {
        assert!(e.data.start <= e.data.end, "{e:?}");
        assert!(
            e.data.end as u64 <= walked.tar_size.max(blob.len() as u64),
            "{e:?}"
        );
        assert_eq!(normalize_path(&e.path), e.path, "path not normalised");
    }
    assert!(
        v.bytes as u64 <= walked.tar_size,
        "more file bytes than tar"
    );
    (walked, v)
}

/// Opens, indexes and overlays every layer of `images`, as a scan would (no matching).
pub fn walk_images(store: &Store, images: &[Image], spool: &Spool) {
    for img in images {
        let mut indexes = Vec::new();
        for l in &img.layers {
            let _ = store.canonical(&l.blob);
            let Ok(blob) = store.get(&l.blob) else {
                continue;
            };
            let (walked, _) = walk_checked(&blob, spool);
            indexes.push(TarIndex {
                entries: walked.entries,
                error: walked.index_error,
                problems: walked.problems,
            });
        }
        overlay_all(&indexes);
    }
}

/// Builds the overlay of `layers` and asks the status of every entry.
pub fn overlay_all(layers: &[TarIndex]) {
    let fss: Vec<LayerFs> = layers.iter().map(|l| LayerFs::build(&l.entries)).collect();
    let refs: Vec<&LayerFs> = fss.iter().collect();
    for (i, l) in layers.iter().enumerate() {
        for (k, e) in l.entries.iter().enumerate() {
            let (status, removed) = status_of(&refs, i, k, &e.path);
            if let Some(j) = removed {
                assert!(j >= i && j < layers.len(), "{status:?} by {j}");
            }
        }
    }
}

/// The source targets' input: bit 0 of the first byte picks whether the rest is a whole
/// archive (tar, possibly gzip/zstd-compressed) or the documents of a layout whose
/// first document is `first` (see [`layout_tar`]); bit 1 asks for the one image named
/// `reference`. The archive is opened with `Store::tar`, resolved with `resolve`, and
/// every image is walked.
pub fn fuzz_source(
    data: &[u8],
    first: &str,
    reference: &str,
    resolve: impl Fn(&Store, Option<&str>) -> layerhound::Result<Resolved>,
) {
    let Some((mode, archive)) = mode_and_archive(data, |_| first) else {
        return;
    };
    let spool = spool();
    let file = input_file(&spool, &archive);
    let Ok(store) = Store::tar(file.path(), &spool, &CAPS) else {
        return;
    };
    if let Ok(r) = resolve(&store, (mode & 2 != 0).then_some(reference)) {
        walk_images(&store, &r.images, &spool);
    }
}

/// Splits an input into its first byte (the mode) and the archive the rest stands for:
/// with bit 0 clear the rest as it is, with bit 0 set the layout [`layout_tar`] builds
/// from it, whose first document `first(mode)` names.
pub fn mode_and_archive<'a>(
    data: &[u8],
    first: impl FnOnce(u8) -> &'a str,
) -> Option<(u8, Vec<u8>)> {
    let (&mode, rest) = data.split_first()?;
    let archive = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        layout_tar(rest, first(mode))
    };
    Some((mode, archive))
}
