//! Command-line behaviour: formats, output file, exit codes, rule commands.

use crate::fixture::{self, Form};
use crate::support::*;

#[test]
fn builtin_rules_pass_their_own_examples() {
    let out = run(&["rules", "check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

#[test]
fn rules_list_has_enough_rules() {
    let out = run(&["rules", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().count() >= 40, "{text}");
    for id in [RULE_AWS_KEY_ID, RULE_GITHUB_PAT, RULE_NPM, RULE_PEM] {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().next() == Some(id)),
            "missing {id}"
        );
    }
    let kind_of = |id: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .and_then(|l| l.split_whitespace().nth(2))
            .map(str::to_string)
    };
    assert_eq!(kind_of(RULE_GITHUB_PAT).as_deref(), Some("provider"));
    assert_eq!(
        kind_of("generic-password-assignment").as_deref(),
        Some("generic")
    );
}

#[test]
fn broken_user_rule_is_an_error_naming_file_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mine.toml");
    std::fs::write(&p, "[[rules]]\nid = \"corp-broken\"\nregex = '''(oops'''\n").unwrap();
    let img = dir.path().join("i.tar");
    fixture::write(Form::OciArchive, &[reference_image()], &img).unwrap();
    let out = run(&[
        "scan",
        "--rules",
        p.to_str().unwrap(),
        img.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("mine.toml") && stderr.contains("corp-broken"),
        "{stderr}"
    );
    assert_output_no_leak("broken rule", &out, &reference_secrets());
}

#[test]
fn user_rules_add_to_the_builtin_ones() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("corp.toml");
    std::fs::write(
        &p,
        "[[rules]]\nid = \"corp-os\"\nname = \"Corp OS marker\"\nregex = '''VERSION_ID=(1[0-9])'''\nsecretGroup = 1\nconfidence = \"low\"\n",
    )
    .unwrap();
    let img = dir.path().join("i.tar");
    fixture::write(Form::OciArchive, &[reference_image()], &img).unwrap();
    let (_, r, _) = scan_json(img.to_str().unwrap(), &["--rules", p.to_str().unwrap()]);
    assert_eq!(find(&r, "corp-os", "etc/os-release")["location"]["line"], 2);
    let (_, r, _) = scan_json(
        img.to_str().unwrap(),
        &["--rules", p.to_str().unwrap(), "--rule", "corp-os"],
    );
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["rule_id"] == "corp-os")
    );
    assert_report_no_leak("--rule corp-os", &r, "", &reference_secrets());
}

