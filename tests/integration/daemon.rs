//! The `docker-daemon:` source against a real dockerd (`scripts/with-dockerd` starts a
//! private one and sets DOCKER_HOST; `.ci/run` does so for the whole suite). Images are
//! built by the fixture builder and loaded through the Engine API. Without a reachable
//! daemon these tests fail: they never skip.

use crate::fixture::{self, Entry, Form, Image, Layer};
use crate::support::*;
use futures_util::StreamExt;
use serde_json::Value;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;

fn docker_host() -> String {
    let host = std::env::var("DOCKER_HOST").unwrap_or_default();
    assert!(
        host.starts_with("unix://"),
        "the daemon tests need a Docker daemon on a unix socket in DOCKER_HOST; run them with scripts/with-dockerd (got {host:?})"
    );
    host
}

fn socket_path() -> PathBuf {
    PathBuf::from(docker_host().trim_start_matches("unix://"))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Loads a docker-save archive into the daemon (POST /images/load).
fn load(archive: &Path) {
    let docker =
        bollard::Docker::connect_with_unix(&docker_host(), 120, bollard::API_DEFAULT_VERSION)
            .unwrap();
    let bytes = std::fs::read(archive).unwrap();
    rt().block_on(async {
        let docker = docker
            .negotiate_version()
            .await
            .expect("reach the test daemon");
        let mut s = docker.import_image(
            bollard::query_parameters::ImportImageOptions {
                quiet: true,
                platform: None,
            },
            bollard::body_full(bytes.into()),
            None,
        );
        while let Some(item) = s.next().await {
            item.expect("daemon loads the image");
        }
    });
}

/// The reference image with plain layers (as `docker save` writes them), tagged `tag`.
fn image(tag: &str) -> Image {
    // A label per tag keeps every test's image id distinct.
    let mut img = reference_image().label("test.tag", tag);
    img.repo_tags = vec![tag.to_string()];
    for s in &mut img.steps {
        if let Some(l) = &mut s.layer {
            l.compression = fixture::Compression::None;
        }
    }
    img
}

/// The fields that must agree between a daemon scan and an archive scan.
fn key(report: &Value, tag: &str) -> Vec<Value> {
    let mut v: Vec<Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["ref"] == tag)
        .map(|f| {
            let l = &f["location"];
            serde_json::json!([
                f["rule_id"],
                f["secret"],
                f["status"],
                f["removed_by"]["layer_index"],
                l["layer_index"],
                l["diff_id"],
                l["created_by"],
                l["path"],
                l["line"],
                l["column"],
                l["field"],
                f["fingerprint"],
                f["platform"]
            ])
        })
        .collect();
    v.sort_by_key(|x| x.to_string());
    v
}

fn archive_scan(dir: &Path, img: Image, tag: &str) -> (PathBuf, Vec<Value>) {
    let p = dir.join(format!("{}.tar", tag.replace(['/', ':'], "_")));
    fixture::write(Form::DockerClassic, &[img], &p).unwrap();
    let (code, r, stderr) = scan_json(p.to_str().unwrap(), &["--reveal"]);
    assert_eq!(code, 1, "{stderr}");
    (p.clone(), key(&r, tag))
}

