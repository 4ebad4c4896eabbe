#!/bin/sh
# Buildroot post-image script, run after the Raspberry Pi one that writes
# sdcard.img: puts camd.toml and wpa_supplicant.conf.example on the boot
# partition, where a person edits them from a PC after flashing, and labels
# it CAMD-BOOT (S05bootfs finds it by that label; a PC shows it). It writes
# into the image's first partition with mtools (host-mtools), so it works
# whatever genimage configuration made the image.
set -eu

board_dir=$(dirname "$0")
img="$BINARIES_DIR/sdcard.img"
if [ ! -f "$img" ]; then
	echo "camd post-image: no $img (is Buildroot's Raspberry Pi post-image script listed first?)" >&2
	exit 1
fi

# The first partition's start sector: MBR bytes 454..457, little endian
# (od reads them in the host's byte order; build hosts are little endian).
start=$(od -An -tu4 -j454 -N4 "$img" | tr -d ' ')
offset=$((start * 512))
label="CAMD-BOOT"
for fs in "$img@@$offset" "$BINARIES_DIR/boot.vfat"; do
	if [ "$fs" = "$BINARIES_DIR/boot.vfat" ] && [ ! -f "$fs" ]; then
		continue
	fi
	for f in camd.toml wpa_supplicant.conf.example; do
		mcopy -o -i "$fs" "$board_dir/boot/$f" "::$f"
	done
	mlabel -i "$fs" "::$label"
done
echo "camd post-image: added camd.toml and wpa_supplicant.conf.example to the boot partition, labelled $label"