#[test]
fn jsonl_pretty_and_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("i.tar");
    fixture::write(Form::DockerClassic, &[reference_image()], &img).unwrap();
    let out = run(&["scan", "--format", "jsonl", img.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 6);
    assert!(
        lines.last().unwrap()["summary"]["findings"]
            .as_u64()
            .unwrap() as usize
            == lines.len() - 1
    );
    assert_output_no_leak("jsonl", &out, &reference_secrets());

    let report = dir.path().join("r.txt");
    let out = run(&[
        "scan",
        "-o",
        report.to_str().unwrap(),
        img.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let pretty = std::fs::read_to_string(&report).unwrap();
    assert!(pretty.contains("corp/app:1.2  linux/amd64"), "{pretty}");
    assert!(pretty.contains("layer 3 "), "{pretty}");
    assert!(pretty.contains("deleted in layer 2"), "{pretty}");
    assert!(pretty.contains("srv/token.txt:2:8"), "{pretty}");
    assert!(pretty.contains("image metadata"), "{pretty}");
    assert!(!pretty.contains(GITHUB_PAT), "redacted");
    assert!(!pretty.contains('\x1b'), "no colour in a file");
    assert_output_no_leak("pretty -o", &out, &reference_secrets());
    assert_no_leak("pretty file", pretty.as_bytes(), &reference_secrets());
}

#[test]
fn cache_gives_identical_results_and_no_cache_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("i.tar");
    fixture::write(Form::OciArchive, &[reference_image()], &img).unwrap();
    let cache = dir.path().join("cache");
    let i = img.to_str().unwrap();
    let c = cache.to_str().unwrap();
    let (_, uncached, _) = scan_json(i, &["--no-cache"]);
    assert!(!cache.exists());
    let (_, first, _) = scan_json(i, &["--cache", c]);
    let entries: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        entries.len(),
        2,
        "compiled rules and layer results: {entries:?}"
    );
    let (_, second, _) = scan_json(i, &["--cache", c]);
    let layers = uncached["summary"]["layers"].as_u64().unwrap();
    assert!(first["summary"].get("layers_from_cache").is_none());
    assert_eq!(second["summary"]["layers_from_cache"], layers);
    assert_eq!(uncached["findings"], first["findings"]);
    assert_eq!(uncached["findings"], second["findings"]);
    assert_eq!(uncached["images"], second["images"]);
    let mut summary = second["summary"].clone();
    summary.as_object_mut().unwrap().remove("layers_from_cache");
    assert_eq!(uncached["summary"], summary);
    for (what, r) in [
        ("uncached", &uncached),
        ("first", &first),
        ("second", &second),
    ] {
        assert_report_no_leak(what, r, "", &reference_secrets());
    }
    // --reveal needs the secrets, which the cache never holds: layers with findings
    // are read again, layers without come from the cache.
    let (_, revealed, _) = scan_json(i, &["--cache", c, "--reveal"]);
    let (_, revealed_uncached, _) = scan_json(i, &["--no-cache", "--reveal"]);
    assert_eq!(revealed["findings"], revealed_uncached["findings"]);
    let from_cache = revealed["summary"]["layers_from_cache"]
        .as_u64()
        .unwrap_or(0);
    assert!(from_cache < layers, "layers with findings are read again");
    let entry_bytes: Vec<u8> = walk_files(&cache.join("layers"))
        .iter()
        .flat_map(|p| std::fs::read(p).unwrap())
        .collect();
    for secret in [GITHUB_PAT, NPM_TOKEN, AWS_KEY_ID] {
        assert!(
            !entry_bytes
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "no secret value in the cache"
        );
    }
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn cached_results_are_not_given_to_a_blob_that_only_claims_the_digest() {
    use fixture::{Entry, Image, Layer};
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let c = cache.to_str().unwrap();
    let image = |token: &str| {
        Image::new("corp/swap:1").step(
            "COPY . /srv",
            Layer::new(vec![Entry::file(
                "srv/token.txt",
                format!("token={token}\n"),
            )])
            .gzip(),
        )
    };
    let clean = dir.path().join("clean");
    let built = fixture::write(Form::OciDir, &[image("nothing-here")], &clean).unwrap();
    let (code, first, _) = scan_json(&format!("oci:{}", clean.display()), &["--cache", c]);
    assert_eq!((code, first["findings"].as_array().unwrap().len()), (0, 0));
    // Another layer's bytes under the clean layer's digest.
    let other = dir.path().join("other");
    let built_other = fixture::write(Form::OciDir, &[image(GITHUB_PAT)], &other).unwrap();
    let blob = |root: &std::path::Path, digest: &str| {
        root.join("blobs/sha256")
            .join(digest.strip_prefix("sha256:").unwrap())
    };
    std::fs::copy(
        blob(&other, &built_other[0].layers[0].digest),
        blob(&clean, &built[0].layers[0].digest),
    )
    .unwrap();
    let (code, report, stderr) = scan_json(&format!("oci:{}", clean.display()), &["--cache", c]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("blob digest mismatch"), "{stderr}");
    assert!(report["summary"].get("layers_from_cache").is_none());
    let f = find(&report, RULE_GITHUB_PAT, "srv/token.txt");
    assert_eq!(f["status"], "present");
    assert_report_no_leak("swapped", &report, &stderr, &[GITHUB_PAT]);
}

#[test]
fn shell_completions_know_every_subcommand_and_flag() {
    let out = run(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    let script = String::from_utf8(out.stdout).unwrap();
    for word in [
        "layerhound",
        "--fail-on",
        "--baseline",
        "--ignore-file",
        "create",
    ] {
        assert!(script.contains(word), "bash completion lacks {word}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("layerhound.bash");
    std::fs::write(&file, &script).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("layerhound") && text.contains("fail-on"),
            "{shell}: {text}"
        );
    }
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));
}

