//! The HTML report: one self-contained page that opens offline. Inline CSS and JS only,
//! allowed by their hashes in a Content-Security-Policy that forbids every fetch. It
//! shows the run's summary, a layer timeline per image (which layer added each secret,
//! the layers that still carry it, the layer that removed it), the image-config
//! findings, and a findings table with status, rule and layer filters. Every string
//! taken from an image (paths, build steps, secrets, config fields) is HTML-escaped;
//! the table and timeline are rendered here, so the page reads without JS.

use super::pretty::{human_bytes, shorten};
use crate::finding::Finding;
use crate::outcome::{ImageInfo, Outcome, Summary};
use crate::overlay::Status;
use crate::util::short_digest;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{self, Write};

const STYLE: &str = include_str!("html.css");
const SCRIPT: &str = include_str!("html.js");

/// Build steps longer than this are shortened, with the full text one click away.
const STEP_CHARS: usize = 90;

/// Text made safe for HTML element content and double-quoted attribute values.
/// Control characters other than tab and newline become U+FFFD.
struct Esc<'a>(&'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(|c: char| {
            matches!(c, '&' | '<' | '>' | '"' | '\'') || (c.is_control() && c != '\n' && c != '\t')
        }) {
            f.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().unwrap_or('\u{fffd}');
            f.write_str(match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => "\u{fffd}",
            })?;
            rest = &rest[i + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// `'sha256-…'`, a CSP source allowing exactly this inline text.
fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Where one finding sits on its image's timeline.
#[derive(Clone, Copy)]
struct Life {
    /// Row number of the finding (`f-N`).
    id: usize,
    status: Status,
    added: usize,
    /// The removing layer; `None` while still present.
    removed: Option<usize>,
}

impl Life {
    /// The lane's mark in layer row `row` (`None` = the final-image row).
    fn mark(&self, row: Option<usize>) -> Option<&'static str> {
        match (row, self.removed) {
            (None, None) => Some("final"),
            (None, Some(_)) => None,
            (Some(r), _) if r < self.added => None,
            (Some(r), _) if r == self.added => Some("add"),
            (Some(r), Some(end)) if r == end => Some("remove"),
            (Some(r), Some(end)) if r > end => None,
            _ => Some("live"),
        }
    }
    /// The last row the lifeline occupies (`usize::MAX` = through the final row).
    fn until(&self) -> usize {
        match self.removed {
            Some(end) if end > self.added => end,
            Some(_) => self.added,
            None => usize::MAX,
        }
    }
}

/// Lanes (columns) for lifelines: a lane is reused once the lifeline in it has ended.
fn assign_lanes(lives: &[Life]) -> Vec<Vec<Life>> {
    let mut order: Vec<&Life> = lives.iter().collect();
    order.sort_by_key(|l| (l.added, l.id));
    let mut lanes: Vec<Vec<Life>> = Vec::new();
    for life in order {
        match lanes
            .iter_mut()
            .find(|lane| lane.last().is_some_and(|prev| prev.until() < life.added))
        {
            Some(lane) => lane.push(*life),
            None => lanes.push(vec![*life]),
        }
    }
    lanes
}

/// The shown place of a finding: `path:line:col` (with nested members), or `field:col`.
fn place(f: &Finding) -> String {
    place_of(&f.location)
}

/// The shown form of one location.
fn place_of(l: &crate::finding::Location) -> String {
    match (&l.path, &l.field) {
        (Some(path), _) => {
            let chain = if l.nested.is_empty() {
                path.clone()
            } else {
                l.nested.join(" → ")
            };
            format!("{chain}:{}:{}", l.line, l.column)
        }
        (None, Some(field)) => format!(
            "{}, col {}",
            l.field_name.as_deref().unwrap_or(field),
            l.column
        ),
        (None, None) => String::new(),
    }
}

fn status_class(st: Status) -> &'static str {
    match st {
        Status::Present => "st-present",
        Status::Deleted => "st-deleted",
        Status::Overwritten => "st-overwritten",
        Status::Opaque => "st-opaque",
        Status::Metadata => "st-metadata",
    }
}

