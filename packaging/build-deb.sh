#!/usr/bin/env bash
# Builds camd's Debian packages with nfpm: one per architecture, into dist/.
#
#   packaging/build-deb.sh [VERSION]      (make deb)
#
# VERSION defaults to `git describe`; it is turned into a Debian version
# (v1.2.3 -> 1.2.3, v1.2.3-4-gabc -> 1.2.3+4.gabc, an untagged abc1234 ->
# 0~git20250102.abc1234). Environment:
#   CAMD_DEB_ARCHES      Debian architectures to build (amd64 arm64 armhf)
#   CAMD_DEB_CGO_ARCHES  those built with the software H.264 encoder
#                        (openh264, statically linked; needs that
#                        architecture's g++): amd64
#   CAMD_LICENSE_FILE    the license text shipped as the copyright file
#                        (LICENSE)
#   CAMD_MAINTAINER      the Maintainer field
#   DIST, GO             output directory (dist), go command (go)
#
# armhf is built for ARMv6 (GOARM=6): Raspberry Pi OS's armhf is ARMv6
# hard-float, so the same package runs on a Pi Zero W and on ARMv7 boards.
set -euo pipefail
cd "$(dirname "$0")/.."

NFPM=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
GO=${GO:-go}
dist=${DIST:-dist}
read -r -a arches <<<"${CAMD_DEB_ARCHES:-amd64 arm64 armhf}"
cgo_arches=" ${CAMD_DEB_CGO_ARCHES:-amd64} "
license_file=${CAMD_LICENSE_FILE:-LICENSE}
export CAMD_MAINTAINER=${CAMD_MAINTAINER:-camd developers <maintainers@camd.invalid>}

die() {
	echo "build-deb: $*" >&2
	exit 1
}

# deb_version turns a git describe string into a Debian upstream version.
deb_version() {
	local v=${1#v}
	if [[ $v =~ ^([0-9][0-9A-Za-z.~+]*)(-([0-9]+)-g([0-9a-f]+))?(-dirty)?$ ]]; then
		local out=${BASH_REMATCH[1]}
		if [ -n "${BASH_REMATCH[3]}" ]; then
			out+="+${BASH_REMATCH[3]}.g${BASH_REMATCH[4]}"
		fi
		if [ -n "${BASH_REMATCH[5]}" ]; then
			out+=".dirty"
		fi
		echo "$out"
		return
	fi
	local date
	date=$(git log -1 --format=%cd --date=format:%Y%m%d 2>/dev/null || date -u +%Y%m%d)
	v=${v//-/.}
	v=${v//[^0-9A-Za-z.+~]/}
	echo "0~git${date}.${v:-unknown}"
}

# license_id names the license in LICENSE as an SPDX identifier.
license_id() {
	local f=$1
	if grep -q "Apache License" "$f" && grep -q "Version 2.0" "$f"; then
		echo Apache-2.0
	elif grep -q "Permission is hereby granted, free of charge" "$f"; then
		echo MIT
	elif grep -q "Redistribution and use in source and binary forms" "$f"; then
		if grep -q "Neither the name" "$f"; then echo BSD-3-Clause; else echo BSD-2-Clause; fi
	elif grep -q "Mozilla Public License Version 2.0" "$f"; then
		echo MPL-2.0
	else
		echo "see /usr/share/doc/camd/copyright"
	fi
}

# cxx_for prints the C and C++ compilers that build for a Debian
# architecture on this machine.
cxx_for() {
	local arch=$1 host triplet
	host=$(dpkg --print-architecture 2>/dev/null || "$GO" env GOARCH)
	if [ "$arch" = "$host" ]; then
		echo "gcc g++"
		return
	fi
	case $arch in
	amd64) triplet=x86_64-linux-gnu ;;
	arm64) triplet=aarch64-linux-gnu ;;
	*) die "no software encoder for $arch: openh264 ships for amd64, arm64 and ARMv7 only" ;;
	esac
	echo "$triplet-gcc $triplet-g++"
}

[ -f "$license_file" ] || die "no $license_file: camd needs a license file at the repository root (it becomes /usr/share/doc/camd/copyright)"
CAMD_LICENSE=$(license_id "$license_file")
export CAMD_LICENSE
version=$(deb_version "${1:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}")
export CAMD_VERSION=$version
# nfpm.yaml names these staging paths.
build=dist/deb-build
mkdir -p "$dist" "$build"
cp "$license_file" "$build/copyright"

for arch in "${arches[@]}"; do
	goarm=""
	case $arch in
	amd64) goarch=amd64 ;;
	arm64) goarch=arm64 ;;
	armhf) goarch=arm goarm=6 ;;
	*) die "unknown architecture $arch (amd64, arm64 or armhf)" ;;
	esac
	bin="$build/camd"
	ldflags="-s -w -X main.version=$version"
	# nethttpomithttp2: camd serves HTTP/1.1; see TAGS in the Makefile.
	if [[ $cgo_arches == *" $arch "* ]]; then
		read -r cc cxx <<<"$(cxx_for "$arch")"
		command -v "$cxx" >/dev/null || die "$cxx is missing: install it, or build $arch without the software encoder (CAMD_DEB_CGO_ARCHES=)"
		CGO_ENABLED=1 CC=$cc CXX=$cxx GOOS=linux GOARCH=$goarch \
			"$GO" build -trimpath -tags netgo,osusergo,nethttpomithttp2 \
			-ldflags "$ldflags -linkmode external -extldflags -static" -o "$bin" ./cmd/camd
	else
		CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm \
			"$GO" build -trimpath -tags nethttpomithttp2 -ldflags "$ldflags" -o "$bin" ./cmd/camd
	fi
	CAMD_ARCH=$arch "$GO" run "$NFPM" package \
		--config packaging/nfpm.yaml --packager deb --target "$dist/" >/dev/null
	deb="$dist/camd_${version}_${arch}.deb"
	[ -f "$deb" ] || die "nfpm did not write $deb"
	awk -v n="$deb" -v b="$(stat -c %s "$bin")" -v d="$(stat -c %s "$deb")" \
		'BEGIN { printf "%-44s %5.1f MB (binary %4.1f MB)\n", n, d / 1048576, b / 1048576 }'
done