/// Renders a man page with groff, warnings on; returns the text.
fn groff(page: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-P-cbou"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("groff (groff-base) is installed by scripts/install-deps --test");
    child.stdin.take().unwrap().write_all(page).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(warnings.is_empty(), "groff warns: {warnings}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn man_pages_render_and_name_the_subcommands() {
    let out = run(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let roff = String::from_utf8_lossy(&out.stdout);
    assert!(
        roff.lines().any(|l| l.starts_with(".TH layerhound 1")),
        "{roff}"
    );
    let text = groff(&out.stdout);
    for word in [
        "layerhound-scan(1)",
        "layerhound-baseline(1)",
        "layerhound-completions(1)",
        "Exit status",
    ] {
        assert!(text.contains(word), "top-level page lacks {word}: {text}");
    }
    assert!(!text.contains("layerhound-help"), "no page exists for help");

    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let out = run(&["man", "--dir", pages.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    for (page, words) in [
        ("layerhound.1", &["layerhound-scan(1)"][..]),
        (
            "layerhound-scan.1",
            &[
                "--fail-on",
                "--baseline",
                "--ignore-file",
                "--no-ignore-file",
            ][..],
        ),
        (
            "layerhound-baseline-create.1",
            &["--output", "--platform"][..],
        ),
        ("layerhound-completions.1", &["powershell"][..]),
    ] {
        let text = groff(&std::fs::read(pages.join(page)).unwrap());
        for w in words {
            assert!(text.contains(w), "{page} lacks {w}: {text}");
        }
    }
}

/// `text` without ANSI escape sequences.
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs `layerhound ARGS…` with stdout on a pseudo-terminal `cols` columns wide and
/// neither NO_COLOR nor COLUMNS set unless `env` sets them; returns the exit code and
/// what the terminal received (line ends as `\n`).
fn run_on_tty(args: &[&str], cols: u16, env: &[(&str, &str)]) -> (i32, String) {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    let size = libc::winsize {
        ws_row: 50,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty stores two new descriptors in `master` and `slave`; the name and
    // termios pointers may be null, and `size` outlives the call.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened by openpty and nothing else owns them.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = command(args);
    cmd.env_remove("NO_COLOR")
        .env_remove("COLUMNS")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::from(slave))
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    // The terminal ends (EIO on the master) once the child's copy of the slave closes.
    drop(cmd);
    let mut terminal = std::fs::File::from(master);
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 8192];
        while let Ok(n) = terminal.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        got
    });
    let out = child.wait_with_output().unwrap();
    let got = reader.join().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&got).replace("\r\n", "\n"),
    )
}