struct Page<'a> {
    outcome: &'a Outcome,
    findings: &'a [Finding],
    /// Image index of each finding, by finding position.
    image_of: Vec<Option<usize>>,
    reveal: bool,
    run: &'a super::RunInfo,
}

pub(super) fn write(
    out: &mut dyn Write,
    outcome: &Outcome,
    findings: &[Finding],
    reveal: bool,
    run: &super::RunInfo,
) -> io::Result<()> {
    let image_of = findings
        .iter()
        .map(|f| {
            outcome.images.iter().position(|img| {
                f.image == img.image && f.reference == img.reference && f.platform == img.platform
            })
        })
        .collect();
    let page = Page {
        outcome,
        findings,
        image_of,
        reveal,
        run,
    };
    page.write(out)
}

impl Page<'_> {
    fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let csp = format!(
            "default-src 'none'; style-src {}; script-src {}; img-src data:; base-uri 'none'; form-action 'none'",
            csp_hash(STYLE),
            csp_hash(SCRIPT)
        );
        let title = match self.outcome.images.as_slice() {
            [one] => format!(
                "layerhound: {}",
                one.reference.as_deref().unwrap_or(&one.image)
            ),
            _ => "layerhound report".to_string(),
        };
        write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
             <meta name=\"referrer\" content=\"no-referrer\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"generator\" content=\"layerhound {version}\">\n\
             <link rel=\"icon\" href=\"data:,\">\n\
             <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
            csp = Esc(&csp),
            version = env!("CARGO_PKG_VERSION"),
            title = Esc(&title),
        )?;
        self.header(out)?;
        self.summary(out, &self.outcome.summary)?;
        for (i, img) in self.outcome.images.iter().enumerate() {
            self.image(out, i, img)?;
        }
        self.table(out)?;
        write!(
            out,
            "<footer>Generated by layerhound {} from {}. Secrets are {}. This page is self-contained: \
             it loads nothing from the network or the disk.</footer>\n\
             <script>{SCRIPT}</script>\n</body>\n</html>\n",
            env!("CARGO_PKG_VERSION"),
            plural(self.outcome.images.len(), "image", "images"),
            if self.reveal {
                "shown in full (--reveal): handle this file as a secret"
            } else {
                "redacted to their first 4 characters (and their last 4 when they have 16 or more)"
            },
        )
    }

    fn header(&self, out: &mut dyn Write) -> io::Result<()> {
        let s = &self.outcome.summary;
        if self.reveal {
            writeln!(
                out,
                "<p class=\"reveal-warning\" id=\"reveal-warning\"><b>Secrets are shown in full \
                 (--reveal).</b> Handle this file as a secret: do not attach it to a ticket or \
                 upload it.</p>"
            )?;
        }
        writeln!(
            out,
            "<header><h1>layerhound report</h1><p class=\"muted\">layerhound {} · {} · {} · {} scanned</p>\
             <p class=\"muted small\" id=\"run\">Scanned <span id=\"run-started\">{}</span> with \
             <code id=\"run-command\">{}</code></p></header>",
            env!("CARGO_PKG_VERSION"),
            plural(s.images, "image", "images"),
            plural(s.layers, "layer", "layers"),
            human_bytes(s.bytes_scanned),
            Esc(&self.run.started),
            Esc(&self.run.command),
        )
    }

    fn summary(&self, out: &mut dyn Write, s: &Summary) -> io::Result<()> {
        writeln!(
            out,
            "<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"cards\">\
             <div class=\"card\"><div class=\"num\" id=\"sum-findings\">{}</div><div class=\"lbl\">findings</div></div>\
             <div class=\"card\"><div class=\"num\" id=\"sum-images\">{}</div><div class=\"lbl\">images</div></div>\
             <div class=\"card\"><div class=\"num\" id=\"sum-layers\">{}</div><div class=\"lbl\">layers</div></div>\
             <div class=\"card\"><div class=\"num\" id=\"sum-bytes\" title=\"{} bytes\">{}</div><div class=\"lbl\">scanned</div></div>\
             <div class=\"card\"><div class=\"num\" id=\"sum-errors\">{}</div><div class=\"lbl\">errors</div></div>\
             </div>",
            s.findings,
            s.images,
            s.layers,
            s.bytes_scanned,
            human_bytes(s.bytes_scanned),
            s.errors.len(),
        )?;
        write!(out, "<ul class=\"statuses\">")?;
        for st in Status::ALL {
            let n = s.by_status.get(st.as_str()).copied().unwrap_or(0);
            write!(
                out,
                "<li class=\"badge {}{}\" data-status-count=\"{}\"><b>{n}</b> {}</li>",
                status_class(st),
                if n == 0 { " zero" } else { "" },
                st.as_str(),
                st.as_str()
            )?;
        }
        writeln!(out, "</ul>")?;
        let sup = &s.suppressed;
        writeln!(
            out,
            "<p id=\"suppressed\">Suppressed: <b data-suppressed=\"package_files\">{}</b> in unmodified package files \
             and <b data-suppressed=\"third_party\">{}</b> of context and generic rules in third-party code \
             (both shown with <code>--include-package-files</code>), <b data-suppressed=\"excluded_paths\">{}</b> by \
             <code>--exclude-path</code>, <b data-suppressed=\"baseline\">{}</b> in the <code>--baseline</code>, \
             <b data-suppressed=\"ignored\">{}</b> by the ignore file.</p>",
            sup.package_files, sup.third_party, sup.excluded_paths, sup.baseline, sup.ignored
        )?;
        for (title, counts) in [
            ("Suppressed by package", &sup.by_package),
            ("Third-party code, by package", &sup.third_party_by_package),
            ("Third-party code, by rule", &sup.third_party_by_rule),
            ("Ignored, by reason", &sup.by_ignore_reason),
        ] {
            if counts.is_empty() {
                continue;
            }
            write!(
                out,
                "<details><summary>{title}</summary><ul class=\"plain\">"
            )?;
            for (what, n) in counts {
                write!(out, "<li><code>{}</code>: {n}</li>", Esc(what))?;
            }
            writeln!(out, "</ul></details>")?;
        }
        if !s.errors.is_empty() {
            write!(
                out,
                "<div class=\"problems\" id=\"errors\"><b>{}: the scan is incomplete</b><ul>",
                plural(s.errors.len(), "error", "errors")
            )?;
            for e in &s.errors {
                write!(out, "<li>{}</li>", Esc(&e.to_string()))?;
            }
            writeln!(out, "</ul></div>")?;
        }
        if !s.skipped.is_empty() {
            write!(
                out,
                "<div class=\"skips\" id=\"skipped\"><b>Not read whole</b><ul>"
            )?;
            for (reason, sk) in &s.skipped {
                write!(
                    out,
                    "<li data-skip-reason=\"{}\">{}: {}",
                    Esc(reason),
                    Esc(reason),
                    sk.count
                )?;
                if !sk.examples.is_empty() {
                    write!(out, " <span class=\"muted\">(e.g. ")?;
                    codes(out, &sk.examples)?;
                    write!(out, ")</span>")?;
                }
                write!(out, "</li>")?;
            }
            writeln!(out, "</ul></div>")?;
        }
        if !s.notes.is_empty() {
            write!(out, "<ul class=\"plain muted small\" id=\"notes\">")?;
            for n in &s.notes {
                write!(out, "<li>Note: {}</li>", Esc(n))?;
            }
            writeln!(out, "</ul>")?;
        }
        writeln!(out, "</section>")
    }

    fn image(&self, out: &mut dyn Write, i: usize, img: &ImageInfo) -> io::Result<()> {
        let mine: Vec<usize> = (0..self.findings.len())
            .filter(|&k| self.image_of[k] == Some(i))
            .collect();
        let total: u64 = img.layers.iter().map(|l| l.size).sum();
        writeln!(
            out,
            "<section class=\"image\" id=\"image-{i}\" data-image=\"{i}\">\n<h2>{} <span class=\"muted\">{}</span></h2>",
            Esc(img.reference.as_deref().unwrap_or("(untagged)")),
            Esc(&img.platform)
        )?;
        write!(
            out,
            "<dl class=\"meta\"><dt>source</dt><dd><code>{}</code></dd>",
            Esc(&img.image)
        )?;
        if !img.tags.is_empty() {
            write!(out, "<dt>tags</dt><dd>")?;
            codes(out, &img.tags)?;
            write!(out, "</dd>")?;
        }
        for d in &img.repo_digests {
            write!(out, "<dt>repo digest</dt><dd><code>{}</code></dd>", Esc(d))?;
        }
        write!(
            out,
            "<dt>config</dt><dd><code>{}</code></dd>",
            Esc(&img.config_digest)
        )?;
        if let Some(m) = &img.manifest_digest {
            write!(out, "<dt>manifest</dt><dd><code>{}</code></dd>", Esc(m))?;
        }
        writeln!(
            out,
            "<dt>layers</dt><dd>{}, {}</dd><dt>findings</dt><dd>{}</dd></dl>",
            img.layers.len(),
            human_bytes(total),
            mine.len()
        )?;
        self.timeline(out, i, img, &mine)?;
        self.config_findings(out, &mine)?;
        writeln!(out, "</section>")
    }

    fn timeline(
        &self,
        out: &mut dyn Write,
        i: usize,
        img: &ImageInfo,
        mine: &[usize],
    ) -> io::Result<()> {
        let lives: Vec<Life> = mine
            .iter()
            .filter_map(|&k| {
                let f = &self.findings[k];
                Some(Life {
                    id: k + 1,
                    status: f.status,
                    added: f.location.layer_index?,
                    removed: f.removed_by.as_ref().map(|r| r.layer_index),
                })
            })
            .collect();
        let lanes = assign_lanes(&lives);
        writeln!(
            out,
            "<h3>Layer timeline</h3>\n<p class=\"muted small\">One row per layer, oldest first. Each line on the \
             right is one secret: a dot where a layer added it, a bar through the layers that still carry it, \
             a cross at the layer that deleted, overwrote or hid it. A line that reaches the last row is \
             still in the final image.</p>"
        )?;
        writeln!(
            out,
            "<div class=\"scroll\"><table class=\"timeline\" id=\"timeline-{i}\">\n<thead><tr><th>Layer</th>\
             <th>Build step</th><th class=\"num\">Size</th><th class=\"lanes\">Secrets</th><th>Added</th>\
             <th>Removed</th></tr></thead>\n<tbody>"
        )?;
        for layer in &img.layers {
            let row = layer.index;
            write!(
                out,
                "<tr class=\"layer\" id=\"image-{i}-layer-{row}\" data-layer=\"{row}\"><td class=\"num\"><b>{row}</b>"
            )?;
            if let Some(d) = &layer.digest {
                write!(
                    out,
                    "<div class=\"mono muted small\" title=\"{}\">{}</div>",
                    Esc(d),
                    Esc(&short_digest(d))
                )?;
            }
            write!(out, "</td><td class=\"step\">")?;
            step(out, layer.created_by.as_deref(), layer.diff_id.as_deref())?;
            write!(
                out,
                "</td><td class=\"num\" title=\"{} bytes\">{}</td>",
                layer.size,
                human_bytes(layer.size)
            )?;
            self.lanes(out, &lanes, Some(row))?;
            let added: Vec<usize> = mine
                .iter()
                .copied()
                .filter(|&k| self.findings[k].location.layer_index == Some(row))
                .collect();
            let removed: Vec<usize> = mine
                .iter()
                .copied()
                .filter(|&k| {
                    self.findings[k]
                        .removed_by
                        .as_ref()
                        .is_some_and(|r| r.layer_index == row)
                })
                .collect();
            write!(out, "<td class=\"added\">")?;
            self.chips(out, &added)?;
            write!(out, "</td><td class=\"removed\">")?;
            self.chips(out, &removed)?;
            writeln!(out, "</td></tr>")?;
        }
        let present = lives.iter().filter(|l| l.removed.is_none()).count();
        write!(
            out,
            "<tr class=\"final\" data-layer=\"final\"><td></td><td><b>final image</b></td><td></td>"
        )?;
        self.lanes(out, &lanes, None)?;
        // Config secrets are in the final image too: counted here, named below.
        let in_config = (0..self.findings.len())
            .filter(|&k| {
                self.image_of[k] == Some(i) && self.findings[k].location.layer_index.is_none()
            })
            .count();
        writeln!(
            out,
            "<td colspan=\"2\" id=\"image-{i}-present\">{} still present in files, {} in the config</td></tr>\n</tbody></table></div>",
            plural(present, "secret", "secrets"),
            in_config
        )
    }

    /// One timeline cell holding every lane's mark for `row`.
    fn lanes(
        &self,
        out: &mut dyn Write,
        lanes: &[Vec<Life>],
        row: Option<usize>,
    ) -> io::Result<()> {
        write!(out, "<td class=\"lanes\"><div class=\"lanes-in\">")?;
        for lane in lanes {
            let hit = lane.iter().find_map(|l| l.mark(row).map(|m| (l, m)));
            match hit {
                Some((l, mark)) => {
                    let f = &self.findings[l.id - 1];
                    write!(
                        out,
                        "<span class=\"lane {mark} {}\" data-finding=\"f-{}\" title=\"#{} {} · {} · {}\"></span>",
                        status_class(l.status),
                        l.id,
                        l.id,
                        Esc(&f.rule_id),
                        Esc(&place(f)),
                        l.status.as_str()
                    )?;
                }
                None => write!(out, "<span class=\"lane\"></span>")?,
            }
        }
        write!(out, "</div></td>")
    }

    /// Links to findings, each labelled with its rule and place.
    fn chips(&self, out: &mut dyn Write, ids: &[usize]) -> io::Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        write!(out, "<div class=\"chips\">")?;
        for &k in ids {
            let f = &self.findings[k];
            let label = format!("{} · {}", f.rule_id, place(f));
            write!(
                out,
                "<a class=\"chip {}\" href=\"#f-{}\" data-finding=\"f-{}\" title=\"#{} {} ({})\">{}</a>",
                status_class(f.status),
                k + 1,
                k + 1,
                k + 1,
                Esc(&label),
                f.status.as_str(),
                Esc(&label)
            )?;
        }
        write!(out, "</div>")
    }

    fn config_findings(&self, out: &mut dyn Write, mine: &[usize]) -> io::Result<()> {
        let meta: Vec<usize> = mine
            .iter()
            .copied()
            .filter(|&k| self.findings[k].location.layer_index.is_none())
            .collect();
        write!(out, "<h3>Image config</h3>")?;
        if meta.is_empty() {
            return writeln!(
                out,
                "<p class=\"empty\">No secrets in the image config (Env, Labels, Cmd, Entrypoint, history).</p>"
            );
        }
        write!(out, "<ul class=\"plain config-findings\">")?;
        for k in meta {
            let f = &self.findings[k];
            write!(
                out,
                "<li data-finding=\"f-{}\"><a class=\"chip st-metadata\" href=\"#f-{}\">{}</a> {} \
                 <span class=\"muted\">({})</span> <code>{}</code></li>",
                k + 1,
                k + 1,
                Esc(&place(f)),
                Esc(&f.rule_name),
                Esc(&f.rule_id),
                Esc(&f.secret)
            )?;
        }
        writeln!(out, "</ul>")
    }

    fn table(&self, out: &mut dyn Write) -> io::Result<()> {
        let many = self.outcome.images.len() > 1;
        let mut by_status: BTreeMap<Status, usize> = BTreeMap::new();
        let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
        let mut layers: BTreeSet<usize> = BTreeSet::new();
        let mut config = 0;
        for f in self.findings {
            *by_status.entry(f.status).or_default() += 1;
            *by_rule.entry(&f.rule_id).or_default() += 1;
            match f.location.layer_index {
                Some(l) => {
                    layers.insert(l);
                }
                None => config += 1,
            }
        }
        writeln!(out, "<section id=\"findings-section\">\n<h2>Findings</h2>")?;
        write!(
            out,
            "<div class=\"filters\" id=\"filters\" hidden><label>Status <select id=\"filter-status\">\
             <option value=\"\">all</option>"
        )?;
        for (st, n) in &by_status {
            write!(out, "<option value=\"{0}\">{0} ({n})</option>", st.as_str())?;
        }
        write!(
            out,
            "</select></label><label>Rule <select id=\"filter-rule\"><option value=\"\">all</option>"
        )?;
        for (rule, n) in &by_rule {
            write!(out, "<option value=\"{0}\">{0} ({n})</option>", Esc(rule))?;
        }
        write!(
            out,
            "</select></label><label>Layer <select id=\"filter-layer\"><option value=\"\">all</option>"
        )?;
        for l in &layers {
            write!(out, "<option value=\"{l}\">{l}</option>")?;
        }
        if config > 0 {
            write!(
                out,
                "<option value=\"config\">image config ({config})</option>"
            )?;
        }
        writeln!(
            out,
            "</select></label><button type=\"button\" id=\"filter-reset\">Reset</button></div>"
        )?;
        writeln!(
            out,
            "<p class=\"muted\">Showing <span id=\"shown-count\">{0}</span> of <span id=\"total-count\">{0}</span> \
             findings.</p>",
            self.findings.len()
        )?;
        write!(
            out,
            "<div class=\"scroll\"><table id=\"findings\">\n<thead><tr><th class=\"num\">#</th><th>Status</th>"
        )?;
        if many {
            write!(out, "<th>Image</th>")?;
        }
        writeln!(
            out,
            "<th>Rule</th><th>Confidence</th><th class=\"num\">Layer</th><th>Location</th><th>Secret</th>\
             <th>Removed by</th><th>Fingerprint</th></tr></thead>\n<tbody>"
        )?;
        for (k, f) in self.findings.iter().enumerate() {
            self.row(out, k, f, many)?;
        }
        writeln!(out, "</tbody></table></div>")?;
        writeln!(
            out,
            "<p class=\"empty\" id=\"no-rows\"{}>{}</p>\n</section>",
            if self.findings.is_empty() {
                ""
            } else {
                " hidden"
            },
            if self.findings.is_empty() {
                "No secrets found."
            } else {
                "No finding matches these filters."
            }
        )
    }

    fn row(&self, out: &mut dyn Write, k: usize, f: &Finding, many: bool) -> io::Result<()> {
        let id = k + 1;
        let layer = f
            .location
            .layer_index
            .map_or_else(|| "config".to_string(), |l| l.to_string());
        write!(
            out,
            "<tr class=\"finding\" id=\"f-{id}\" data-status=\"{}\" data-rule=\"{}\" data-layer=\"{layer}\" \
             data-image=\"{}\"><td class=\"num\"><a href=\"#f-{id}\">{id}</a></td>\
             <td><span class=\"badge {}\">{}</span></td>",
            f.status.as_str(),
            Esc(&f.rule_id),
            self.image_of[k].map_or_else(String::new, |i| i.to_string()),
            status_class(f.status),
            f.status.as_str()
        )?;
        if many {
            let name = self.image_of[k]
                .and_then(|i| self.outcome.images.get(i))
                .map(|img| {
                    format!(
                        "{} {}",
                        img.reference.as_deref().unwrap_or("(untagged)"),
                        img.platform
                    )
                })
                .unwrap_or_else(|| f.image.clone());
            write!(out, "<td class=\"small\">{}</td>", Esc(&name))?;
        }
        write!(
            out,
            "<td>{}<div class=\"mono muted small\">{}</div></td><td>{}</td><td class=\"num\">",
            Esc(&f.rule_name),
            Esc(&f.rule_id),
            f.confidence.as_str()
        )?;
        match (f.location.layer_index, self.image_of[k]) {
            (Some(l), Some(i)) => write!(out, "<a href=\"#image-{i}-layer-{l}\">{l}</a>")?,
            (Some(l), None) => write!(out, "{l}")?,
            (None, _) => write!(out, "<span class=\"muted\">config</span>")?,
        }
        write!(out, "</td><td class=\"loc mono\">{}", Esc(&place(f)))?;
        if !f.location.links.is_empty() {
            write!(
                out,
                "<div class=\"muted small\">also linked at {}</div>",
                Esc(&f.location.links.join(", "))
            )?;
        }
        for pl in f.places.iter().skip(1) {
            let layer = pl
                .location
                .layer_index
                .map_or_else(|| "config".to_string(), |l| format!("layer {l}"));
            write!(
                out,
                "<div class=\"muted small place\">also {}, {layer}: {}</div>",
                pl.status.as_str(),
                Esc(&place_of(&pl.location))
            )?;
        }
        if let Some(p) = &f.package {
            write!(
                out,
                "<div class=\"muted small\">{} package {} {} ({})</div>",
                Esc(&p.ecosystem),
                Esc(&p.name),
                Esc(&p.version),
                Esc(&p.reason)
            )?;
        }
        if let Some(k) = &f.test_key {
            write!(
                out,
                "<div class=\"muted small\">known public test key: {}</div>",
                Esc(k)
            )?;
        }
        write!(
            out,
            "</td><td class=\"secret\"><code>{}</code></td><td>",
            Esc(&f.secret)
        )?;
        if let Some(rb) = &f.removed_by {
            write!(out, "layer {}", rb.layer_index)?;
            if let Some(step) = &rb.created_by {
                write!(
                    out,
                    "<div class=\"mono muted small\" title=\"{}\">{}</div>",
                    Esc(step),
                    Esc(&shorten(step, 48))
                )?;
            }
        }
        // Both fingerprints whole, each selected with one click, for an ignore file or
        // a baseline.
        writeln!(
            out,
            "</td><td class=\"mono small fps\"><code class=\"fp\" title=\"value fingerprint: this secret \
             wherever it is\">{}</code><code class=\"fp place-fp\" title=\"fingerprint of this place\">{}</code></td></tr>",
            Esc(&f.value_fingerprint),
            Esc(&f.fingerprint),
        )
    }
}

