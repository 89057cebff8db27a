//! Credentials that only images hold: password hashes in the shadow files, and the
//! dot files and state files of database clients, git, s3cmd, rclone, WireGuard,
//! Terraform and Ansible (`rules/system.toml`), each found by its rule at its path —
//! and a base image's stock shadow files, and the same lines outside those files,
//! producing nothing.

use crate::fixture::{self, Entry, Form, Image, Layer};
use crate::support::*;
use serde_json::Value;

const SHADOW_RULE: &str = "unix-shadow-password-hash";

/// The rules of `rules/system.toml`.
const SYSTEM_RULES: [&str; 9] = [
    SHADOW_RULE,
    "pgpass-password",
    "git-credentials-store",
    "mysql-option-file-password",
    "s3cmd-secret-key",
    "rclone-config-secret",
    "wireguard-private-key",
    "terraform-state-secret",
    "ansible-vault-password-file",
];

/// Debian's stock `/etc/shadow`: no account has a password.
const STOCK_SHADOW: &str = "root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
bin:*:19000:0:99999:7:::
sys:*:19000:0:99999:7:::
sync:*:19000:0:99999:7:::
games:*:19000:0:99999:7:::
man:*:19000:0:99999:7:::
lp:*:19000:0:99999:7:::
mail:*:19000:0:99999:7:::
news:*:19000:0:99999:7:::
uucp:*:19000:0:99999:7:::
proxy:*:19000:0:99999:7:::
www-data:*:19000:0:99999:7:::
backup:*:19000:0:99999:7:::
list:*:19000:0:99999:7:::
irc:*:19000:0:99999:7:::
_apt:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
";

const STOCK_GSHADOW: &str = "root:*::
daemon:*::
bin:*::
sys:*::
adm:*::
tty:*::
disk:*::
sudo:*::
staff:*::
users:*::
nogroup:*::
";

/// Alpine's stock `/etc/shadow`: `*` and `!` only.
const ALPINE_SHADOW: &str = "root:*::0:::::
bin:!::0:::::
daemon:!::0:::::
adm:!::0:::::
lp:!::0:::::
sync:!::0:::::
shutdown:!::0:::::
halt:!::0:::::
mail:!::0:::::
operator:!::0:::::
sshd:!::0:::::
guest:!::0:::::
nobody:!::0:::::
";

const STOCK_PASSWD: &str = "root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
";

const APPUSER_SALT: &str = ".HYIFjCN74hOcJJB";
const APPUSER_DIGEST: &str =
    "YSEeEYXys7PAX6ZbBoTWiOcsq9Fij83LoHOlLZ9d8p9HNM82TO1jDQKf2WsGQ7ebP9JkuPpgNPofubBPqB5Z20";

const USERADD_STEP: &str = "RUN useradd -m -p \"$APP_HASH\" appuser # buildkit";

fn appuser_line() -> String {
    format!("appuser:$6${APPUSER_SALT}${APPUSER_DIGEST}:19720:0:99999:7:::\n")
}

/// Every place of `rule` at `path`.
fn places_of(report: &Value, rule: &str, path: &str) -> Vec<Value> {
    places(report)
        .into_iter()
        .filter(|p| p["rule_id"] == rule && p["location"]["path"] == path)
        .collect()
}

fn system_places(report: &Value) -> Vec<Value> {
    places(report)
        .into_iter()
        .filter(|p| SYSTEM_RULES.contains(&p["rule_id"].as_str().unwrap_or("")))
        .collect()
}

fn scan_image(img: Image, name: &str) -> (i32, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(format!("{name}.tar"));
    fixture::write(Form::OciArchive, &[img], &p).unwrap();
    scan_json(p.to_str().unwrap(), &["--reveal"])
}

fn base_layer() -> Layer {
    Layer::new(vec![
        Entry::dir("etc/"),
        Entry::file("etc/passwd", STOCK_PASSWD),
        Entry::file("etc/shadow", STOCK_SHADOW),
        Entry::file("etc/shadow-", STOCK_SHADOW),
        Entry::file("etc/gshadow", STOCK_GSHADOW),
        Entry::file("etc/gshadow-", STOCK_GSHADOW),
    ])
    .gzip()
}

#[test]
fn stock_shadow_files_of_base_images_find_nothing() {
    let img = Image::new("corp/base:1")
        .step("ADD rootfs.tar.gz / # buildkit", base_layer())
        .step(
            "COPY alpine-rootfs /srv/alpine",
            Layer::new(vec![
                Entry::file("srv/alpine/etc/shadow", ALPINE_SHADOW),
                Entry::file("srv/alpine/etc/passwd", STOCK_PASSWD),
            ]),
        );
    let (code, r, stderr) = scan_image(img, "base");
    assert_eq!(code, 0, "{stderr}");
    assert!(system_places(&r).is_empty(), "{:#?}", system_places(&r));
}

