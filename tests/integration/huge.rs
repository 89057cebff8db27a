//! A secret at the end of a file larger than 1 GiB is found, with its line, while the
//! file is matched in windows as it is decoded (peak memory is asserted by the
//! `bounded` tests and measured by bench/huge-entry.sh, not timed here).

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

    // The same layer under a byte budget of 1 GiB: read up to the budget, the token
    // past it not reached, the cut said and the scan incomplete.
    let (code, r, stderr) = scan_json(
        &format!("oci:{}", img.display()),
        &["--max-layer-bytes", "1024"],
    );
    assert_eq!(code, 2, "{stderr}");
    let skipped = r["summary"]["skipped"].as_object().unwrap();
    assert!(
        skipped
            .keys()
            .any(|k| k.contains("--max-layer-bytes 1024 MiB")),
        "{skipped:#?}"
    );
    assert!(
        stderr.contains("layerhound: warning: not scanned"),
        "{stderr}"
    );
    assert_eq!(r["summary"]["bytes_scanned"].as_u64().unwrap(), 1 << 30);
}
