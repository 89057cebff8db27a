#!/usr/bin/env bash
# Peak memory against entry size: scans images whose single layer holds one generated
# log file of 1 GiB and of 4 GiB with a token on its last line, and prints wall time
# and peak RSS (GNU time). The layer is decoded as a stream and the file matched in
# overlapping 16 MiB windows, with no spool, so peak RSS should not follow the size.
#
# Usage: bench/huge-entry.sh [SIZE_MIB...]   (default: 1024 4096)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1024 4096)
work=${WORK:-target/bench-huge}
mkdir -p "$work"
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
cargo build --release --quiet --bin layerhound --example huge_image
lh=target/release/layerhound
"$lh" scan --quiet /dev/null >/dev/null 2>&1 || true   # fill the compiled-rules cache
echo "| entry | layer (gzip) | found (line) | wall | peak RSS |"
echo "|---|---|---|---|---|"
for mib in "${sizes[@]}"; do
  img="$work/huge-$mib"
  [ -f "$img/index.json" ] || target/release/examples/huge_image "$img" "$mib" 2>/dev/null
  layer=$(du -sh "$img/blobs" | cut -f1)
  /usr/bin/time -f '%e %M' -o "$work/time-$mib" "$lh" scan --quiet --format json "oci:$img" > "$work/scan-$mib.json" || true
  read -r wall rss < <(tail -n 1 "$work/time-$mib")
  line=$(python3 -c "import json,sys; f=[x for x in json.load(open(sys.argv[1]))['findings'] if x['location'].get('path')=='var/log/huge.log']; print(f[0]['location']['line'] if f else 'NOT FOUND')" "$work/scan-$mib.json")
  echo "| $mib MiB | $layer | $line | ${wall} s | $((rss / 1024)) MiB |"
done
