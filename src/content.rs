//! Content: takes the bytes of one file and gives what else must be scanned inside it —
//! the members of nested archives (zip family, tar), the payload of compressed files
//! (gzip, zstd, bzip2, xz), and the text of UTF-16 files — each named by the chain of
//! inner paths that leads to it. Everything is read from memory; nothing is extracted.
//! Limits on depth, expanded bytes, compression ratio and member count stop bombs;
//! whatever they cut is reported as a [`Skip`], never dropped silently.

use std::io::{Cursor, Read};

/// Caps on what one file may expand into.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Archives inside archives, at most this deep (the file itself is depth 0).
    pub max_depth: usize,
    /// Total bytes all expansions of one file may produce.
    pub max_bytes: u64,
    /// Largest ratio of decompressed to compressed size for one stream or member.
    pub max_ratio: u64,
    /// Most members read from one archive.
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 3,
            max_bytes: 512 << 20,
            max_ratio: 250,
            max_entries: 100_000,
        }
    }
}

/// Something inside a file to scan on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Virtual {
    /// Inner names from the file inward (empty for a decoded view of the file itself).
    pub chain: Vec<String>,
    pub data: Vec<u8>,
    /// For decoded UTF-16 text: the offset in the undecoded bytes of each decoded byte.
    pub offsets: Option<Vec<u32>>,
}

/// Something a limit or a fault kept from being read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub chain: Vec<String>,
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Zip,
    Tar,
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

fn sniff(data: &[u8]) -> Option<Kind> {
    if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        Some(Kind::Zip)
    } else if data.starts_with(&[0x1f, 0x8b]) {
        Some(Kind::Gzip)
    } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Kind::Zstd)
    } else if data.starts_with(b"BZh") && data.len() > 4 && data[3].is_ascii_digit() {
        Some(Kind::Bzip2)
    } else if data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some(Kind::Xz)
    } else if data.len() >= 512 && &data[257..262] == b"ustar" {
        Some(Kind::Tar)
    } else {
        None
    }
}

/// Which UTF-16 byte order `data` looks like, if any: a BOM, or mostly-zero high bytes.
fn utf16_order(data: &[u8]) -> Option<bool> {
    if data.starts_with(&[0xff, 0xfe]) {
        return Some(true);
    }
    if data.starts_with(&[0xfe, 0xff]) {
        return Some(false);
    }
    let sample = &data[..data.len().min(4096) & !1];
    if sample.len() < 16 {
        return None;
    }
    let pairs = sample.len() / 2;
    let zero_at = |parity: usize| {
        sample
            .iter()
            .skip(parity)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count()
    };
    let (even, odd) = (zero_at(0), zero_at(1));
    let printable_at = |parity: usize| {
        sample
            .iter()
            .skip(parity)
            .step_by(2)
            .filter(|&&b| b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b))
            .count()
    };
    if odd * 10 >= pairs * 9 && even * 20 <= pairs && printable_at(0) * 10 >= pairs * 9 {
        Some(true)
    } else if even * 10 >= pairs * 9 && odd * 20 <= pairs && printable_at(1) * 10 >= pairs * 9 {
        Some(false)
    } else {
        None
    }
}

