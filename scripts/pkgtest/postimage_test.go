package pkgtest

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPostImage runs the board's post-image script on a disk image laid
// out as the Raspberry Pi genimage configurations lay out sdcard.img (an
// MBR, then a FAT boot partition at 1 MiB) and on a bare boot.vfat, and
// reads camd.toml, wpa_supplicant.conf.example and the label S05bootfs
// looks for back with mtools.
func TestPostImage(t *testing.T) {
	needTools(t, [2]string{"mkfs.vfat", "dosfstools"}, [2]string{"mcopy", "mtools"}, [2]string{"mtype", "mtools"}, [2]string{"mlabel", "mtools"})
	root := repoRoot(t)
	bin := t.TempDir()
	const start, sectors = 2048, 32 << 11 // a 32 MiB partition at 1 MiB
	img := filepath.Join(bin, "sdcard.img")
	mbr := make([]byte, 512)
	entry := mbr[446:462]
	entry[0], entry[4] = 0x80, 0x0c // bootable, FAT32 LBA
	binary.LittleEndian.PutUint32(entry[8:], start)
	binary.LittleEndian.PutUint32(entry[12:], sectors)
	mbr[510], mbr[511] = 0x55, 0xaa
	writeFile(t, img, string(mbr))
	if err := os.Truncate(img, (start+sectors)*512); err != nil {
		t.Fatal(err)
	}
	mustRun(t, time.Minute, bin, nil, "mkfs.vfat", "--offset", "2048", img, "32768")
	vfat := filepath.Join(bin, "boot.vfat")
	mustRun(t, time.Minute, bin, nil, "mkfs.vfat", "-C", vfat, "4096")

	script := filepath.Join(root, "buildroot", "board", "camd", "post-image.sh")
	env := append(os.Environ(), "BINARIES_DIR="+bin, "MTOOLS_SKIP_CHECK=1")
	for range 2 { // twice: it must overwrite, not fail, on a rebuild
		mustRun(t, time.Minute, bin, env, script, "--add-miniuart-bt-overlay", "--aarch64")
	}
	for _, name := range []string{"camd.toml", "wpa_supplicant.conf.example"} {
		want := readText(filepath.Join(root, "buildroot", "board", "camd", "boot", name))
		for _, image := range []string{img + "@@1048576", vfat} {
			got := mustRun(t, time.Minute, bin, env, "mtype", "-i", image, "::"+name)
			if got != want {
				t.Errorf("%s in %s:\n%s\nwant:\n%s", name, image, got, want)
			}
		}
	}
	for _, image := range []string{img + "@@1048576", vfat} {
		got := mustRun(t, time.Minute, bin, env, "mlabel", "-s", "-i", image, "::")
		if !strings.Contains(got, "CAMD-BOOT") {
			t.Errorf("label of %s: %q, want CAMD-BOOT (S05bootfs finds the partition by it)", image, got)
		}
	}
}
