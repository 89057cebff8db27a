//! Bounded by design, end to end: one hostile input per test, built in code as a stream
//! of gzip members (gigabytes inflate from a few MiB on disk) and scanned by the real
//! binary with a fresh spool directory and TMPDIR. Each test checks the exit code, the
//! one error or warning line about the hostile part, that the secrets in the intact
//! parts are found, the child's peak memory (VmHWM, read from /proc while it runs)
//! and that nothing went to disk: the spool directory and TMPDIR are sampled every few
//! milliseconds while the scan runs, and must be empty after it.

use crate::fixture::{self, Entry, Form, Image, Layer};
use crate::hostile::{END, concat, edit_manifest, gz, raw_file, raw_header, raw_pax};
use crate::support::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Running the binary, measured
// ---------------------------------------------------------------------------

/// The most a scan may take of memory (high-water RSS), whatever its input.
const MAX_RSS_KIB: u64 = 512 << 10;

/// A run that takes longer than this is killed and fails the test.
const DEADLINE: Duration = Duration::from_secs(240);

/// One run of the binary, measured.
struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
    /// The child's high-water resident set (VmHWM from /proc), KiB.
    peak_rss_kib: u64,
    /// The most bytes seen in files under the spool directory and TMPDIR together.
    peak_spool_bytes: u64,
    elapsed: Duration,
}

/// Bytes in the files under `dir`, counted while another process may be creating and
/// removing them (what vanishes between listing and looking counts as nothing).
fn bytes_under(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut n = 0;
    for e in entries.flatten() {
        let Ok(meta) = fs::symlink_metadata(e.path()) else {
            continue;
        };
        if meta.is_dir() {
            n += bytes_under(&e.path());
        } else {
            n += meta.len();
        }
    }
    n
}

fn assert_empty(what: &str, dir: &Path) {
    let left: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "{what} left behind: {left:?}");
}

/// `VmHWM` of a live process, in KiB.
fn vm_hwm_kib(pid: libc::pid_t) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `layerhound ARGS… --spool-dir SPOOL` with TMPDIR=TMP (both fresh, empty
/// directories) and `env` on top; samples its VmHWM, SPOOL and TMP every 2 ms until
/// the child exits, reaps it with `wait4`, and asserts that it did not panic, that
/// stderr holds only error and warning lines, and that SPOOL and TMP are empty.
// The child is reaped by `wait4`, never by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn run_bounded(args: &[&str], env: &[(&str, &OsStr)]) -> Run {
    let scratch = tempfile::Builder::new()
        .prefix("bounded-")
        .tempdir()
        .unwrap();
    let spool = scratch.path().join("spool");
    let tmp = scratch.path().join("tmp");
    fs::create_dir(&spool).unwrap();
    fs::create_dir(&tmp).unwrap();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_layerhound"))
        .args(args)
        .arg("--spool-dir")
        .arg(&spool)
        .env("NO_COLOR", "1")
        .env("TMPDIR", &tmp)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).map(|_| v)
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        err.read_to_end(&mut v).map(|_| v)
    });
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is a plain C struct for which all zero bytes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut peak_spool_bytes = 0;
    let mut peak_rss_kib = 0;
    loop {
        // VmHWM is the high-water mark of this process image's own memory (exec starts
        // it afresh, unlike rusage's ru_maxrss, which keeps the test process's RSS from
        // before the exec); it only grows, so the last reading while alive is the peak.
        if let Some(hwm) = vm_hwm_kib(pid) {
            peak_rss_kib = peak_rss_kib.max(hwm);
        }
        // SAFETY: `pid` is our own child, not yet reaped (std never waits for it: the
        // Child is never waited on); `status` and `usage` are valid, writable and live
        // across the call.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        if r < 0 {
            let e = std::io::Error::last_os_error();
            assert_eq!(e.kind(), std::io::ErrorKind::Interrupted, "wait4: {e}");
        }
        peak_spool_bytes = peak_spool_bytes.max(bytes_under(&spool) + bytes_under(&tmp));
        if started.elapsed() > DEADLINE {
            child.kill().unwrap();
            // SAFETY: as above; blocks until the killed child is reaped.
            unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            panic!("layerhound {args:?} did not finish in {DEADLINE:?} (killed)");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let elapsed = started.elapsed();
    let stdout = out_reader.join().unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap().unwrap()).into_owned();
    assert!(
        libc::WIFEXITED(status),
        "layerhound {args:?} was killed by signal {}: {stderr}",
        libc::WTERMSIG(status)
    );
    let code = libc::WEXITSTATUS(status);
    assert!(peak_rss_kib > 0, "no VmHWM reading of the scan");
    eprintln!(
        "bounded: layerhound {}: exit {code}, peak RSS {} MiB, peak spool+TMPDIR {} bytes, {:.1} s",
        args.join(" "),
        peak_rss_kib >> 10,
        peak_spool_bytes,
        elapsed.as_secs_f64()
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    for line in stderr.lines() {
        assert!(
            line.starts_with("layerhound: error: ") || line.starts_with("layerhound: warning: "),
            "unexpected stderr line: {line}"
        );
    }
    assert_empty("spool directory", &spool);
    assert_empty("TMPDIR", &tmp);
    Run {
        code,
        stdout,
        stderr,
        peak_rss_kib,
        peak_spool_bytes,
        elapsed,
    }
}

