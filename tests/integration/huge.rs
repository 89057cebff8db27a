//! A secret at the end of a file larger than 1 GiB is found, with its line, while the
//! file is streamed through the spool and scanned in released pieces (peak memory is
//! measured by bench/huge-entry.sh, not timed here).

use crate::fixture;
use crate::support::*;

#[test]
fn secret_at_the_end_of_a_huge_entry() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("huge");
    let size: u64 = (1 << 30) + (64 << 20) + 12_345;
    let tail = format!("final token={GITHUB_PAT}");
    let (line, column) = fixture::write_huge_oci(&img, "var/log/huge.log", size, &tail).unwrap();
    let (code, r, stderr) = scan_json(&format!("oci:{}", img.display()), &[]);
    assert_eq!(code, 1, "{stderr}");
    let f = find(&r, RULE_GITHUB_PAT, "var/log/huge.log");
    let tail_start = size - tail.len() as u64 - 1;
    assert_eq!(f["location"]["offset"], tail_start + 12);
    assert_eq!(f["location"]["line"], line);
    assert_eq!(f["location"]["column"], column + 12);
    assert!(line > 10_000_000, "{line}");
    assert!(r["summary"]["bytes_scanned"].as_u64().unwrap() > size);

    // The same layer under a ratio cap of 1 (which never caps below 1 GiB): scanned up to
    // the cap, the token past it not reached, the cut counted.
    let (code, r, stderr) = scan_json(
        &format!("oci:{}", img.display()),
        &["--max-layer-ratio", "1"],
    );
    assert_eq!(code, 0, "{stderr}");
    let skipped = r["summary"]["skipped"].as_object().unwrap();
    assert!(
        skipped.keys().any(|k| k.contains("--max-layer-ratio 1x")),
        "{skipped:#?}"
    );
    assert_eq!(r["summary"]["bytes_scanned"].as_u64().unwrap(), 1 << 30);
}