#[test]
fn a_password_hash_added_to_shadow_is_found_then_overwritten() {
    let with_user = format!("{STOCK_SHADOW}{}", appuser_line());
    let add_user = || {
        Layer::new(vec![
            Entry::file("etc/passwd", STOCK_PASSWD),
            Entry::file("etc/shadow", &with_user),
            Entry::file("etc/shadow-", STOCK_SHADOW),
        ])
    };

    // Two layers: the hash is in the image as it runs.
    let img = Image::new("corp/app:1")
        .step("ADD rootfs.tar.gz / # buildkit", base_layer())
        .step(USERADD_STEP, add_user());
    let (code, r, stderr) = scan_image(img, "present");
    assert_eq!(code, 1, "{stderr}");
    let f = find(&r, SHADOW_RULE, "etc/shadow");
    assert_eq!(f["status"], "present");
    assert_eq!(f["secret"], format!("$6${APPUSER_SALT}${APPUSER_DIGEST}"));
    assert_eq!(f["location"]["layer_index"], 1);
    assert_eq!(f["location"]["created_by"], USERADD_STEP);
    assert_eq!(f["location"]["line"], 19);
    assert_eq!(system_places(&r).len(), 1, "{:#?}", system_places(&r));

    // A third layer writes the stock shadow back: the hash stays in layer 1's blob.
    let img = Image::new("corp/app:2")
        .step("ADD rootfs.tar.gz / # buildkit", base_layer())
        .step(USERADD_STEP, add_user())
        .step(
            "RUN userdel appuser",
            Layer::new(vec![Entry::file("etc/shadow", STOCK_SHADOW)]),
        );
    let (code, r, stderr) = scan_image(img, "overwritten");
    assert_eq!(code, 1, "{stderr}");
    let f = find(&r, SHADOW_RULE, "etc/shadow");
    assert_eq!(f["status"], "overwritten");
    assert_eq!(f["location"]["layer_index"], 1);
    assert_eq!(f["location"]["created_by"], USERADD_STEP);
    assert_eq!(f["removed_by"]["layer_index"], 2);
    assert_eq!(f["removed_by"]["created_by"], "RUN userdel appuser");
    assert_eq!(system_places(&r).len(), 1, "{:#?}", system_places(&r));
}

#[test]
fn shadow_backups_and_gshadow_count_but_not_locked_hashes_or_other_files() {
    let yescrypt = "RNmSxZduwHtnDE2gbNfvu.$z1isXkhkoco1Sq6QcWH5tX7cYbK2c7fldKMAwGadjAA";
    let des = "9L6bM5lFCUK5w";
    let locked = format!("locked:!$6${APPUSER_SALT}${APPUSER_DIGEST}:19720:0:99999:7:::\n");
    let img = Image::new("corp/users:1")
        .step("ADD rootfs.tar.gz / # buildkit", base_layer())
        .step(
            "RUN usermod -L locked && groupmod ...",
            Layer::new(vec![
                // useradd keeps the previous file as shadow-: a hash removed from
                // shadow may live on there.
                Entry::file(
                    "etc/shadow-",
                    format!("{STOCK_SHADOW}ops:$y$j9T${yescrypt}:19720:0:99999:7:::\n"),
                ),
                Entry::file("etc/shadow", format!("{STOCK_SHADOW}{locked}")),
                Entry::file(
                    "etc/gshadow",
                    format!("{STOCK_GSHADOW}dbadmins:{des}:alice:alice,bob\n"),
                ),
                // The same shapes outside the shadow files: documentation, a copy.
                Entry::file(
                    "usr/share/doc/app/shadow.example",
                    format!("{STOCK_SHADOW}{}", appuser_line()),
                ),
                Entry::file("srv/backup/shadow.txt", appuser_line()),
            ]),
        );
    let (code, r, stderr) = scan_image(img, "users");
    assert_eq!(code, 1, "{stderr}");
    let backup = find(&r, SHADOW_RULE, "etc/shadow-");
    assert_eq!(backup["secret"], yescrypt);
    assert_eq!(backup["status"], "present");
    let group = find(&r, SHADOW_RULE, "etc/gshadow");
    assert_eq!(group["secret"], des);
    assert_eq!(system_places(&r).len(), 2, "{:#?}", system_places(&r));
}

