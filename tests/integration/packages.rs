//! Package-aware noise control: findings in unmodified package files are set aside
//! (counted, shown with --include-package-files); modified package files are findings.

use crate::fixture::{self, Entry, Form, Image, Layer};
use crate::support::*;
use md5::{Digest as _, Md5};

fn md5(d: &[u8]) -> String {
    hex::encode(Md5::digest(d))
}

fn lib_v1() -> Vec<u8> {
    format!("\x7fELF\0\0self-test key:\n{}\0\0", pem_key()).into_bytes()
}

fn lib_v2() -> Vec<u8> {
    format!("\x7fELF\0\0v2 self-test key:\n{}\0\0", pem_key()).into_bytes()
}

const CONF: &str = "# shipped config\nverbose = no\n";

fn status(libfoo_version: &str) -> String {
    format!(
        "Package: libfoo1\nStatus: install ok installed\nVersion: {libfoo_version}\nArchitecture: amd64\n\n\
         Package: ssl-cert\nStatus: install ok installed\nVersion: 1.1.2\nArchitecture: all\n"
    )
}

fn sums(lib: &[u8]) -> String {
    // `lib/…` as packages record it; the file lies at usr/lib/… (merged /usr).
    format!(
        "{}  lib/x86_64-linux-gnu/libfoo.so.1\n{}  etc/foo.conf\n",
        md5(lib),
        md5(CONF.as_bytes())
    )
}

fn debian_like() -> Image {
    Image::new("corp/pkg:1")
        .step(
            "debootstrap",
            Layer::new(vec![
                Entry::file("var/lib/dpkg/status", status("1.0-1")),
                Entry::file("var/lib/dpkg/info/libfoo1:amd64.md5sums", sums(&lib_v1())),
                Entry::file("usr/lib/x86_64-linux-gnu/libfoo.so.1", lib_v1()),
                Entry::file("etc/foo.conf", CONF),
                Entry::file("etc/ssl/private/ssl-cert-snakeoil.key", pem_key()),
            ])
            .gzip(),
        )
        .step(
            "RUN apt-get upgrade -y libfoo1",
            Layer::new(vec![
                Entry::file("var/lib/dpkg/status", status("1.0-2")),
                Entry::file("var/lib/dpkg/info/libfoo1:amd64.md5sums", sums(&lib_v2())),
                Entry::file("usr/lib/x86_64-linux-gnu/libfoo.so.1", lib_v2()),
            ]),
        )
}

#[test]
fn unmodified_package_files_are_set_aside_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pkg.tar");
    fixture::write(Form::DockerOci, &[debian_like()], &p).unwrap();
    let (code, r, stderr) = scan_json(p.to_str().unwrap(), &[]);
    assert_eq!(code, 0, "only package files hold keys: {stderr} {r:#}");
    assert_eq!(r["findings"], serde_json::json!([]));
    let s = &r["summary"]["suppressed"];
    // Both versions of the library (the old one as of its own layer) and the snakeoil key.
    assert_eq!(s["package_files"], 3, "{s:#}");
    assert_eq!(s["by_package"]["libfoo1 1.0-1"], 1);
    assert_eq!(s["by_package"]["libfoo1 1.0-2"], 1);
    assert_eq!(s["by_package"]["ssl-cert 1.1.2"], 1);

    let (code, r, _) = scan_json(p.to_str().unwrap(), &["--include-package-files"]);
    assert_eq!(code, 1);
    let f = places(&r);
    assert_eq!(f.len(), 3, "{f:#?}");
    let old = f
        .iter()
        .find(|x| {
            x["location"]["layer_index"] == 0
                && x["location"]["path"] == "usr/lib/x86_64-linux-gnu/libfoo.so.1"
        })
        .unwrap();
    assert_eq!(old["status"], "overwritten");
    assert_eq!(old["package"]["name"], "libfoo1");
    assert_eq!(old["package"]["version"], "1.0-1");
    let snake = f
        .iter()
        .find(|x| x["location"]["path"] == "etc/ssl/private/ssl-cert-snakeoil.key")
        .unwrap();
    assert!(
        snake["package"]["reason"]
            .as_str()
            .unwrap()
            .contains("snakeoil")
    );
}

