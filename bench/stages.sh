#!/usr/bin/env bash
# CPU-seconds per stage of one layerhound scan, from a perf profile: where the time of a
# scan goes (hashing both digests, decoding, matching, copying, the rest).
#
# usage: bench/stages.sh TARGET [layerhound options…]
#        LH=path/to/layerhound (default target/release/layerhound)
# The scan runs once under `perf record`; perf must be installed (Debian: linux-perf).
set -euo pipefail
cd "$(dirname "$0")/.."
LH=${LH:-target/release/layerhound}
command -v perf >/dev/null || { echo "stages.sh: perf not found (apt install linux-perf)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
perf stat -x, -e task-clock -o "$out/stat" \
  perf record -q -o "$out/perf.data" "$LH" scan -q --format json "$@" >/dev/null 2>"$out/err" || true
perf report -i "$out/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null \
  | grep -E '^ +[0-9.]+%' >"$out/syms"
python3 - "$out/stat" "$out/syms" <<'PY'
import re, sys
stat, syms = sys.argv[1:3]
cpu = next(float(l.split(",")[0]) for l in open(stat) if "task-clock" in l) / 1000
stages = [
    ("SHA-256 (blob digest and diff_id)", r"sha2::|sha256"),
    ("zstd decoding", r"ZSTD_|zstd"),
    ("gzip decoding (inflate)", r"inflate|zlib_rs|miniz"),
    ("matching (Hyperscan)", r"libhs\.so"),
    ("confirming (regex)", r"regex_automata|regex::"),
    ("copying (memcpy/memmove)", r"memmove|memcpy"),
    ("allocation", r"malloc|_int_free|free\b|realloc|malloc_consolidate|unlink_chunk"),
    ("kernel (page faults, reads)", r"\[k\]"),
]
share = {name: 0.0 for name, _ in stages}
rest = 0.0
for line in open(syms):
    m = re.match(r"\s*([0-9.]+)%\s+(\S+)\s+(.*)", line)
    if not m:
        continue
    pct, dso, sym = float(m.group(1)), m.group(2), m.group(3)
    text = f"{dso} {sym}"
    for name, pat in stages:
        if re.search(pat, text):
            share[name] += pct
            break
    else:
        rest += pct
print(f"| stage | CPU-seconds | share |")
print(f"|---|---:|---:|")
for name, _ in stages:
    print(f"| {name} | {cpu * share[name] / 100:.2f} | {share[name]:.0f}% |")
print(f"| tar reading, windows, filters, the rest | {cpu * rest / 100:.2f} | {rest:.0f}% |")
print(f"| **total** | **{cpu:.2f}** | |")
PY
