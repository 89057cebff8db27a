//! The whole pipeline: the input as an image (bit 0 of the first byte: a whole archive
//! or a layout built from the input's documents, see `layout_tar`; bit 1: docker save or
//! OCI) through `scan::run` with every built-in rule and small caps, then every report
//! format. Besides not panicking: the summary agrees with the findings, a finding that
//! is not present names the layer that removed it, and the spool is gone afterwards.
#![no_main]

use layerhound::matcher::Matcher;
use layerhound::overlay::Status;
use layerhound::report::{self, Format, ReportOptions};
use layerhound::rules::RuleSet;
use layerhound::scan::{self, Options};
use layerhound_fuzz::{CAPS, input_file, mode_and_archive, scratch_dir, spool};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn matcher() -> &'static Matcher {
    static M: OnceLock<Matcher> = OnceLock::new();
    M.get_or_init(|| {
        let rules = RuleSet::builtin().expect("built-in rules");
        let cache = concat!(env!("CARGO_MANIFEST_DIR"), "/target/rule-cache");
        Matcher::with_cache(rules, Some(std::path::Path::new(cache))).expect("matcher")
    })
}

fuzz_target!(|data: &[u8]| {
    let docker = |mode: u8| mode & 2 != 0;
    let Some((mode, archive)) = mode_and_archive(data, |mode| {
        if docker(mode) {
            "manifest.json"
        } else {
            "index.json"
        }
    }) else {
        return;
    };
    let transport = if docker(mode) {
        "docker-archive"
    } else {
        "oci-archive"
    };
    let inputs = spool();
    let file = input_file(&inputs, &archive);
    let target = format!("{transport}:{}", file.path().display());
    let parent =
        tempfile::tempdir_in(scratch_dir().unwrap_or(&std::env::temp_dir())).expect("spool parent");
    let opts = Options {
        spool_dir: Some(parent.path().to_path_buf()),
        layer_caps: CAPS,
        limits: layerhound::content::Limits {
            max_depth: 2,
            max_bytes: 1 << 20,
            max_ratio: 50,
            max_entries: 64,
        },
        ..Options::default()
    };
    let outcome = scan::run(&[target], matcher(), &opts);
    assert_eq!(
        std::fs::read_dir(parent.path())
            .expect("spool parent")
            .count(),
        0,
        "spool left behind"
    );
    assert_eq!(outcome.summary.findings, outcome.findings.len());
    for f in &outcome.findings {
        let removed = f.removed_by.is_some();
        assert_eq!(
            removed,
            !matches!(f.status, Status::Present | Status::Metadata),
            "{f:?}"
        );
    }
    for format in [Format::Pretty, Format::Json, Format::Jsonl] {
        let ropts = ReportOptions {
            format,
            reveal: mode & 4 != 0,
            color: mode & 8 != 0,
            width: usize::from(mode >> 4) * 10,
            run: Default::default(),
        };
        report::write(&mut std::io::sink(), &outcome, &ropts).expect("report to a sink");
    }
});