#[test]
fn a_modified_package_file_is_a_finding() {
    let img = debian_like().step(
        "RUN echo token=… >> /etc/foo.conf",
        Layer::new(vec![Entry::file(
            "etc/foo.conf",
            format!("{CONF}token = {GITHUB_PAT}\n"),
        )]),
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pkg.tar");
    fixture::write(Form::OciArchive, &[img], &p).unwrap();
    let (code, r, _) = scan_json(p.to_str().unwrap(), &[]);
    assert_eq!(code, 1);
    let f = find(&r, RULE_GITHUB_PAT, "etc/foo.conf");
    assert_eq!(f["status"], "present");
    assert!(f.get("package").is_none());
    assert_eq!(r["summary"]["suppressed"]["package_files"], 3);
}

#[test]
fn without_a_package_database_nothing_is_set_aside() {
    let img = Image::new("corp/nodb:1").step(
        "COPY lib /usr/lib/",
        Layer::new(vec![Entry::file(
            "usr/lib/x86_64-linux-gnu/libfoo.so.1",
            lib_v1(),
        )]),
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("n.tar");
    fixture::write(Form::OciArchive, &[img], &p).unwrap();
    let (code, r, _) = scan_json(p.to_str().unwrap(), &[]);
    assert_eq!(code, 1);
    assert_eq!(r["summary"]["suppressed"]["package_files"], 0);
}

#[test]
fn a_deleted_package_database_does_not_vouch_for_files() {
    // The records are gone from the final filesystem, but the file's layer saw them.
    // A later layer that removes the dpkg database does not make earlier files secret.
    let img = debian_like().step(
        "RUN rm -rf /var/lib/dpkg && echo key >> /usr/lib/x86_64-linux-gnu/libfoo.so.1",
        Layer::new(vec![
            Entry::whiteout("var/lib/dpkg"),
            Entry::file(
                "usr/lib/x86_64-linux-gnu/libfoo.so.1",
                [lib_v2(), b"tampered".to_vec()].concat(),
            ),
        ]),
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.tar");
    fixture::write(Form::OciDir, &[img], &p).unwrap();
    let (code, r, _) = scan_json(&format!("oci:{}", p.display()), &[]);
    assert_eq!(code, 1);
    let f = r["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["location"]["layer_index"], 2);
    assert_eq!(f[0]["status"], "present");
}

#[test]
fn alpine_apk_database() {
    use base64::Engine as _;
    use sha1::Sha1;
    let lib = lib_v1();
    let q1 = base64::engine::general_purpose::STANDARD.encode(Sha1::digest(&lib));
    let installed = format!("P:libfoo\nV:1.0-r0\nF:usr/lib\nR:libfoo.so.1\nZ:Q1{q1}\n\n");
    let img = Image::new("corp/alpine:1").step(
        "ADD alpine-minirootfs.tar.gz /",
        Layer::new(vec![
            Entry::file("lib/apk/db/installed", installed),
            Entry::file("usr/lib/libfoo.so.1", lib),
            Entry::file("app/.env", format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n")),
        ]),
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.tar");
    fixture::write(Form::OciArchive, &[img], &p).unwrap();
    let (code, r, _) = scan_json(p.to_str().unwrap(), &[]);
    assert_eq!(code, 1);
    assert_eq!(r["findings"].as_array().unwrap().len(), 1);
    assert_eq!(r["summary"]["suppressed"]["by_package"]["libfoo 1.0-r0"], 1);
}

#[test]
fn exclude_path_drops_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("i.tar");
    fixture::write(Form::OciArchive, &[reference_image()], &p).unwrap();
    let (_, r, _) = scan_json(p.to_str().unwrap(), &["--exclude-path", "^srv/"]);
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["location"]["path"] != "srv/token.txt")
    );
    assert_eq!(r["summary"]["suppressed"]["excluded_paths"], 1);
    let out = run(&["scan", "--exclude-path", "(", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

/// A package file above the size hashed while its layer is open: hashed later, only
/// because a package lists it, on a fresh scan and on a scan from the results cache.
#[test]
fn a_large_unmodified_package_file_is_set_aside_with_or_without_the_cache() {
    let mut big = vec![0u8; 17 << 20];
    let key = format!("self-test key:\n{}", pem_key());
    big[..key.len()].copy_from_slice(key.as_bytes());
    let mut modified = big.clone();
    modified[1 << 20] = 1;
    let image = |lib: &[u8]| {
        Image::new("corp/bigpkg:1").step(
            "debootstrap",
            Layer::new(vec![
                Entry::file("var/lib/dpkg/status", status("1.0-1")),
                Entry::file("var/lib/dpkg/info/libfoo1:amd64.md5sums", sums(&big)),
                Entry::file("usr/lib/x86_64-linux-gnu/libfoo.so.1", lib),
            ])
            .gzip(),
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    for (name, lib, expect_findings) in [("same", &big, 0), ("changed", &modified, 1)] {
        let img = dir.path().join(format!("{name}.tar"));
        fixture::write(Form::OciArchive, &[image(lib)], &img).unwrap();
        let t = format!("oci-archive:{}", img.display());
        for _ in 0..2 {
            let (_, r, stderr) = scan_json(&t, &["--cache", cache.to_str().unwrap()]);
            let n = r["findings"].as_array().unwrap().len();
            assert_eq!(n, expect_findings, "{name}: {stderr} {r:#}");
            assert_eq!(
                r["summary"]["suppressed"]["package_files"],
                1 - expect_findings,
                "{name}"
            );
        }
    }
}