impl Run {
    fn errors(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("layerhound: error: "))
            .collect()
    }

    fn warnings(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("layerhound: warning: "))
            .collect()
    }

    /// Peak RSS within [`MAX_RSS_KIB`].
    fn flat_memory(&self) {
        assert!(
            self.peak_rss_kib <= MAX_RSS_KIB,
            "peak RSS {} MiB is over {} MiB ({:.1} s)",
            self.peak_rss_kib >> 10,
            MAX_RSS_KIB >> 10,
            self.elapsed.as_secs_f64()
        );
    }

    /// Not one byte in the spool or TMPDIR at any sample.
    fn no_temp_disk(&self) {
        assert_eq!(
            self.peak_spool_bytes, 0,
            "the spool or TMPDIR held {} bytes at its peak",
            self.peak_spool_bytes
        );
    }

    /// Both [`Run::flat_memory`] and [`Run::no_temp_disk`].
    fn bounded(&self) {
        self.flat_memory();
        self.no_temp_disk();
    }

    /// No control character on stderr but the line ends.
    fn plain_stderr(&self) {
        if let Some(c) = self.stderr.chars().find(|&c| c.is_control() && c != '\n') {
            panic!("a raw control character {c:?} on stderr: {:?}", self.stderr);
        }
    }
}

/// A JSON scan, measured, with its report.
struct Scanned {
    run: Run,
    report: Value,
}

/// Scans `target` (`--format json --quiet`, rule database and layer results cached in
/// `cache`) with [`run_bounded`]; asserts one stderr line per summary error and per
/// reason for a skip.
fn scan_bounded(cache: &Path, target: &str, extra: &[&str]) -> Scanned {
    let cache = cache.to_str().unwrap();
    let mut args = vec![
        "scan", "--format", "json", "--quiet", "--cache", cache, target,
    ];
    args.extend_from_slice(extra);
    let run = run_bounded(&args, &[]);
    let report: Value = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr: {}", run.stderr));
    assert_eq!(
        report["summary"]["errors"].as_array().unwrap().len(),
        run.errors().len(),
        "one stderr line per summary error: {}",
        run.stderr
    );
    let skips = report["summary"]["skipped"]
        .as_object()
        .map_or(0, |m| m.len());
    assert_eq!(
        skips,
        run.warnings().len(),
        "one stderr warning per reason for a skip: {}",
        run.stderr
    );
    Scanned { run, report }
}

impl Scanned {
    /// Exactly one stderr line, an error, containing every needle.
    fn one_error(&self, needles: &[&str]) -> &str {
        let errors = self.run.errors();
        assert_eq!(errors.len(), 1, "expected one error: {}", self.run.stderr);
        assert!(self.run.warnings().is_empty(), "{}", self.run.stderr);
        for n in needles {
            assert!(errors[0].contains(n), "error lacks {n:?}: {}", errors[0]);
        }
        errors[0]
    }

