//! The code keeps the shape docs/architecture.md draws: each module imports only
//! modules on lower floors of its table, and no function is longer than 150 lines.

use std::collections::HashMap;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// module → floor, from the table in docs/architecture.md.
fn floors() -> HashMap<String, u32> {
    let doc = std::fs::read_to_string(format!("{ROOT}/docs/architecture.md")).unwrap();
    let mut out = HashMap::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() >= 4
            && let Ok(floor) = cells[1].parse::<u32>()
        {
            out.insert(cells[2].trim_matches('`').to_string(), floor);
        }
    }
    assert!(out.len() >= 20, "the floor table: {out:?}");
    out
}

/// Every .rs file under `dir`, with its module (the first path component).
fn sources(dir: &Path, out: &mut Vec<(String, String, String)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let rel = p.strip_prefix(format!("{ROOT}/src")).unwrap();
            let module = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            let text = std::fs::read_to_string(&p).unwrap();
            out.push((rel.display().to_string(), module, text));
        }
    }
}

/// The code of a file without its unit tests and comments.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap();
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn imports_follow_the_floors() {
    let floors = floors();
    let mut files = Vec::new();
    sources(Path::new(&format!("{ROOT}/src")), &mut files);
    let mut wrong = Vec::new();
    for (file, module, text) in &files {
        if module == "main" || module == "lib" {
            continue;
        }
        let own = *floors
            .get(module)
            .unwrap_or_else(|| panic!("{file}: module {module} is not in the floor table"));
        let code = code(text);
        for prefix in ["crate::", "layerhound::"] {
            for (i, _) in code.match_indices(prefix) {
                let name: String = code[i + prefix.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if name == *module || name.chars().next().is_some_and(char::is_uppercase) {
                    continue;
                }
                let Some(&theirs) = floors.get(&name) else {
                    continue;
                };
                if theirs >= own {
                    wrong.push(format!(
                        "{file} (floor {own}) imports {name} (floor {theirs})"
                    ));
                }
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "imports against the floors:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_function_is_longer_than_150_lines() {
    let mut files = Vec::new();
    sources(Path::new(&format!("{ROOT}/src")), &mut files);
    let mut long = Vec::new();
    for (file, _, text) in &files {
        let lines: Vec<&str> = text.split("#[cfg(test)]").next().unwrap().lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let l = lines[i].trim_start();
            let is_fn = (l.starts_with("fn ")
                || l.starts_with("pub fn ")
                || l.starts_with("pub(crate) fn ")
                || l.starts_with("pub(super) fn "))
                && !lines[i].trim_end().ends_with(';');
            if is_fn {
                // The body ends at the first line back at the signature's indent that closes it.
                let indent = lines[i].len() - l.len();
                let close = format!("{}}}", " ".repeat(indent));
                let end = (i + 1..lines.len())
                    .find(|&j| {
                        lines[j].starts_with(&close) && lines[j].trim_end().len() <= indent + 2
                    })
                    .unwrap_or(i);
                if end - i + 1 > 150 {
                    long.push(format!("{file}:{}: {} lines", i + 1, end - i + 1));
                }
                i = end;
            }
            i += 1;
        }
    }
    assert!(
        long.is_empty(),
        "functions over 150 lines:\n{}",
        long.join("\n")
    );
}
