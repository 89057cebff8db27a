//! `--format html`, opened from a file:// URL in a real headless Chromium: the page
//! loads with no error and no request besides itself, shows the JSON report's counts,
//! draws each secret's life across the layers, filters the table, and renders hostile
//! paths and build steps as text.

use crate::chromium::Chromium;
use crate::fixture::{self, Entry, Form, Image, Layer};
use crate::support::*;
use serde_json::{Value, json};
use std::path::Path;

/// Runs before any page script: records dialogs (`alert` and friends) and CSP
/// violations where the test can read them.
const INIT_JS: &str = "window.__dialogs = []; window.__csp = [];\
    for (const n of ['alert', 'confirm', 'prompt']) { window[n] = (m) => { window.__dialogs.push(n + ':' + m); }; }\
    document.addEventListener('securitypolicyviolation', (e) => \
      { window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });";

/// Writes `image`, scans it as JSON and as HTML (to `dir/report.html`), and checks the
/// HTML is the same on a second run.
fn reports(image: Image, dir: &Path) -> (Value, std::path::PathBuf) {
    let img = dir.join("image.tar");
    fixture::write(Form::OciArchive, &[image], &img).unwrap();
    let target = target(Form::OciArchive, &img);
    let (code, json, stderr) = scan_json(&target, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_report_no_leak("json", &json, &stderr, &reference_secrets());
    let html = dir.join("report.html");
    for name in ["report.html", "again.html"] {
        // The report says when it was made: SOURCE_DATE_EPOCH makes that reproducible.
        let out = command(&[
            "scan",
            "--quiet",
            "--format",
            "html",
            "--output",
            dir.join(name).to_str().unwrap(),
            &target,
        ])
        .env("SOURCE_DATE_EPOCH", "1796238333")
        .output()
        .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_output_no_leak(name, &out, &reference_secrets());
        assert_no_leak(
            name,
            &std::fs::read(dir.join(name)).unwrap(),
            &reference_secrets(),
        );
    }
    assert!(
        std::fs::read(&html).unwrap() == std::fs::read(dir.join("again.html")).unwrap(),
        "two runs gave different HTML"
    );
    (json, html)
}

/// Opens the report in Chromium.
fn open(html: &Path) -> (Chromium, String) {
    let url = format!("file://{}", html.canonicalize().unwrap().display());
    let mut c = Chromium::start(INIT_JS);
    c.navigate(&url);
    (c, url)
}

/// Asserts the page raised nothing: no errors, CSP violations, dialogs or requests.
fn assert_clean(c: &mut Chromium, url: &str) {
    let problems = c.problems(url);
    assert!(problems.is_empty(), "the page reported: {problems:#?}");
    let trapped = c.eval("({dialogs: window.__dialogs, csp: window.__csp})");
    assert_eq!(trapped, json!({"dialogs": [], "csp": []}));
}

/// The row id (`f-N`) of the one finding of `rule` with `status`.
fn row_id(c: &mut Chromium, rule: &str, status: &str) -> String {
    let ids = c.eval(&format!(
        "[...document.querySelectorAll('#findings tr.finding[data-rule=\"{rule}\"][data-status=\"{status}\"]')].map(r => r.id)"
    ));
    assert_eq!(
        ids.as_array().map(Vec::len),
        Some(1),
        "{rule} {status}: {ids}"
    );
    ids[0].as_str().unwrap().to_string()
}

/// The lifeline of finding `id` on image `image`'s timeline, as (row, mark) pairs, after
/// checking it is drawn: each piece has a visible line, all in one column, and the
/// pieces touch from one row to the next.
fn lifeline(c: &mut Chromium, image: usize, id: &str) -> Vec<(String, String)> {
    let cells = c.eval(&format!(
        "[...document.querySelectorAll('#timeline-{image} tbody tr')].flatMap(tr => \
           [...tr.querySelectorAll('.lane[data-finding=\"{id}\"]')].map(l => {{ \
             const r = l.getBoundingClientRect(); const line = getComputedStyle(l, '::before'); \
             return {{row: tr.dataset.layer, \
               mark: ['add', 'live', 'remove', 'final'].find(k => l.classList.contains(k)), \
               left: r.left, top: r.top, bottom: r.bottom, \
               line: line.content !== 'none' && parseFloat(line.width) >= 2 && line.backgroundColor !== 'rgba(0, 0, 0, 0)'}}; }}))"
    ));
    let cells = cells.as_array().unwrap();
    assert!(!cells.is_empty(), "no lifeline for {id}");
    for w in cells.windows(2) {
        assert_eq!(
            w[0]["left"], w[1]["left"],
            "{id} changes column: {cells:#?}"
        );
        let gap = w[1]["top"].as_f64().unwrap() - w[0]["bottom"].as_f64().unwrap();
        assert!(gap.abs() < 1.0, "{id}'s line is broken: {cells:#?}");
    }
    for cell in cells {
        assert_eq!(cell["line"], true, "{id}: no line drawn in {cell}");
        assert!(cell["bottom"].as_f64().unwrap() - cell["top"].as_f64().unwrap() > 10.0);
    }
    cells
        .iter()
        .map(|c| {
            (
                c["row"].as_str().unwrap().to_string(),
                c["mark"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Sets a filter `<select>` the way a change by the user is seen by the page, then
/// returns the shown count and the number of rows laid out.
fn filter(c: &mut Chromium, select: &str, value: &str) -> (u64, u64) {
    let r = c.eval(&format!(
        "(() => {{ const s = document.getElementById('{select}'); s.value = '{value}'; \
           s.dispatchEvent(new Event('change', {{bubbles: true}})); \
           return [Number(document.getElementById('shown-count').textContent), \
             [...document.querySelectorAll('#findings tbody tr')].filter(r => r.getClientRects().length > 0).length]; }})()"
    ));
    (r[0].as_u64().unwrap(), r[1].as_u64().unwrap())
}

/// How many findings of the JSON report satisfy `pred`.
fn count(report: &Value, pred: impl Fn(&Value) -> bool) -> u64 {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| pred(f))
        .count() as u64
}

#[test]
fn html_report_in_chromium_matches_json_draws_lifelines_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let (report, html) = reports(reference_image(), dir.path());
    let text = std::fs::read_to_string(&html).unwrap();
    for secret in [AWS_KEY_ID, GITHUB_PAT, GITHUB_APP, NPM_TOKEN] {
        assert!(!text.contains(secret), "a secret is not redacted");
    }
    let total = report["summary"]["findings"].as_u64().unwrap();
    assert_eq!(total, 5);

    let (mut c, url) = open(&html);
    let page = c.eval(
        "(() => { const q = (s) => document.querySelector(s); return { \
           total: Number(q('#sum-findings').textContent), \
           images: Number(q('#sum-images').textContent), \
           layers: Number(q('#sum-layers').textContent), \
           shown: Number(q('#shown-count').textContent), \
           of: Number(q('#total-count').textContent), \
           rows: document.querySelectorAll('#findings tbody tr.finding').length, \
           statuses: Object.fromEntries([...document.querySelectorAll('[data-status-count]')] \
             .map(e => [e.dataset.statusCount, Number(e.querySelector('b').textContent)])), \
           filters: q('#filters').getClientRects().length > 0, \
           presentColor: getComputedStyle(q('.badge.st-present')).color, \
           metadataFields: [...document.querySelectorAll('.config-findings li')].map(li => li.textContent), \
         }; })()",
    );
    assert_eq!(page["total"], total);
    assert_eq!(page["shown"], total);
    assert_eq!(page["of"], total);
    assert_eq!(page["rows"], total);
    assert_eq!(page["images"], report["summary"]["images"]);
    assert_eq!(page["layers"], report["summary"]["layers"]);
    for st in ["present", "deleted", "overwritten", "opaque", "metadata"] {
        let want = report["summary"]["by_status"][st].as_u64().unwrap_or(0);
        assert_eq!(page["statuses"][st], want, "{st}");
        assert_eq!(count(&report, |f| f["status"] == st), want, "{st}");
    }
    // The inline stylesheet and script were allowed by the CSP and ran.
    assert_eq!(page["presentColor"], "rgb(198, 40, 40)");
    assert_eq!(page["filters"], true);
    let meta = page["metadataFields"].as_array().unwrap();
    assert_eq!(meta.len(), 1, "{meta:?}");
    assert!(
        meta[0]
            .as_str()
            .unwrap()
            .starts_with("Env GITHUB_TOKEN, col 14"),
        "{meta:?}"
    );

    // app/.env: added by layer 0, deleted by layer 2.
    let aws = row_id(&mut c, RULE_AWS_KEY_ID, "deleted");
    assert_eq!(
        lifeline(&mut c, 0, &aws),
        pairs(&[("0", "add"), ("1", "live"), ("2", "remove")])
    );
    // root/.npmrc: added by layer 1, overwritten by layer 3.
    let npm = row_id(&mut c, RULE_NPM, "overwritten");
    assert_eq!(
        lifeline(&mut c, 0, &npm),
        pairs(&[("1", "add"), ("2", "live"), ("3", "remove")])
    );
    // srv/token.txt: added by layer 3 and still there.
    let pat = row_id(&mut c, RULE_GITHUB_PAT, "present");
    assert_eq!(
        lifeline(&mut c, 0, &pat),
        pairs(&[("3", "add"), ("final", "final")])
    );
    let chips = c.eval(
        "[0, 2].map(l => [...document.querySelectorAll('#timeline-0 tr[data-layer=\"' + l + '\"] td.' + \
           (l === 0 ? 'added' : 'removed') + ' a.chip')].map(a => a.dataset.finding + ' ' + a.textContent))",
    );
    assert!(
        chips[0]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == &json!(format!("{aws} {RULE_AWS_KEY_ID} · app/.env:2:19"))),
        "{chips}"
    );
    assert!(
        chips[1]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().starts_with(&format!("{aws} "))),
        "{chips}"
    );

    let present = count(&report, |f| f["status"] == "present");
    assert_eq!(
        filter(&mut c, "filter-status", "present"),
        (present, present)
    );
    assert_eq!(filter(&mut c, "filter-status", ""), (total, total));
    let npm_rows = count(&report, |f| f["rule_id"] == RULE_NPM);
    assert_eq!(
        filter(&mut c, "filter-rule", RULE_NPM),
        (npm_rows, npm_rows)
    );
    let layer3 = count(&report, |f| f["location"]["layer_index"] == 3);
    assert_eq!(filter(&mut c, "filter-rule", ""), (total, total));
    assert_eq!(filter(&mut c, "filter-layer", "3"), (layer3, layer3));
    assert_eq!(filter(&mut c, "filter-status", "deleted"), (0, 0));
    assert_eq!(
        c.eval("document.getElementById('no-rows').getClientRects().length"),
        1
    );
    // A real click on Reset shows every row again.
    c.click("#filter-reset");
    let shown = c.eval(&format!(
        "new Promise(done => {{ const t0 = Date.now(); (function poll() {{ \
           const n = Number(document.getElementById('shown-count').textContent); \
           if (n === {total} || Date.now() - t0 > 5000) done(n); else setTimeout(poll, 20); }})(); }})"
    ));
    assert_eq!(shown, total);
    assert_clean(&mut c, &url);
}

#[test]
fn html_report_renders_hostile_paths_and_build_steps_as_text() {
    const STEP: &str = "RUN rm -rf /srv <script>alert(1)</script>";
    const NAME: &str = "\"><img src=x onerror=alert(1)>";
    const LONG: &str = "RUN echo '</summary></details><img src=x onerror=alert(3)>' && \
        true && true && true && true && true && true && true && true && true";
    let image = Image::new("evil/app:1")
        .label("\"><img src=x onerror=alert(2)>", GITHUB_APP)
        .step(
            "ADD rootfs.tar / # buildkit",
            Layer::new(vec![Entry::dir("etc/"), Entry::file("etc/hostname", "x\n")]),
        )
        .step(
            "COPY secrets /srv",
            Layer::new(vec![
                Entry::dir("srv/"),
                Entry::file(
                    &format!("srv/{NAME}"),
                    format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n"),
                ),
            ]),
        )
        .step(
            LONG,
            Layer::new(vec![Entry::file("etc/motd", "hello\n")]).gzip(),
        )
        .step(
            "RUN <img src=x onerror=alert(4)>",
            Layer::new(vec![Entry::file("etc/issue", "hi\n")]),
        )
        .step(
            STEP,
            Layer::new(vec![Entry::whiteout(&format!("srv/{NAME}"))]),
        )
        .step(
            "COPY .npmrc /root/",
            Layer::new(vec![
                Entry::dir("root/"),
                Entry::file(
                    "root/.npmrc",
                    format!("//npm.example.test/:_authToken={NPM_TOKEN}\n"),
                ),
            ]),
        );
    let dir = tempfile::tempdir().unwrap();
    let (report, html) = reports(image, dir.path());
    assert_eq!(
        find(&report, RULE_AWS_KEY_ID, &format!("srv/{NAME}"))["removed_by"]["layer_index"],
        4
    );

    let (mut c, url) = open(&html);
    let page = c.eval(&format!(
        "(() => {{ const text = document.body.textContent; return {{ \
           imgs: document.querySelectorAll('img').length, \
           scripts: document.scripts.length, \
           handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length, \
           step: text.includes({step}), name: text.includes({name}), long: text.includes({long}), \
           loc: document.querySelector('#findings tr.finding[data-rule=\"{RULE_AWS_KEY_ID}\"] td.loc').textContent, \
           removedBy: document.querySelector('#findings tr.finding[data-rule=\"{RULE_AWS_KEY_ID}\"] td:nth-last-child(2) div').title, \
           label: document.querySelector('.config-findings li a').textContent, \
           rows: document.querySelectorAll('#findings tbody tr.finding').length, \
         }}; }})()",
        step = json!(STEP),
        name = json!(NAME),
        long = json!(LONG),
    ));
    assert_eq!(page["imgs"], 0, "{page}");
    assert_eq!(page["scripts"], 1, "{page}");
    assert_eq!(page["handlers"], 0, "{page}");
    assert_eq!(page["step"], true, "{page}");
    assert_eq!(page["name"], true, "{page}");
    assert_eq!(page["long"], true, "{page}");
    assert_eq!(page["loc"], json!(format!("srv/{NAME}:1:19")));
    assert_eq!(page["removedBy"], STEP);
    assert!(
        page["label"]
            .as_str()
            .unwrap()
            .starts_with("Label \"><img src=x onerror=alert(2)>, col "),
        "{page}"
    );
    assert_eq!(page["rows"], report["summary"]["findings"]);

    // Added by layer 1, carried by layers 2 and 3, deleted by layer 4.
    let aws = row_id(&mut c, RULE_AWS_KEY_ID, "deleted");
    assert_eq!(
        lifeline(&mut c, 0, &aws),
        pairs(&[("1", "add"), ("2", "live"), ("3", "live"), ("4", "remove")])
    );
    let npm = row_id(&mut c, RULE_NPM, "present");
    assert_eq!(
        lifeline(&mut c, 0, &npm),
        pairs(&[("5", "add"), ("final", "final")])
    );
    // The long step opens to its full text.
    c.click("#timeline-0 tr[data-layer=\"2\"] details summary");
    let opened = c.eval(
        "new Promise(done => setTimeout(() => { const d = document.querySelector('#timeline-0 tr[data-layer=\"2\"] details'); \
           done([d.open, d.querySelector('pre').textContent]); }, 50))",
    );
    assert_eq!(opened, json!([true, LONG]));
    assert_clean(&mut c, &url);
}

#[test]
fn html_report_for_auditors_says_how_it_was_made_and_gives_whole_fingerprints() {
    let dir = tempfile::tempdir().unwrap();
    let (report, html) = reports(reference_image(), dir.path());
    let (mut c, _) = open(&html);
    let page = c.eval(
        "(() => { const q = (s) => document.querySelector(s); return { \
           started: q('#run-started').textContent, \
           command: q('#run-command').textContent, \
           warning: !!q('#reveal-warning'), \
           present: q('#image-0-present').textContent, \
           fps: [...document.querySelectorAll('td.fps code.fp:not(.place-fp)')].map(e => e.textContent), \
           selectAll: getComputedStyle(q('td.fps code.fp')).userSelect, \
           steps: [...document.querySelectorAll('.timeline code, .timeline summary')].map(e => e.textContent).join('|'), \
         }; })()",
    );
    assert_eq!(page["started"], "2026-12-02 19:05:33 UTC", "{page}");
    let command = page["command"].as_str().unwrap();
    assert!(
        command.contains("scan") && command.contains("--format html"),
        "{command}"
    );
    assert_eq!(page["warning"], false);
    assert!(
        page["present"]
            .as_str()
            .unwrap()
            .contains("1 in the config"),
        "{page}"
    );
    let mut want: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["value_fingerprint"].as_str().unwrap())
        .collect();
    let mut got: Vec<&str> = page["fps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "whole value fingerprints, one per finding");
    assert_eq!(page["selectAll"], "all");
    let steps = page["steps"].as_str().unwrap();
    assert!(
        !steps.contains("# buildkit") && steps.contains("COPY .npmrc /root/.npmrc"),
        "{steps}"
    );

    // With --reveal: a warning on top, and a file only its owner can read.
    let img = dir.path().join("image.tar");
    let revealed = dir.path().join("revealed.html");
    let out = run(&[
        "scan",
        "-q",
        "--reveal",
        "-f",
        "html",
        "-o",
        revealed.to_str().unwrap(),
        &target(Form::OciArchive, &img),
    ]);
    assert_eq!(out.status.code(), Some(1));
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&revealed).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (mut c, _) = open(&revealed);
    let page = c.eval("(() => ({ warning: !!document.querySelector('#reveal-warning') }))()");
    assert_eq!(page["warning"], true);
}
