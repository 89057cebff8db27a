//! Third-party code: package trees of every ecosystem are recognised by their
//! manifests; findings of context and generic rules in them are set aside and counted,
//! provider-format findings stay reported with their package; known public test keys
//! are set aside by fingerprint; `--include-package-files` shows everything.

use crate::fixture::{self, Entry, Form, Image, Layer};
use crate::nested::zip_of;
use crate::support::*;
use serde_json::Value;

/// A generic password assignment a rule reports, distinct per place.
fn password(n: u32) -> String {
    format!("DB_PASSWORD=ntFtz0KK_iUv%Ga{n}\n")
}

/// (path of the file with a generic secret, ecosystem, package name, version)
const TREES: &[(&str, &str, &str, &str)] = &[
    (
        "app/node_modules/lodash/lib/db.js",
        "npm",
        "lodash",
        "4.17.21",
    ),
    (
        "app/node_modules/@aws-sdk/client-s3/dist/conf.js",
        "npm",
        "@aws-sdk/client-s3",
        "3.500.0",
    ),
    ("app/vendor/requests/conf.py", "pypi", "requests", "2.31.0"),
    (
        "root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/foo-1.2.3/src/lib.rs",
        "cargo",
        "foo",
        "1.2.3",
    ),
    (
        "src/app/vendor/github.com/acme/widget/conf.go",
        "go",
        "github.com/acme/widget",
        "v1.4.0",
    ),
    (
        "usr/local/bundle/gems/rack-3.0.9/lib/rack/conf.rb",
        "gem",
        "rack",
        "3.0.9",
    ),
    (
        "var/www/vendor/guzzlehttp/guzzle/src/Conf.php",
        "composer",
        "guzzlehttp/guzzle",
        "7.8.1",
    ),
    (
        "usr/share/java/commons-conf-2.11.0.jar",
        "maven",
        "commons-conf",
        "2.11.0",
    ),
];

/// A public example key (xmlsec1's examples/rsakey.pem), listed in
/// rules/known/test-keys.toml.
const XMLSEC_EXAMPLE_KEY: &str = "-----BEGIN RSA PRIVATE KEY-----
MIIBPAIBAAJBANPQbQ92nlbeg1Q5JNHSO1Yey46nZ7GJltLWw1ccSvp7pnvmfUm+
M521CpFpfr4EAE3UVBMoU9j/hqq3dFAc2H0CAwEAAQJBALFVCjmsAZyQ5jqZLO5N
qEfNuHZSSUol+xPBogFIOq3BWa269eNNcAK5or5g0XWWon7EPdyGT4qyDVH9KzXK
RLECIQDzm/Nj0epUGN51/rKJgRXWkXW/nfSCMO9fvQR6Ujoq3wIhAN6WeHK9vgWg
wBWqMdq5sR211+LlDH7rOUQ6rBpbsoQjAiEA7jzpfglgPPZFOOfo+oh/LuP6X3a+
FER/FQXpRyb7M8kCIETUrwZ8WkiPPxbz/Fqw1W5kjw/g2I5e2uSYaCP2eyuVAiEA
mOI6RhRyMqgxQyy0plJVjG1s4fdu92AWYy9AwYeyd/8=
-----END RSA PRIVATE KEY-----
";

fn app_image() -> Image {
    let mut entries = vec![
        // The app's own manifest and code: never third-party.
        Entry::file(
            "app/package.json",
            r#"{"name": "shop", "version": "1.0.0"}"#,
        ),
        Entry::file("app/server.js", password(0)),
        Entry::file(
            "app/node_modules/lodash/package.json",
            r#"{"name": "lodash", "version": "4.17.21", "license": "MIT"}"#,
        ),
        // A real token inside a package: a provider format, always reported.
        Entry::file(
            "app/node_modules/lodash/lib/token.js",
            format!("const t = '{GITHUB_PAT}';\n"),
        ),
        Entry::file(
            "app/node_modules/@aws-sdk/client-s3/package.json",
            r#"{"version": "3.500.0", "name": "@aws-sdk/client-s3"}"#,
        ),
        // A node_modules directory without a manifest is not vouched for.
        Entry::file("app/node_modules/loose/conf.js", password(9)),
        Entry::file(
            "app/vendor/requests-2.31.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n\nHTTP for Humans.\n",
        ),
        Entry::file(
            "root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/foo-1.2.3/Cargo.toml",
            "[package]\nname = \"foo\"\nversion = \"1.2.3\"\n",
        ),
        Entry::file(
            "src/app/vendor/modules.txt",
            "# github.com/acme/widget v1.4.0\n## explicit; go 1.21\ngithub.com/acme/widget\n",
        ),
        Entry::file(
            "usr/local/bundle/specifications/rack-3.0.9.gemspec",
            "Gem::Specification.new do |s|\n  s.name = \"rack\"\nend\n",
        ),
        Entry::file(
            "var/www/vendor/composer/installed.json",
            r#"{"packages": [{"name": "guzzlehttp/guzzle", "version": "7.8.1"}]}"#,
        ),
        Entry::file("var/www/src/Controller.php", password(8)),
        Entry::file(
            "usr/share/doc/xmlsec/examples/rsakey.pem",
            XMLSEC_EXAMPLE_KEY,
        ),
    ];
    for (i, (path, eco, _, _)) in TREES.iter().enumerate() {
        let body = password(i as u32 + 1);
        if *eco == "maven" {
            entries.push(Entry::file(
                path,
                zip_of(&[("conf/app.properties", body.as_bytes())]),
            ));
        } else {
            entries.push(Entry::file(path, body));
        }
    }
    Image::new("corp/shop:1").step("COPY . /", Layer::new(entries).gzip())
}

