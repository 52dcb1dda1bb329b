#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# iommu-snapshot.sh: collect what iommu-lab needs to model this machine's
# IOMMU topology, into one archive that `iommu-lab boot ARCHIVE` reads.
#
#   sudo sh iommu-snapshot.sh [OUTPUT.tar.gz]
#
# It reads, and copies unchanged:
#   - the ACPI tables DMAR, IVRS, IORT and VIOT (/sys/firmware/acpi/tables),
#   - the flattened device tree (/sys/firmware/fdt),
#   - every PCI function's config space (/sys/bus/pci/devices/*/config), and
#     the names its driver, iommu and iommu_group links point at,
#   - the kernel's release and command line, the machine's architecture, and
#     whether it runs under a hypervisor,
#   - the live IOMMU groups (/sys/kernel/iommu_groups: type, reserved_regions,
#     devices, and each member's iommu link), so that iommu-lab can say where
#     its model and this machine agree.
# Nothing is changed on the machine. Run it as root: ACPI tables, and PCI
# config space past the first 64 bytes, can only be read by root.
# It needs a POSIX shell and cat, ls, readlink, mktemp and tar (busybox will do).
#
# SYSROOT (default empty) reads /sys and /proc under another folder: for
# testing the script on a copy of a machine's files.

set -eu

root=${SYSROOT:-}
out=${1:-iommu-snapshot-$(date +%Y%m%d-%H%M%S).tar.gz}

warn() { echo "iommu-snapshot: $*" >&2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/iommu-snapshot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
s=$tmp/iommu-snapshot
mkdir -p "$s/acpi" "$s/pci" "$s/iommu_groups"
echo 'iommu-lab-snapshot 1' >"$s/FORMAT"

[ "$(id -u)" = 0 ] || warn "not running as root: ACPI tables and most of each config space will be missing (run with sudo)"

# The last path component a symbolic link points at, or nothing.
link_name() {
	if [ -L "$1" ]; then
		t=$(readlink "$1") || return 0
		echo "${t##*/}"
	fi
}

# copy SRC DST: a file that may be missing or unreadable.
copy() {
	[ -e "$1" ] || return 0
	cat "$1" >"$2" 2>/dev/null || {
		warn "cannot read $1"
		rm -f "$2"
	}
}

if [ -r "$root/proc/sys/kernel/osrelease" ]; then
	cat "$root/proc/sys/kernel/osrelease" >"$s/release"
else
	uname -r >"$s/release"
fi
if [ -r "$root/proc/sys/kernel/arch" ]; then
	cat "$root/proc/sys/kernel/arch" >"$s/arch"
elif [ -z "$root" ]; then
	uname -m >"$s/arch"
fi
copy "$root/proc/cmdline" "$s/cmdline"
if [ -e "$root/sys/hypervisor/type" ] || grep -qw hypervisor "$root/proc/cpuinfo" 2>/dev/null; then
	echo 1 >"$s/hypervisor"
else
	echo 0 >"$s/hypervisor"
fi

for t in DMAR IVRS IORT VIOT; do
	copy "$root/sys/firmware/acpi/tables/$t" "$s/acpi/$t"
done
copy "$root/sys/firmware/fdt" "$s/fdt"

n=0
for d in "$root"/sys/bus/pci/devices/*; do
	[ -e "$d/config" ] || continue
	f=${d##*/}
	p=$s/pci/$f
	mkdir -p "$p"
	copy "$d/config" "$p/config"
	for l in driver iommu iommu_group; do
		v=$(link_name "$d/$l")
		[ -z "$v" ] || echo "$v" >"$p/$l"
	done
	n=$((n + 1))
done

g=0
for d in "$root"/sys/kernel/iommu_groups/*; do
	[ -d "$d/devices" ] || continue
	p=$s/iommu_groups/${d##*/}
	mkdir -p "$p"
	copy "$d/type" "$p/type"
	copy "$d/reserved_regions" "$p/reserved_regions"
	: >"$p/devices"
	for m in "$d"/devices/*; do
		[ -e "$m" ] || [ -L "$m" ] || continue
		echo "${m##*/} $(link_name "$m/iommu")" >>"$p/devices"
	done
	g=$((g + 1))
done

tar -C "$tmp" -czf "$out" iommu-snapshot
warn "wrote $out: $n PCI functions, $g IOMMU groups"
