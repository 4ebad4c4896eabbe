#!/usr/bin/env bash
# Builds a camd SD card image for a Raspberry Pi with a pinned Buildroot
# release (make image BOARD=rpi4). Boards: rpi0w, rpi02w, rpi3, rpi4.
#
#   buildroot/build-image.sh BOARD
#
# The configuration is Buildroot's own defconfig for the board, then
# board/camd/common.fragment, then configs/camd_BOARD_defconfig, later
# lines winning; every line of the two fragments is checked to have
# survived, so a Buildroot release that renamed an option fails here, in
# seconds, rather than building a different image. Needs internet access
# and Buildroot's host packages (see README.md). Environment:
#   CAMD_IMAGE_CACHE  downloads, the Buildroot tree and outputs
#                     (~/.cache/camd-image)
#   CAMD_IMAGE_OUT    this board's output directory (CACHE/out-BOARD)
set -euo pipefail

# The pinned release (of the 2026.02 long-term branch) and its tarball's
# SHA-256, which must also match the one in the release's signed .sign file.
BUILDROOT_VERSION=2026.02.3
BUILDROOT_SHA256=5a59e7501b0b4ec52c41f4bfa79412320e0b37eae5f719605a258e8d0c6fc7fb

ext=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$ext")

die() {
	echo "build-image: $*" >&2
	exit 1
}

board=${1:-}
case $board in
rpi0w) base=raspberrypi0w_defconfig ;;
rpi02w) base=raspberrypizero2w_64_defconfig ;;
rpi3) base=raspberrypi3_64_defconfig ;;
rpi4) base=raspberrypi4_64_defconfig ;;
*) die "usage: build-image.sh BOARD (rpi0w, rpi02w, rpi3 or rpi4)" ;;
esac

cache=${CAMD_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/camd-image}
out=${CAMD_IMAGE_OUT:-$cache/out-$board}
src="$cache/buildroot-$BUILDROOT_VERSION"
export BR2_DL_DIR=${BR2_DL_DIR:-$cache/dl}
mkdir -p "$cache" "$out" "$BR2_DL_DIR"
case $out/ in
"$repo"/*) die "CAMD_IMAGE_OUT ($out) is inside the repository, which Buildroot copies as camd's source" ;;
esac

# fetch downloads and unpacks the pinned release, checking the tarball
# against the pinned SHA-256 and the one in Buildroot's .sign file.
fetch() {
	local tarball="buildroot-$BUILDROOT_VERSION.tar.xz"
	local url="https://buildroot.org/downloads/$tarball"
	[ -d "$src" ] && return
	echo "build-image: fetching $url"
	curl -fsSL -o "$cache/$tarball.sign" "$url.sign"
	curl -fSL -o "$cache/$tarball.part" "$url"
	local want got
	want=$(awk -v f="$tarball" '$1 == "SHA256:" && $3 == f { print $2 }' "$cache/$tarball.sign")
	[ -n "$want" ] || die "no SHA256 line for $tarball in $url.sign"
	[ "$want" = "$BUILDROOT_SHA256" ] || die "$url.sign says $want, the pin says $BUILDROOT_SHA256"
	got=$(sha256sum "$cache/$tarball.part" | cut -d' ' -f1)
	[ "$got" = "$want" ] || die "$tarball: SHA-256 $got, want $want"
	tar -C "$cache" -xf "$cache/$tarball.part"
	mv "$cache/$tarball.part" "$cache/$tarball"
	echo "build-image: Buildroot $BUILDROOT_VERSION, SHA-256 $got"
}

# check_go fails when the release's Go is older than go.mod asks for:
# Buildroot builds offline with its own Go and cannot fetch a newer one.
check_go() {
	local have need
	have=$(sed -n 's/^GO_VERSION = //p' "$src/package/go/go.mk" | head -n 1)
	need=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$repo/go.mod")
	[ -n "$have" ] || die "cannot read GO_VERSION from $src/package/go/go.mk"
	if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n 1)" != "$need" ]; then
		die "Buildroot $BUILDROOT_VERSION has Go $have; go.mod needs $need: pin a newer Buildroot"
	fi
}

# check_fragment fails for every line of fragment file $1 that the final
# .config does not hold.
check_fragment() {
	local line sym bad=0
	while IFS= read -r line; do
		case $line in
		BR2_*=*)
			grep -qxF "$line" "$out/.config" || {
				echo "build-image: $1: '$line' did not survive: $(grep "^${line%%=*}=" "$out/.config" || echo unset)" >&2
				bad=1
			}
			;;
		"# BR2_"*" is not set")
			sym=${line#\# }
			sym=${sym%% *}
			if grep -q "^$sym=" "$out/.config"; then
				echo "build-image: $1: $sym should be unset" >&2
				bad=1
			fi
			;;
		esac
	done <"$1"
	return "$bad"
}

br() {
	make -C "$src" O="$out" BR2_EXTERNAL="$ext" "$@"
}

fetch
check_go

common="$ext/board/camd/common.fragment"
frag="$ext/configs/camd_${board}_defconfig"
br "$base" >/dev/null
cat "$common" "$frag" >>"$out/.config"
br olddefconfig >/dev/null
# camd's post-image script runs after the board's, which writes sdcard.img.
post=$(sed -n 's/^BR2_ROOTFS_POST_IMAGE_SCRIPT="\(.*\)"$/\1/p' "$out/.config")
"$src/utils/config" --file "$out/.config" --set-str BR2_ROOTFS_POST_IMAGE_SCRIPT \
	"${post:+$post }\$(BR2_EXTERNAL_CAMD_PATH)/board/camd/post-image.sh"
br olddefconfig >/dev/null
ok=0
check_fragment "$common" || ok=1
check_fragment "$frag" || ok=1
[ "$ok" -eq 0 ] || die "the configuration is not what the fragments ask for"

start=$(date +%s)
br
img="$out/images/sdcard.img"
[ -f "$img" ] || die "no $img"
awk -v n="$img" -v s="$(stat -c %s "$img")" -v t="$(($(date +%s) - start))" \
	'BEGIN { printf "%s: %.0f MB, built in %d min\n", n, s / 1048576, t / 60 }'