/// `items` as code, separated by commas.
fn codes(out: &mut dyn Write, items: &[String]) -> io::Result<()> {
    for (i, item) in items.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        write!(out, "{sep}<code>{}</code>", Esc(item))?;
    }
    Ok(())
}

/// A build step: in full when short, else shortened with the full text one click away.
fn step(out: &mut dyn Write, created_by: Option<&str>, diff_id: Option<&str>) -> io::Result<()> {
    let diff = diff_id
        .map(|d| format!(" title=\"diff_id {}\"", Esc(d)))
        .unwrap_or_default();
    match created_by {
        None => write!(
            out,
            "<span class=\"muted\"{diff}>(no build step recorded)</span>"
        ),
        Some(raw) => {
            // As the pretty report shows it (no `/bin/sh -c`, no `# buildkit`); the
            // step as recorded is one click away.
            let s = &super::pretty::step_text(raw);
            let short = shorten(s, STEP_CHARS);
            if short == *s && s == raw {
                write!(out, "<code{diff}>{}</code>", Esc(s))
            } else {
                write!(
                    out,
                    "<details class=\"step\"><summary title=\"{}\">{}</summary><pre>{}</pre></details>",
                    Esc(raw),
                    Esc(&short),
                    Esc(raw)
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(
            Esc("\"><img src=x onerror='alert(1)'>&\u{1}\n").to_string(),
            "&quot;&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&amp;\u{fffd}\n"
        );
        assert_eq!(Esc("plain → text").to_string(), "plain → text");
    }

    #[test]
    fn lanes_are_reused_after_a_lifeline_ends() {
        let life = |id, added, removed| Life {
            id,
            status: Status::Deleted,
            added,
            removed,
        };
        // 1 lives in layers 0-2, 2 from layer 3 on, 3 from layer 1 on.
        let lanes = assign_lanes(&[life(1, 0, Some(2)), life(2, 3, None), life(3, 1, None)]);
        let ids: Vec<Vec<usize>> = lanes
            .iter()
            .map(|l| l.iter().map(|x| x.id).collect())
            .collect();
        assert_eq!(ids, vec![vec![1, 2], vec![3]]);
        let l = life(1, 1, Some(4));
        let marks: Vec<_> = [Some(0), Some(1), Some(2), Some(3), Some(4), Some(5), None]
            .into_iter()
            .map(|r| l.mark(r))
            .collect();
        assert_eq!(
            marks,
            [
                None,
                Some("add"),
                Some("live"),
                Some("live"),
                Some("remove"),
                None,
                None
            ]
        );
        assert_eq!(life(1, 2, None).mark(None), Some("final"));
    }
}
