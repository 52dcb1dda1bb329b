#!/bin/sh
# Regenerate the dtc oracle for the FDT tests: the SHA-256 of what
# `dtc -I dtb -O dts` (device-tree-compiler 1.6.1) prints for every DTB in
# ../shared/fixtures/dtb, and dtc/edge.dtb + dtc/edge.out.dts from the
# hand-written dtc/edge.dts (values at the edges of dtc's type guessing).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fixtures="$here/../../../../shared/fixtures/dtb"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
dtc -q -I dts -O dtb -o "$here/dtc/edge.dtb" "$here/dtc/edge.dts"
dtc -q -I dtb -O dts "$here/dtc/edge.dtb" > "$here/dtc/edge.out.dts"
{
  echo '{'
  echo "  \"dtc\": \"$(dtc --version | sed 's/^Version: //')\","
  echo '  "sha256": {'
  first=1
  for f in "$fixtures"/*; do
    case "$f" in *.gz) gzip -dc "$f" > "$tmp" ;; *) cp "$f" "$tmp" ;; esac
    sum=$(dtc -q -I dtb -O dts "$tmp" | sha256sum | cut -d' ' -f1)
    [ $first = 1 ] || echo ','
    first=0
    printf '    "%s": "%s"' "$(basename "$f")" "$sum"
  done
  echo
  echo '  }'
  echo '}'
} > "$here/dtc/expectations.json"
