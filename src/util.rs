//! Small helpers shared by several stages: hashing, path normalisation, text positions.

use sha2::{Digest as _, Sha256};
use std::io::{self, Write};

/// For `skip_serializing_if`: a count of nothing is left out.
pub fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// `sha256:<hex>` of a byte slice.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// A writer that hashes everything written through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }
    pub fn finish(self) -> (W, String, u64) {
        (
            self.inner,
            format!("sha256:{}", hex::encode(self.hasher.finalize())),
            self.count,
        )
    }
}

/// `sha256:<hex>` and length of everything `r` gives, read in 1 MiB pieces.
pub fn sha256_of_reader(mut r: impl std::io::Read) -> io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => {
                h.update(&buf[..k]);
                n += k as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((format!("sha256:{}", hex::encode(h.finalize())), n))
}

/// A reader that hashes (sha256) and counts what is read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: std::io::Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// `sha256:<hex>` of what was read, and how many bytes.
    pub fn finish(self) -> (String, u64) {
        (
            format!("sha256:{}", hex::encode(self.hasher.finalize())),
            self.count,
        )
    }
}

impl<R: std::io::Read> std::io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Normalises a path found inside an image or archive: no leading `/` or `./`, no
/// empty or `.` components, `..` resolved lexically and never above the root, no
/// trailing `/`. The result is a key, never a host path.
pub fn normalize_path(raw: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for comp in raw.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join(&b'/')
}

/// The parent directory of a normalised path (`""` is the root).
pub fn parent(path: &[u8]) -> Option<&[u8]> {
    if path.is_empty() {
        return None;
    }
    Some(match path.iter().rposition(|&b| b == b'/') {
        Some(i) => &path[..i],
        None => b"",
    })
}

/// The last component of a normalised path.
pub fn file_name(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// Joins a directory and a name (both normalised).
pub fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    if dir.is_empty() {
        name.to_vec()
    } else {
        let mut v = Vec::with_capacity(dir.len() + 1 + name.len());
        v.extend_from_slice(dir);
        v.push(b'/');
        v.extend_from_slice(name);
        v
    }
}

/// 1-based line and column (in bytes) of `offset` in `data`.
pub fn line_col(data: &[u8], offset: usize) -> (u64, u64) {
    let before = &data[..offset.min(data.len())];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count() as u64;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    (line, (offset - line_start) as u64 + 1)
}

/// A lossless-enough display form of a byte path: UTF-8 as is, other bytes as `\xNN`.
pub fn display_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Library wordings and what they mean, for people: (phrase, our words).
const PLAIN_WORDS: &[(&str, &str)] = &[
    (
        "failed to read entire block",
        "it ends in the middle of a tar block (cut short, or still being written?)",
    ),
    (
        "unexpected end of file",
        "the data ends early (cut short, or still being written?)",
    ),
    ("corrupt deflate stream", "the gzip data is damaged"),
    ("invalid gzip header", "the gzip header is damaged"),
    ("Unknown frame descriptor", "the zstd data is damaged"),
    ("Error in the hyper legacy client: ", ""),
    ("client error (Connect): ", ""),
    ("tcp connect error: ", ""),
];

/// One line for people from a message that may hold a library's wording and bytes
/// from an image: known library phrasings said in our words, control characters
/// (newlines, escape sequences) escaped as `\u{1b}`, so nothing from the input can
/// move the cursor or start a new line on a terminal.
pub fn plain_message(text: &str) -> String {
    let mut s = text.to_string();
    for (phrase, ours) in PLAIN_WORDS {
        if s.contains(phrase) {
            s = s.replace(phrase, ours);
        }
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// `s` cut to its first `max` characters and an ellipsis with the count left out, for
/// names in one-line messages (a path may be 64 KiB long).
pub fn clip_for_message(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((at, _)) => format!("{}… ({} more bytes)", &s[..at], s.len() - at),
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` for seconds since the Unix epoch.
pub fn utc_timestamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Shortens a digest for display: `sha256:` plus the first 12 hex digits.
pub fn short_digest(d: &str) -> String {
    match d.split_once(':') {
        Some((alg, hex)) if hex.len() > 12 => format!("{alg}:{}", &hex[..12]),
        _ => d.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize() {
        assert_eq!(normalize_path(b"./a//b/./c/"), b"a/b/c");
        assert_eq!(normalize_path(b"/etc/passwd"), b"etc/passwd");
        assert_eq!(normalize_path(b"../../x"), b"x");
        assert_eq!(normalize_path(b"a/../../b"), b"b");
        assert_eq!(normalize_path(b"./"), b"");
    }

    #[test]
    fn parents_and_names() {
        assert_eq!(parent(b"a/b/c"), Some(&b"a/b"[..]));
        assert_eq!(parent(b"a"), Some(&b""[..]));
        assert_eq!(parent(b""), None);
        assert_eq!(file_name(b"a/b/.wh.c"), b".wh.c");
        assert_eq!(join(b"", b"x"), b"x");
        assert_eq!(join(b"a", b"x"), b"a/x");
    }

    #[test]
    fn positions() {
        let d = b"ab\ncd\nxyz";
        assert_eq!(line_col(d, 0), (1, 1));
        assert_eq!(line_col(d, 4), (2, 2));
        assert_eq!(line_col(d, 6), (3, 1));
    }

    #[test]
    fn messages_are_one_plain_line() {
        assert_eq!(
            plain_message("x.tar: not a tar archive: failed to read entire block"),
            "x.tar: not a tar archive: it ends in the middle of a tar block (cut short, or still being written?)"
        );
        assert_eq!(plain_message("a\nb\u{1b}[2J"), "a\\u{a}b\\u{1b}[2J");
        assert_eq!(
            plain_message(
                "(Error in the hyper legacy client: client error (Connect): tcp connect error: Connection refused (os error 111))"
            ),
            "(Connection refused (os error 111))"
        );
    }

    #[test]
    fn timestamps() {
        assert_eq!(utc_timestamp(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_timestamp(1_796_238_333), "2026-12-02 19:05:33 UTC");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn display_non_utf8() {
        assert_eq!(display_bytes(b"a\xffb"), "a\\xffb");
    }
}