#[test]
fn each_tool_file_is_found_by_its_rule_at_its_path() {
    let tfstate = r#"{
  "version": 4,
  "terraform_version": "1.7.5",
  "serial": 12,
  "lineage": "0f1e6a52-7c1d-4f8e-9a51-3c3c2f0e9d11",
  "outputs": {},
  "resources": [
    {
      "mode": "managed",
      "type": "aws_db_instance",
      "name": "orders",
      "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
      "instances": [
        {
          "schema_version": 2,
          "attributes": {
            "engine": "postgres",
            "username": "orders_admin",
            "password": "SsDPoVskLPHBhjKSOHf1ll42R5lbs2ziyIHlO4sR",
            "port": 5432
          },
          "sensitive_attributes": [[{"type": "get_attr", "value": "password"}]]
        }
      ]
    }
  ]
}
"#;
    // (rule, path, file, secret)
    let files: [(&str, &str, String, &str); 9] = [
        (
            "pgpass-password",
            "root/.pgpass",
            "db.prod.internal:5432:orders:app_rw:dkfQHKrksotIGTmSZx\n".into(),
            "dkfQHKrksotIGTmSZx",
        ),
        (
            "git-credentials-store",
            "home/builder/.git-credentials",
            "https://builder:hWxuO2EZGNZd1RLu5Po5HR@git.corp.internal\n".into(),
            "hWxuO2EZGNZd1RLu5Po5HR",
        ),
        (
            "mysql-option-file-password",
            "root/.my.cnf",
            "[client]\nuser = backup\npassword = iJJ9fx9YGWn15PDlfov71Sajan\n".into(),
            "iJJ9fx9YGWn15PDlfov71Sajan",
        ),
        (
            "s3cmd-secret-key",
            "root/.s3cfg",
            "[default]\naccess_key = 2PLCWDTA5QZ3N7LB\nsecret_key = orSk9CtSe7u5AvNvXRr0IoM7MgjDcF\n\
             host_base = s3.corp.internal\n"
                .into(),
            "orSk9CtSe7u5AvNvXRr0IoM7MgjDcF",
        ),
        (
            "rclone-config-secret",
            "root/.config/rclone/rclone.conf",
            "[backup]\ntype = sftp\nhost = backup.corp.internal\nuser = rclone\n\
             pass = hUDDa00jTc8D6PjXyDUp0lHkNIiHb3mW\n"
                .into(),
            "hUDDa00jTc8D6PjXyDUp0lHkNIiHb3mW",
        ),
        (
            "wireguard-private-key",
            "etc/wireguard/wg0.conf",
            "[Interface]\nAddress = 10.8.0.1/24\nListenPort = 51820\n\
             PrivateKey = aqOMca8XUdI9xAsTdoaMstaxO5U/Vd+TxLcA9acfLzA=\n\n\
             [Peer]\nPublicKey = 5C2pbUQLjJmIzn73yUEkyI3uM3S7r/ivZkBczdywlKw=\n\
             AllowedIPs = 10.8.0.2/32\n"
                .into(),
            "aqOMca8XUdI9xAsTdoaMstaxO5U/Vd+TxLcA9acfLzA=",
        ),
        (
            "wireguard-private-key",
            "srv/vpn/docker-compose.yml",
            "services:\n  vpn:\n    image: qmcgaw/gluetun\n    environment:\n\
             \x20     - VPN_TYPE=wireguard\n\
             \x20     - WIREGUARD_PRIVATE_KEY=QH2kYd0Jr5u6m8Zq3Vt9bLw1Xc4Nf7Pa2Ks5Dg8Ej0E=\n"
                .into(),
            "QH2kYd0Jr5u6m8Zq3Vt9bLw1Xc4Nf7Pa2Ks5Dg8Ej0E=",
        ),
        (
            "terraform-state-secret",
            "srv/infra/terraform.tfstate",
            tfstate.into(),
            "SsDPoVskLPHBhjKSOHf1ll42R5lbs2ziyIHlO4sR",
        ),
        (
            "ansible-vault-password-file",
            "srv/playbooks/.vault_pass",
            "0dMD753EgnLZePUTVTCW\n".into(),
            "0dMD753EgnLZePUTVTCW",
        ),
    ];
    let mut entries: Vec<Entry> = files
        .iter()
        .map(|(_, path, data, _)| Entry::file(path, data))
        .collect();
    // The same lines in files of other names are not these rules' (the WireGuard
    // rule has no path filter: its line is specific on its own).
    entries.push(Entry::file(
        "usr/share/doc/tools/examples.txt",
        "db.prod.internal:5432:orders:app_rw:dkfQHKrksotIGTmSZx\n\
         0dMD753EgnLZePUTVTCW\n",
    ));
    entries.push(Entry::file(
        "srv/playbooks/notes.txt",
        "0dMD753EgnLZePUTVTCW\n",
    ));
    // Config fields are matched with no path: none of them is a vault password file.
    let img = Image::new("corp/tools:1")
        .env("ANSIBLE_VAULT_PASSWORD_FILE=/srv/playbooks/.vault_pass")
        .label("org.opencontainers.image.title", "infra-tools")
        .cmd(&["ansible-playbook", "site.yml"])
        .step("ADD rootfs.tar.gz / # buildkit", base_layer())
        .step("COPY . /", Layer::new(entries).gzip());
    let (code, r, stderr) = scan_image(img, "tools");
    assert_eq!(code, 1, "{stderr}");
    for (rule, path, _, secret) in &files {
        let hits = places_of(&r, rule, path);
        assert_eq!(hits.len(), 1, "{rule} at {path}: {:#?}", places(&r));
        let f = &hits[0];
        assert_eq!(f["secret"], *secret, "{rule}");
        assert_eq!(f["status"], "present", "{rule}");
        assert_eq!(f["location"]["layer_index"], 1, "{rule}");
    }
    let stray: Vec<Value> = system_places(&r)
        .into_iter()
        .filter(|p| {
            !files
                .iter()
                .any(|(_, path, _, _)| p["location"]["path"] == *path)
        })
        .collect();
    assert!(stray.is_empty(), "{stray:#?}");
}

