#!/usr/bin/env bash
# Recall and false hits, per credential family, on a frozen labelled suite (issue 19, item 6),
# for layerhound and, side by side, Kingfisher.
#
# The suite is bench/credentials/<family>/{positives,negatives}/…: one sample per file,
# written by bench/credentials/gen.py (fake values in the documented shape of each format)
# and committed; <family>/SOURCES.md names the public source of every sample's format.
# Nothing here reads layerhound's rules: the suite is the measuring stick, not a tuning set.
#
# Steps:
#   1. builds ONE OCI image layout ($WORK/oci: oci-layout, index.json, manifest, config,
#      one gzip layer) holding every sample at /suite/<family>/<pos|neg>/<sample path>,
#      and the same tree unpacked at $WORK/rootfs
#   2. layerhound scan --format json --include-package-files oci:$WORK/oci
#   3. kingfisher scan $WORK/rootfs --no-validate --no-update-check --no-dedup --format json
#      (the same files at the same paths; Kingfisher has no OCI-layout input)
#   4. scores per family: recall = positives with at least one finding in that file /
#      positives; false hits = negatives with any finding / negatives; for both tools. A
#      finding counts for the file of every place layerhound lists for it (a value seen in
#      two files counts for both), and for an archive member, for the outer file.
#   5. prints a Markdown table and writes it to bench/credentials-results.md, with the
#      per-sample misses and false hits of each tool below it.
#
# Usage: bench/credentials.sh
# Env:   WORK=DIR        default target/bench-credentials
#        LAYERHOUND=PATH use this binary instead of building target/release/layerhound
#        KINGFISHER=PATH default target/bench-e2e/kingfisher-venv/bin/kingfisher; if it does
#                        not run, the Kingfisher columns say "n/a"
#        RESULTS=FILE    default bench/credentials-results.md
#        LAYERHOUND_LABEL=TEXT  names the layerhound build in the report (default: the git
#                        commit, and whether src/ or rules/ had uncommitted changes when built)
# Exit:  0 = report written; non-zero = the bench itself failed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${WORK:-target/bench-credentials}
case "$WORK" in /*) ;; *) WORK=$ROOT/$WORK ;; esac
SUITE=$ROOT/bench/credentials
RESULTS=${RESULTS:-$ROOT/bench/credentials-results.md}
KF=${KINGFISHER:-$ROOT/target/bench-e2e/kingfisher-venv/bin/kingfisher}

log() { printf '[credentials] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v python3 >/dev/null || die "python3 is needed"
mkdir -p "$WORK"

# --- layerhound ------------------------------------------------------------------------
if [ -n "${LAYERHOUND:-}" ]; then
  LH=$LAYERHOUND
else
  log "cargo build --release --bin layerhound"
  cargo build --release --bin layerhound >&2 || die "cargo build failed"
  LH=${CARGO_TARGET_DIR:-$ROOT/target}/release/layerhound
fi
[ -x "$LH" ] || die "no layerhound binary at $LH"

# --- 1. the image ----------------------------------------------------------------------
log "building the OCI layout $WORK/oci from $SUITE"
python3 - "$SUITE" "$WORK" <<'PY'
import gzip, hashlib, io, json, os, shutil, sys, tarfile
suite, work = sys.argv[1], sys.argv[2]
oci, rootfs = os.path.join(work, "oci"), os.path.join(work, "rootfs")
for d in (oci, rootfs):
    if os.path.isdir(d):
        shutil.rmtree(d)
samples = []  # (image path, source file)
for fam in sorted(os.listdir(suite)):
    fd = os.path.join(suite, fam)
    if not os.path.isdir(fd):
        continue
    for label, short in (("positives", "pos"), ("negatives", "neg")):
        base = os.path.join(fd, label)
        if not os.path.isdir(base):
            continue
        for dp, dns, fns in os.walk(base):
            dns.sort()
            for fn in sorted(fns):
                full = os.path.join(dp, fn)
                rel = os.path.relpath(full, base)
                samples.append((f"suite/{fam}/{short}/{rel}", full))
# the layer: directories first, every entry root-owned, fixed mtime, so the digest is stable
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
    dirs = set()
    for path, _ in samples:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    for d in sorted(dirs):
        ti = tarfile.TarInfo(d); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; ti.mtime = 1717200000
        tf.addfile(ti)
    for path, full in samples:
        data = open(full, "rb").read()
        ti = tarfile.TarInfo(path); ti.size = len(data); ti.mode = 0o644; ti.mtime = 1717200000
        tf.addfile(ti, io.BytesIO(data))
        out = os.path.join(rootfs, path)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        shutil.copyfile(full, out)
raw = buf.getvalue()
gz = io.BytesIO()
with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as g:
    g.write(raw)
layer = gz.getvalue()
blobs = os.path.join(oci, "blobs", "sha256")
os.makedirs(blobs)
def put(b):
    h = hashlib.sha256(b).hexdigest()
    open(os.path.join(blobs, h), "wb").write(b)
    return "sha256:" + h, len(b)
ldig, lsize = put(layer)
config = {"architecture": "amd64", "os": "linux", "created": "2024-06-01T00:00:00Z",
          "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "WorkingDir": "/suite"},
          "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
          "history": [{"created": "2024-06-01T00:00:00Z", "created_by": "COPY bench/credentials /suite # labelled credential suite"}]}
cdig, csize = put(json.dumps(config, sort_keys=True).encode())
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdig, "size": csize},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ldig, "size": lsize}]}
mdig, msize = put(json.dumps(manifest, sort_keys=True).encode())
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdig, "size": msize,
                        "annotations": {"org.opencontainers.image.ref.name": "credential-suite:latest"}}]}
open(os.path.join(oci, "index.json"), "w").write(json.dumps(index))
open(os.path.join(oci, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
open(os.path.join(work, "samples.txt"), "w").write("".join(p + "\n" for p, _ in samples))
print(f"[credentials] {len(samples)} samples, layer {lsize} bytes", file=sys.stderr)
PY

# --- 2. layerhound ---------------------------------------------------------------------
log "layerhound scan"
set +e
"$LH" scan --format json --include-package-files --no-progress -o "$WORK/layerhound.json" "oci:$WORK/oci" 2>"$WORK/layerhound.stderr"
lh_rc=$?
set -e
[ "$lh_rc" -le 1 ] && [ -s "$WORK/layerhound.json" ] || { tail -n 20 "$WORK/layerhound.stderr" >&2; die "layerhound failed (exit $lh_rc)"; }
LH_VERSION=$("$LH" --version 2>/dev/null | head -n1 || echo layerhound)
if [ -n "${LAYERHOUND_LABEL:-}" ]; then
  LH_VERSION="$LH_VERSION, $LAYERHOUND_LABEL"
elif [ -z "${LAYERHOUND:-}" ]; then
  rev=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
  dirty=$(git status --porcelain -- src rules build.rs 2>/dev/null | wc -l)
  if [ "$dirty" -gt 0 ]; then
    LH_VERSION="$LH_VERSION, built from the work tree at $rev with $dirty uncommitted path(s) under src/ and rules/"
  else
    LH_VERSION="$LH_VERSION, built from $rev"
  fi
fi

# --- 3. Kingfisher ---------------------------------------------------------------------
KF_VERSION=n/a
rm -f "$WORK/kingfisher.json"
if "$KF" --version >/dev/null 2>&1; then
  KF_VERSION=$("$KF" --version 2>/dev/null | head -n1)
  log "kingfisher scan ($KF_VERSION)"
  set +e
  (cd "$WORK" && "$KF" scan "$WORK/rootfs" --no-validate --no-update-check --no-dedup --format json \
    -o "$WORK/kingfisher.json" -q >/dev/null 2>"$WORK/kingfisher.stderr")
  kf_rc=$?
  set -e
  [ -s "$WORK/kingfisher.json" ] || { tail -n 20 "$WORK/kingfisher.stderr" >&2; die "Kingfisher failed (exit $kf_rc)"; }
else
  log "no runnable Kingfisher at $KF: its columns will say n/a"
fi

# --- 4./5. score -----------------------------------------------------------------------
python3 - "$WORK" "$RESULTS" "$LH_VERSION" "$KF_VERSION" <<'PY'
import json, os, sys
from collections import defaultdict
work, results, lh_version, kf_version = sys.argv[1:5]
samples = [l.rstrip("\n") for l in open(os.path.join(work, "samples.txt")) if l.strip()]
sset = set(samples)

def norm(p):
    """A reported path -> the suite path 'suite/<family>/<pos|neg>/…', or None."""
    if not p:
        return None
    p = str(p).replace("\\", "/")
    i = p.find("suite/")
    while i != -1:
        cand = p[i:]
        if cand in sset:
            return cand
        # an archive member or a trailing decoration: the longest sample path it starts with
        for s in (cand.split(" | ")[0], cand.split("!")[0], cand.split(":")[0]):
            if s in sset:
                return s
        i = p.find("suite/", i + 1)
    return None

def lh_hits():
    doc = json.load(open(os.path.join(work, "layerhound.json")))
    hits = defaultdict(set)
    for f in doc.get("findings", []):
        places = f.get("places") or [{"rule_id": f.get("rule_id"), "location": f.get("location", {})}]
        for p in places:
            loc = p.get("location") or {}
            nested = loc.get("nested")
            path = nested[0] if nested else loc.get("path")
            s = norm(path)
            if s:
                hits[s].add(p.get("rule_id") or f.get("rule_id"))
    return hits, doc.get("summary", {})

def kf_hits():
    path = os.path.join(work, "kingfisher.json")
    if not os.path.exists(path):
        return None
    doc = json.load(open(path))
    items = doc.get("findings", doc if isinstance(doc, list) else [])
    hits = defaultdict(set)
    for f in items:
        fi = f.get("finding", {})
        s = norm(fi.get("path"))
        if s:
            hits[s].add(f.get("rule", {}).get("id", "?"))
    return hits

lh, lh_summary = lh_hits()
kf = kf_hits()

fams = defaultdict(lambda: {"pos": [], "neg": []})
for s in samples:
    _, fam, label, _rest = s.split("/", 3)
    fams[fam][label].append(s)

def pct(n, d):
    return f"{100.0 * n / d:.0f}%" if d else "–"

rows, miss = [], {"layerhound": [], "Kingfisher": []}
tot = defaultdict(int)
fails = {"layerhound": [], "Kingfisher": []}
for fam in sorted(fams):
    pos, neg = fams[fam]["pos"], fams[fam]["neg"]
    r = {"fam": fam, "P": len(pos), "N": len(neg)}
    for name, hits in (("layerhound", lh), ("Kingfisher", kf)):
        if hits is None:
            r[name] = ("n/a", "n/a")
            continue
        found = [s for s in pos if hits.get(s)]
        false = [s for s in neg if hits.get(s)]
        for s in pos:
            if not hits.get(s):
                miss[name].append(("missed", s, ""))
        for s in false:
            miss[name].append(("false hit", s, ", ".join(sorted(hits[s]))))
        tot[name + "_found"] += len(found)
        tot[name + "_false"] += len(false)
        rec = f"{len(found)}/{len(pos)} ({pct(len(found), len(pos))})" if pos else "–"
        fh = f"{len(false)}/{len(neg)} ({pct(len(false), len(neg))})" if neg else "–"
        r[name] = (rec, fh)
        bad = []
        if len(pos) >= 5 and len(found) < 0.95 * len(pos):
            bad.append("recall")
        if len(neg) >= 5 and len(false) > 0.01 * len(neg):
            bad.append("false hits")
        if bad:
            fails[name].append(f"{fam} ({', '.join(bad)})")
    tot["P"] += len(pos)
    tot["N"] += len(neg)
    rows.append(r)

out = []
w = out.append
w("# Credential suite: recall and false hits per family\n")
w("Generated by `bench/credentials.sh` from the frozen, labelled suite in `bench/credentials/` "
  "(one sample per file; fake values in each format's documented shape; sources per family in "
  "`bench/credentials/<family>/SOURCES.md`). Do not edit by hand: rerun the script.\n")
w(f"- layerhound: `{lh_version}`, `layerhound scan --format json --include-package-files oci:DIR` "
  "of one OCI layout holding every sample at `/suite/<family>/<pos|neg>/<file>`")
w(f"- Kingfisher: `{kf_version}`, `kingfisher scan DIR --no-validate --no-update-check --no-dedup --format json` "
  "of the same tree unpacked")
w("- recall = positives with at least one finding in that file / positives; "
  "false hits = negatives with any finding / negatives")
w("- targets: recall ≥ 95% and false hits ≤ 1% for every family with ≥ 5 samples of that label "
  "(with 5–7 negatives a family meets ≤ 1% only with none)\n")
w("| family | positives | layerhound recall | Kingfisher recall | negatives | layerhound false hits | Kingfisher false hits |")
w("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for r in rows:
    w(f"| {r['fam']} | {r['P']} | {r['layerhound'][0]} | {r['Kingfisher'][0]} | {r['N']} | {r['layerhound'][1]} | {r['Kingfisher'][1]} |")
def tcell(name, k, d):
    return "n/a" if (name == "Kingfisher" and kf is None) else f"{tot[name + k]}/{d} ({pct(tot[name + k], d)})"
w(f"| **total** | **{tot['P']}** | **{tcell('layerhound', '_found', tot['P'])}** | **{tcell('Kingfisher', '_found', tot['P'])}** | "
  f"**{tot['N']}** | **{tcell('layerhound', '_false', tot['N'])}** | **{tcell('Kingfisher', '_false', tot['N'])}** |")
w(f"| target | | ≥ 95% | | | ≤ 1% | |\n")
for name in ("layerhound", "Kingfisher"):
    if name == "Kingfisher" and kf is None:
        continue
    fl = fails[name]
    w(f"{name}: {len(rows) - len(fl)} of {len(rows)} families meet the targets" + (f"; not met: {', '.join(fl)}." if fl else ".") + "\n")
for name, hits in (("layerhound", lh), ("Kingfisher", kf)):
    if hits is None:
        continue
    by_rule = defaultdict(int)
    for fam in fams:
        for s_ in fams[fam]["neg"]:
            for rule in hits.get(s_, ()):
                by_rule[rule] += 1
    if by_rule:
        w(f"{name} false hits by rule: " + ", ".join(f"`{k}` {v}" for k, v in sorted(by_rule.items(), key=lambda x: -x[1])) + "\n")
errs = lh_summary.get("errors") or []
if errs:
    w(f"layerhound reported {len(errs)} scan error(s): " + "; ".join(str(e.get("message", e))[:120] for e in errs[:5]) + "\n")
for name in ("layerhound", "Kingfisher"):
    if name == "Kingfisher" and kf is None:
        continue
    w(f"<details><summary>{name}: {sum(1 for m in miss[name] if m[0] == 'missed')} missed positives, "
      f"{sum(1 for m in miss[name] if m[0] != 'missed')} false hits (by sample)</summary>\n")
    w("| | sample | rules |\n| --- | --- | --- |")
    for kind, s, rules in miss[name]:
        w(f"| {kind} | `{s}` | {rules} |")
    w("\n</details>\n")
text = "\n".join(out) + "\n"
open(results, "w").write(text)
sys.stdout.write(text)
PY
log "wrote $RESULTS"
