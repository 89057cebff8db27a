//! A user's first hour: every documented target form works, mistakes fail loudly.

use crate::fixture::{self, Form};
use crate::support::*;

fn two_images(form: Form, dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join(form.file_name());
    fixture::write(
        form,
        &[reference_image(), crate::forms::clean_image("corp/clean:2")],
        &p,
    )
    .unwrap();
    p
}

#[test]
fn one_image_of_a_multi_image_docker_archive_by_name_and_tag() {
    let dir = tempfile::tempdir().unwrap();
    let p = two_images(Form::DockerClassic, dir.path());
    let (code, r, stderr) = scan_json(&format!("docker-archive:{}:corp/clean:2", p.display()), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(r["summary"]["images"], 1);
    assert_eq!(r["images"][0]["ref"], "corp/clean:2");
    let (code, r, _) = scan_json(&format!("docker-archive:{}:corp/app:1.2", p.display()), &[]);
    assert_eq!(code, 1);
    assert_eq!(r["summary"]["images"], 1);
    let (code, _, stderr) = scan_json(&format!("docker-archive:{}:corp/app:9", p.display()), &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no image tagged corp/app:9")
            && stderr.contains("corp/app:1.2")
            && stderr.contains("corp/clean:2"),
        "the error lists the tags there are: {stderr}"
    );
}

#[test]
fn every_name_an_oci_layout_lists_selects_its_image() {
    let dir = tempfile::tempdir().unwrap();
    let p = two_images(Form::OciDir, dir.path());
    let (code, _, stderr) = scan_json(&format!("oci:{}:nope", p.display()), &[]);
    assert_eq!(code, 2);
    let listed = stderr
        .split("names: ")
        .nth(1)
        .unwrap_or_else(|| panic!("names listed: {stderr}"))
        .trim()
        .trim_end_matches(')');
    let names: Vec<&str> = listed.split(", ").collect();
    assert_eq!(names.len(), 2, "{stderr}");
    for name in names {
        let (code, r, stderr) = scan_json(&format!("oci:{}:{name}", p.display()), &[]);
        assert_ne!(code, 2, "{name}: {stderr}");
        assert_eq!(r["summary"]["images"], 1, "{name}");
    }
}
