//! The reference image in every on-disk form: each planted secret with its status,
//! removing layer, build step, path and line; identical findings across forms.

use crate::fixture::{self, Entry, Form, Image, Layer};
use crate::support::*;
use serde_json::Value;

fn scan_form(form: Form, dir: &std::path::Path) -> (i32, Value, Vec<fixture::BuiltImage>) {
    let path = dir.join(form.file_name());
    let built = fixture::write(form, &[reference_image()], &path).expect("write fixture");
    let (code, report, stderr) = scan_json(&target(form, &path), &[]);
    assert_eq!(
        code,
        1,
        "{}: findings expected, exit 1; stderr: {stderr}",
        form.name()
    );
    assert!(
        stderr.is_empty(),
        "{}: unexpected stderr: {stderr}",
        form.name()
    );
    assert_report_no_leak(form.name(), &report, &stderr, &reference_secrets());
    (code, report, built)
}

#[test]
fn reference_image_statuses_and_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let (_, r, built) = scan_form(Form::OciArchive, dir.path());
    let layers = &built[0].layers;

    let aws = find(&r, RULE_AWS_KEY_ID, "app/.env");
    assert_eq!(aws["status"], "deleted");
    assert_eq!(aws["removed_by"]["layer_index"], 2);
    assert_eq!(
        aws["removed_by"]["created_by"],
        "RUN rm /app/.env && install -D key.pem /opt/cfg/key.pem"
    );
    assert_eq!(aws["location"]["layer_index"], 0);
    assert_eq!(
        aws["location"]["created_by"],
        "ADD rootfs.tar.gz / # buildkit"
    );
    assert_eq!(aws["location"]["line"], 2);
    assert_eq!(aws["location"]["column"], 19);
    assert_eq!(aws["location"]["offset"], 12 + 18);
    assert_eq!(aws["location"]["layer_digest"], layers[0].digest.as_str());
    assert_eq!(aws["location"]["diff_id"], layers[0].diff_id.as_str());
    assert_eq!(aws["secret"], "AKIA…FTBQ", "redacted by default");
    assert_eq!(aws["ref"], "corp/app:1.2");
    assert_eq!(aws["platform"], "linux/amd64");
    assert!(aws["fingerprint"].as_str().unwrap().starts_with("sha256:"));

    let npm = find(&r, RULE_NPM, "root/.npmrc");
    assert_eq!(npm["status"], "overwritten");
    assert_eq!(npm["removed_by"]["layer_index"], 3);
    assert_eq!(npm["location"]["layer_index"], 1);
    assert_eq!(npm["location"]["line"], 2);

    let key = find(&r, RULE_PEM, "opt/cfg/key.pem");
    assert_eq!(key["status"], "opaque");
    assert_eq!(key["removed_by"]["layer_index"], 3);
    assert_eq!(key["location"]["layer_index"], 2);
    assert_eq!(key["location"]["line"], 1);

    let gh = find(&r, RULE_GITHUB_PAT, "srv/token.txt");
    assert_eq!(gh["status"], "present");
    assert!(gh.get("removed_by").is_none());
    assert_eq!(gh["location"]["layer_index"], 3);
    assert_eq!(gh["location"]["line"], 2);
    assert_eq!(gh["location"]["column"], 8);
    assert_eq!(
        gh["location"]["links"],
        serde_json::json!(["srv/token.link"])
    );

    let env = find(&r, RULE_GITHUB_APP, "Env[1]");
    assert_eq!(env["status"], "metadata");
    assert!(
        env["location"].get("layer_index").is_none(),
        "no layer fields on metadata"
    );
    assert!(env["location"].get("path").is_none());
    assert_eq!(env["location"]["column"], 14);

    let s = &r["summary"];
    assert_eq!(s["images"], 1);
    assert_eq!(s["layers"], 4);
    assert_eq!(s["errors"], serde_json::json!([]));
    assert_eq!(s["findings"], r["findings"].as_array().unwrap().len());
    assert_eq!(s["by_status"]["present"], 1);
    assert_eq!(s["by_status"]["deleted"], 1);
    // The hard link does not duplicate the finding; the symlink is not followed.
    assert_eq!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["location"]["path"] == "srv/token.link")
            .count(),
        0
    );
}

