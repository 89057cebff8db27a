#!/usr/bin/env bash
# Measures layerhound's NOISE on real application code, side by side with Kingfisher.
#
# For each set of packages (bench/realcode/<set>/: a fixed, pinned list per ecosystem),
# builds one docker save archive from real third-party code fetched at run time:
#   layer 0  app/node_modules      npm ci --ignore-scripts of npm.txt (npm-lock.json pins all)
#   layer 1  app/vendor/           the wheels of pypi.txt unpacked, *.dist-info/RECORD removed
#   layer 2  root/.cargo/registry/src/index.crates.io-…/<crate>-<version>/  crates.txt
#   layer 3  Go, Java, Ruby, PHP trees from the Debian packages of debian.txt, unpacked with
#            dpkg-deb -x outside dpkg's records and laid out where each ecosystem keeps
#            vendored code (see the head of debian.txt)
#   layer 4  the app's own files (bench/realcode/app/) with planted secrets
# and secrets appended to a file in node_modules and to a vendored Python file
# (planted.tsv: every planted place with its line and expected rule). It scans the image
# with layerhound (default options, --no-cache) and with Kingfisher (offline:
# --no-validate --no-update-check; --no-dedup so that it lists every place, as
# layerhound's `places` do; --no-limits, without which it skips every layer over 512 MiB
# and reads no more than 256 MiB of the archive), and prints Markdown tables: planted secrets found, noise
# (distinct non-planted places) by rule and by ecosystem, layerhound's set-aside counts
# (summary.suppressed), wall time and peak RSS. The tables also go to
# bench/realcode-results.md; every non-planted layerhound place, with a short redacted
# context read from the trees on disk, goes to $WORK/<set>/noise-layerhound.tsv.
#
# Usage: bench/realcode.sh          (root, Debian 12: apt-get, npm, pip, curl, cargo)
# Env:   WORK=DIR      work and download cache (default target/bench-realcode); reruns
#                      reuse the unpacked trees and the built image when their inputs
#                      are unchanged
#        SET=tuned|holdout|both     (default both). The holdout set is a different list
#                      that no rule is tuned against: report it separately.
#        CARGO_TARGET_DIR (default /tmp/lh-realcode-target)
#        KINGFISHER=PATH  use this kingfisher binary instead of installing kingfisher-bin
#        KF_RESCAN=1   run Kingfisher again even though the image and its version are
#                      unchanged (by default its earlier report of the same image is reused)
#        LAYERHOUND_SRC=DIR  build layerhound and examples/realcode_image.rs from this
#                      checkout instead of this one (e.g. a `git archive HEAD` snapshot
#                      while the work tree is mid-edit); LAYERHOUND_LABEL names it in
#                      the report
# Exit:  0 = report written; non-zero = the bench itself failed (a download that failed
#        is named). A scan exiting 1 just means findings.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${WORK:-target/bench-realcode}
case "$WORK" in /*) ;; *) WORK=$ROOT/$WORK ;; esac
SET=${SET:-both}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/lh-realcode-target}
LISTS=$ROOT/bench/realcode
HELPER=$LISTS/realcode.py
KF_VERSION=2.14.0
LH=$CARGO_TARGET_DIR/release/layerhound
BUILDER=$CARGO_TARGET_DIR/release/examples/realcode_image
CRATE_URL=https://static.crates.io/crates
CARGO_INDEX_DIR=index.crates.io-6f17d22bba15001f
RESULTS=$ROOT/bench/realcode-results.md
CACHE=$WORK/cache
T0=$SECONDS

log() { printf '[realcode] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

case "$SET" in
  tuned | holdout) SETS=("$SET") ;;
  both) SETS=(tuned holdout) ;;
  *) die "SET must be tuned, holdout or both (got '$SET')" ;;
esac
[ "$(id -u)" -eq 0 ] || die "needs root (apt-get)"
mkdir -p "$WORK" "$CACHE"/{npm,wheels,crates,debs} "$WORK/tmp"
export TMPDIR=$WORK/tmp

# --- 1. host tools -------------------------------------------------------------------
need=()
[ -x /usr/bin/time ] || need+=(time)
command -v curl >/dev/null || need+=(curl)
command -v npm >/dev/null || need+=(npm)
command -v dpkg-deb >/dev/null || need+=(dpkg)
pkg-config --exists libhs 2>/dev/null || need+=(libvectorscan-dev pkg-config)
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || die "apt-get install ${need[*]} failed"
fi
command -v python3 >/dev/null || die "python3 not found"
command -v cargo >/dev/null || die "cargo not found (install a Rust toolchain)"

# --- 2. layerhound, the image builder, Kingfisher ------------------------------------
SRC=${LAYERHOUND_SRC:-$ROOT}
[ -f "$SRC/examples/realcode_image.rs" ] || die "$SRC/examples/realcode_image.rs missing"
log "cargo build --release in $SRC (target dir $CARGO_TARGET_DIR)"
cargo build --release --quiet --manifest-path "$SRC/Cargo.toml" --bin layerhound --example realcode_image \
  || die "cargo build failed in $SRC (set LAYERHOUND_SRC to a checkout that builds)"
if [ "$SRC" = "$ROOT" ]; then
  LH_LABEL=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
  git -C "$ROOT" diff --quiet HEAD -- src rules build.rs Cargo.toml 2>/dev/null || LH_LABEL="$LH_LABEL + uncommitted changes"
else
  LH_LABEL=${LAYERHOUND_LABEL:-$SRC}
fi
if [ -n "${KINGFISHER:-}" ]; then
  KF=$KINGFISHER
else
  KF=$WORK/kingfisher-venv/bin/kingfisher
  if ! "$KF" --version 2>/dev/null | grep -q " $KF_VERSION\$"; then
    log "pip install kingfisher-bin==$KF_VERSION (venv $WORK/kingfisher-venv)"
    rm -rf "$WORK/kingfisher-venv"
    python3 -m venv "$WORK/kingfisher-venv" || die "python3 -m venv failed (apt-get install python3-venv)"
    "$WORK/kingfisher-venv/bin/pip" install -q --disable-pip-version-check "kingfisher-bin==$KF_VERSION" \
      || die "download failed: kingfisher-bin==$KF_VERSION from PyPI"
  fi
fi
"$KF" --version >/dev/null || die "kingfisher does not run: $KF"

# --- 3. per set: trees, image, scans, score ------------------------------------------
# A tree is rebuilt when its list changes, or LAYOUT (bump it when the layout code changes).
LAYOUT=2
key_of() { { echo "$LAYOUT"; cat "$@"; } | sha256sum | cut -c1-16; }
fresh() { [ -d "$1" ] && [ "$(cat "$1.key" 2>/dev/null)" = "$2" ]; }
finish() { # DIR KEY: the tree in DIR.tmp is complete
  rm -rf "$1" "$SW/pristine/$(basename "$1")"
  mv "$1.tmp" "$1"
  echo "$2" >"$1.key"
}
lines() { grep -v '^[[:space:]]*#' "$1" | grep -v '^[[:space:]]*$' || true; }

layer_npm() {
  local dir=$SW/layers/0-npm key
  key=$(key_of "$L/npm.txt" "$L/npm-lock.json")
  fresh "$dir" "$key" && return 0
  log "$S: npm ci ($(lines "$L/npm.txt" | wc -l) packages and their dependencies)"
  rm -rf "$dir.tmp"
  mkdir -p "$dir.tmp/app"
  python3 - "$L/npm.txt" >"$dir.tmp/app/package.json" <<'PY'
import json, sys
deps = {}
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if line:
        name, _, version = line.rpartition("@")
        deps[name] = version
json.dump({"name": "acme-shop", "version": "1.4.2", "private": True, "main": "server.js",
           "scripts": {"start": "node server.js"}, "dependencies": deps}, sys.stdout, indent=2)
print()
PY
  cp "$L/npm-lock.json" "$dir.tmp/app/package-lock.json"
  (cd "$dir.tmp/app" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
    --cache "$CACHE/npm" --prefer-offline) >"$SW/npm.log" 2>&1 \
    || { tail -n 20 "$SW/npm.log" >&2; die "download failed: npm ci of $L/npm.txt (log: $SW/npm.log)"; }
  finish "$dir" "$key"
}

layer_pypi() {
  local dir=$SW/layers/1-pypi key
  key=$(key_of "$L/pypi.txt")
  fresh "$dir" "$key" && return 0
  log "$S: pip download $(lines "$L/pypi.txt" | wc -l) wheels"
  # the wheels for CPython 3.11 on x86_64 Linux, whatever python runs pip
  pip download --no-deps --only-binary=:all: --disable-pip-version-check -q -d "$CACHE/wheels" \
    --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
    --platform manylinux_2_34_x86_64 --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -r <(lines "$L/pypi.txt") >"$SW/pip.log" 2>&1 \
    || { tail -n 20 "$SW/pip.log" >&2; die "download failed: pip download of $L/pypi.txt (log: $SW/pip.log)"; }
  rm -rf "$dir.tmp"
  python3 "$HELPER" wheels "$L/pypi.txt" "$CACHE/wheels" "$dir.tmp"
  finish "$dir" "$key"
}

layer_cargo() {
  local dir=$SW/layers/2-cargo key src n v failed=$CACHE/crates/failed.$$
  key=$(key_of "$L/crates.txt")
  fresh "$dir" "$key" && return 0
  log "$S: fetch $(lines "$L/crates.txt" | wc -l) crates"
  rm -f "$failed"
  lines "$L/crates.txt" | while read -r n v; do
    [ -s "$CACHE/crates/$n-$v.crate" ] || echo "$n $v"
  done | CRATE_URL=$CRATE_URL D=$CACHE/crates F=$failed xargs -r -P 6 -L 1 sh -c '
    if curl -fsSL --retry 3 --connect-timeout 20 --max-time 300 -o "$D/$0-$1.crate.part" "$CRATE_URL/$0/$0-$1.crate"; then
      mv "$D/$0-$1.crate.part" "$D/$0-$1.crate"
    else
      rm -f "$D/$0-$1.crate.part"; echo "$0 $1" >>"$F"
    fi'
  if [ -s "$failed" ]; then
    log "crates that failed to download:"; sed 's/^/  /' "$failed" >&2
    die "download failed: $(wc -l <"$failed") crates of $L/crates.txt"
  fi
  rm -rf "$dir.tmp"
  src=$dir.tmp/root/.cargo/registry/src/$CARGO_INDEX_DIR
  mkdir -p "$src"
  lines "$L/crates.txt" | while read -r n v; do
    tar -xzf "$CACHE/crates/$n-$v.crate" -C "$src" || die "corrupt crate file $CACHE/crates/$n-$v.crate (delete it and rerun)"
    printf '{"v":1}' >"$src/$n-$v/.cargo-ok"
  done
  finish "$dir" "$key"
}

layer_debian() {
  local dir=$SW/layers/3-debian key missing=() spec name ver
  key=$(key_of "$L/debian.txt")
  fresh "$dir" "$key" && return 0
  while read -r spec _; do
    name=${spec%%=*} ver=${spec#*=}
    compgen -G "$CACHE/debs/${name}_${ver//:/%3a}_*.deb" >/dev/null || missing+=("$spec")
  done < <(lines "$L/debian.txt")
  if [ ${#missing[@]} -gt 0 ]; then
    log "$S: apt-get download ${#missing[@]} Debian packages"
    if ! (cd "$CACHE/debs" && apt-get download -q "${missing[@]}") >"$SW/apt.log" 2>&1; then
      apt-get update -qq >/dev/null 2>&1 || true
      (cd "$CACHE/debs" && apt-get download -q "${missing[@]}") >"$SW/apt.log" 2>&1 \
        || { grep -E "^E:" "$SW/apt.log" >&2 || tail -n 20 "$SW/apt.log" >&2
             die "download failed: apt-get download of $L/debian.txt (log: $SW/apt.log)"; }
    fi
  fi
  log "$S: lay out $(lines "$L/debian.txt" | wc -l) Debian packages"
  rm -rf "$dir.tmp"
  python3 "$HELPER" debian "$L/debian.txt" "$CACHE/debs" "$dir.tmp"
  finish "$dir" "$key"
}

scan_set() {
  S=$1 L=$LISTS/$1 SW=$WORK/$1
  mkdir -p "$SW/layers" "$SW/pristine"
  local t0=$SECONDS
  layer_npm
  layer_pypi
  layer_cargo
  layer_debian
  rm -rf "$SW/layers/4-app"
  mkdir -p "$SW/layers/4-app/app"
  cp -a "$LISTS/app/." "$SW/layers/4-app/app/"
  python3 "$HELPER" plant "$L/planted.tsv" "$SW/layers" "$SW/pristine" "$SW/planted.resolved.tsv"
  local trees=$((SECONDS - t0)) img=$SW/image.tar key
  key=$(cat "$SW"/layers/*.key "$SW/planted.resolved.tsv" "$BUILDER" | sha256sum | cut -c1-16)
  key=$key-$(find "$SW/layers/4-app" -type f -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-16)
  if [ ! -s "$img" ] || [ "$(cat "$img.key" 2>/dev/null)" != "$key" ]; then
    log "$S: build the image"
    rm -f "$img" "$img.key"
    "$BUILDER" "$img" "realcode/$S:1.0" \
      "$SW/layers/0-npm=COPY package.json package-lock.json ./ && RUN npm ci --ignore-scripts" \
      "$SW/layers/1-pypi=RUN pip download --no-deps --only-binary=:all: -r requirements.txt && unzip -d /app/vendor *.whl" \
      "$SW/layers/2-cargo=RUN cargo fetch" \
      "$SW/layers/3-debian=COPY --from=vendor / /" \
      "$SW/layers/4-app=COPY . /app" 2>"$SW/build.log" || { cat "$SW/build.log" >&2; die "image build failed"; }
    echo "$key" >"$img.key"
  fi
  local build=$((SECONDS - t0 - trees))
  log "$S: image $(du -h "$img" | cut -f1) ($trees s trees, $build s image)"

  log "$S: layerhound scan"
  local lh_rc kf_rc
  echo "$(cut -d' ' -f1 /proc/loadavg)" >"$SW/layerhound.load"
  set +e
  (cd "$SW" && /usr/bin/time -v -o "$SW/layerhound.time" "$LH" scan --format json --no-cache -q \
    -o "$SW/layerhound.json" "docker-archive:$img" 2>"$SW/layerhound.stderr")
  lh_rc=$?
  set -e
  [ "$lh_rc" -le 2 ] && [ -s "$SW/layerhound.json" ] || { cat "$SW/layerhound.stderr" >&2; die "layerhound failed (exit $lh_rc)"; }
  [ "$lh_rc" -le 1 ] || log "$S: layerhound exit $lh_rc: $(head -c 300 "$SW/layerhound.stderr")"
  # Kingfisher is the yardstick, not what is tuned: its report is reused while the image
  # and its version are unchanged (KF_RESCAN=1 runs it again).
  local kf_key
  kf_key="$(cat "$img.key") $("$KF" --version 2>/dev/null)"
  if [ "${KF_RESCAN:-0}" != 1 ] && [ -s "$SW/kingfisher.json" ] && [ "$(cat "$SW/kingfisher.key" 2>/dev/null)" = "$kf_key" ]; then
    log "$S: Kingfisher report reused (same image and version; KF_RESCAN=1 to rerun)"
    kf_rc=$(cat "$SW/kingfisher.rc")
  else
    log "$S: Kingfisher scan"
    rm -f "$SW/kingfisher.json" "$SW/kingfisher.key"
    echo "$(cut -d' ' -f1 /proc/loadavg)" >"$SW/kingfisher.load"
    set +e
    (cd "$SW" && /usr/bin/time -v -o "$SW/kingfisher.time" "$KF" scan docker --archive "$img" --format json \
      -o "$SW/kingfisher.json" --no-validate --no-update-check --no-dedup --no-limits -q 2>"$SW/kingfisher.stderr")
    kf_rc=$?
    set -e
    [ -s "$SW/kingfisher.json" ] || { tail -n 20 "$SW/kingfisher.stderr" >&2; die "Kingfisher failed (exit $kf_rc)"; }
    echo "$kf_rc" >"$SW/kingfisher.rc"
    echo "$kf_key" >"$SW/kingfisher.key"
  fi

  python3 "$HELPER" score --set "$S" --planted "$SW/planted.resolved.tsv" \
    --layers "$SW"/layers/0-npm "$SW"/layers/1-pypi "$SW"/layers/2-cargo "$SW"/layers/3-debian "$SW"/layers/4-app \
    --lh "$SW/layerhound.json" --lh-rc "$lh_rc" --lh-time "$SW/layerhound.time" \
    --kf "$SW/kingfisher.json" --kf-rc "$kf_rc" --kf-time "$SW/kingfisher.time" \
    --lh-load "$SW/layerhound.load" --kf-load "$SW/kingfisher.load" \
    --noise "$SW/noise-layerhound.tsv" --md "$SW/report.md"
  echo "$trees $build" >"$SW/prep.seconds"
}

for s in "${SETS[@]}"; do scan_set "$s"; done

# --- 4. report -----------------------------------------------------------------------
{
  echo "# layerhound noise on real application code"
  echo
  echo "Written by \`bench/realcode.sh\` (SET=$SET) on $(date -u +%Y-%m-%d): layerhound"
  echo "$("$LH" --version 2>/dev/null | head -1) ($LH_LABEL),"
  echo "Kingfisher $("$KF" --version 2>/dev/null | awk '{print $2}'); $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)."
  echo "Package lists: \`bench/realcode/<set>/\`; planted secrets: \`bench/realcode/<set>/planted.tsv\`."
  echo "layerhound: \`layerhound scan --format json --no-cache docker-archive:image.tar\` (default options);"
  echo "Kingfisher: \`kingfisher scan docker --archive image.tar --format json --no-validate --no-update-check --no-dedup --no-limits\` (without --no-limits it skips every layer over 512 MiB and stops reading the archive after 256 MiB)."
  echo "A *place* is a path (\`archive!member\` inside jars and other archives) and a line; noise is every"
  echo "place reported that is not in planted.tsv. Ecosystem by path: \`node_modules/\` npm, \`app/vendor/\`"
  echo "pypi, \`.cargo/registry/\` cargo, \`usr/share/gocode/\`, \`go/src/app/vendor/\` and \`go/pkg/mod/\` go, jars and"
  echo "\`.m2/\` java, \`usr/local/bundle/\` ruby, \`var/www/html/vendor/\` php, \`app/\` the app's own files."
  echo
  python3 - "$LISTS" <<'PY'
import json, sys
d = sys.argv[1]
def npm(s):
    return {(k.split("node_modules/")[-1], v.get("version"))
            for k, v in json.load(open(f"{d}/{s}/npm-lock.json"))["packages"].items() if k}
def names(s, f, sep):
    return {l.split(sep)[0].strip() for l in open(f"{d}/{s}/{f}") if l.strip() and not l.startswith("#")}
t, h = npm("tuned"), npm("holdout")
print(f"Holdout against tuned: its npm tree shares {len(t & h)} of its {len(h)} packages (name and version)"
      f" with the tuned one (transitive dependencies: @smithy/*, @aws-sdk/core, gaxios, …); it shares"
      f" {len(names('tuned', 'pypi.txt', '==') & names('holdout', 'pypi.txt', '=='))} PyPI,"
      f" {len(names('tuned', 'crates.txt', ' ') & names('holdout', 'crates.txt', ' '))} crate and"
      f" {len(names('tuned', 'debian.txt', '=') & names('holdout', 'debian.txt', '='))} Debian package names.\n")
PY
  for s in "${SETS[@]}"; do
    read -r trees build <"$WORK/$s/prep.seconds"
    cat "$WORK/$s/report.md"
    echo "Preparation of \`$s\`: ${trees} s fetching and laying out trees (0 when cached), ${build} s building the image (0 when cached)."
    echo
  done
  echo "Script run time: $((SECONDS - T0)) s."
} >"$WORK/results.md"
cp "$WORK/results.md" "$RESULTS"
cat "$WORK/results.md"
log "done in $((SECONDS - T0)) s; results in $RESULTS; noise lists in $WORK/<set>/noise-layerhound.tsv"