fn write_app(dir: &std::path::Path, form: Form) -> String {
    let p = dir.join(form.file_name());
    fixture::write(form, &[app_image()], &p).unwrap();
    target(form, &p)
}

fn paths(r: &Value) -> Vec<String> {
    let mut v: Vec<String> = places(r)
        .iter()
        .map(|p| p["location"]["path"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn generic_findings_in_package_trees_are_set_aside_per_package_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let t = write_app(dir.path(), Form::OciArchive);
    let (code, r, stderr) = scan_json(&t, &[]);
    assert_eq!(code, 1, "{stderr}");
    // The app's own secrets, a manifest-less node_modules directory, and the token
    // inside a package: nothing else.
    assert_eq!(
        paths(&r),
        [
            "app/node_modules/lodash/lib/token.js",
            "app/node_modules/loose/conf.js",
            "app/server.js",
            "var/www/src/Controller.php",
        ],
        "{r:#}"
    );
    let token = find(&r, RULE_GITHUB_PAT, "app/node_modules/lodash/lib/token.js");
    assert_eq!(token["status"], "present");
    assert_eq!(token["package"]["ecosystem"], "npm");
    assert_eq!(token["package"]["name"], "lodash");
    assert_eq!(token["package"]["version"], "4.17.21");
    let s = &r["summary"]["suppressed"];
    assert_eq!(s["third_party"], TREES.len(), "{s:#}");
    for (_, eco, name, version) in TREES {
        assert_eq!(
            s["third_party_by_package"][format!("{eco} {name} {version}")],
            1,
            "{eco} {name}: {s:#}"
        );
    }
    assert_eq!(
        s["third_party_by_rule"]["generic-password-assignment"],
        TREES.len()
    );
    assert_eq!(s["test_keys"], 1, "{s:#}");
    assert_eq!(
        s["by_test_key"].as_object().unwrap().keys().next().unwrap(),
        "xmlsec example RSA key (examples/rsakey.pem of XML Security Library (xmlsec1), shipped in Debian's libxmlsec1-dev)"
    );

    // The summary line says what was set aside.
    let out = run(&["scan", &t]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{} generic in third-party code", TREES.len())),
        "{text}"
    );
    assert!(text.contains("npm package lodash 4.17.21"), "{text}");
    assert_output_no_leak("pretty", &out, &[GITHUB_PAT]);
}

#[test]
fn include_package_files_shows_every_set_aside_finding_with_its_package() {
    let dir = tempfile::tempdir().unwrap();
    let t = write_app(dir.path(), Form::DockerOci);
    let (code, r, _) = scan_json(&t, &["--include-package-files"]);
    assert_eq!(code, 1);
    for (path, eco, name, version) in TREES {
        let f = places(&r)
            .into_iter()
            .find(|p| p["location"]["path"] == *path)
            .unwrap_or_else(|| panic!("{path} is shown: {r:#}"));
        assert_eq!(f["package"]["ecosystem"], *eco, "{path}");
        assert_eq!(f["package"]["name"], *name, "{path}");
        assert_eq!(f["package"]["version"], *version, "{path}");
        assert_eq!(f["rule_id"], "generic-password-assignment", "{path}");
    }
    let key = find(&r, RULE_PEM, "usr/share/doc/xmlsec/examples/rsakey.pem");
    assert!(
        key["test_key"]
            .as_str()
            .unwrap()
            .starts_with("xmlsec example RSA key"),
        "{key:#}"
    );
    let s = &r["summary"]["suppressed"];
    assert_eq!(s["third_party"], 0);
    assert_eq!(s["test_keys"], 0);
    // SARIF and HTML carry the same marking.
    let out = run(&["scan", "--include-package-files", "-f", "sarif", &t]);
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .any(|x| x["properties"]["package"]["ecosystem"] == "composer"),
        "{sarif:#}"
    );
    let out = run(&["scan", "--include-package-files", "-f", "html", &t]);
    let html = String::from_utf8_lossy(&out.stdout);
    assert!(
        html.contains("gem package rack 3.0.9"),
        "html marks packages"
    );
    assert!(html.contains("known public test key: xmlsec example RSA key"));
}

#[test]
fn every_form_classifies_alike() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen: Option<Vec<Value>> = None;
    for form in [Form::DockerClassic, Form::OciDir, Form::OciArchive] {
        let sub = dir.path().join(form.name());
        std::fs::create_dir_all(&sub).unwrap();
        let t = write_app(&sub, form);
        let (_, r, _) = scan_json(&t, &["--include-package-files"]);
        let got = comparable(&r);
        match &seen {
            None => seen = Some(got),
            Some(first) => assert_eq!(first, &got, "{}", form.name()),
        }
    }
}
