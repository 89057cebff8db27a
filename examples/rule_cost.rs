//! Which built-in rules cost the most matching time: each rule alone through the real
//! Hyperscan engine over a sample file (or over generated text and random bytes), with
//! the whole ruleset for reference, slowest first.
//!
//! `cargo run --release --example rule_cost [FILE]`; with `RULES=FILE.toml`, the rules
//! of that file instead of the built-in ones. Also lists the rules whose Hyperscan
//! compile takes longest (what a first scan, before the database is cached, waits for).

#![allow(clippy::unwrap_used)] // a measuring tool fails by panicking

use layerhound::matcher::Matcher;
use layerhound::rules::RuleSet;
use std::time::Instant;

fn sample() -> Vec<u8> {
    let mut data = Vec::with_capacity(64 << 20);
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    while data.len() < 32 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    let mut line = 0u64;
    while data.len() < 64 << 20 {
        line += 1;
        data.extend_from_slice(
            format!(
                "2024-05-01T10:{:02}:{:02}Z INFO request id={:016x} GET /api/v1/items/{} 200 {}ms user=svc-{}\n",
                line % 60,
                line % 59,
                line.wrapping_mul(0x9e37_79b9),
                line * 7919 % 100_003,
                line % 997,
                line % 17
            )
            .as_bytes(),
        );
    }
    data
}

fn time(m: &Matcher, data: &[u8]) -> f64 {
    let t = Instant::now();
    let n = m.scan_bytes(data, None).unwrap().len();
    std::hint::black_box(n);
    t.elapsed().as_secs_f64()
}

fn main() {
    let data = match std::env::args().nth(1) {
        Some(p) => std::fs::read(p).unwrap(),
        None => sample(),
    };
    let all = match std::env::var_os("RULES") {
        Some(p) => RuleSet::load_path(std::path::Path::new(&p)).unwrap(),
        None => RuleSet::builtin().unwrap(),
    };
    let mb = data.len() as f64 / 1e6;
    let t = Instant::now();
    let whole = Matcher::new(all.clone()).unwrap();
    println!(
        "all {} rules: {:.0} MB/s, compiled in {:.2} s",
        all.rules.len(),
        mb / time(&whole, &data),
        t.elapsed().as_secs_f64()
    );
    let mut costs: Vec<(f64, f64, String)> = all
        .rules
        .iter()
        .map(|r| {
            let one = RuleSet {
                rules: vec![r.clone()],
                ..RuleSet::default()
            };
            let t = Instant::now();
            let m = Matcher::new(one).unwrap();
            let compile = t.elapsed().as_secs_f64();
            (time(&m, &data), compile, r.id.clone())
        })
        .collect();
    costs.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (t, _, id) in costs.iter().take(25) {
        println!("{:>8.0} MB/s  {id}", mb / t);
    }
    costs.sort_by(|a, b| b.1.total_cmp(&a.1));
    println!("slowest to compile:");
    for (_, c, id) in costs.iter().take(25) {
        println!("{:>8.0} ms  {id}", c * 1e3);
    }
}
