//! Generic and context rules fire only on secrets: one false hit of each kind seen on
//! real application code, placed in the application's own files (where nothing is set
//! aside as third-party code), is not reported; the real secrets beside them are.

use crate::fixture::{self, Entry, Form, Image, Layer};
use crate::support::*;

/// (file, content) of false hits, one per kind.
const NOT_SECRETS: &[(&str, &str)] = &[
    // Identifiers and enum constants.
    (
        "app/src/events.ts",
        "export enum AuthEvent {\n  SIGN_UP = 'SIGN_UP',\n  RESET_PASSWORD = 'RESET_PASSWORD',\n}\n",
    ),
    // Header names.
    (
        "app/src/headers.js",
        "const SECURITY_TOKEN_HEADER = 'x-amz-security-token';\n",
    ),
    // Type declarations.
    (
        "app/types/config.d.ts",
        "export interface DbConfig {\n  password: string;\n  secretAccessKey?: string;\n}\n",
    ),
    // API example files.
    (
        "app/docs/users.examples.json",
        "{\"CreateUser\": [{\"input\": {\"password\": \"<password>\"}}]}\n",
    ),
    // README usage examples with placeholder tokens.
    (
        "app/README.md",
        "Set `GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx` before running.\n",
    ),
    // URL routes.
    (
        "app/src/routes.rb",
        "get 'password/reset' => 'passwords#edit'\n",
    ),
    ("app/src/form.js", "this.addPassword = \"#add-password\";\n"),
    // Connection strings in docs and tests.
    (
        "app/docs/database.md",
        "DATABASE_URL=postgres://user:password@localhost:5432/mydb\n",
    ),
];

#[test]
fn false_hits_of_each_kind_are_not_reported_and_real_secrets_are() {
    let mut entries: Vec<Entry> = NOT_SECRETS
        .iter()
        .map(|(p, c)| Entry::file(p, *c))
        .collect();
    entries.push(Entry::file(
        "app/config/.env",
        format!("DB_PASSWORD=ntFtz0KK_iUv%Ga5\nGITHUB_TOKEN={GITHUB_PAT}\n"),
    ));
    let img = Image::new("corp/precise:1").step("COPY . /app", Layer::new(entries));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("precise.tar");
    fixture::write(Form::OciArchive, &[img], &p).unwrap();
    let (code, r, stderr) = scan_json(&target(Form::OciArchive, &p), &[]);
    assert_eq!(code, 1, "{stderr}");
    let mut paths: Vec<String> = places(&r)
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["location"]["path"].as_str().unwrap(),
                f["rule_id"]
            )
        })
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "app/config/.env \"generic-password-assignment\"",
            "app/config/.env \"github-pat\"",
        ],
        "{r:#}"
    );
}