    /// Exactly one stderr line, a warning, containing every needle; the reason is in
    /// summary.skipped.
    fn one_warning(&self, reason: &str, needles: &[&str]) -> &str {
        let warnings = self.run.warnings();
        assert_eq!(
            warnings.len(),
            1,
            "expected one warning: {}",
            self.run.stderr
        );
        assert!(self.run.errors().is_empty(), "{}", self.run.stderr);
        for n in [reason].iter().chain(needles) {
            assert!(
                warnings[0].contains(n),
                "warning lacks {n:?}: {}",
                warnings[0]
            );
        }
        let skipped = self.report["summary"]["skipped"].as_object().unwrap();
        assert!(
            skipped.keys().any(|k| k.contains(reason)),
            "nothing skipped for {reason:?}: {skipped:#?}"
        );
        warnings[0]
    }

    /// The place of the `rule` finding at `path`, present in layer `layer`.
    fn present(&self, rule: &str, path: &str, layer: u64) -> Value {
        let f = find(&self.report, rule, path);
        assert_eq!(f["status"], "present", "{f:#}");
        assert_eq!(f["location"]["layer_index"], layer, "{f:#}");
        f
    }
}

// ---------------------------------------------------------------------------
// Streams of gzip members
// ---------------------------------------------------------------------------

/// Bytes in one gzip member of a run of the same byte (about 16 KiB compressed).
const MEMBER: u64 = 16 << 20;

enum Part {
    Bytes(Vec<u8>),
    Fill { byte: u8, len: u64 },
}

/// An uncompressed stream given in parts, some of them gigabytes of one byte; written
/// as gzip members (one member for each part of bytes, the same member over and over
/// for a run), which a multi-member gzip decoder reads as one stream.
struct Stream(Vec<Part>);

impl Stream {
    fn new() -> Stream {
        Stream(Vec::new())
    }

    fn bytes(mut self, b: impl AsRef<[u8]>) -> Stream {
        self.0.push(Part::Bytes(b.as_ref().to_vec()));
        self
    }

    /// `len` bytes of `byte`.
    fn fill(mut self, byte: u8, len: u64) -> Stream {
        self.0.push(Part::Fill { byte, len });
        self
    }

    fn gzip(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for p in &self.0 {
            match p {
                Part::Bytes(b) => out.extend(gz(b)),
                Part::Fill { byte, len } => {
                    let member = gz(&vec![*byte; MEMBER as usize]);
                    for _ in 0..len / MEMBER {
                        out.extend_from_slice(&member);
                    }
                    if len % MEMBER > 0 {
                        out.extend(gz(&vec![*byte; (len % MEMBER) as usize]));
                    }
                }
            }
        }
        out
    }

    /// "sha256:<hex>" of the uncompressed stream: a layer's diff_id.
    fn diff_id(&self) -> String {
        let mut h = Sha256::new();
        for p in &self.0 {
            match p {
                Part::Bytes(b) => h.update(b),
                Part::Fill { byte, len } => {
                    let run = vec![*byte; MEMBER as usize];
                    for _ in 0..len / MEMBER {
                        h.update(&run);
                    }
                    h.update(&run[..(len % MEMBER) as usize]);
                }
            }
        }
        format!("sha256:{}", hex::encode(h.finalize()))
    }

    /// A gzip layer of this stream, with its true diff_id.
    fn layer(&self) -> Layer {
        Layer::raw_blob(self.gzip(), &self.diff_id()).gzip()
    }

    /// A gzip layer of this stream that is not expected to be read to its end (a
    /// diff_id that is not the stream's, not worth hashing gigabytes for).
    fn cut_layer(&self) -> Layer {
        Layer::raw_blob(self.gzip(), &fixture::sha256_digest(b"not read to the end")).gzip()
    }
}

// ---------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------

const TAG: &str = "corp/bounded:1";