#[test]
fn daemon_scan_equals_archive_scan() {
    let tag = "lh-test/equal:1";
    let dir = tempfile::tempdir().unwrap();
    let (archive, want) = archive_scan(dir.path(), image(tag), tag);
    assert!(want.len() >= 5);
    load(&archive);
    for target in [format!("docker-daemon:{tag}"), tag.to_string()] {
        let (code, r, stderr) = scan_json(&target, &["--reveal"]);
        assert_eq!(code, 1, "{target}: {stderr}");
        assert_eq!(key(&r, tag), want, "{target}");
        assert!(
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["image"] == format!("docker-daemon:{tag}"))
        );
        assert_eq!(r["images"][0]["tags"], serde_json::json!([tag]));
    }
    // By image id: the export carries no tag, inspect supplies it.
    let (_, r, _) = scan_json(&format!("docker-daemon:{tag}"), &[]);
    let id = r["images"][0]["config_digest"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, r, stderr) = scan_json(&format!("docker-daemon:{id}"), &["--reveal"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(key(&r, tag), want, "by id");
}

#[test]
fn all_images_scans_every_image_once() {
    let dir = tempfile::tempdir().unwrap();
    let (a_tag, b_tag) = ("lh-test/all-a:1", "lh-test/all-b:1");
    let (a_tar, a_want) = archive_scan(dir.path(), image(a_tag), a_tag);
    let b = image(b_tag).step(
        "RUN rm /srv/token.txt /srv/token.link",
        Layer::new(vec![
            Entry::whiteout("srv/token.txt"),
            Entry::whiteout("srv/token.link"),
        ]),
    );
    let (b_tar, b_want) = archive_scan(dir.path(), b, b_tag);
    load(&a_tar);
    load(&b_tar);
    let (code, r, stderr) = scan_json("--all-images", &["--reveal"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(key(&r, a_tag), a_want);
    assert_eq!(key(&r, b_tag), b_want);
    // The token is present in a and deleted in b: the same layer, two statuses.
    let st = |tag: &str| {
        key(&r, tag)
            .iter()
            .find(|k| k[7] == "srv/token.txt")
            .map(|k| k[2].clone())
    };
    assert_eq!(st(a_tag), Some("present".into()));
    assert_eq!(st(b_tag), Some("deleted".into()));
    // Shared layers are read once: b adds one layer to a's four.
    let layers = r["summary"]["layers"].as_u64().unwrap();
    let images = r["summary"]["images"].as_u64().unwrap();
    assert!(images >= 2);
    let distinct: std::collections::HashSet<String> = r["images"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| {
            i["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["diff_id"].to_string())
        })
        .collect();
    assert_eq!(layers as usize, distinct.len());
}

#[test]
fn image_not_found_names_it_and_suggests_a_tag() {
    let tag = "lh-test/hint:1";
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("h.tar");
    fixture::write(Form::DockerClassic, &[image(tag)], &p).unwrap();
    load(&p);
    let out = run(&["scan", "docker-daemon:lh-test/hint:2"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("lh-test/hint:2")
            && stderr.contains("no such image")
            && stderr.contains(tag),
        "{stderr}"
    );
}

#[test]
fn unreachable_daemon_says_which_socket_and_how_to_set_docker_host() {
    let out = Command::new(env!("CARGO_BIN_EXE_layerhound"))
        .args(["scan", "docker-daemon:x:1"])
        .env("DOCKER_HOST", "unix:///nonexistent/layerhound.sock")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("/nonexistent/layerhound.sock") && stderr.contains("DOCKER_HOST"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn permission_denied_on_the_socket() {
    // The socket is root's; run the binary as `nobody` with a traversable socket dir.
    let sock = socket_path();
    let sock_dir = sock.parent().unwrap();
    let st = Command::new("chmod")
        .arg("711")
        .arg(sock_dir)
        .status()
        .unwrap();
    assert!(st.success());
    let bin_dir = tempfile::tempdir().unwrap();
    let bin = bin_dir.path().join("layerhound");
    std::fs::copy(env!("CARGO_BIN_EXE_layerhound"), &bin).unwrap();
    Command::new("chmod")
        .args(["-R", "755"])
        .arg(bin_dir.path())
        .status()
        .unwrap();
    let out = Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(&bin)
        .args(["scan", "--no-cache", "docker-daemon:x:1"])
        .env("DOCKER_HOST", docker_host())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("permission denied") && stderr.contains(sock.to_str().unwrap()),
        "{stderr}"
    );
}

/// A unix-socket proxy to the real daemon that, once it has forwarded `cut_after` bytes
/// of an image export response, either closes the connection or goes silent.
fn faulty_proxy(dir: &Path, cut_after: usize, stall: bool) -> String {
    let path = dir.join("proxy.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let upstream = socket_path();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let upstream = upstream.clone();
            std::thread::spawn(move || {
                let server = UnixStream::connect(&upstream).unwrap();
                let exporting = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
                let (mut c_read, mut s_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let flag = exporting.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 8192];
                    while let Ok(n) = c_read.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        if String::from_utf8_lossy(&buf[..n]).contains("/images/get") {
                            flag.store(true, std::sync::atomic::Ordering::SeqCst);
                        }
                        if s_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
                let (mut s_read, mut c_write) = (server, client);
                let mut sent = 0usize;
                let mut buf = [0u8; 8192];
                while let Ok(n) = s_read.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let mut n = n;
                    if exporting.load(std::sync::atomic::Ordering::SeqCst) {
                        if sent + n > cut_after {
                            n = cut_after - sent;
                            let _ = c_write.write_all(&buf[..n]);
                            if stall {
                                std::thread::sleep(std::time::Duration::from_secs(30));
                            }
                            let _ = c_write.shutdown(std::net::Shutdown::Both);
                            return;
                        }
                        sent += n;
                    }
                    if c_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    format!("unix://{}", path.display())
}

fn export_size(tag: &str) -> usize {
    let out = Command::new("docker")
        .args(["save", tag])
        .env("DOCKER_HOST", docker_host())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout.len()
}

#[test]
fn stream_dropped_midway_reports_what_arrived() {
    let tag = "lh-test/drop:1";
    let dir = tempfile::tempdir().unwrap();
    let (archive, want) = archive_scan(dir.path(), image(tag), tag);
    load(&archive);
    // Cut just before the end: manifest.json and repositories come last in the export.
    let host = faulty_proxy(dir.path(), export_size(tag) - 1536, false);
    let out = Command::new(env!("CARGO_BIN_EXE_layerhound"))
        .args([
            "scan",
            "--format",
            "json",
            "--quiet",
            "--reveal",
            &format!("docker-daemon:{tag}"),
        ])
        .env("DOCKER_HOST", &host)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("scanned what arrived"), "{stderr}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Every layer and the config arrived before the cut: the same findings.
    assert_eq!(key(&r, tag), want, "{stderr}");
}

#[test]
fn stalled_stream_hits_the_idle_timeout() {
    let tag = "lh-test/stall:1";
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.tar");
    fixture::write(Form::DockerClassic, &[image(tag)], &p).unwrap();
    load(&p);
    let host = faulty_proxy(dir.path(), 4096, true);
    let start = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_layerhound"))
        .args([
            "scan",
            "--quiet",
            "--daemon-idle-timeout",
            "2",
            &format!("docker-daemon:{tag}"),
        ])
        .env("DOCKER_HOST", &host)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("stalled"), "{stderr}");
    assert!(
        start.elapsed() < std::time::Duration::from_secs(25),
        "no hang"
    );
}

/// Forwards loopback TCP connections to the test daemon's unix socket.
fn tcp_forwarder() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let upstream = socket_path();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = UnixStream::connect(&upstream) else {
                return;
            };
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || std::io::copy(&mut c_in, &mut s_out));
            let (mut s_in, mut c_out) = (server, client);
            std::thread::spawn(move || std::io::copy(&mut s_in, &mut c_out));
        }
    });
    format!("tcp://{addr}")
}

#[test]
fn tcp_docker_host() {
    let tag = "lh-test/tcp:1";
    let dir = tempfile::tempdir().unwrap();
    let (archive, want) = archive_scan(dir.path(), image(tag), tag);
    load(&archive);
    let out = Command::new(env!("CARGO_BIN_EXE_layerhound"))
        .args(["scan", "--format", "json", "--quiet", "--reveal", tag])
        .env("DOCKER_HOST", tcp_forwarder())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(key(&r, tag), want);
}

/// `contrib/pre-push` in a git repository: builds the Dockerfile with the real daemon,
/// scans the image through `docker-daemon:` and refuses the push only when a secret is
/// present in it.
#[test]
fn pre_push_hook_refuses_a_present_secret_and_passes_a_clean_image() {
    let hook = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/pre-push");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_layerhound"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (name, content, expect) in [
        ("leaky", format!("token={GITHUB_PAT}\n"), 1),
        ("clean", "nothing to see\n".to_string(), 0),
    ] {
        let repo = tempfile::tempdir().unwrap();
        let git = Command::new("git")
            .args(["init", "-q"])
            .current_dir(repo.path())
            .status()
            .unwrap();
        assert!(git.success());
        std::fs::write(repo.path().join("token.txt"), content).unwrap();
        std::fs::write(
            repo.path().join("Dockerfile"),
            "FROM scratch\nCOPY token.txt /srv/token.txt\n",
        )
        .unwrap();
        let out = Command::new(&hook)
            .current_dir(repo.path())
            .env("PATH", &path)
            .env("DOCKER_HOST", docker_host())
            .env("DOCKER_BUILDKIT", "0")
            .env("NO_COLOR", "1")
            .env("LAYERHOUND_IMAGE", format!("layerhound-prepush-{name}:1"))
            .env(
                "LAYERHOUND_CACHE_DIR",
                concat!(env!("CARGO_TARGET_TMPDIR"), "/layerhound-cache"),
            )
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(expect),
            "{name}: {stdout}\n{stderr}"
        );
        if expect == 1 {
            assert!(stderr.contains("push refused"), "{stderr}");
            assert!(stdout.contains("srv/token.txt"), "{stdout}");
            assert!(!stdout.contains(GITHUB_PAT), "redacted");
        } else {
            assert!(!stderr.contains("refused"), "{stderr}");
        }
    }
}

/// The export's layers are decoded and matched as they arrive and never written to
/// disk: a spool filesystem with no room to spare (`--min-free-disk` above what is free)
/// changes nothing, and the spool directory stays empty throughout.
#[test]
fn the_export_is_scanned_as_it_streams_without_touching_the_disk() {
    let tag = "lh-test/lowdisk:1";
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("l.tar");
    fixture::write(Form::DockerClassic, &[image(tag)], &p).unwrap();
    load(&p);
    let spool = dir.path().join("spool");
    std::fs::create_dir(&spool).unwrap();
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let peak = {
        let (spool, watching) = (spool.clone(), watching.clone());
        std::thread::spawn(move || {
            let mut peak = 0u64;
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                for d in walkdir(&spool) {
                    peak = peak.max(d);
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            peak
        })
    };
    let (code, report, stderr) = scan_json(
        &format!("docker-daemon:{tag}"),
        &[
            "--no-cache",
            "--min-free-disk",
            "1000000000",
            "--spool-dir",
            spool.to_str().unwrap(),
        ],
    );
    watching.store(false, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(peak.join().unwrap(), 0, "nothing was written to the spool");
    let (_, archive, _) = scan_json(&format!("docker-archive:{}", p.display()), &["--no-cache"]);
    assert_eq!(key(&report, tag), key(&archive, tag));
    find(&report, RULE_GITHUB_APP, "Env[1]");
    assert_eq!(
        std::fs::read_dir(&spool).unwrap().count(),
        0,
        "spool removed"
    );
}

/// Sizes of the regular files under `dir`.
fn walkdir(dir: &std::path::Path) -> Vec<u64> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => out.extend(walkdir(&e.path())),
            Ok(_) => out.push(e.metadata().map_or(0, |m| m.len())),
            Err(_) => {}
        }
    }
    out
}
