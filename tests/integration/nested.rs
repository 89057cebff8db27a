//! Nested content: archives inside archives, compressed files, binaries, UTF-16 text,
//! and bombs that hit the limits — in every image form.

use crate::fixture::{self, Entry, Form, Image, Layer};
use crate::support::*;
use std::io::{Cursor, Write};

pub fn gz(d: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(d).unwrap();
    e.finish().unwrap()
}

pub fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (n, d) in files {
        w.start_file(*n, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(d).unwrap();
    }
    w.finish().unwrap().into_inner()
}

pub fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (n, d) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(d.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, n, *d).unwrap();
    }
    b.into_inner().unwrap()
}

fn jar() -> Vec<u8> {
    zip_of(&[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
        (
            "BOOT-INF/classes/application.properties",
            format!("server.port=8080\naws.accessKeyId={AWS_KEY_ID}\n").as_bytes(),
        ),
    ])
}

fn utf16le(s: &str) -> Vec<u8> {
    [0xff, 0xfe]
        .into_iter()
        .chain(s.encode_utf16().flat_map(u16::to_le_bytes))
        .collect()
}

fn utf16be(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

fn zst(d: &[u8]) -> Vec<u8> {
    zstd::encode_all(d, 3).unwrap()
}

fn bz2(d: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    e.write_all(d).unwrap();
    e.finish().unwrap()
}

fn xz(d: &[u8]) -> Vec<u8> {
    let mut e = xz2::write::XzEncoder::new(Vec::new(), 6);
    e.write_all(d).unwrap();
    e.finish().unwrap()
}

fn nested_image() -> Image {
    let backup = gz(&tar_of(&[(
        "root/.npmrc",
        format!("//npm.example.test/:_authToken={NPM_TOKEN}\n").as_bytes(),
    )]));
    let deep = gz(&tar_of(&[(
        "lib/inner.zip",
        &zip_of(&[(
            "conf/deep.env",
            format!("\ntoken={GITHUB_PAT}\n").as_bytes(),
        )]),
    )]));
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    elf.extend_from_slice(&[0u8; 64]);
    elf.extend_from_slice(format!("\0compiled-in:{GITHUB_PAT}\0").as_bytes());
    elf.extend_from_slice(&[0xffu8; 32]);
    Image::new("corp/nested:1")
        .step(
            "COPY app.jar backup.tgz /",
            Layer::new(vec![
                Entry::file("app/lib/app.jar", jar()),
                Entry::file("srv/backup.tar.gz", backup),
                Entry::file("srv/deep.tgz", deep),
                Entry::file(
                    "var/log/app.log.1.gz",
                    gz(format!("INFO start\nDEBUG auth token={GITHUB_APP}\n").as_bytes()),
                ),
                Entry::file("usr/local/bin/agent", elf),
                Entry::file(
                    "app/appsettings.json",
                    utf16le(&format!("{{\r\n  \"AwsKey\": \"{AWS_KEY_ID}\"\r\n}}\r\n")),
                ),
                Entry::file(
                    "app/legacy.ini",
                    utf16be(&format!("[aws]\naws_access_key_id = {AWS_KEY_ID}\n")),
                ),
                Entry::file(
                    "srv/conf.tar.zst",
                    zst(&tar_of(&[(
                        "etc/app.env",
                        format!("GH={GITHUB_PAT}\n").as_bytes(),
                    )])),
                ),
                Entry::file(
                    "srv/conf.tar.bz2",
                    bz2(&tar_of(&[(
                        "etc/app.env",
                        format!("GH={GITHUB_PAT}\n").as_bytes(),
                    )])),
                ),
                Entry::file(
                    "var/log/auth.log.xz",
                    xz(format!("x\nGH={GITHUB_PAT}\n").as_bytes()),
                ),
                Entry::file(
                    "var/log/auth.log.1.bz2",
                    bz2(format!("GH={GITHUB_PAT}\n").as_bytes()),
                ),
                Entry::file(
                    "var/log/auth.log.2.zst",
                    zst(format!("GH={GITHUB_PAT}\n").as_bytes()),
                ),
            ])
            .gzip(),
        )
        .step(
            "COPY app.jar /opt/copy/ && rm /srv/backup.tar.gz",
            Layer::new(vec![
                Entry::file("opt/copy/app.jar", jar()),
                Entry::whiteout("srv/backup.tar.gz"),
            ]),
        )
}

fn nested_of(f: impl std::borrow::Borrow<serde_json::Value>) -> Vec<String> {
    f.borrow()["location"]["nested"]
        .as_array()
        .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn secrets_one_level_down_are_found_with_their_chain() {
    let dir = tempfile::tempdir().unwrap();
    let mut reference = None;
    for form in [Form::OciArchive, Form::DockerClassic, Form::OciDir] {
        let p = dir.path().join(form.file_name());
        fixture::write(form, &[nested_image()], &p).unwrap();
        let (code, r, stderr) = scan_json(&target(form, &p), &[]);
        assert_eq!(code, 1, "{stderr}");
        assert!(
            r["summary"]["skipped"].is_null(),
            "{:#}",
            r["summary"]["skipped"]
        );
        let jar = &find(&r, RULE_AWS_KEY_ID, "app/lib/app.jar");
        assert_eq!(
            nested_of(jar),
            ["app/lib/app.jar", "BOOT-INF/classes/application.properties"]
        );
        assert_eq!(jar["location"]["line"], 2);
        assert_eq!(jar["location"]["column"], 17);
        assert_eq!(jar["status"], "present");
        // The same jar in a later layer: matched once, reported at each location.
        assert_eq!(
            nested_of(find(&r, RULE_AWS_KEY_ID, "opt/copy/app.jar"))[0],
            "opt/copy/app.jar"
        );
        let npm = &find(&r, RULE_NPM, "srv/backup.tar.gz");
        assert_eq!(
            nested_of(npm),
            ["srv/backup.tar.gz", "backup.tar", "root/.npmrc"]
        );
        assert_eq!(npm["status"], "deleted", "the status is the outer file's");
        assert_eq!(npm["removed_by"]["layer_index"], 1);
        let deep = &find(&r, RULE_GITHUB_PAT, "srv/deep.tgz");
        assert_eq!(
            nested_of(deep),
            ["srv/deep.tgz", "deep.tar", "lib/inner.zip", "conf/deep.env"]
        );
        assert_eq!(deep["location"]["line"], 2);
        let log = &find(&r, RULE_GITHUB_APP, "var/log/app.log.1.gz");
        assert_eq!(nested_of(log), ["var/log/app.log.1.gz", "app.log.1"]);
        assert_eq!(log["location"]["line"], 2);
        let bin = &find(&r, RULE_GITHUB_PAT, "usr/local/bin/agent");
        assert!(nested_of(bin).is_empty());
        assert_eq!(bin["location"]["offset"], 80 + 13);
        let le = &find(&r, RULE_AWS_KEY_ID, "app/appsettings.json");
        assert_eq!(le["location"]["line"], 2, "line of the decoded text");
        assert_eq!(le["location"]["column"], 14);
        assert_eq!(
            le["location"]["offset"],
            2 + 2 * 16,
            "offset in the UTF-16 bytes"
        );
        assert!(nested_of(le).is_empty());
        assert_eq!(
            nested_of(find(&r, RULE_GITHUB_PAT, "srv/conf.tar.zst")),
            ["srv/conf.tar.zst", "conf.tar", "etc/app.env"]
        );
        assert_eq!(
            nested_of(find(&r, RULE_GITHUB_PAT, "srv/conf.tar.bz2")),
            ["srv/conf.tar.bz2", "conf.tar", "etc/app.env"]
        );
        let x = &find(&r, RULE_GITHUB_PAT, "var/log/auth.log.xz");
        assert_eq!(nested_of(x), ["var/log/auth.log.xz", "auth.log"]);
        assert_eq!(x["location"]["line"], 2);
        assert_eq!(
            nested_of(find(&r, RULE_GITHUB_PAT, "var/log/auth.log.1.bz2")),
            ["var/log/auth.log.1.bz2", "auth.log.1"]
        );
        assert_eq!(
            nested_of(find(&r, RULE_GITHUB_PAT, "var/log/auth.log.2.zst")),
            ["var/log/auth.log.2.zst", "auth.log.2"]
        );
        let be = &find(&r, RULE_AWS_KEY_ID, "app/legacy.ini");
        assert_eq!(be["location"]["line"], 2);
        let secrets = [AWS_KEY_ID, GITHUB_PAT, GITHUB_APP, NPM_TOKEN];
        assert_report_no_leak(form.name(), &r, &stderr, &secrets);
        let mut c = comparable(&r);
        c.sort_by_key(|v| v.to_string());
        match &reference {
            None => reference = Some(c),
            Some(want) => assert_eq!(&c, want, "{}", form.name()),
        }
    }
}

#[test]
fn bombs_are_cut_counted_and_strict_fails() {
    let bomb = gz(&vec![0u8; 300 << 20]);
    let wide = zip_of(
        &(0..50)
            .map(|i| (format!("f{i}.txt"), b"x".to_vec()))
            .collect::<Vec<_>>()
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect::<Vec<_>>(),
    );
    let deep = gz(&gz(&gz(&gz(format!("token={GITHUB_PAT}\n").as_bytes()))));
    let img = Image::new("corp/bomb:1").step(
        "COPY . /",
        Layer::new(vec![
            Entry::file("data/zeros.gz", bomb),
            Entry::file("data/wide.zip", wide),
            Entry::file("data/deep.gz", deep),
            Entry::file("app/.env", format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n")),
        ]),
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bomb.tar");
    fixture::write(Form::OciArchive, &[img], &p).unwrap();
    let (code, r, stderr) = scan_json(
        p.to_str().unwrap(),
        &["--max-entries", "10", "--max-depth", "2"],
    );
    assert_eq!(code, 2, "anything skipped is an incomplete scan: {stderr}");
    assert_eq!(find(&r, RULE_AWS_KEY_ID, "app/.env")["status"], "present");
    let skipped = r["summary"]["skipped"].as_object().unwrap();
    let reason = |needle: &str| {
        skipped
            .iter()
            .find(|(k, _)| k.contains(needle))
            .map(|(_, v)| v.clone())
    };
    let ratio = reason("--max-ratio").expect("ratio cap hit");
    assert!(
        ratio["examples"][0]
            .as_str()
            .unwrap()
            .contains("data/zeros.gz"),
        "{ratio:#}"
    );
    assert!(reason("--max-entries").is_some(), "{skipped:#?}");
    assert!(reason("--max-depth").is_some(), "{skipped:#?}");
    assert_report_no_leak("bomb", &r, &stderr, &[GITHUB_PAT, AWS_KEY_ID]);
    let (_, r, _) = scan_json(p.to_str().unwrap(), &["--max-nested-bytes", "1"]);
    let bytes_cut = r["summary"]["skipped"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| k.contains("--max-nested-bytes 1 MiB"))
        .map(|(_, v)| v.clone());
    assert!(
        bytes_cut.is_some_and(|v| v["examples"][0].as_str().unwrap().contains("data/zeros.gz"))
    );
    let (code, _, stderr) = scan_json(
        p.to_str().unwrap(),
        &["--max-entries", "10", "--allow-incomplete"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("layerhound: warning: not scanned")
                && l.contains("--max-entries")),
        "the skip is still said: {stderr}"
    );
    // Within the limits, the deep token is found.
    let (_, r, _) = scan_json(p.to_str().unwrap(), &["--max-depth", "5"]);
    assert_eq!(
        nested_of(find(&r, RULE_GITHUB_PAT, "data/deep.gz")).len(),
        5
    );
    assert_report_no_leak("--max-depth 5", &r, "", &[GITHUB_PAT, AWS_KEY_ID]);
}

#[test]
fn a_layer_inflating_past_its_cap_is_scanned_up_to_it_and_counted() {
    let mut big = format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n").into_bytes();
    big.extend(std::iter::repeat_n(b'.', 3 << 20));
    big.extend(format!("\ntoken={GITHUB_PAT}\n").bytes());
    let img = Image::new("corp/cap:1").step(
        "COPY big /",
        Layer::new(vec![Entry::file("data/big.env", big)]).gzip(),
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cap.tar");
    fixture::write(Form::OciArchive, &[img], &p).unwrap();
    let (code, r, stderr) = scan_json(p.to_str().unwrap(), &["--max-layer-bytes", "2"]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr
            .lines()
            .filter(
                |l| l.starts_with("layerhound: warning: ") && l.contains("--max-layer-bytes 2 MiB")
            )
            .count(),
        1,
        "{stderr}"
    );
    assert_eq!(
        find(&r, RULE_AWS_KEY_ID, "data/big.env")["status"],
        "present"
    );
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["rule_id"] != RULE_GITHUB_PAT),
        "past the cap"
    );
    let skipped = r["summary"]["skipped"].as_object().unwrap();
    assert!(
        skipped
            .keys()
            .any(|k| k.contains("--max-layer-bytes 2 MiB")),
        "{skipped:#?}"
    );
    assert!(
        r["summary"]["errors"].as_array().unwrap().is_empty(),
        "a cap is not a digest error"
    );
    assert_report_no_leak("capped", &r, &stderr, &[AWS_KEY_ID, GITHUB_PAT]);
    let (code, r, _) = scan_json(p.to_str().unwrap(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        find(&r, RULE_GITHUB_PAT, "data/big.env")["location"]["line"],
        3
    );
    let (code, _, _) = scan_json(
        p.to_str().unwrap(),
        &["--max-layer-bytes", "2", "--allow-incomplete"],
    );
    assert_eq!(code, 1);
}