/// Java keystores: one with a private key that opens with `changeit` is found, loose
/// and inside a jar, and reported deleted once a later layer removes it; a trust store
/// that opens with `changeit` (the JDK's cacerts) and a key store sealed with a
/// password of its own are not.
#[test]
fn keystores_that_open_with_a_default_password_are_found_trust_stores_are_not() {
    use layerhound::rules::keystore::sample_jks;
    const RULE: &str = "java-keystore-default-password";
    let with_key = sample_jks("changeit", true);
    let jar = crate::nested::zip_of(&[
        (
            "BOOT-INF/classes/application.yml",
            b"server:\n  port: 8443\n",
        ),
        (
            "BOOT-INF/classes/keystore.jks",
            &sample_jks("password", true),
        ),
    ]);
    let img = Image::new("corp/java:1")
        .step(
            "COPY jdk /usr/lib/jvm",
            Layer::new(vec![
                Entry::file(
                    "usr/lib/jvm/java-17/lib/security/cacerts",
                    sample_jks("changeit", false),
                ),
                Entry::file("opt/vendor/strong.jks", sample_jks("Vq7#pL2x!mR9", true)),
            ])
            .gzip(),
        )
        .step(
            "COPY app /app",
            Layer::new(vec![
                Entry::file("app/server.jks", &with_key),
                Entry::file("app/tmp/old.jks", sample_jks("changeme", true)),
                Entry::file("app/app.jar", &jar),
            ])
            .gzip(),
        )
        .step(
            "RUN rm /app/tmp/old.jks",
            Layer::new(vec![Entry::file("app/tmp/.wh.old.jks", "")]).gzip(),
        );
    let (code, r, stderr) = scan_image(img, "keystores");
    assert_eq!(code, 1, "{stderr}");
    let found: Vec<(String, String, String)> = places(&r)
        .into_iter()
        .filter(|p| p["rule_id"] == RULE)
        .map(|p| {
            (
                p["location"]["path"].as_str().unwrap().to_string(),
                p["location"]["nested"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|x| x.as_str().unwrap_or(""))
                            .collect::<Vec<_>>()
                            .join(" → ")
                    })
                    .unwrap_or_default(),
                p["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut want = vec![
        (
            "app/server.jks".to_string(),
            String::new(),
            "present".to_string(),
        ),
        (
            "app/tmp/old.jks".to_string(),
            String::new(),
            "deleted".to_string(),
        ),
    ];
    want.sort();
    let mut loose: Vec<_> = found.iter().filter(|f| f.1.is_empty()).cloned().collect();
    loose.sort();
    assert_eq!(loose, want, "{found:?}");
    let nested: Vec<_> = found.iter().filter(|f| !f.1.is_empty()).collect();
    assert_eq!(nested.len(), 1, "{found:?}");
    assert_eq!(nested[0].0, "app/app.jar", "{found:?}");
    assert!(nested[0].1.contains("keystore.jks"), "{found:?}");
    // The secret is the protected key, as it is in the file.
    let server = places(&r)
        .into_iter()
        .find(|p| p["rule_id"] == RULE && p["location"]["path"] == "app/server.jks")
        .unwrap();
    assert_eq!(server["location"]["line"], 1, "{server}");
}
