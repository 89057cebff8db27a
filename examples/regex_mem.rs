//! Which built-in rules' confirming regexes take the most memory: each is built in turn
//! and the growth of the resident set is taken as its size (approximate: the
//! allocator may reuse freed pages). Every rule's regex stays in memory for the whole
//! scan, so a regex with large nested bounded repeats (`(?:[^\n]{0,2048}\n){0,60}`)
//! costs tens of MiB for as long as layerhound runs.
//!
//! `cargo run --release --example regex_mem`

#![allow(clippy::unwrap_used)] // a measuring tool fails by panicking

use layerhound::rules::{RuleSet, compile_confirm};
fn rss() -> usize {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    s.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<usize>()
        .unwrap()
        * 4096
}
fn main() {
    let all = RuleSet::builtin().unwrap();
    let mut v = Vec::new();
    let mut keep = Vec::new();
    for r in &all.rules {
        let src = r.regex.as_str().to_string();
        let a = rss();
        let re = compile_confirm(&src).unwrap();
        let b = rss();
        keep.push(re);
        v.push((b.saturating_sub(a), r.id.clone()));
    }
    v.sort();
    v.reverse();
    let total: usize = v.iter().map(|x| x.0).sum();
    println!("total {} MiB", total >> 20);
    for (m, id) in v.iter().take(25) {
        println!("{:>8} KiB {id}", m >> 10);
    }
}