#[test]
fn every_form_gives_identical_findings() {
    let dir = tempfile::tempdir().unwrap();
    let (_, reference, _) = scan_form(Form::OciDir, dir.path());
    let want = comparable(&reference);
    assert!(want.len() >= 5, "{want:#?}");
    for form in Form::ALL {
        let (_, r, _) = scan_form(form, dir.path());
        assert_eq!(comparable(&r), want, "form {} differs", form.name());
    }
}

#[test]
fn bare_paths_are_detected_by_content() {
    let dir = tempfile::tempdir().unwrap();
    for form in Form::ALL {
        let path = dir.path().join(form.file_name());
        fixture::write(form, &[reference_image()], &path).unwrap();
        let (code, r, stderr) = scan_json(path.to_str().unwrap(), &[]);
        assert_eq!(code, 1, "{}: {stderr}", form.name());
        let f = find(&r, RULE_GITHUB_PAT, "srv/token.txt");
        assert_eq!(f["status"], "present", "{}", form.name());
        assert_eq!(f["image"], target(form, &path), "{}", form.name());
        assert_report_no_leak(form.name(), &r, &stderr, &reference_secrets());
    }
    // A compressed OCI archive is told from a compressed docker save once inflated.
    let oci = dir.path().join("oci.tar");
    fixture::write(Form::OciArchive, &[reference_image()], &oci).unwrap();
    let gz = dir.path().join("oci.tar.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut std::fs::File::open(&oci).unwrap(), &mut enc).unwrap();
    enc.finish().unwrap();
    let (code, r, stderr) = scan_json(gz.to_str().unwrap(), &[]);
    assert_eq!(code, 1, "{stderr}");
    let (_, want, _) = scan_json(oci.to_str().unwrap(), &[]);
    assert_eq!(comparable(&r), comparable(&want));
    assert_eq!(
        find(&r, RULE_GITHUB_PAT, "srv/token.txt")["image"],
        format!("oci-archive:{}", gz.display())
    );
    assert_report_no_leak("oci.tar.gz", &r, &stderr, &reference_secrets());
}

#[test]
fn reveal_shows_the_whole_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i.tar");
    fixture::write(Form::DockerOci, &[reference_image()], &path).unwrap();
    let (_, r, _) = scan_json(&format!("docker-archive:{}", path.display()), &["--reveal"]);
    assert_eq!(
        find(&r, RULE_GITHUB_PAT, "srv/token.txt")["secret"],
        GITHUB_PAT
    );
    let (_, r, _) = scan_json(&format!("docker-archive:{}", path.display()), &[]);
    let text = r.to_string();
    for s in [GITHUB_PAT, AWS_KEY_ID, NPM_TOKEN, GITHUB_APP] {
        assert!(!text.contains(s), "secret {s} leaked in redacted output");
    }
    assert_no_leak("redacted report", text.as_bytes(), &reference_secrets());
}

pub fn clean_image(tag: &str) -> Image {
    Image::new(tag).step(
        "COPY app /app",
        Layer::new(vec![Entry::file("app/main.py", "print('hello')\n")]),
    )
}

#[test]
fn clean_image_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clean.tar");
    fixture::write(Form::DockerClassic, &[clean_image("corp/clean:1")], &path).unwrap();
    let (code, r, stderr) = scan_json(path.to_str().unwrap(), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(r["findings"], serde_json::json!([]));
    assert_eq!(r["summary"]["findings"], 0);
}