/// Decodes UTF-16 to UTF-8, recording for every output byte the offset of its code unit.
fn decode_utf16(data: &[u8], little: bool) -> (Vec<u8>, Vec<u32>) {
    let start = if data.starts_with(&[0xff, 0xfe]) || data.starts_with(&[0xfe, 0xff]) {
        2
    } else {
        0
    };
    let units = data[start..].chunks_exact(2).map(|c| {
        if little {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    let mut out = Vec::with_capacity(data.len() / 2);
    let mut offsets = Vec::with_capacity(data.len() / 2);
    let mut pos = start;
    for ch in char::decode_utf16(units) {
        let (c, width) = match ch {
            Ok(c) => (c, c.len_utf16() * 2),
            Err(_) => (char::REPLACEMENT_CHARACTER, 2),
        };
        let mut buf = [0u8; 4];
        for &b in c.encode_utf8(&mut buf).as_bytes() {
            out.push(b);
            offsets.push(pos as u32);
        }
        pos += width;
    }
    (out, offsets)
}

/// Whether `data` is worth handing to [`expand`] (a cheap look at its first bytes).
pub fn worth_expanding(data: &[u8]) -> bool {
    sniff(data).is_some() || utf16_order(data).is_some()
}

struct Walk<'l> {
    limits: &'l Limits,
    budget: u64,
    out: Vec<Virtual>,
    skips: Vec<Skip>,
}

/// What to scan inside `data`, a file called `name`, besides its own bytes.
pub fn expand(data: &[u8], name: &str, limits: &Limits) -> (Vec<Virtual>, Vec<Skip>) {
    let mut w = Walk {
        limits,
        budget: limits.max_bytes,
        out: Vec::new(),
        skips: Vec::new(),
    };
    w.file(data, name, &[], 0);
    (w.out, w.skips)
}

fn strip_ext(name: &str, exts: &[&str]) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    for e in exts {
        if let Some(s) = base.strip_suffix(e)
            && !s.is_empty()
        {
            return s.to_string();
        }
    }
    format!("{base}.decompressed")
}

impl Walk<'_> {
    fn skip(&mut self, chain: &[String], reason: String) {
        self.skips.push(Skip {
            chain: chain.to_vec(),
            reason,
        });
    }

    /// Counts the members of an archive left unread because the byte budget ran out.
    fn skip_rest_over_budget(&mut self, chain: &[String]) {
        let reason = format!(
            "expansion exceeds --max-nested-bytes {} MiB; the rest is not read",
            self.limits.max_bytes >> 20
        );
        self.skip(chain, reason);
    }

    /// Looks inside one file at `depth` (0 = the file being scanned).
    fn file(&mut self, data: &[u8], name: &str, chain: &[String], depth: usize) {
        if depth > 0 {
            self.out.push(Virtual {
                chain: chain.to_vec(),
                data: data.to_vec(),
                offsets: None,
            });
        }
        if let Some(little) = utf16_order(data) {
            let (text, offsets) = decode_utf16(data, little);
            self.out.push(Virtual {
                chain: chain.to_vec(),
                data: text,
                offsets: Some(offsets),
            });
            return;
        }
        let Some(kind) = sniff(data) else { return };
        if depth >= self.limits.max_depth {
            self.skip(
                chain,
                format!("nested deeper than --max-depth {}", self.limits.max_depth),
            );
            return;
        }
        match kind {
            Kind::Zip => self.zip(data, chain, depth),
            Kind::Tar => self.tar(data, chain, depth),
            Kind::Gzip | Kind::Zstd | Kind::Bzip2 | Kind::Xz => {
                let inner = strip_ext(
                    name,
                    &[".gz", ".tgz", ".zst", ".bz2", ".xz", ".tbz2", ".txz"],
                );
                let inner = if name.ends_with(".tgz")
                    || name.ends_with(".tbz2")
                    || name.ends_with(".txz")
                {
                    format!("{inner}.tar")
                } else {
                    inner
                };
                let Some(bytes) = self.decompress(kind, data, chain) else {
                    return;
                };
                let mut c = chain.to_vec();
                c.push(inner.clone());
                // A compressed tar is one archive, not a file inside a file.
                if sniff(&bytes) == Some(Kind::Tar) {
                    self.tar(&bytes, &c, depth);
                } else {
                    self.file(&bytes, &inner, &c, depth + 1);
                }
            }
        }
    }

    /// Reads a decoder to its end within the byte budget and the ratio cap.
    fn read_capped(
        &mut self,
        mut r: impl Read,
        compressed: u64,
        chain: &[String],
        what: &str,
    ) -> Option<Vec<u8>> {
        let ratio_cap = compressed
            .max(1)
            .saturating_mul(self.limits.max_ratio)
            .max(1 << 20);
        let cap = self.budget.min(ratio_cap);
        let mut out = Vec::new();
        let res = r.by_ref().take(cap + 1).read_to_end(&mut out);
        if let Err(e) = res {
            self.skip(
                chain,
                format!("{what}: corrupt or truncated ({e}); scanned what was readable"),
            );
        }
        if out.len() as u64 > cap {
            out.truncate(cap as usize);
            let reason = if cap == self.budget {
                format!(
                    "{what}: expansion exceeds --max-nested-bytes {} MiB; truncated",
                    self.limits.max_bytes >> 20
                )
            } else {
                format!(
                    "{what}: inflates more than --max-ratio {}x; truncated",
                    self.limits.max_ratio
                )
            };
            self.skip(chain, reason);
        }
        self.budget = self.budget.saturating_sub(out.len() as u64);
        Some(out)
    }

    fn decompress(&mut self, kind: Kind, data: &[u8], chain: &[String]) -> Option<Vec<u8>> {
        let n = data.len() as u64;
        match kind {
            Kind::Gzip => self.read_capped(
                flate2::read::MultiGzDecoder::new(data),
                n,
                chain,
                "gzip stream",
            ),
            Kind::Zstd => match zstd::stream::read::Decoder::with_buffer(data) {
                Ok(d) => self.read_capped(d, n, chain, "zstd stream"),
                Err(e) => {
                    self.skip(chain, format!("zstd stream: {e}"));
                    None
                }
            },
            Kind::Bzip2 => self.read_capped(
                bzip2::read::MultiBzDecoder::new(data),
                n,
                chain,
                "bzip2 stream",
            ),
            Kind::Xz => self.read_capped(
                xz2::read::XzDecoder::new_multi_decoder(data),
                n,
                chain,
                "xz stream",
            ),
            Kind::Zip | Kind::Tar => None,
        }
    }

    fn member(&mut self, chain: &[String], name: &str, data: &[u8], depth: usize) {
        let mut c = chain.to_vec();
        c.push(name.to_string());
        self.file(data, name, &c, depth + 1);
    }

    fn zip(&mut self, data: &[u8], chain: &[String], depth: usize) {
        let mut ar = match zip::ZipArchive::new(Cursor::new(data)) {
            Ok(a) => a,
            Err(e) => return self.skip(chain, format!("zip archive: {e}")),
        };
        let n = ar.len();
        if n > self.limits.max_entries {
            self.skip(
                chain,
                format!(
                    "zip archive has {n} members; only the first --max-entries {} are read",
                    self.limits.max_entries
                ),
            );
        }
        for i in 0..n.min(self.limits.max_entries) {
            if self.budget == 0 {
                self.skip_rest_over_budget(chain);
                return;
            }
            let mut f = match ar.by_index(i) {
                Ok(f) => f,
                Err(e) => {
                    self.skip(chain, format!("zip member {i}: {e}"));
                    continue;
                }
            };
            if f.is_dir() {
                continue;
            }
            let name = match f.name() {
                Ok(n) => n.into_owned(),
                Err(_) => String::from_utf8_lossy(f.name_raw()).into_owned(),
            };
            let compressed = f.compressed_size();
            let mut c = chain.to_vec();
            c.push(name.clone());
            let Some(bytes) = self.read_capped(&mut f, compressed, &c, "zip member") else {
                continue;
            };
            drop(f);
            self.member(chain, &name, &bytes, depth);
        }
    }

    fn tar(&mut self, data: &[u8], chain: &[String], depth: usize) {
        let idx = crate::layer::index_tar(data);
        if let Some(e) = &idx.error {
            self.skip(chain, format!("tar archive: {e}"));
        }
        let files: Vec<_> = idx
            .entries
            .iter()
            .filter(|e| e.kind == crate::layer::EntryKind::File && !e.data.is_empty())
            .collect();
        if files.len() > self.limits.max_entries {
            self.skip(
                chain,
                format!(
                    "tar archive has {} files; only the first --max-entries {} are read",
                    files.len(),
                    self.limits.max_entries
                ),
            );
        }
        for e in files.into_iter().take(self.limits.max_entries) {
            let len = e.data.len() as u64;
            if len > self.budget {
                self.skip_rest_over_budget(chain);
                return;
            }
            self.budget -= len;
            let name = crate::util::display_bytes(&e.path);
            self.member(chain, &name, &data[e.data.clone()], depth);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(d: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(d).unwrap();
        e.finish().unwrap()
    }

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (n, d) in files {
            w.start_file(*n, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(d).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (n, d) in files {
            let mut h = tar::Header::new_ustar();
            h.set_size(d.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, n, *d).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn jar_in_tgz_gives_the_chain() {
        let jar = zip_of(&[(
            "BOOT-INF/classes/application.properties",
            b"spring.datasource.password=Zr8vQ2mN7pL4",
        )]);
        let tgz = gz(&tar_of(&[("app/lib/app.jar", &jar)]));
        let (v, skips) = expand(&tgz, "backup.tgz", &Limits::default());
        assert!(skips.is_empty(), "{skips:?}");
        let props = v
            .iter()
            .find(|x| {
                x.chain
                    .last()
                    .is_some_and(|n| n.ends_with("application.properties"))
            })
            .unwrap();
        assert_eq!(
            props.chain,
            [
                "backup.tar",
                "app/lib/app.jar",
                "BOOT-INF/classes/application.properties"
            ]
        );
        assert!(props.data.starts_with(b"spring"));
    }

    #[test]
    fn single_file_compressions() {
        let text = b"token=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\n";
        let zst = zstd::encode_all(&text[..], 3).unwrap();
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        bz.write_all(text).unwrap();
        let mut xz = xz2::write::XzEncoder::new(Vec::new(), 6);
        xz.write_all(text).unwrap();
        for (name, data) in [
            ("a.log.1.gz", gz(text)),
            ("a.zst", zst),
            ("a.bz2", bz.finish().unwrap()),
            ("a.xz", xz.finish().unwrap()),
        ] {
            let (v, s) = expand(&data, name, &Limits::default());
            assert!(s.is_empty(), "{name}: {s:?}");
            assert_eq!(v.len(), 1, "{name}");
            assert_eq!(v[0].data, text, "{name}");
        }
        assert_eq!(
            expand(&gz(text), "app.log.1.gz", &Limits::default()).0[0].chain,
            ["app.log.1"]
        );
    }

    #[test]
    fn utf16_is_decoded_with_offsets() {
        let s = "key=AKIAZ3MSJV4WWNXUFTBQ\r\n";
        let le: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain(s.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = s.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for (data, bom) in [(le, 2u32), (be, 0)] {
            let (v, _) = expand(&data, "appsettings.json", &Limits::default());
            assert_eq!(v.len(), 1);
            assert_eq!(v[0].data, s.as_bytes());
            let off = v[0].offsets.as_ref().unwrap();
            assert_eq!(
                off[4],
                bom + 8,
                "the 5th character starts at byte 8 of the text"
            );
        }
        assert!(utf16_order(b"plain ascii text that is long enough").is_none());
    }

    #[test]
    fn bombs_hit_each_limit() {
        let zeros = vec![0u8; 8 << 20];
        let (_, s) = expand(
            &gz(&zeros),
            "z.gz",
            &Limits {
                max_ratio: 10,
                ..Limits::default()
            },
        );
        assert!(s.iter().any(|k| k.reason.contains("--max-ratio")), "{s:?}");
        let (_, s) = expand(
            &gz(&zeros),
            "z.gz",
            &Limits {
                max_bytes: 1 << 20,
                ..Limits::default()
            },
        );
        assert!(
            s.iter().any(|k| k.reason.contains("--max-nested-bytes")),
            "{s:?}"
        );
        let many: Vec<(String, Vec<u8>)> =
            (0..20).map(|i| (format!("f{i}"), b"x".to_vec())).collect();
        let refs: Vec<(&str, &[u8])> = many
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect();
        let (v, s) = expand(
            &zip_of(&refs),
            "m.zip",
            &Limits {
                max_entries: 5,
                ..Limits::default()
            },
        );
        assert_eq!(v.len(), 5);
        assert!(
            s.iter().any(|k| k.reason.contains("--max-entries")),
            "{s:?}"
        );
        let deep = gz(&gz(&gz(&gz(b"inner"))));
        let (_, s) = expand(
            &deep,
            "d.gz",
            &Limits {
                max_depth: 2,
                ..Limits::default()
            },
        );
        assert!(s.iter().any(|k| k.reason.contains("--max-depth")), "{s:?}");
        let (_, s) = expand(&gz(b"hello")[..10], "t.gz", &Limits::default());
        assert!(
            s.iter().any(|k| k.reason.contains("corrupt or truncated")),
            "{s:?}"
        );
    }
}