/// 2.5 GiB: past 2^31, a multiple of 512.
const HUGE: u64 = 5 << 29;

/// Layer 0: an AWS key at `app/.env`; layer 1: `hostile`; layer 2 (gzip): a GitHub app
/// token at `srv/after.txt`.
fn sandwich(hostile: Layer) -> Image {
    Image::new(TAG)
        .step(
            "COPY .env /app/",
            Layer::new(vec![Entry::file(
                "app/.env",
                format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n"),
            )]),
        )
        .step("RUN hostile", hostile)
        .step(
            "COPY after.txt /srv/",
            Layer::new(vec![Entry::file(
                "srv/after.txt",
                format!("GH={GITHUB_APP}\n"),
            )])
            .gzip(),
        )
}

/// The secrets of the intact layers of [`sandwich`] are found, present.
fn intact_layers_found(s: &Scanned) {
    s.present(RULE_AWS_KEY_ID, "app/.env", 0);
    s.present(RULE_GITHUB_APP, "srv/after.txt", 2);
}

/// Writes `img` as an OCI archive at `dir/name`; returns the target and what was built.
fn write_archive(dir: &Path, name: &str, img: Image) -> (String, fixture::BuiltImage) {
    let p = dir.join(name);
    let mut built = fixture::write(Form::OciArchive, &[img], &p).unwrap();
    (format!("oci-archive:{}", p.display()), built.remove(0))
}

/// A fresh directory for the test's files, with the cache its runs share.
fn workdir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    (dir, cache)
}

/// A layer tar: an extension header of `kind` claiming [`HUGE`] bytes, which follow
/// (all `a`), then `srv/named-by-its-header.env` holding a GitHub token.
fn oversized_extension(kind: u8, name: &[u8]) -> Stream {
    Stream::new()
        .bytes(raw_header(name, kind, HUGE, b"").as_bytes())
        .fill(b'a', HUGE)
        .bytes(concat(&[
            &raw_file(
                "srv/named-by-its-header.env",
                format!("token={GITHUB_PAT}\n"),
            ),
            &END,
        ]))
}

/// Row 1 and 2: an extension header of 2.5 GiB is one error naming the image, the
/// layer and the entry it came before; that entry, under its own header's name, and
/// the layers around it are scanned; memory stays flat and nothing is spooled.
fn oversized_extension_is_one_error(kind: u8, name: &[u8], what: &str) {
    let (dir, cache) = workdir();
    let (t, built) = write_archive(
        dir.path(),
        "ext.tar",
        sandwich(oversized_extension(kind, name).layer()),
    );
    let s = scan_bounded(&cache, &t, &[]);
    assert_eq!(s.run.code, 2, "{}", s.run.stderr);
    let digest = &built.layers[1].digest;
    s.one_error(&[
        &format!("{t}: layer 1 ({}): ", &digest[..19]),
        "srv/named-by-its-header.env: ",
        &format!("{what} at byte 0 of {HUGE} bytes is over the 1024 KiB cap; not read"),
    ]);
    s.present(RULE_GITHUB_PAT, "srv/named-by-its-header.env", 1);
    intact_layers_found(&s);
    s.run.bounded();
}

// ---------------------------------------------------------------------------
// The rows
// ---------------------------------------------------------------------------

#[test]
fn a_gnu_long_name_of_gigabytes_is_one_error_and_the_rest_is_scanned() {
    oversized_extension_is_one_error(b'L', b"././@LongLink", "GNU long name");
}

#[test]
fn a_pax_header_of_gigabytes_is_one_error_and_the_rest_is_scanned() {
    oversized_extension_is_one_error(b'x', b"././@PaxHeader", "PAX extended header");
}

