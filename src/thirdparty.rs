//! Third-party code: takes the manifests of the package trees that applications ship —
//! npm (`node_modules/<name>/package.json`), Python (`*.dist-info/METADATA`,
//! `*.egg-info/PKG-INFO`, with or without `RECORD`), Cargo (`registry/src/*/<crate>/`
//! and `cargo vendor` trees), Go (`vendor/modules.txt`), Ruby gems
//! (`specifications/*.gemspec`), PHP Composer (`vendor/composer/installed.json`) and
//! Java jars — as visible at some layer, and answers which package a path belongs to,
//! with its ecosystem, name and version.
//!
//! Only a manifest makes a tree third-party: a `node_modules` directory with no
//! `package.json`, a module beside no `*.dist-info` that names it, or an application's
//! own `package.json`, `pyproject.toml` or `go.mod` at its root does not.

use crate::packages::PackageRef;
use crate::util::{file_name, parent};
use std::collections::HashMap;

/// Most bytes of one manifest kept: name and version come first in every format this
/// reads except Go's and Composer's lists, which are kept whole up to [`MAX_LIST`].
const MAX_MANIFEST: usize = 16 << 10;
const MAX_LIST: usize = 8 << 20;

/// How many bytes of a file at `path` to keep as a third-party manifest, if it is one.
pub fn manifest_limit(path: &[u8]) -> Option<usize> {
    let name = file_name(path);
    let dir = parent(path).unwrap_or_default();
    let dir_name = file_name(dir);
    match name {
        b"package.json" if npm_root(path).is_some_and(|r| r.len() + name.len() == path.len()) => {
            Some(MAX_MANIFEST)
        }
        b"METADATA" if dir_name.ends_with(b".dist-info") => Some(MAX_MANIFEST),
        b"PKG-INFO" if dir_name.ends_with(b".egg-info") => Some(MAX_MANIFEST),
        b"top_level.txt"
            if dir_name.ends_with(b".dist-info") || dir_name.ends_with(b".egg-info") =>
        {
            Some(MAX_MANIFEST)
        }
        b"Cargo.toml" if cargo_registry_root(path).is_some() => Some(MAX_MANIFEST),
        b".cargo-checksum.json" => Some(0),
        b"modules.txt" if dir_name == b"vendor" => Some(MAX_LIST),
        b"go.mod" if go_module_root(path).is_some() => Some(MAX_MANIFEST),
        b"installed.json" if dir.ends_with(b"vendor/composer") => Some(MAX_LIST),
        _ if name.ends_with(b".gemspec") && dir_name == b"specifications" => Some(0),
        _ => None,
    }
}

/// The package trees visible in one image at one layer.
#[derive(Debug, Default)]
pub struct ThirdParty {
    /// `…/node_modules/<name>/` → (name, version).
    npm: HashMap<Vec<u8>, (String, String)>,
    /// A directory holding distributions → its distributions.
    python: HashMap<Vec<u8>, Vec<PyDist>>,
    /// `…/<crate>/` of a registry source or vendor tree → (name, version).
    cargo: HashMap<Vec<u8>, (String, String)>,
    /// `…/vendor/` → (module path, version), longest first.
    go: HashMap<Vec<u8>, Vec<(String, String)>>,
    /// A module's own directory in a module cache or a GOPATH tree → (module, version).
    go_modules: HashMap<Vec<u8>, (String, String)>,
    /// `…/gems/<name>-<version>/` of a gem directory with its specification.
    gems: HashMap<Vec<u8>, (String, String)>,
    /// `…/vendor/` → package name → version.
    composer: HashMap<Vec<u8>, HashMap<String, String>>,
}