#[test]
fn color_always_paints_files_and_pipes_and_no_color_silences_auto() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("i.tar");
    fixture::write(Form::DockerClassic, &[reference_image()], &img).unwrap();
    let img = img.to_str().unwrap();
    let report = dir.path().join("r.txt");
    // support::run sets NO_COLOR=1: `always` still paints, into a file or a pipe.
    let out = run(&[
        "scan",
        "--color",
        "always",
        "-o",
        report.to_str().unwrap(),
        img,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let painted = std::fs::read_to_string(&report).unwrap();
    assert!(painted.contains("\x1b["), "{painted}");
    assert!(painted.contains("\x1b[1;31mpresent\x1b[0m"), "{painted}");
    assert_no_leak("painted file", painted.as_bytes(), &reference_secrets());
    let out = run(&["scan", "--color", "always", img]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("\x1b["));
    let out = run(&["scan", "--color", "auto", img]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\x1b'));

    // On a terminal, auto paints unless NO_COLOR is set (and not empty).
    let (code, screen) = run_on_tty(&["scan", img], 100, &[]);
    assert_eq!(code, 1);
    assert!(
        screen.contains("\x1b["),
        "auto on a terminal paints: {screen}"
    );
    assert_eq!(
        strip_ansi(&screen),
        String::from_utf8_lossy(&run(&["scan", img]).stdout)
            .replace("\r\n", "\n")
            .trim_end()
            .to_string()
            + "\n",
        "colour changes nothing else"
    );
    let (_, screen) = run_on_tty(&["scan", img], 100, &[("NO_COLOR", "1")]);
    assert!(!screen.contains('\x1b'), "{screen}");
    assert_no_leak("terminal", screen.as_bytes(), &reference_secrets());
    let (_, screen) = run_on_tty(&["scan", img], 100, &[("NO_COLOR", "")]);
    assert!(screen.contains("\x1b["), "an empty NO_COLOR is unset");
    let (_, screen) = run_on_tty(&["scan", "--color", "never", img], 100, &[]);
    assert!(!screen.contains('\x1b'), "{screen}");
}

/// An image whose build steps, paths and names are long, or hostile to a terminal.
fn unwieldy_image() -> fixture::Image {
    use fixture::{Entry, Image, Layer};
    let long_step = format!(
        "RUN /bin/sh -c set -eux; apt-get update && apt-get install -y --no-install-recommends {} && rm -rf /var/lib/apt/lists/*",
        (1..40)
            .map(|i| format!("package-number-{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let deep = format!(
        "usr/local/lib/python3.11/site-packages/{}/credentials.env",
        (1..12)
            .map(|i| format!("nested-directory-{i}"))
            .collect::<Vec<_>>()
            .join("/")
    );
    Image::new("registry.example.com/a-rather-long-team-name/an-even-longer-service-name:2024.05.17-build.1234")
        .step(
            &long_step,
            Layer::new(vec![
                Entry::dir("app/"),
                Entry::file(&deep, format!("# deploy\nAWS_ACCESS_KEY_ID={AWS_KEY_ID}\n")),
                Entry::file("app/\x1b]0;pwned\x07token.txt", format!("token: {GITHUB_PAT}\n")),
                Entry::file("app/.env", format!("NPM_TOKEN={NPM_TOKEN}\n")),
            ])
            .gzip(),
        )
        .step(
            &format!("RUN rm /app/.env && {}", "echo cleaning up the build context carefully; ".repeat(6)),
            Layer::new(vec![Entry::whiteout("app/.env")]),
        )
        .env(&format!("GITHUB_TOKEN={GITHUB_APP}"))
}

/// Every line in at most `cols` characters, the key facts kept, the summary there.
fn assert_fits(screen: &str, cols: usize) {
    for line in screen.lines() {
        assert!(
            line.chars().count() <= cols,
            "line of {} chars at {cols} columns: {line:?}\n{screen}",
            line.chars().count()
        );
    }
    assert!(
        !screen.contains('\x07'),
        "control characters from the image are escaped"
    );
    for want in [
        "registry.example.com/a-rat",
        "service-name:2024.05.17-build.1234",
        "linux/amd64 · 2 layers · 7.0 KiB · 4 findings",
        "layer 0  RUN set -eux; apt-get update",
        "credentials.env:2:19",
        "app/\\u{1b}]0;pwned\\u{7}token.txt:1:8",
        "deleted in layer 1: RUN rm /app/.env",
        "image metadata",
        "Env GITHUB_TOKEN, col 14",
    ] {
        assert!(screen.contains(want), "{want:?} missing:\n{screen}");
    }
    let summary = screen
        .trim_end()
        .lines()
        .rev()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        summary.contains("4 findings (2 present, 1 deleted, 1 metadata)")
            && summary.contains("in 1 image, 2 layers,")
            && summary.contains("scanned"),
        "summary: {summary}"
    );
}

#[test]
fn pretty_output_fits_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("i.tar");
    fixture::write(Form::DockerClassic, &[unwieldy_image()], &img).unwrap();
    let img = img.to_str().unwrap();
    // COLUMNS, on a pipe.
    let out = command(&["scan", img])
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let screen = String::from_utf8(out.stdout).unwrap();
    assert_fits(&screen, 80);
    assert!(!screen.contains('\x1b'), "{screen}");
    let secrets = [AWS_KEY_ID, GITHUB_PAT, NPM_TOKEN, GITHUB_APP];
    assert_no_leak("COLUMNS=80", screen.as_bytes(), &secrets);
    assert_no_leak("COLUMNS=80: stderr", &out.stderr, &secrets);
    // The terminal's own width, colours on.
    for cols in [80, 160] {
        let (code, screen) = run_on_tty(&["scan", img], cols, &[]);
        assert_eq!(code, 1);
        assert!(screen.contains("\x1b["));
        assert_fits(&strip_ansi(&screen), usize::from(cols));
        assert_no_leak("terminal", strip_ansi(&screen).as_bytes(), &secrets);
    }
    let (_, wide) = run_on_tty(&["scan", "--color", "never", img], 160, &[]);
    assert!(
        wide.lines().any(|l| l.chars().count() > 80),
        "a wide terminal is used: {wide}"
    );
    assert_no_leak("wide terminal", wide.as_bytes(), &secrets);
}