/// 4 GiB of zeros in a 4 MiB gzip layer, under a budget of 1 GiB.
#[test]
fn a_gzip_bomb_layer_is_cut_at_the_byte_budget_in_flat_memory() {
    let (dir, cache) = workdir();
    let bomb = Stream::new()
        .bytes(raw_header(b"data/zeros.bin", b'0', 4 << 30, b"").as_bytes())
        .fill(0, 4 << 30)
        .bytes(END);
    let (t, _) = write_archive(dir.path(), "bomb.tar", sandwich(bomb.cut_layer()));
    let reason = "--max-layer-bytes 1024 MiB";
    let s = scan_bounded(&cache, &t, &["--max-layer-bytes", "1024"]);
    assert_eq!(s.run.code, 2, "{}", s.run.stderr);
    s.one_warning(
        reason,
        &[
            "layerhound: warning: not scanned, 1 time: ",
            &format!("(first: {t}: layer 1"),
        ],
    );
    intact_layers_found(&s);
    s.run.bounded();

    // A fresh cache: the cut layer is read again, not its cached result.
    let s = scan_bounded(
        &dir.path().join("fresh-cache"),
        &t,
        &["--max-layer-bytes", "1024", "--allow-incomplete"],
    );
    assert_eq!(s.run.code, 1, "{}", s.run.stderr);
    s.one_warning(reason, &[&format!("(first: {t}: layer 1")]);
    intact_layers_found(&s);
    s.run.bounded();
}

/// A docker save, gzip-compressed, followed by 4 GiB of zeros in gzip members: read
/// as a stream up to the byte budget, never decompressed to disk. The archive itself
/// is whole before the bomb, so its images are scanned, and the cut is one warning.
#[test]
fn a_compressed_outer_archive_bomb_uses_no_temp_disk_and_flat_memory() {
    let (dir, cache) = workdir();
    let p = dir.path().join("bomb.tar.gz");
    fixture::write(
        Form::DockerClassicGzip,
        &[sandwich(Layer::new(vec![Entry::file("a", "a\n")]))],
        &p,
    )
    .unwrap();
    let mut f = fs::OpenOptions::new().append(true).open(&p).unwrap();
    f.write_all(&Stream::new().fill(0, 4 << 30).gzip()).unwrap();
    drop(f);
    let s = scan_bounded(
        &cache,
        &format!("docker-archive:{}", p.display()),
        &["--max-layer-bytes", "1024"],
    );
    assert_eq!(s.run.code, 2, "{}", s.run.stderr);
    s.one_warning(
        "the gzip archive decompresses to more than --max-layer-bytes 1024 MiB",
        &["bomb.tar.gz"],
    );
    intact_layers_found(&s);
    s.run.flat_memory();
    s.run.no_temp_disk();
}

/// One file of 4 GiB of zeros and a token at its very end, in a gzip layer of 4 MiB:
/// matched in windows as it is decoded, found with its offset, line and column.
#[test]
fn a_secret_at_the_end_of_a_4_gib_file_is_found_in_flat_memory() {
    const ZEROS: u64 = 4 << 30;
    let (dir, cache) = workdir();
    let tail = format!("token={GITHUB_PAT}\n");
    let size = ZEROS + tail.len() as u64;
    let mut rest = tail.into_bytes();
    rest.resize(size.div_ceil(512) as usize * 512 - ZEROS as usize, 0);
    rest.extend_from_slice(&END);
    let big = Stream::new()
        .bytes(raw_header(b"var/zeros.bin", b'0', size, b"").as_bytes())
        .fill(0, ZEROS)
        .bytes(rest);
    let (t, _) = write_archive(dir.path(), "big.tar", sandwich(big.layer()));
    let s = scan_bounded(&cache, &t, &[]);
    assert_eq!(s.run.code, 1, "{}", s.run.stderr);
    assert!(s.run.stderr.is_empty(), "{}", s.run.stderr);
    let f = s.present(RULE_GITHUB_PAT, "var/zeros.bin", 1);
    assert_eq!(f["location"]["offset"], ZEROS + 6, "{f:#}");
    assert_eq!(f["location"]["line"], 1, "zeros hold no newline: {f:#}");
    assert_eq!(f["location"]["column"], ZEROS + 7, "{f:#}");
    intact_layers_found(&s);
    s.run.bounded();
}

