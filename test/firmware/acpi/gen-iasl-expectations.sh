#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Regenerates the iasl expectations the ACPI parser tests compare against:
# test/firmware/acpi/iasl/<name>.dsl, the `iasl -d` disassembly (acpica-tools)
# of every table in shared/fixtures/acpi (*.dat, *.aml), of every DMAR.dat and
# IVRS.dat in shared/groundtruth/*/, and of the synthetic tables in
# test/firmware/acpi/synthetic/ (rewritten first from test/firmware/acpi/build.ts).
# Each table is copied to <name>.dat in a scratch folder, as iasl names its
# output after its input; the date iasl writes into the comment header is
# dropped so that the files only change when the disassembly does.
# Names: <fixture file without extension>, groundtruth-<scenario>.<SIG>,
# synthetic-<file without .dat> (test/firmware/acpi/iasl.ts lists the same).
#
# Usage: test/firmware/acpi/gen-iasl-expectations.sh   (from anywhere; needs iasl and npx)
# Overrides: SHARED=/path/to/shared
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
shared=${SHARED:-$(cd "$root/.." && pwd)/shared}
out="$here/iasl"

command -v iasl >/dev/null 2>&1 || { echo "iasl not found: apt-get install acpica-tools" >&2; exit 1; }

(cd "$root" && IOMMU_LAB_WRITE_SYNTHETIC=1 npx vitest run test/firmware/acpi/synthetic.test.ts >/dev/null)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
rm -f "$out"/*.dsl

disassemble() { # name source
  cp "$2" "$tmp/$1.dat"
  (cd "$tmp" && iasl -d "$1.dat" >/dev/null 2>&1) || { echo "iasl failed on $2" >&2; exit 1; }
  sed -e 's/^\( \* Disassembly of [^,]*\),.*$/\1/' "$tmp/$1.dsl" >"$out/$1.dsl"
  echo "$1.dsl  <- $2"
}

for f in "$shared"/fixtures/acpi/*.dat "$shared"/fixtures/acpi/*.aml; do
  [ -e "$f" ] || continue
  b=$(basename "$f")
  disassemble "${b%.*}" "$f"
done
for f in "$shared"/groundtruth/*/DMAR.dat "$shared"/groundtruth/*/IVRS.dat; do
  [ -e "$f" ] || continue
  d=$(basename "$(dirname "$f")")
  disassemble "groundtruth-$d.$(basename "$f" .dat)" "$f"
done
for f in "$here"/synthetic/*.dat; do
  [ -e "$f" ] || continue
  disassemble "synthetic-$(basename "$f" .dat)" "$f"
done
