//! The human-readable report: per image a header, findings grouped by layer with the
//! build step that made it, a status for each, and a closing summary line.

use super::ReportOptions;
use crate::finding::Finding;
use crate::overlay::Status;
use crate::scan::Outcome;
use crate::util::short_digest;
use std::io::{self, Write};

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

pub(super) fn write(
    out: &mut dyn Write,
    outcome: &Outcome,
    findings: &[Finding],
    opts: &ReportOptions,
) -> io::Result<()> {
    let p = Paint { on: opts.color };
    let width = opts.width.max(60);
    for img in &outcome.images {
        let mine: Vec<&Finding> = findings
            .iter()
            .filter(|f| {
                f.image == img.image && f.reference == img.reference && f.platform == img.platform
            })
            .collect();
        let total: u64 = img.layers.iter().map(|l| l.size).sum();
        writeln!(
            out,
            "{} {} {}",
            p.bold(img.reference.as_deref().unwrap_or("(untagged)")),
            img.platform,
            p.dim(&format!(
                "· {} · {} layers · {}",
                img.image,
                img.layers.len(),
                human_bytes(total)
            ))
        )?;
        if mine.is_empty() {
            writeln!(out, "  no secrets found\n")?;
            continue;
        }
        let mut current: Option<Option<usize>> = None;
        for f in &mine {
            let layer = f.location.layer_index;
            if current != Some(layer) {
                current = Some(layer);
                match layer {
                    Some(i) => {
                        let step = f
                            .location
                            .created_by
                            .as_deref()
                            .unwrap_or("(no build step recorded)");
                        let digest = f
                            .location
                            .layer_digest
                            .as_deref()
                            .map(short_digest)
                            .unwrap_or_default();
                        let head = format!("  layer {i} ");
                        let room = width.saturating_sub(head.len() + digest.len() + 3);
                        writeln!(
                            out,
                            "{}{}  {}",
                            p.bold(&head),
                            shorten(step, room.max(20)),
                            p.dim(&digest)
                        )?;
                    }
                    None => writeln!(out, "{}", p.bold("  image metadata"))?,
                }
            }
            let place = match (&f.location.path, &f.location.field) {
                (Some(path), _) => format!("{path}:{}:{}", f.location.line, f.location.column),
                (None, Some(field)) => format!("{field}:{}", f.location.column),
                _ => String::new(),
            };
            let status = match (&f.removed_by, f.status) {
                (Some(rb), st) => {
                    let step = rb
                        .created_by
                        .as_deref()
                        .map(|s| format!(": {}", shorten(s, 48)))
                        .unwrap_or_default();
                    format!(
                        "{} in layer {}{}",
                        p.status(st),
                        rb.layer_index,
                        p.dim(&step)
                    )
                }
                (None, st) => p.status(st),
            };
            writeln!(out, "    {status}  {place}")?;
            writeln!(
                out,
                "      {} {}  {}",
                f.rule_name,
                p.dim(&format!("({}, {})", f.rule_id, f.confidence.as_str())),
                f.secret
            )?;
            if !f.location.links.is_empty() {
                writeln!(
                    out,
                    "      {}",
                    p.dim(&format!("also linked at: {}", f.location.links.join(", ")))
                )?;
            }
        }
        writeln!(out)?;
    }
    let s = &outcome.summary;
    let by: Vec<String> = Status::ALL
        .iter()
        .filter_map(|st| {
            s.by_status
                .get(st.as_str())
                .map(|n| format!("{n} {}", st.as_str()))
        })
        .collect();
    let line = format!(
        "{} finding{}{} in {} image{}, {} layer{}, {} scanned{}",
        s.findings,
        if s.findings == 1 { "" } else { "s" },
        if by.is_empty() {
            String::new()
        } else {
            format!(" ({})", by.join(", "))
        },
        s.images,
        if s.images == 1 { "" } else { "s" },
        s.layers,
        if s.layers == 1 { "" } else { "s" },
        human_bytes(s.bytes_scanned),
        if s.errors.is_empty() {
            String::new()
        } else {
            format!(
                "; {} error{}",
                s.errors.len(),
                if s.errors.len() == 1 { "" } else { "s" }
            )
        },
    );
    writeln!(out, "{}", p.bold(&line))
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
}