#[test]
fn a_pax_size_of_ten_to_the_thirty_is_one_error_naming_the_entry() {
    let (dir, cache) = workdir();
    let size = format!("1{}", "0".repeat(30));
    let tar = concat(&[
        &raw_file("srv/first.env", format!("token={GITHUB_PAT}\n")),
        &raw_pax(&[("size", size.as_bytes())]),
        &raw_file("srv/last.bin", "last\n"),
        &END,
    ]);
    for layer in [Layer::raw_tar(tar.clone()), Layer::raw_tar(tar).gzip()] {
        let (t, _) = write_archive(dir.path(), "pax.tar", sandwich(layer));
        let s = scan_bounded(&cache, &t, &[]);
        assert_eq!(s.run.code, 2, "{}", s.run.stderr);
        s.one_error(&[
            &format!("{t}: layer 1 ("),
            "): srv/last.bin: ",
            &format!(
                "PAX extended header at byte 1024 gives a size of {size}, not a number of bytes"
            ),
        ]);
        s.present(RULE_GITHUB_PAT, "srv/first.env", 1);
        intact_layers_found(&s);
        s.run.bounded();
    }
}

/// Pseudo-random bytes (xorshift), the same every run.
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A layer blob of exactly `data`, with the diff_id it has when read as a plain tar
/// (which is all random bytes can be read as): the one problem with it is its bytes.
fn raw_plain(data: Vec<u8>) -> Layer {
    let diff_id = fixture::sha256_digest(&data);
    Layer::raw_blob(data, &diff_id)
}

/// Every string in a JSON value.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
        Value::Object(m) => {
            for (k, v) in m {
                out.push(k.clone());
                strings(v, out);
            }
        }
        _ => {}
    }
}

#[test]
fn random_and_corrupt_layers_are_one_error_each_with_control_bytes_escaped() {
    let (dir, cache) = workdir();
    // A file named with control bytes: a token, then text; the stream breaks inside it.
    let name = "srv/\x1b[31mred\x07\x08\x7f\u{9b}.txt";
    let mut text = format!("//registry.npmjs.org/:_authToken={NPM_TOKEN}\n");
    for i in 0..20_000 {
        text.push_str(&format!(
            "line {i} of some text \x1b[0m\x07 {}\n",
            i * 7919 % 997
        ));
    }
    let tar = concat(&[
        &raw_file(name, &text),
        &raw_file("srv/second", "second\n"),
        &END,
    ]);
    let mut corrupt = gz(&tar);
    let mid = corrupt.len() / 2;
    for b in &mut corrupt[mid..mid + 64] {
        *b ^= 0x5a;
    }
    let img = Image::new(TAG)
        .step(
            "COPY .env /app/",
            Layer::new(vec![Entry::file(
                "app/.env",
                format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n"),
            )]),
        )
        .step("RUN random gzip", raw_plain(noise(1, 1 << 20)).gzip())
        .step("RUN random plain", raw_plain(noise(2, 1 << 20)))
        .step(
            "RUN corrupt gzip",
            Layer::raw_blob(corrupt, &fixture::sha256_digest(&tar)).gzip(),
        )
        .step(
            "COPY after.txt /srv/",
            Layer::new(vec![Entry::file(
                "srv/after.txt",
                format!("GH={GITHUB_APP}\n"),
            )])
            .gzip(),
        );
    let (t, _) = write_archive(dir.path(), "corrupt.tar", img);
    let s = scan_bounded(&cache, &t, &[]);
    assert_eq!(s.run.code, 2, "{}", s.run.stderr);
    let errors = s.run.errors();
    assert_eq!(errors.len(), 3, "{}", s.run.stderr);
    assert!(s.run.warnings().is_empty(), "{}", s.run.stderr);
    for layer in 1..=3 {
        let named = format!("{t}: layer {layer} (");
        let n = errors.iter().filter(|e| e.contains(&named)).count();
        assert_eq!(n, 1, "one error names {named}: {}", s.run.stderr);
    }
    s.run.plain_stderr();
    // Every message in the report is escaped; a finding's path is data, kept as the
    // image has it (the JSON text escapes it), and escaped by the pretty printer.
    let mut report = s.report.clone();
    for f in report["findings"].as_array_mut().unwrap() {
        f["location"]["path"].take();
        for p in f["places"].as_array_mut().unwrap() {
            p["location"]["path"].take();
        }
    }
    let mut all = Vec::new();
    strings(&report, &mut all);
    for st in &all {
        assert!(
            !st.chars().any(char::is_control),
            "a raw control character in the report: {st:?}"
        );
    }
    let npm = places(&s.report)
        .into_iter()
        .find(|f| f["rule_id"] == RULE_NPM)
        .expect("the token read before the gzip stream broke");
    assert_eq!(npm["location"]["layer_index"], 3, "{npm:#}");
    let pretty = run_bounded(
        &[
            "scan",
            "--format",
            "pretty",
            "--quiet",
            "--cache",
            cache.to_str().unwrap(),
            &t,
        ],
        &[],
    );
    assert_eq!(pretty.code, 2, "{}", pretty.stderr);
    let text = String::from_utf8(pretty.stdout.clone()).unwrap();
    assert!(text.contains("srv/\\u{1b}[31mred"), "{text}");
    if let Some(c) = text.chars().find(|&c| c.is_control() && c != '\n') {
        panic!("a raw control character {c:?} in the pretty report: {text:?}");
    }
    pretty.plain_stderr();
    s.present(RULE_AWS_KEY_ID, "app/.env", 0);
    s.present(RULE_GITHUB_APP, "srv/after.txt", 4);
    s.run.bounded();
}

