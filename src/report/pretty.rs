//! The human-readable report: per image a header, findings grouped by layer with the
//! build step that made it, a status for each, and a closing summary line.

use super::ReportOptions;
use crate::finding::Finding;
use crate::outcome::Outcome;
use crate::overlay::Status;
use crate::util::short_digest;
use std::io::{self, Write};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    fn status(&self, st: Status) -> String {
        let code = match st {
            Status::Present => "1;31",
            Status::Metadata => "1;35",
            _ => "33",
        };
        self.wrap(code, st.as_str())
    }
}

/// Shortens `s` to `max` characters with an ellipsis, on one line.
pub fn shorten(s: &str, max: usize) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= max {
        return one;
    }
    let keep = max.saturating_sub(1);
    format!("{}…", one.chars().take(keep).collect::<String>())
}

pub(super) fn human_bytes(n: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < U.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

/// Display width in terminal columns.
fn cols(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Text from the image (paths, build steps, references, secrets) with its control
/// characters escaped, so a hostile image cannot drive the terminal; on one line.
fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The first characters of `s` that fit in `max` columns.
fn head_cols(s: &str, max: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += UnicodeWidthChar::width(c).unwrap_or(0);
        if used > max {
            return &s[..i];
        }
    }
    s
}

/// The last characters of `s` that fit in `max` columns.
fn tail_cols(s: &str, max: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices().rev() {
        used += UnicodeWidthChar::width(c).unwrap_or(0);
        if used > max {
            return &s[i + c.len_utf8()..];
        }
    }
    s
}

/// `s` in at most `max` columns: cut at the end, with `…`.
fn fit_end(s: &str, max: usize) -> String {
    if cols(s) <= max {
        return s.to_string();
    }
    format!("{}…", head_cols(s, max.saturating_sub(1)))
}

/// `s` in at most `max` columns: cut in the middle, with `…`, keeping more of the end
/// (a path's file name, the line and column).
fn fit_middle(s: &str, max: usize) -> String {
    if cols(s) <= max {
        return s.to_string();
    }
    let room = max.saturating_sub(1);
    let front = room / 3;
    format!("{}…{}", head_cols(s, front), tail_cols(s, room - front))
}

/// A build step as people read it: whitespace collapsed, the `/bin/sh -c` and `#(nop)`
/// wrappers of the classic builder and BuildKit's `# buildkit` note left out.
pub(super) fn step_text(step: &str) -> String {
    let one = clean(&step.split_whitespace().collect::<Vec<_>>().join(" "));
    let one = one.strip_suffix(" # buildkit").unwrap_or(&one);
    if let Some(rest) = one.strip_prefix("/bin/sh -c #(nop) ") {
        return rest.trim_start().to_string();
    }
    if let Some(rest) = one.strip_prefix("/bin/sh -c ") {
        return format!("RUN {rest}");
    }
    if let Some(rest) = one.strip_prefix("RUN /bin/sh -c ") {
        return format!("RUN {rest}");
    }
    one.to_string()
}

/// Words of `text` in lines of at most `max` columns (a longer word stands alone).
fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && cols(&line) + 1 + cols(word) > max {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Narrowest width laid out for; a narrower terminal wraps.
const MIN_WIDTH: usize = 60;
/// Columns the build step of a removing layer needs to stand beside the path.
const MIN_STEP: usize = 16;

pub(super) fn write(
    out: &mut dyn Write,
    outcome: &Outcome,
    findings: &[Finding],
    opts: &ReportOptions,
) -> io::Result<()> {
    let p = Paint { on: opts.color };
    let w = opts.width.max(MIN_WIDTH);
    for img in &outcome.images {
        let mine: Vec<&Finding> = findings
            .iter()
            .filter(|f| {
                f.image == img.image && f.reference == img.reference && f.platform == img.platform
            })
            .collect();
        write_image_header(out, &p, w, img, mine.len())?;
        if mine.is_empty() {
            let sup = &outcome.summary.suppressed;
            let set_aside = sup.baseline
                + sup.ignored
                + sup.package_files
                + sup.third_party
                + sup.excluded_paths;
            if set_aside == 0 {
                writeln!(out, "  no secrets found\n")?;
            } else {
                writeln!(out, "  no findings to report\n")?;
            }
            continue;
        }
        let mut current: Option<Option<usize>> = None;
        for f in &mine {
            let layer = f.location.layer_index;
            if current != Some(layer) {
                current = Some(layer);
                match layer {
                    Some(i) => write_layer_header(out, &p, w, i, f)?,
                    None => writeln!(out, "  {}", p.bold("image metadata"))?,
                }
            }
            write_finding(out, &p, w, f)?;
        }
        writeln!(out)?;
    }
    // What the statuses found mean, then the summary, last.
    let mut explained = false;
    for (status, meaning) in STATUS_MEANINGS {
        if outcome.summary.by_status.contains_key(status.as_str()) {
            for line in wrap(&format!("{}: {meaning}", status.as_str()), w) {
                writeln!(out, "{}", p.dim(&line))?;
            }
            explained = true;
        }
    }
    if explained {
        writeln!(out)?;
    }
    for line in lay_out(&summary_clauses(&outcome.summary), w) {
        writeln!(out, "{}", p.bold(&line))?;
    }
    Ok(())
}

/// What each status means, said under the summary for the statuses it counts.
const STATUS_MEANINGS: [(Status, &str); 3] = [
    (
        Status::Deleted,
        "a later layer deleted the file, but the layer that added it still holds it: \
         anyone who pulls the image can extract it. Rotate the secret.",
    ),
    (
        Status::Overwritten,
        "a later layer replaced the file, but the earlier layer still holds the old one.",
    ),
    (
        Status::Opaque,
        "a later layer replaced the whole directory (an opaque whiteout); the earlier \
         layer still holds the file.",
    ),
];

/// `corp/app:1.2  linux/amd64 · 4 layers · 15.0 KiB · 5 findings`, then the input.
fn write_image_header(
    out: &mut dyn Write,
    p: &Paint,
    w: usize,
    img: &crate::outcome::ImageInfo,
    findings: usize,
) -> io::Result<()> {
    let total: u64 = img.layers.iter().map(|l| l.size).sum();
    let facts = format!(
        " · {} · {} · {}",
        plural(img.layers.len(), "layer", "layers"),
        human_bytes(total),
        plural(findings, "finding", "findings")
    );
    let platform = clean(&img.platform);
    let reference = clean(img.reference.as_deref().unwrap_or("(untagged)"));
    if cols(&reference) + 2 + cols(&platform) + cols(&facts) <= w {
        writeln!(out, "{}  {}{}", p.bold(&reference), platform, p.dim(&facts))?;
    } else {
        // A long reference gets a line of its own.
        writeln!(out, "{}", p.bold(&fit_middle(&reference, w)))?;
        writeln!(
            out,
            "{}{}",
            platform,
            p.dim(&fit_end(&facts, w - cols(&platform)))
        )?;
    }
    writeln!(out, "{}\n", p.dim(&fit_middle(&clean(&img.image), w)))
}

/// `  layer 3  RUN echo … > /root/.npmrc  sha256:a03889c04a24`
fn write_layer_header(
    out: &mut dyn Write,
    p: &Paint,
    w: usize,
    index: usize,
    f: &Finding,
) -> io::Result<()> {
    let step = f
        .location
        .created_by
        .as_deref()
        .map(step_text)
        .unwrap_or_else(|| "(no build step recorded)".into());
    let digest = f
        .location
        .layer_digest
        .as_deref()
        .map(short_digest)
        .unwrap_or_default();
    let head = format!("layer {index}");
    let room = w.saturating_sub(2 + cols(&head) + 2 + 2 + cols(&digest));
    writeln!(
        out,
        "  {}  {}  {}",
        p.bold(&head),
        fit_end(&step, room),
        p.dim(&digest)
    )
}

/// The status badge and place, the rule and secret, and the other names of the file.
/// `app/.env:2:19`, `archive.zip → inner/.env:1:5` or `Env[3]:17`.
fn place_text(loc: &crate::finding::Location) -> String {
    match (&loc.path, &loc.field) {
        (Some(path), _) => {
            let file = if loc.nested.is_empty() {
                clean(path)
            } else {
                clean(&loc.nested.join(" → "))
            };
            format!("{file}:{}:{}", loc.line, loc.column)
        }
        (None, Some(field)) => format!(
            "{}, col {}",
            clean(loc.field_name.as_deref().unwrap_or(field)),
            loc.column
        ),
        _ => String::new(),
    }
}

/// Most other places of one secret listed under it; the rest are counted.
const MAX_PLACES_SHOWN: usize = 8;

fn write_finding(out: &mut dyn Write, p: &Paint, w: usize, f: &Finding) -> io::Result<()> {
    let loc = &f.location;
    let place = place_text(loc);
    // Line 1: `deleted in layer 2: RUN rm …  app/.env:2:19`.
    let status = f.status.as_str();
    let removed = f.removed_by.as_ref().map(|rb| {
        (
            format!(" in layer {}", rb.layer_index),
            rb.created_by.as_deref().map(step_text),
        )
    });
    let avail = w - 4;
    let badge_cols = cols(status) + removed.as_ref().map_or(0, |(r, _)| cols(r));
    let place = fit_middle(&place, avail.saturating_sub(badge_cols + 2).max(24));
    let step_room = avail.saturating_sub(badge_cols + 2 + 2 + cols(&place));
    let mut step_below = None;
    let mut line = format!("    {}", p.status(f.status));
    if let Some((in_layer, step)) = &removed {
        line.push_str(in_layer);
        if let Some(step) = step {
            if cols(step) <= step_room || step_room >= MIN_STEP {
                line.push_str(&p.dim(&format!(": {}", fit_end(step, step_room))));
            } else {
                step_below = Some(step);
            }
        }
    }
    writeln!(out, "{line}  {place}")?;
    if let Some(step) = step_below {
        let lead = "by: ";
        writeln!(
            out,
            "      {}",
            p.dim(&format!("{lead}{}", fit_end(step, w - 6 - cols(lead))))
        )?;
    }
    // Line 2: `AWS access key ID (aws-access-key-id, high)  AKIA…`; a secret too long to
    // stand beside the rule (shown with --reveal) gets a line of its own.
    let meta = format!("({}, {})", f.rule_id, f.confidence.as_str());
    // The secret as shown, and the start of its value fingerprint, which tells two
    // secrets of one kind apart and names it in an ignore file.
    let short_fp: String = f
        .value_fingerprint
        .trim_start_matches("sha256:")
        .chars()
        .take(8)
        .collect();
    let secret = format!("{}  {short_fp}", clean(&f.secret));
    let avail = w - 6;
    let name = clean(&f.rule_name);
    let beside = cols(&name) + 1 + cols(&meta) + 2 + cols(&secret) <= avail
        || cols(&meta) + 2 + cols(&secret) + 13 <= avail;
    let name_room = if beside {
        avail.saturating_sub(1 + cols(&meta) + 2 + cols(&secret))
    } else {
        avail.saturating_sub(1 + cols(&meta))
    };
    let rule = format!("{} {}", fit_end(&name, name_room.max(12)), p.dim(&meta));
    if beside {
        writeln!(out, "      {rule}  {secret}")?;
    } else {
        writeln!(out, "      {rule}")?;
        writeln!(out, "        {secret}")?;
    }
    if !loc.links.is_empty() {
        let links = format!("also linked at: {}", clean(&loc.links.join(", ")));
        writeln!(out, "      {}", p.dim(&fit_end(&links, w - 6)))?;
    }
    if let Some(pk) = &f.package {
        let text = format!(
            "{} package {} {}: {}",
            pk.ecosystem,
            clean(&pk.name),
            clean(&pk.version),
            pk.reason
        );
        writeln!(out, "      {}", p.dim(&fit_end(&text, w - 6)))?;
    }
    if let Some(k) = &f.test_key {
        let text = format!("known public test key: {}", clean(k));
        writeln!(out, "      {}", p.dim(&fit_end(&text, w - 6)))?;
    }
    // The same secret elsewhere in the image: `also deleted, layer 1: root/.npmrc:1:5`.
    for pl in f.places.iter().skip(1).take(MAX_PLACES_SHOWN) {
        let layer = pl
            .location
            .layer_index
            .map_or("config".to_string(), |i| format!("layer {i}"));
        let text = format!(
            "also {}, {layer}: {}",
            pl.status.as_str(),
            place_text(&pl.location)
        );
        writeln!(out, "      {}", p.dim(&fit_middle(&text, w - 6)))?;
    }
    let more = f.places.len().saturating_sub(1 + MAX_PLACES_SHOWN);
    if more > 0 {
        let text = format!(
            "and {} (all in JSON)",
            plural(more, "more place", "more places")
        );
        writeln!(out, "      {}", p.dim(&text))?;
    }
    Ok(())
}

/// The closing summary in clauses that are kept whole on a line when they fit:
/// `5 findings (1 present, …)`, `in 1 image, 4 layers, 15.0 KiB scanned`, `set aside: …`.
pub(super) fn summary_clauses(s: &crate::outcome::Summary) -> Vec<String> {
    let by: Vec<String> = Status::ALL
        .iter()
        .filter_map(|st| {
            s.by_status
                .get(st.as_str())
                .map(|n| format!("{n} {}", st.as_str()))
        })
        .collect();
    let mut clauses = vec![
        format!(
            "{}{}",
            plural(s.findings, "finding", "findings"),
            if by.is_empty() {
                String::new()
            } else {
                format!(" ({})", by.join(", "))
            }
        ),
        format!(
            "in {}, {}, {} scanned",
            plural(s.images, "image", "images"),
            plural(s.layers, "layer", "layers"),
            human_bytes(s.bytes_scanned),
        ),
    ];
    let sup = &s.suppressed;
    let aside: Vec<String> = [
        (sup.baseline, "in the baseline"),
        (sup.ignored, "ignored"),
        (sup.package_files, "in package files"),
        (sup.third_party, "generic in third-party code"),
        (sup.excluded_paths, "by --exclude-path"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, why)| format!("{n} {why}"))
    .collect();
    if !aside.is_empty() {
        clauses.push(format!("set aside: {}", aside.join(", ")));
    }
    if !s.errors.is_empty() {
        clauses.push(plural(s.errors.len(), "error", "errors"));
    }
    // `…scanned; set aside: …; 1 error`
    let n = clauses.len();
    for c in clauses.iter_mut().take(n - 1).skip(1) {
        c.push(';');
    }
    clauses
}

/// Clauses joined on lines of at most `max` columns; a clause longer than a line is
/// wrapped by words.
fn lay_out(clauses: &[String], max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for c in clauses {
        match lines.last_mut() {
            Some(l) if cols(l) + 1 + cols(c) <= max => {
                l.push(' ');
                l.push_str(c);
            }
            _ => lines.extend(wrap(c, max)),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_long_steps() {
        assert_eq!(
            shorten("RUN  apt-get\n install x", 100),
            "RUN apt-get install x"
        );
        assert_eq!(shorten("abcdefghij", 5), "abcd…");
    }

    #[test]
    fn fitting_counts_columns() {
        assert_eq!(fit_end("abcdefghij", 5), "abcd…");
        assert_eq!(fit_end("abc", 5), "abc");
        assert_eq!(
            fit_middle("usr/share/doc/pkg/file.txt:2:3", 16),
            "usr/s…le.txt:2:3"
        );
        assert_eq!(cols(&fit_middle("usr/share/doc/pkg/file.txt:2:3", 16)), 16);
        // Wide characters take two columns.
        assert_eq!(fit_end("日本語のパス", 5), "日本…");
    }

    #[test]
    fn build_steps_read_as_written() {
        assert_eq!(step_text("/bin/sh -c #(nop)  ENV A=1"), "ENV A=1");
        assert_eq!(step_text("/bin/sh -c apt-get update"), "RUN apt-get update");
        assert_eq!(step_text("RUN /bin/sh -c make # buildkit"), "RUN make");
        assert_eq!(step_text("COPY a\n b # buildkit"), "COPY a b");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(clean("a\x1b[31mb\n"), "a\\u{1b}[31mb\\n");
    }

    #[test]
    fn wrapping_keeps_words() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("aaaaaaa b", 5), ["aaaaaaa", "b"]);
    }
}