#[test]
fn several_images_share_a_layer_scanned_once_with_per_image_status() {
    // Both images share the base layer; only the second deletes the secret.
    let base = Layer::new(vec![Entry::file(
        "etc/app.conf",
        format!("token={GITHUB_PAT}\n"),
    )])
    .gzip();
    let a = Image::new("corp/a:1").step("ADD base", base.clone());
    let b = Image::new("corp/b:1").step("ADD base", base).step(
        "RUN rm /etc/app.conf",
        Layer::new(vec![Entry::whiteout("etc/app.conf")]),
    );
    let dir = tempfile::tempdir().unwrap();
    for form in [Form::DockerClassic, Form::DockerOci, Form::OciDir] {
        let path = dir.path().join(form.file_name());
        fixture::write(form, &[a.clone(), b.clone()], &path).unwrap();
        let (code, r, stderr) = scan_json(&target(form, &path), &[]);
        assert_eq!(code, 1, "{stderr}");
        assert_eq!(r["summary"]["images"], 2);
        assert_eq!(
            r["summary"]["layers"],
            2,
            "{}: shared layer read once",
            form.name()
        );
        let f = r["findings"].as_array().unwrap();
        let status_of = |tag: &str| {
            f.iter()
                .find(|x| x["ref"] == tag)
                .map(|x| x["status"].clone())
        };
        assert_eq!(
            status_of("corp/a:1"),
            Some("present".into()),
            "{}",
            form.name()
        );
        assert_eq!(
            status_of("corp/b:1"),
            Some("deleted".into()),
            "{}",
            form.name()
        );
        assert_report_no_leak(form.name(), &r, &stderr, &[GITHUB_PAT]);
    }
}

#[test]
fn multi_platform_index_scans_every_platform_and_filters() {
    let amd = Image::new("corp/mp:1").step(
        "COPY x /",
        Layer::new(vec![Entry::file("cfg", format!("t={GITHUB_PAT}\n"))]).gzip(),
    );
    let arm = Image::new("corp/mp:1")
        .platform("linux", "arm64", Some("v8"))
        .step(
            "COPY x /",
            Layer::new(vec![Entry::file("cfg", format!("t={GITHUB_PAT}\n"))]).gzip(),
        )
        .step("RUN rm /cfg", Layer::new(vec![Entry::whiteout("cfg")]));
    let dir = tempfile::tempdir().unwrap();
    for form in [Form::OciDir, Form::OciArchive] {
        let path = dir.path().join(form.file_name());
        fixture::write_multi_platform(form, "1", &[amd.clone(), arm.clone()], &path).unwrap();
        let t = target(form, &path);
        let (code, r, stderr) = scan_json(&t, &[]);
        assert_eq!(code, 1, "{stderr}");
        let f = r["findings"].as_array().unwrap();
        let by_platform = |p: &str| {
            f.iter()
                .find(|x| x["platform"] == p)
                .map(|x| x["status"].clone())
        };
        assert_eq!(by_platform("linux/amd64"), Some("present".into()));
        assert_eq!(by_platform("linux/arm64/v8"), Some("deleted".into()));
        assert_eq!(r["summary"]["layers"], 2, "the shared layer is read once");
        assert_report_no_leak(form.name(), &r, &stderr, &[GITHUB_PAT]);

        let (_, r, _) = scan_json(&t, &["--platform", "linux/arm64"]);
        assert!(
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["platform"] == "linux/arm64/v8")
        );
        assert_eq!(r["summary"]["images"], 1);
        assert_report_no_leak("--platform linux/arm64", &r, "", &[GITHUB_PAT]);

        let (code, _, stderr) = scan_json(&t, &["--platform", "linux/s390x"]);
        assert_eq!(code, 2);
        assert!(
            stderr.contains("no image for platform linux/s390x") && stderr.contains("linux/amd64"),
            "{stderr}"
        );
    }
}

#[test]
fn oci_ref_selects_one_image() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two");
    fixture::write(
        Form::OciDir,
        &[reference_image(), clean_image("corp/clean:2")],
        &path,
    )
    .unwrap();
    let (code, r, _) = scan_json(&format!("oci:{}:2", path.display()), &[]);
    assert_eq!(code, 0);
    assert_eq!(r["summary"]["images"], 1);
    let (code, _, stderr) = scan_json(&format!("oci:{}:nope", path.display()), &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no image named \"nope\""), "{stderr}");
}