#[derive(Debug, Default, Clone)]
struct PyDist {
    name: String,
    version: String,
    /// The info directory's own name (`requests-2.31.0.dist-info`).
    info_dir: Vec<u8>,
    top_level: Vec<String>,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `<name>-<version>`, split at the last `-` that a digit follows.
fn name_version(s: &str) -> (String, String) {
    let cut = s
        .char_indices()
        .filter(|&(i, c)| c == '-' && s[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
        .map(|(i, _)| i)
        .next_back();
    match cut {
        Some(i) => (s[..i].to_string(), s[i + 1..].to_string()),
        None => (s.to_string(), String::new()),
    }
}

/// Python's normal form of a distribution or module name.
fn py_norm(s: &str) -> String {
    s.to_ascii_lowercase().replace(['-', '.'], "_")
}

/// The value of the first `"key": "value"` in a JSON text, without parsing it whole
/// (a manifest may be cut at [`MAX_MANIFEST`]).
fn json_string(doc: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\"");
    let at = doc.find(&pat)? + pat.len();
    let rest = doc[at..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    Some(rest[..end].to_string())
}

/// `Name:` and `Version:` of a core metadata file.
fn py_headers(doc: &str) -> (Option<String>, Option<String>) {
    let (mut name, mut version) = (None, None);
    for line in doc.lines() {
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Name:") {
            name.get_or_insert_with(|| v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("Version:") {
            version.get_or_insert_with(|| v.trim().to_string());
        }
    }
    (name, version)
}

/// `…/node_modules/<name>/` or `…/node_modules/@scope/<name>/` of the last
/// `node_modules` in `path`, with a name after it.
fn npm_root(path: &[u8]) -> Option<&[u8]> {
    const NM: &[u8] = b"node_modules/";
    let at = path
        .windows(NM.len())
        .enumerate()
        .filter(|(i, w)| *w == NM && (*i == 0 || path[i - 1] == b'/'))
        .map(|(i, _)| i)
        .next_back()?;
    let after = at + NM.len();
    let rest = &path[after..];
    let first = rest.iter().position(|&b| b == b'/')?;
    let end = if rest.starts_with(b"@") {
        let second = rest[first + 1..].iter().position(|&b| b == b'/')?;
        first + 1 + second
    } else {
        first
    };
    let name = &rest[..end];
    if name.is_empty() || name.starts_with(b".") {
        return None;
    }
    Some(&path[..after + end + 1])
}

/// For a `go.mod` in a Go module cache (`…/pkg/mod/<module>@<version>/go.mod`) its
/// version; in a GOPATH tree of others' code (`…/gocode/src/…`, `…/go/src/<host>/…`,
/// the module's first element a host name) an empty version; None elsewhere (an
/// application's own `go.mod`).
fn go_module_root(path: &[u8]) -> Option<String> {
    let p = text(parent(path)?);
    if let Some(i) = p.find("pkg/mod/") {
        let rest = &p[i + "pkg/mod/".len()..];
        let at = rest.rfind('@')?;
        return Some(rest[at + 1..].to_string());
    }
    for root in ["gocode/src/", "go/src/"] {
        if let Some(i) = p.find(root)
            && (i == 0 || p.as_bytes()[i - 1] == b'/')
        {
            let host = p[i + root.len()..].split('/').next().unwrap_or_default();
            return host.contains('.').then(String::new);
        }
    }
    None
}

/// The module of a file in a shared GOPATH of packaged Go source
/// (`usr/share/gocode/src/<host>/<owner>/<repo>/…`, where distributions install Go
/// libraries; never an application's own tree): its import path, by Go's layout.
fn shared_gopath_module(path: &[u8]) -> Option<String> {
    const ROOT: &str = "usr/share/gocode/src/";
    let p = std::str::from_utf8(path).ok()?;
    let rest = p.strip_prefix(ROOT)?;
    let parts: Vec<&str> = rest.split('/').collect();
    let host = *parts.first()?;
    if !host.contains('.') {
        return None;
    }
    let depth = match host {
        "gopkg.in" => 2,
        _ => 3,
    };
    (parts.len() > depth).then(|| parts[..depth].join("/"))
}

/// `…/registry/src/<index>/<crate>-<version>/` for a path below one.
fn cargo_registry_root(path: &[u8]) -> Option<&[u8]> {
    const REG: &[u8] = b"registry/src/";
    let at = path
        .windows(REG.len())
        .position(|w| w == REG)
        .filter(|&i| i == 0 || path[i - 1] == b'/')?;
    let mut slashes = path[at + REG.len()..]
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'/')
        .map(|(i, _)| at + REG.len() + i);
    let _index = slashes.next()?;
    let krate = slashes.next()?;
    Some(&path[..=krate])
}

impl ThirdParty {
    /// Builds the index from `(path, content)` of every manifest visible (see
    /// [`manifest_limit`]).
    pub fn build<'a>(manifests: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> ThirdParty {
        let mut t = ThirdParty::default();
        let mut top_levels: HashMap<Vec<u8>, Vec<String>> = HashMap::new();
        for (path, content) in manifests {
            let name = file_name(path);
            let Some(dir) = parent(path) else { continue };
            let dir_slash = [dir, b"/"].concat();
            let doc = text(content);
            match name {
                b"package.json" => {
                    if let Some(root) = npm_root(path) {
                        let n = json_string(&doc, "name").unwrap_or_else(|| {
                            text(&root[..root.len() - 1])
                                .rsplit("node_modules/")
                                .next()
                                .unwrap_or_default()
                                .to_string()
                        });
                        let v = json_string(&doc, "version").unwrap_or_default();
                        t.npm.insert(root.to_vec(), (n, v));
                    }
                }
                b"METADATA" | b"PKG-INFO" => {
                    let Some(site) = parent(dir) else { continue };
                    let info = file_name(dir);
                    let stem = text(info);
                    let stem = stem
                        .trim_end_matches(".dist-info")
                        .trim_end_matches(".egg-info");
                    let (dn, dv) = name_version(stem.split("-py").next().unwrap_or(stem));
                    let (hn, hv) = py_headers(&doc);
                    t.python
                        .entry([site, b"/"].concat())
                        .or_default()
                        .push(PyDist {
                            name: hn.unwrap_or(dn),
                            version: hv.unwrap_or(dv),
                            info_dir: info.to_vec(),
                            top_level: Vec::new(),
                        });
                }
                b"top_level.txt" => {
                    top_levels.insert(
                        dir.to_vec(),
                        doc.lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .map(str::to_string)
                            .collect(),
                    );
                }
                b"Cargo.toml" | b".cargo-checksum.json" => {
                    let (n, v) = name_version(&text(file_name(dir)));
                    let (mut n, mut v) = (n, v);
                    if name == b"Cargo.toml" {
                        let (pn, pv) = cargo_package(&doc);
                        n = pn.unwrap_or(n);
                        v = pv.unwrap_or(v);
                    }
                    let e = t.cargo.entry(dir_slash).or_insert((n.clone(), v.clone()));
                    if e.1.is_empty() {
                        *e = (n, v);
                    }
                }
                b"go.mod" => {
                    let module = doc
                        .lines()
                        .find_map(|l| l.trim().strip_prefix("module "))
                        .map(|m| m.trim().trim_matches('"').to_string());
                    if let (Some(module), Some(version)) = (module, go_module_root(path)) {
                        // GOPATH: the module's directory must be its path under `src/`.
                        let dir_text = text(dir);
                        if !version.is_empty() || dir_text.ends_with(&format!("src/{module}")) {
                            t.go_modules.insert(dir_slash, (module, version));
                        }
                    }
                }
                b"modules.txt" => {
                    let mut mods: Vec<(String, String)> = doc
                        .lines()
                        .filter_map(|l| l.strip_prefix("# "))
                        .filter_map(|l| {
                            let mut it = l.split_whitespace();
                            let m = it.next()?;
                            let v = it.next().unwrap_or_default();
                            (!m.starts_with('#')).then(|| (m.to_string(), v.to_string()))
                        })
                        .collect();
                    mods.sort_by_key(|m| std::cmp::Reverse(m.0.len()));
                    t.go.insert(dir_slash, mods);
                }
                b"installed.json" => {
                    let Some(vendor) = parent(dir) else { continue };
                    t.composer
                        .insert([vendor, b"/"].concat(), composer_packages(content));
                }
                _ if name.ends_with(b".gemspec") => {
                    let Some(base) = parent(dir) else { continue };
                    let stem = text(&name[..name.len() - b".gemspec".len()]);
                    let root = [base, b"/gems/", stem.as_bytes(), b"/"].concat();
                    t.gems.insert(root, name_version(&stem));
                }
                _ => {}
            }
        }
        // Each distribution's top_level.txt, by its info directory's whole path.
        for (site, dists) in &mut t.python {
            for d in dists {
                let info_path = [site.as_slice(), &d.info_dir].concat();
                if let Some(tops) = top_levels.remove(&info_path) {
                    d.top_level = tops;
                }
            }
        }
        t
    }

    /// True when no package tree was found.
    pub fn is_empty(&self) -> bool {
        self.npm.is_empty()
            && self.python.is_empty()
            && self.cargo.is_empty()
            && self.go.is_empty()
            && self.go_modules.is_empty()
            && self.gems.is_empty()
            && self.composer.is_empty()
    }

    /// The third-party package holding the file at `path` (and, for a secret inside an
    /// archive, the inner names `nested[1..]`), if any.
    pub fn classify(&self, path: &[u8], nested: &[String]) -> Option<PackageRef> {
        if let Some(p) = jar(path, nested) {
            return Some(p);
        }
        if let Some(module) = shared_gopath_module(path) {
            return Some(third_party("go", &module, ""));
        }
        if self.is_empty() {
            return None;
        }
        if let Some(root) = npm_root(path)
            && let Some((n, v)) = self.npm.get(root)
        {
            return Some(third_party("npm", n, v));
        }
        // The deepest directory that says something wins.
        let mut dir = path;
        while let Some(d) = parent(dir) {
            dir = d;
            let key = [d, b"/"].concat();
            let rest = &path[key.len()..];
            if let Some((n, v)) = self.cargo.get(&key) {
                return Some(third_party("cargo", n, v));
            }
            if let Some((n, v)) = self.gems.get(&key) {
                return Some(third_party("gem", n, v));
            }
            if let Some((n, v)) = self.go_modules.get(&key) {
                return Some(third_party("go", n, v));
            }
            if let Some(p) = self.python.get(&key).and_then(|ds| py_owner(ds, rest)) {
                return Some(p);
            }
            if file_name(d) == b"vendor" {
                if let Some(p) = self.go.get(&key).and_then(|mods| go_owner(mods, rest)) {
                    return Some(p);
                }
                if let Some(p) = self
                    .composer
                    .get(&key)
                    .and_then(|pk| composer_owner(pk, rest))
                {
                    return Some(p);
                }
            }
        }
        None
    }
}

fn third_party(ecosystem: &str, name: &str, version: &str) -> PackageRef {
    PackageRef {
        ecosystem: ecosystem.to_string(),
        name: name.to_string(),
        version: version.to_string(),
        reason: format!("third-party code ({ecosystem} package)"),
        third_party: true,
    }
}

/// `[package]` `name` and `version` of a Cargo manifest.
fn cargo_package(doc: &str) -> (Option<String>, Option<String>) {
    let (mut name, mut version, mut in_package) = (None, None, false);
    for line in doc.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            in_package = l == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        let value = |k: &str| {
            l.strip_prefix(k)
                .map(str::trim_start)
                .and_then(|r| r.strip_prefix('='))
                .map(|r| r.trim().trim_matches('"').to_string())
        };
        if let Some(v) = value("name") {
            name.get_or_insert(v);
        } else if let Some(v) = value("version") {
            version.get_or_insert(v);
        }
    }
    (name, version)
}

/// Composer's `installed.json` (a list, or `{"packages": [...]}`): name → version.
fn composer_packages(content: &[u8]) -> HashMap<String, String> {
    let doc: serde_json::Value = serde_json::from_slice(content).unwrap_or_default();
    let list = doc
        .get("packages")
        .and_then(serde_json::Value::as_array)
        .or_else(|| doc.as_array());
    list.into_iter()
        .flatten()
        .filter_map(|p| {
            Some((
                p.get("name")?.as_str()?.to_string(),
                p.get("version")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            ))
        })
        .collect()
}

/// The distribution in a site directory that owns `rest` (the path below it): its info
/// directory, a module `top_level.txt` names, or a module named like it.
fn py_owner(dists: &[PyDist], rest: &[u8]) -> Option<PackageRef> {
    let rest = text(rest);
    let mut parts = rest.split('/');
    let first = parts.next()?;
    let top = first.strip_suffix(".py").unwrap_or(first);
    let found = dists
        .iter()
        .find(|d| text(&d.info_dir) == first)
        .or_else(|| {
            dists
                .iter()
                .find(|d| d.top_level.iter().any(|t| t == top))
                .or_else(|| {
                    // Namespace packages (`google/cloud/storage`) and names with a prefix
                    // (`python-dateutil` for `dateutil`).
                    let comps: Vec<&str> = rest.split('/').collect();
                    dists.iter().find(|d| {
                        let n = py_norm(&d.name);
                        (1..=comps.len().min(4)).any(|k| {
                            let joined = comps[..k].join("_");
                            let joined = py_norm(joined.strip_suffix(".py").unwrap_or(&joined));
                            let joined = joined.as_str();
                            n == joined
                                || n.strip_prefix("python_") == Some(joined)
                                || n.strip_prefix("py") == Some(joined)
                        })
                    })
                })
        })?;
    Some(third_party("pypi", &found.name, &found.version))
}

fn go_owner(mods: &[(String, String)], rest: &[u8]) -> Option<PackageRef> {
    let rest = text(rest);
    if rest == "modules.txt" {
        return Some(third_party("go", "vendor/modules.txt", ""));
    }
    mods.iter()
        .find(|(m, _)| rest.starts_with(m.as_str()) && rest[m.len()..].starts_with('/'))
        .map(|(m, v)| third_party("go", m, v))
}

fn composer_owner(pkgs: &HashMap<String, String>, rest: &[u8]) -> Option<PackageRef> {
    let rest = text(rest);
    let mut it = rest.splitn(3, '/');
    let (v, p) = (it.next()?, it.next()?);
    it.next()?;
    let name = format!("{v}/{p}");
    if let Some(ver) = pkgs.get(&name) {
        return Some(third_party("composer", &name, ver));
    }
    (v == "composer").then(|| third_party("composer", "composer", ""))
}

/// A jar of someone else's: one inside another archive (`BOOT-INF/lib/x.jar`), one in
/// a Maven repository or a library directory, or a file under `META-INF/maven/`.
fn jar(path: &[u8], nested: &[String]) -> Option<PackageRef> {
    let outer = text(path);
    let is_jar = |s: &str| {
        let l = s.to_ascii_lowercase();
        l.ends_with(".jar") || l.ends_with(".war") || l.ends_with(".ear")
    };
    if nested.len() < 2 || !is_jar(&outer) {
        return None;
    }
    let inner = &nested[1..];
    // The innermost jar named in the chain.
    if let Some(j) = inner[..inner.len() - 1].iter().rev().find(|s| is_jar(s)) {
        return Some(jar_ref(j));
    }
    if let Some(at) = inner
        .iter()
        .rev()
        .find_map(|s| s.find("META-INF/maven/").map(|i| &s[i..]))
    {
        let mut it = at.trim_start_matches("META-INF/maven/").split('/');
        if let (Some(g), Some(a)) = (it.next(), it.next()) {
            return Some(third_party("maven", &format!("{g}:{a}"), ""));
        }
    }
    if let Some(i) = outer.find(".m2/repository/") {
        let parts: Vec<&str> = outer[i + ".m2/repository/".len()..].split('/').collect();
        if parts.len() >= 4 {
            let n = parts.len();
            let group = parts[..n - 3].join(".");
            return Some(third_party(
                "maven",
                &format!("{group}:{}", parts[n - 3]),
                parts[n - 2],
            ));
        }
    }
    let dir = parent(path).map(text).unwrap_or_default();
    let dir_name = dir.rsplit('/').next().unwrap_or_default();
    if matches!(dir_name, "lib" | "libs" | "jars" | "java") {
        return Some(jar_ref(&outer));
    }
    None
}

fn jar_ref(path: &str) -> PackageRef {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let (n, v) = name_version(stem);
    third_party("maven", &n, &v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(files: &[(&str, &str)]) -> ThirdParty {
        for (p, _) in files {
            assert!(manifest_limit(p.as_bytes()).is_some(), "{p} is a manifest");
        }
        ThirdParty::build(files.iter().map(|(p, c)| (p.as_bytes(), c.as_bytes())))
    }

    fn who(t: &ThirdParty, path: &str) -> Option<(String, String, String)> {
        t.classify(path.as_bytes(), &[])
            .map(|p| (p.ecosystem, p.name, p.version))
    }

    fn some(e: &str, n: &str, v: &str) -> Option<(String, String, String)> {
        Some((e.into(), n.into(), v.into()))
    }

    #[test]
    fn npm_packages_by_their_manifest_and_not_the_app() {
        let t = build(&[
            (
                "app/node_modules/@aws-sdk/client-s3/package.json",
                r#"{"name": "@aws-sdk/client-s3", "version": "3.500.0"}"#,
            ),
            (
                "app/node_modules/lodash/package.json",
                r#"{"version":"4.17.21","name":"lodash"}"#,
            ),
        ]);
        assert!(manifest_limit(b"app/package.json").is_none());
        assert!(manifest_limit(b"app/node_modules/lodash/sub/package.json").is_none());
        assert_eq!(
            who(&t, "app/node_modules/@aws-sdk/client-s3/dist/index.js"),
            some("npm", "@aws-sdk/client-s3", "3.500.0")
        );
        assert_eq!(
            who(&t, "app/node_modules/lodash/fp/x.js"),
            some("npm", "lodash", "4.17.21")
        );
        assert_eq!(who(&t, "app/node_modules/other/x.js"), None, "no manifest");
        assert_eq!(who(&t, "app/server.js"), None);
    }

    #[test]
    fn python_distributions_with_or_without_record() {
        let t = build(&[
            (
                "app/vendor/requests-2.31.0.dist-info/METADATA",
                "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n\nbody",
            ),
            (
                "app/vendor/PyYAML-6.0.1.dist-info/METADATA",
                "Name: PyYAML\nVersion: 6.0.1\n",
            ),
            (
                "app/vendor/PyYAML-6.0.1.dist-info/top_level.txt",
                "_yaml\nyaml\n",
            ),
            (
                "app/vendor/google_cloud_storage-2.14.0.dist-info/METADATA",
                "Name: google-cloud-storage\nVersion: 2.14.0\n",
            ),
            (
                "usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO",
                "Name: six\nVersion: 1.16.0\n",
            ),
        ]);
        assert_eq!(
            who(&t, "app/vendor/requests/adapters.py"),
            some("pypi", "requests", "2.31.0")
        );
        assert_eq!(
            who(&t, "app/vendor/yaml/x.py"),
            some("pypi", "PyYAML", "6.0.1")
        );
        assert_eq!(
            who(&t, "app/vendor/google/cloud/storage/blob.py"),
            some("pypi", "google-cloud-storage", "2.14.0")
        );
        assert_eq!(
            who(&t, "usr/lib/python3/dist-packages/six.py"),
            some("pypi", "six", "1.16.0")
        );
        assert_eq!(who(&t, "app/vendor/myapp/settings.py"), None, "not a dist");
    }

    #[test]
    fn cargo_go_gems_composer_and_jars() {
        let t = build(&[
            (
                "root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/serde-1.0.197/Cargo.toml",
                "[package]\nname = \"serde\"\nversion = \"1.0.197\"\n",
            ),
            ("src/app/vendor/libc/.cargo-checksum.json", "{}"),
            (
                "src/app/vendor/modules.txt",
                "# github.com/aws/aws-sdk-go v1.50.0\n## explicit\ngithub.com/aws/aws-sdk-go/aws\n",
            ),
            ("usr/local/bundle/specifications/rack-3.0.9.gemspec", ""),
            (
                "var/www/vendor/composer/installed.json",
                r#"{"packages":[{"name":"guzzlehttp/guzzle","version":"7.8.1"}]}"#,
            ),
        ]);
        assert_eq!(
            who(
                &t,
                "root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/serde-1.0.197/src/lib.rs"
            ),
            some("cargo", "serde", "1.0.197")
        );
        assert_eq!(
            who(&t, "src/app/vendor/libc/src/unix.rs"),
            some("cargo", "libc", "")
        );
        assert_eq!(
            who(&t, "src/app/vendor/github.com/aws/aws-sdk-go/aws/config.go"),
            some("go", "github.com/aws/aws-sdk-go", "v1.50.0")
        );
        assert_eq!(
            who(&t, "usr/local/bundle/gems/rack-3.0.9/lib/rack.rb"),
            some("gem", "rack", "3.0.9")
        );
        assert_eq!(
            who(&t, "var/www/vendor/guzzlehttp/guzzle/src/Client.php"),
            some("composer", "guzzlehttp/guzzle", "7.8.1")
        );
        assert_eq!(who(&t, "var/www/src/Controller.php"), None);
        let t = build(&[
            (
                "root/go/pkg/mod/golang.org/x/crypto@v0.21.0/go.mod",
                "module golang.org/x/crypto\n\ngo 1.18\n",
            ),
            (
                "usr/share/gocode/src/github.com/docker/cli/go.mod",
                "module github.com/docker/cli\n",
            ),
        ]);
        assert!(manifest_limit(b"app/go.mod").is_none(), "the app's own");
        assert_eq!(
            who(
                &t,
                "root/go/pkg/mod/golang.org/x/crypto@v0.21.0/ssh/testdata/keys.go"
            ),
            some("go", "golang.org/x/crypto", "v0.21.0")
        );
        assert_eq!(
            who(
                &t,
                "usr/share/gocode/src/github.com/docker/cli/cli/config/testdata/config.json"
            ),
            some("go", "github.com/docker/cli", "")
        );
        let nested = |outer: &str, inner: &[&str]| {
            let mut n = vec![outer.to_string()];
            n.extend(inner.iter().map(|s| s.to_string()));
            t.classify(outer.as_bytes(), &n)
                .map(|p| (p.ecosystem, p.name, p.version))
        };
        assert_eq!(
            nested(
                "app/app.jar",
                &["BOOT-INF/lib/jackson-core-2.16.1.jar", "a.properties"]
            ),
            some("maven", "jackson-core", "2.16.1")
        );
        assert_eq!(
            nested("usr/share/java/commons-io-2.11.0.jar", &["x.txt"]),
            some("maven", "commons-io", "2.11.0")
        );
        assert_eq!(
            nested("app/app.jar", &["config/app.properties"]),
            None,
            "the app's own jar"
        );
    }

    #[test]
    fn a_shared_gopath_holds_packaged_libraries() {
        let t = ThirdParty::default();
        assert_eq!(
            who(
                &t,
                "usr/share/gocode/src/github.com/moby/moby/api/swagger.yaml"
            ),
            some("go", "github.com/moby/moby", "")
        );
        assert_eq!(
            who(&t, "usr/share/gocode/src/gopkg.in/yaml.v3/decode.go"),
            some("go", "gopkg.in/yaml.v3", "")
        );
        assert_eq!(
            who(&t, "go/src/github.com/corp/app/main.go"),
            None,
            "a user's GOPATH"
        );
        assert_eq!(who(&t, "usr/share/gocode/src/vendor/x.go"), None);
    }
}
