#!/usr/bin/env bash
# End-to-end speed benchmark: layerhound against the decompression floor and a peer.
#
# Builds a ~2 GB image (examples/bench_image.rs): a real Debian bookworm root filesystem
# (debootstrap minbase) as its base layer, a node_modules-like layer of 40 000 small
# files, three 200 MiB incompressible blobs, three 250 MiB service logs, a small app
# layer with planted secrets and a layer deleting one of them; written as an OCI layout
# and a Docker 25+ `docker save` archive, once with gzip layers and once with zstd
# layers. Then measures, in one run on this machine, each RUNS times (median):
#
#   gzip -dc        every gzip layer blob, one after the other (the everyday floor)
#   zstd -dc        every zstd layer blob
#   layerhound      the gzip and zstd images, first scan (compiled rules cached, no
#                   layer results cached), and a second scan with the results cache
#   kingfisher      `kingfisher scan docker --archive` of the gzip docker save archive,
#                   --no-validate --no-limits (installed from PyPI: kingfisher-bin)
#
# with peak RSS, peak spool disk use, and whether each tool found the planted secrets;
# prints a Markdown report (also written to $WORK/results.md).
#
# Usage: bench/e2e.sh        (root on Debian/Ubuntu for debootstrap; network to the
#                             Debian mirror and PyPI the first time)
# Env:   WORK=DIR       default target/bench-e2e (rootfs and image are reused)
#        RUNS=N         default 3 (layerhound, gzip, zstd)
#        KF_RUNS=N      default 1 (kingfisher takes minutes)
#        SCALE=X        default 1.0 (multiplies the generated layers)
#        ROOTFS=DIR     use this root filesystem instead of debootstrapping one
#        MIRROR=URL     default http://deb.debian.org/debian
#        SKIP_KINGFISHER=1
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${WORK:-$ROOT/target/bench-e2e}
RUNS=${RUNS:-3}
KF_RUNS=${KF_RUNS:-1}
SCALE=${SCALE:-1.0}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
LH=$CARGO_TARGET_DIR/release/layerhound
IMG=$WORK/image
log() { printf '[e2e] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
mkdir -p "$WORK"

# --- tools ----------------------------------------------------------------------------
need=()
for p in debootstrap zstd gzip time python3-venv libvectorscan-dev pkg-config; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
KF=$WORK/kingfisher-venv/bin/kingfisher
if [ "${SKIP_KINGFISHER:-0}" != 1 ] && [ ! -x "$KF" ]; then
  log "pip install kingfisher-bin (into $WORK/kingfisher-venv)"
  python3 -m venv "$WORK/kingfisher-venv"
  "$WORK/kingfisher-venv/bin/pip" install -q kingfisher-bin
fi
log "cargo build --release"
cargo build --release --quiet --bin layerhound --example bench_image

# --- image ----------------------------------------------------------------------------
if [ -z "${ROOTFS:-}" ]; then
  ROOTFS=$WORK/rootfs
  if [ ! -f "$WORK/.rootfs.ok" ]; then
    [ "$(id -u)" -eq 0 ] || die "debootstrap needs root (or set ROOTFS=DIR)"
    rm -rf "$ROOTFS"
    log "debootstrap --variant=minbase bookworm"
    debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
      || { tail -n 20 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
    touch "$WORK/.rootfs.ok"
  fi
fi
if [ ! -f "$IMG/.ok-$SCALE" ]; then
  rm -rf "$IMG"
  log "building the image (scale $SCALE)"
  "$CARGO_TARGET_DIR/release/examples/bench_image" "$ROOTFS" "$IMG" "$SCALE"
  touch "$IMG/.ok-$SCALE"
fi
layer_blobs() { # the layer blobs of the OCI image in $1, in order
  python3 - "$1" <<'EOF'
import json, sys, os
root = sys.argv[1]
blob = lambda d: os.path.join(root, "blobs", *d.split(":"))
idx = json.load(open(os.path.join(root, "index.json")))
man = json.load(open(blob(idx["manifests"][0]["digest"])))
for l in man["layers"]:
    print(blob(l["digest"]))
EOF
}
# A docker save archive compressed as a whole (`docker save img | gzip`), read as a stream.
if [ ! -f "$IMG/docker-zstd.tar.gz" ]; then
  log "gzip -1 of the docker save archive (zstd layers)"
  gzip -1 -c "$IMG/docker-zstd.tar" >"$IMG/docker-zstd.tar.gz.tmp" && mv "$IMG/docker-zstd.tar.gz.tmp" "$IMG/docker-zstd.tar.gz"
fi
mapfile -t GZ < <(layer_blobs "$IMG/oci-gzip")
mapfile -t ZS < <(layer_blobs "$IMG/oci-zstd")
stored=$(du -cb "${GZ[@]}" | tail -1 | cut -f1)
tarbytes=$(for b in "${GZ[@]}"; do gzip -dc "$b" | wc -c; done | awk '{s+=$1} END {print s}')

# --- measuring ------------------------------------------------------------------------
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# run NAME CMD…: one timed run; appends "secs rss_kib spool_bytes" to $WORK/m.NAME.
run() {
  local name=$1; shift
  local spool=$WORK/spool; rm -rf "$spool"; mkdir -p "$spool"
  /usr/bin/time -f "%e %M" -o "$WORK/time.out" "$@" &
  local pid=$! peak=0 s
  while kill -0 "$pid" 2>/dev/null; do
    s=$(du -sb "$spool" 2>/dev/null | cut -f1); s=${s:-0}
    [ "$s" -gt "$peak" ] && peak=$s
    sleep 0.05
  done
  wait "$pid" || true
  echo "$(cat "$WORK/time.out" | tail -1) $peak" >>"$WORK/m.$name"
}
stat_of() { # NAME FIELD(1 secs, 2 rss, 3 spool) -> median
  cut -d' ' -f"$2" "$WORK/m.$1" | median
}
rm -f "$WORK"/m.*
CACHE0=$WORK/cache-rules
rm -rf "$CACHE0"
"$LH" scan -q --format json --cache "$CACHE0" "oci:$IMG/oci-zstd" >/dev/null || true
rm -rf "$CACHE0/layers"
fresh_cache() { rm -rf "$WORK/cache"; cp -r "$CACHE0" "$WORK/cache"; }
lh() { "$LH" scan -q --format json --spool-dir "$WORK/spool" --cache "$WORK/cache" "$1" >"$WORK/$2.json"; }
export -f lh
export LH WORK

for i in $(seq "$RUNS"); do
  log "run $i/$RUNS"
  run gzip sh -c 'for b; do gzip -dc "$b" >/dev/null; done' sh "${GZ[@]}"
  run zstd sh -c 'for b; do zstd -q -dc "$b" >/dev/null; done' sh "${ZS[@]}"
  fresh_cache; run lh-gzip bash -c 'lh "$0" lh-gzip' "oci:$IMG/oci-gzip"
  run lh-gzip-warm bash -c 'lh "$0" lh-gzip-warm' "oci:$IMG/oci-gzip"
  fresh_cache; run lh-archive bash -c 'lh "$0" lh-archive' "docker-archive:$IMG/docker-gzip.tar"
  fresh_cache; run lh-zstd bash -c 'lh "$0" lh-zstd' "oci:$IMG/oci-zstd"
  fresh_cache; run lh-archive-gz bash -c 'lh "$0" lh-archive-gz' "docker-archive:$IMG/docker-zstd.tar.gz"
done
if [ "${SKIP_KINGFISHER:-0}" != 1 ]; then
  for i in $(seq "$KF_RUNS"); do
    log "kingfisher run $i/$KF_RUNS"
    run kingfisher sh -c "'$KF' scan docker --archive '$IMG/docker-gzip.tar' --no-validate --no-limits --format json -o '$WORK/kf.json' >/dev/null 2>'$WORK/kf.err'"
  done
fi

# --- report ---------------------------------------------------------------------------
python3 - "$WORK" "$IMG/planted.jsonl" "$stored" "$tarbytes" "${SKIP_KINGFISHER:-0}" <<'EOF' | tee "$WORK/results.md"
import json, statistics, sys, os, platform, subprocess
work, planted_path, stored, tarbytes, skip_kf = sys.argv[1:6]
planted = [json.loads(l) for l in open(planted_path)]
def m(name):
    p = os.path.join(work, "m." + name)
    if not os.path.exists(p):
        return None
    rows = [list(map(float, l.split())) for l in open(p)]
    return [statistics.median(r[i] for r in rows) for i in range(3)] + [len(rows)]
def found_lh(name):
    d = json.load(open(os.path.join(work, name + ".json")))
    got = {(f["rule_id"], f["location"].get("path"), f["status"]) for f in d["findings"]}
    return sum((p["rule_id"], p["path"], p["status"]) in got for p in planted), len(d["findings"]), d["summary"].get("layers_from_cache", 0)
def found_kf():
    try:
        d = json.load(open(os.path.join(work, "kf.json")))
    except Exception:
        return None, None
    snippets = [f["finding"].get("snippet", "") for f in d.get("findings", [])]
    return sum(any(p["secret"] and p["secret"][:40] in s for s in snippets) for p in planted), len(snippets)
gz, zs = m("gzip"), m("zstd")
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
print(f"Image: {int(tarbytes)/1e9:.2f} GB of layer tars, {int(stored)/1e9:.2f} GB stored as gzip; "
      f"{len(planted)} planted secrets. Machine: {os.cpu_count()} cores ({cpu}), "
      f"medians of {int(gz[3])} runs.\n")
print("| what | time (s) | vs gzip -dc | throughput (MB/s of tar) | peak RSS (MiB) | peak spool (MiB) | planted found | findings |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
def row(label, r, extra=("", "")):
    if r is None:
        return
    t, rss, spool, _ = r
    print(f"| {label} | {t:.2f} | {t / gz[0]:.2f}× | {int(tarbytes) / 1e6 / t:.0f} | {rss / 1024:.0f} | {spool / 2**20:.0f} | {extra[0]} | {extra[1]} |")
row("`gzip -dc` of every layer", gz)
row("`zstd -dc` of every layer (zstd image)", zs)
for name, label in [("lh-gzip", "layerhound, OCI layout, gzip layers"),
                    ("lh-archive", "layerhound, docker save archive, gzip layers"),
                    ("lh-zstd", "layerhound, OCI layout, zstd layers"),
                    ("lh-archive-gz", "layerhound, `docker save \\| gzip` (zstd layers), read as a stream"),
                    ("lh-gzip-warm", "layerhound, gzip image again (layer results cached)")]:
    f, n, cached = found_lh(name)
    row(label, m(name), (f"{f}/{len(planted)}", n))
if skip_kf != "1":
    f, n = found_kf()
    row("kingfisher 2.x `scan docker --archive` (gzip archive)", m("kingfisher"), (f"{f}/{len(planted)}" if f is not None else "?", n if n is not None else "?"))
lh, lz, kf, warm = m("lh-gzip"), m("lh-zstd"), m("kingfisher"), m("lh-gzip-warm")
print()
print(f"- layerhound / gzip -dc: **{lh[0] / gz[0]:.2f}×** (target ≤ 0.5×)")
print(f"- layerhound zstd image / zstd -dc: **{lz[0] / zs[0]:.2f}×** (aim ≤ 1.6×); zstd scan / gzip scan: **{lz[0] / lh[0]:.2f}×** (target ≤ 1×)")
print(f"- peak RSS: {max(m(n)[1] for n in ('lh-gzip', 'lh-archive', 'lh-zstd', 'lh-archive-gz', 'lh-gzip-warm') if m(n)) / 1024:.0f} MiB at most over every layerhound run (target ≤ 200 MiB); peak spool: {max(m(n)[2] for n in ('lh-gzip', 'lh-archive', 'lh-zstd', 'lh-archive-gz', 'lh-gzip-warm') if m(n)) / 2**20:.0f} MiB (target 0)")
if kf:
    print(f"- kingfisher / layerhound: **{kf[0] / m('lh-archive')[0]:.1f}×** faster (target ≥ 15×)")
print(f"- second scan with the layer results cache: **{lh[0] / warm[0]:.1f}×** faster than the first, **{warm[0] / lh[0] * 100:.0f}%** of it (target ≤ 15%), every blob hashed")
EOF

# --- where the time goes ---------------------------------------------------------------
if command -v perf >/dev/null; then
  for form in oci-zstd oci-gzip; do
    fresh_cache
    printf '\nCPU-seconds per stage, %s (bench/stages.sh: one scan under perf):\n\n' "$form"
    LH=$LH bench/stages.sh --cache "$WORK/cache" "oci:$IMG/$form"
  done | tee -a "$WORK/results.md"
fi
