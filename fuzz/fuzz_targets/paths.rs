//! Path normalisation and whiteout helpers, with their invariants: a normalised path
//! has no empty, `.` or `..` component and no leading `/`; normalising is idempotent;
//! `parent`/`file_name`/`join` take a path apart and back together; `is_whiteout` is
//! about the last component only; `display_bytes` keeps UTF-8 and escapes the rest.
#![no_main]

use layerhound::overlay::is_whiteout;
use layerhound::util::{display_bytes, file_name, join, normalize_path, parent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let n = normalize_path(data);
    assert!(!n.starts_with(b"/"));
    assert!(!n.ends_with(b"/"));
    for comp in n.split(|&b| b == b'/') {
        if n.is_empty() {
            break;
        }
        assert!(!comp.is_empty() && comp != b"." && comp != b"..", "{n:?}");
    }
    assert_eq!(normalize_path(&n), n);
    if !n.is_empty() {
        let p = parent(&n).expect("a non-empty path has a parent");
        let name = file_name(&n);
        assert!(!name.is_empty());
        assert_eq!(join(p, name), n);
        assert_eq!(is_whiteout(&n), name.starts_with(b".wh."));
        let slash = [n.as_slice(), b"/"].concat();
        assert_eq!(normalize_path(&slash), n);
    } else {
        assert_eq!(parent(&n), None);
    }
    let shown = display_bytes(data);
    if let Ok(s) = std::str::from_utf8(data) {
        assert_eq!(shown, s);
    } else if !data.contains(&b'\\') {
        assert_eq!(unescape(&shown), data);
    }
});

/// Undoes `display_bytes` for text without backslashes of its own.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') && i + 4 <= b.len() {
            let hex = std::str::from_utf8(&b[i + 2..i + 4]).expect("ascii");
            out.push(u8::from_str_radix(hex, 16).expect("two hex digits"));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}