#[test]
fn a_layer_digest_that_climbs_out_fails_that_layer_only() {
    let (dir, cache) = workdir();
    let img = sandwich(Layer::new(vec![Entry::file(
        "srv/token.txt",
        format!("token={GITHUB_PAT}\n"),
    )]));
    let oci = dir.path().join("oci");
    let built = fixture::write(Form::OciDir, &[img], &oci).unwrap();
    edit_manifest(&oci, &built[0], |m| {
        m["layers"][1]["digest"] = json!("sha256:../../x")
    });
    let t = format!("oci:{}", oci.display());
    let s = scan_bounded(&cache, &t, &[]);
    assert_eq!(s.run.code, 2, "{}", s.run.stderr);
    s.one_error(&[&t, "layer 1", "invalid digest", "sha256:../../x"]);
    intact_layers_found(&s);
    assert!(
        !places(&s.report)
            .iter()
            .any(|f| f["rule_id"] == RULE_GITHUB_PAT),
        "nothing read through a bad digest"
    );
    s.run.bounded();
}

/// The sampler's own check: a jar of 40 MiB in a compressed layer is read by random
/// access, so it does go to the spool (and is gone after); the samples see it. Without
/// this, a sampler that never saw anything would pass every "no temp disk" above.
#[test]
fn the_spool_sampler_sees_a_spooled_jar() {
    let (dir, cache) = workdir();
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(false);
    w.start_file("big.bin", opts).unwrap();
    w.write_all(&vec![7u8; 40 << 20]).unwrap();
    w.start_file("app.properties", opts).unwrap();
    w.write_all(format!("token={GITHUB_PAT}\n").as_bytes())
        .unwrap();
    let jar = w.finish().unwrap().into_inner();
    let (t, _) = write_archive(
        dir.path(),
        "jar.tar",
        sandwich(Layer::new(vec![Entry::file("srv/app.jar", &jar)]).gzip()),
    );
    let s = scan_bounded(&cache, &t, &[]);
    assert_eq!(s.run.code, 1, "{}", s.run.stderr);
    assert!(s.run.stderr.is_empty(), "{}", s.run.stderr);
    let f = s.present(RULE_GITHUB_PAT, "srv/app.jar", 1);
    assert_eq!(
        f["location"]["nested"],
        json!(["srv/app.jar", "app.properties"])
    );
    intact_layers_found(&s);
    assert!(
        s.run.peak_spool_bytes >= jar.len() as u64,
        "the spooled jar was not seen: peak {} bytes",
        s.run.peak_spool_bytes
    );
    s.run.flat_memory();
}