#[test]
fn same_path_twice_in_one_layer_last_wins_and_long_names_work() {
    let long = format!("{}/deep.env", "d".repeat(150));
    let pax = format!("{}/pax.env", "p".repeat(140));
    let img = Image::new("corp/dup:1").step(
        "COPY . /",
        Layer::new(vec![
            Entry::file("a.env", format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n")),
            Entry::file("a.env", "clean\n"),
            Entry::file(&long, format!("token={GITHUB_PAT}\n")),
            Entry::pax_file(&pax, format!("\n\nkey={AWS_KEY_ID}\n")),
        ]),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.tar");
    fixture::write(Form::OciArchive, &[img], &path).unwrap();
    let (_, r, _) = scan_json(path.to_str().unwrap(), &[]);
    let aws = find(&r, RULE_AWS_KEY_ID, "a.env");
    assert_eq!(aws["status"], "overwritten");
    assert_eq!(aws["removed_by"]["layer_index"], 0);
    assert_eq!(find(&r, RULE_GITHUB_PAT, &long)["status"], "present");
    let p = find(&r, RULE_AWS_KEY_ID, &pax);
    assert_eq!(p["status"], "present");
    assert_eq!(p["location"]["line"], 3);
    assert_report_no_leak("dup", &r, "", &[AWS_KEY_ID, GITHUB_PAT]);
}

#[test]
fn buildkit_history_and_labels_are_scanned_as_metadata() {
    let img = Image::new("corp/meta:1")
        .label("deploy.token", GITHUB_PAT)
        .step(
            &format!("RUN |1 NPM_TOKEN={NPM_TOKEN} /bin/sh -c npm ci"),
            Layer::new(vec![Entry::file("x", "y")]),
        );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m");
    fixture::write(Form::OciDir, &[img], &path).unwrap();
    let (_, r, _) = scan_json(&format!("oci:{}", path.display()), &[]);
    assert_eq!(
        find(&r, RULE_GITHUB_PAT, "Labels.deploy.token")["status"],
        "metadata"
    );
    assert_eq!(
        find(&r, RULE_NPM, "history[0].created_by")["status"],
        "metadata"
    );
    assert_report_no_leak("metadata", &r, "", &[GITHUB_PAT, NPM_TOKEN]);
}

#[test]
fn classic_save_with_a_layer_at_two_chain_positions_follows_the_archive_symlink() {
    // Docker before 25 writes the second copy of such a layer as a symlink inside the archive.
    let shared = Layer::new(vec![Entry::file(
        "srv/token.txt",
        format!("token: {GITHUB_PAT}\n"),
    )]);
    let a = Image::new("corp/a:1").step("COPY token /srv/", shared.clone());
    let b = Image::new("corp/b:1")
        .step(
            "COPY base /",
            Layer::new(vec![Entry::file("etc/motd", "hi\n")]),
        )
        .step("COPY token /srv/", shared);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.tar");
    fixture::write(Form::DockerClassic, &[a, b], &path).unwrap();
    let listing = tar::Archive::new(std::fs::File::open(&path).unwrap())
        .entries()
        .unwrap()
        .filter(|e| e.as_ref().unwrap().header().entry_type().is_symlink())
        .count();
    assert_eq!(listing, 1, "the fixture must write a symlinked layer.tar");
    let (code, r, stderr) = scan_json(path.to_str().unwrap(), &[]);
    assert_eq!(code, 1, "{stderr}");
    let refs: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs, ["corp/a:1", "corp/b:1"]);
    assert_eq!(r["findings"][1]["location"]["layer_index"], 1);
    assert_report_no_leak("classic", &r, &stderr, &[GITHUB_PAT]);
}

#[test]
fn tokens_with_a_wrong_checksum_are_not_findings() {
    let bad = format!("{}ZZZZZZ", &GITHUB_PAT[..34]);
    let img = Image::new("corp/ck:1").step(
        "COPY . /",
        Layer::new(vec![Entry::file(
            "a.env",
            format!("GH={bad}\nGH2={GITHUB_PAT}\n"),
        )]),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.tar");
    fixture::write(Form::OciArchive, &[img], &path).unwrap();
    let (_, r, _) = scan_json(path.to_str().unwrap(), &["--reveal"]);
    let secrets: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["secret"].as_str().unwrap())
        .collect();
    assert_eq!(secrets, [GITHUB_PAT]);
}
