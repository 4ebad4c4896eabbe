package pkgtest

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestBuildrootTree checks buildroot/ as `utils/check-package -b` would,
// and that the tree hangs together: the files Buildroot expects of a
// BR2_EXTERNAL tree, the variables camd.mk must set, one defconfig
// fragment and one config.txt per board that build-image.sh knows, and
// every path the tree names.
func TestBuildrootTree(t *testing.T) {
	root := repoRoot(t)
	ext := filepath.Join(root, "buildroot")
	var problems []finding
	err := filepath.WalkDir(ext, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.IndexByte(b, 0) >= 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		problems = append(problems, lintTreeFile(ext, rel, string(b), info.Mode())...)
		problems = append(problems, checkRefs(root, ext, rel, string(b))...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	problems = append(problems, checkExternalFiles(ext)...)
	problems = append(problems, checkPackages(root, ext)...)
	problems = append(problems, checkBoards(ext)...)
	for _, p := range problems {
		t.Error(p)
	}
}

var sysvName = regexp.MustCompile(`/S\d\d[^/]+$`)

// lintTreeFile runs the rules check-package picks for the file's name.
func lintTreeFile(ext, rel, text string, mode fs.FileMode) []finding {
	f := newLintFile(rel, text)
	out := ruleTextBasics(f)
	base := filepath.Base(rel)
	inPackage := strings.HasPrefix(rel, "buildroot/package/")
	switch {
	case base == "Config.in" || base == "Config.in.host":
		out = append(out, ruleConfigIn(f)...)
	case strings.HasSuffix(base, ".mk") && rel != "buildroot/external.mk":
		out = append(out, ruleMk(f)...)
	case strings.HasPrefix(rel, "buildroot/configs/") && strings.HasSuffix(base, "_defconfig"):
		out = append(out, ruleDefconfig(f)...)
	case base == "linux.fragment":
		out = append(out, ruleKernelFragment(f)...)
	case base == "busybox.fragment":
		out = append(out, ruleBusyboxFragment(f)...)
	case strings.HasSuffix(base, ".fragment"):
		out = append(out, ruleDefconfig(f)...)
	case sysvName.MatchString("/" + rel):
		out = append(out, ruleSysV(f)...)
		// In a package the .mk installs it with -m 0755; in an overlay
		// Buildroot copies the mode, and rcS runs only executables.
		if exec := mode&0o111 != 0; inPackage && exec {
			out = append(out, f.at(0, "This file does not need to be executable"))
		} else if !inPackage && !exec {
			out = append(out, f.at(0, "an overlay init script must be executable"))
		}
	}
	if strings.HasSuffix(base, ".sh") && mode&0o111 == 0 {
		out = append(out, f.at(0, "a script Buildroot or make runs must be executable"))
	}
	return out
}

var (
	extRef  = regexp.MustCompile(`\$\(?BR2_EXTERNAL_CAMD_PATH\)?(/[^\s"')]*)?`)
	srcRef  = regexp.MustCompile(`\$\(@D\)(/[^\s"')]*)`)
	pkgRef  = regexp.MustCompile(`\$\(CAMD_PKGDIR\)(/[^\s"')]*)`)
	boardTo = regexp.MustCompile(`(?m)^(\w+)\) base=(\S+) ;;$`)
)

// checkRefs checks that every path the file names exists: paths in the
// tree ($(BR2_EXTERNAL_CAMD_PATH)/…), in camd's source ($(@D)/…, the
// repository, as CAMD_SITE says) and in the package directory.
func checkRefs(root, ext, rel, text string) []finding {
	var out []finding
	check := func(base string, re *regexp.Regexp) {
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			p := filepath.Join(base, m[1])
			if matches, _ := filepath.Glob(p); len(matches) == 0 {
				out = append(out, finding{file: rel, msg: "names " + m[0] + ", which does not exist"})
			}
		}
	}
	check(ext, extRef)
	check(root, srcRef)
	check(filepath.Join(root, filepath.Dir(rel)), pkgRef)
	return out
}

func readText(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// checkExternalFiles checks the three files that make a BR2_EXTERNAL tree.
func checkExternalFiles(ext string) []finding {
	var out []finding
	desc := readText(filepath.Join(ext, "external.desc"))
	if !regexp.MustCompile(`(?m)\Aname: CAMD\n`).MatchString(desc) {
		out = append(out, finding{file: "buildroot/external.desc", line: 1, msg: "want a first line 'name: CAMD'"})
	}
	if !regexp.MustCompile(`(?m)^desc: \S`).MatchString(desc) {
		out = append(out, finding{file: "buildroot/external.desc", msg: "want a 'desc:' line"})
	}
	if mk := readText(filepath.Join(ext, "external.mk")); !strings.Contains(mk, "include $(sort $(wildcard $(BR2_EXTERNAL_CAMD_PATH)/package/*/*.mk))") {
		out = append(out, finding{file: "buildroot/external.mk", msg: "does not include package/*/*.mk"})
	}
	cfg := readText(filepath.Join(ext, "Config.in"))
	pkgs, _ := filepath.Glob(filepath.Join(ext, "package", "*", "Config.in"))
	for _, p := range pkgs {
		rel, _ := filepath.Rel(ext, p)
		if !strings.Contains(cfg, `source "$BR2_EXTERNAL_CAMD_PATH/`+rel+`"`) {
			out = append(out, finding{file: "buildroot/Config.in", msg: "does not source " + rel})
		}
	}
	return out
}

// mkVars reads NAME = value assignments (joining continuation lines).
func mkVars(text string) map[string]string {
	vars := map[string]string{}
	text = strings.ReplaceAll(text, "\\\n", " ")
	for _, m := range regexp.MustCompile(`(?m)^([A-Z0-9_]+)\s*[?:+]?=\s*(.*)$`).FindAllStringSubmatch(text, -1) {
		vars[m[1]] = strings.Join(strings.Fields(m[2]), " ")
	}
	return vars
}

// checkPackages checks each package directory: its files, the variables
// its .mk must set, and its license files.
func checkPackages(root, ext string) []finding {
	var out []finding
	dirs, _ := filepath.Glob(filepath.Join(ext, "package", "*"))
	for _, dir := range dirs {
		name := filepath.Base(dir)
		upper := strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		mkRel := "buildroot/package/" + name + "/" + name + ".mk"
		mk := readText(filepath.Join(dir, name+".mk"))
		if mk == "" {
			out = append(out, finding{file: mkRel, msg: "missing: a package directory holds <name>.mk"})
			continue
		}
		cfg := readText(filepath.Join(dir, "Config.in"))
		if !regexp.MustCompile(`(?m)\Aconfig BR2_PACKAGE_` + upper + `\n`).MatchString(cfg) {
			out = append(out, finding{file: "buildroot/package/" + name + "/Config.in", line: 1, msg: "want 'config BR2_PACKAGE_" + upper + "' first"})
		}
		vars := mkVars(mk)
		for _, v := range []string{"VERSION", "SITE", "SITE_METHOD", "LICENSE", "LICENSE_FILES"} {
			if vars[upper+"_"+v] == "" {
				out = append(out, finding{file: mkRel, msg: upper + "_" + v + " is not set"})
			}
		}
		if _, ok := vars[upper+"_INSTALL_BINS"]; ok {
			out = append(out, finding{file: mkRel, msg: upper + "_INSTALL_BINS is no longer supported by golang-package"})
		}
		lines := strings.Split(strings.TrimSpace(mk), "\n")
		if last := lines[len(lines)-1]; !regexp.MustCompile(`^\$\(eval \$\((host-)?[a-z]+-package\)\)$`).MatchString(last) {
			out = append(out, finding{file: mkRel, line: len(lines), msg: "the last line must be $(eval $(<infra>-package)), got " + last})
		}
		if name == "camd" && !strings.Contains(mk, "$(eval $(golang-package))") {
			out = append(out, finding{file: mkRel, msg: "camd uses the golang-package infrastructure"})
		}
		site := strings.Replace(vars[upper+"_SITE"], "$(BR2_EXTERNAL_CAMD_PATH)", ext, 1)
		if vars[upper+"_SITE_METHOD"] == "local" {
			if abs, _ := filepath.Abs(site); abs != root {
				out = append(out, finding{file: mkRel, msg: upper + "_SITE is " + abs + ", want the repository " + root})
			}
			for _, lf := range strings.Fields(vars[upper+"_LICENSE_FILES"]) {
				text := readText(filepath.Join(site, lf))
				if text == "" {
					out = append(out, finding{file: mkRel, msg: upper + "_LICENSE_FILES names " + lf + ", missing at the repository root: add camd's license"})
				} else if id := licenseID(text); id != vars[upper+"_LICENSE"] {
					out = append(out, finding{file: mkRel, msg: upper + "_LICENSE is " + vars[upper+"_LICENSE"] + " but " + lf + " reads as " + id})
				}
			}
		}
	}
	return out
}

// licenseID names a license text's SPDX identifier, as build-deb.sh does.
func licenseID(text string) string {
	has := func(s string) bool { return strings.Contains(text, s) }
	switch {
	case has("Apache License") && has("Version 2.0"):
		return "Apache-2.0"
	case has("Permission is hereby granted, free of charge"):
		return "MIT"
	case has("Redistribution and use in source and binary forms") && has("Neither the name"):
		return "BSD-3-Clause"
	case has("Redistribution and use in source and binary forms"):
		return "BSD-2-Clause"
	case has("Mozilla Public License Version 2.0"):
		return "MPL-2.0"
	}
	return "unknown"
}

// checkBoards checks that build-image.sh, the defconfig fragments and the
// config.txt files name the same boards, and what each must hold.
func checkBoards(ext string) []finding {
	var out []finding
	script := readText(filepath.Join(ext, "build-image.sh"))
	var scripted []string
	for _, m := range boardTo.FindAllStringSubmatch(script, -1) {
		scripted = append(scripted, m[1])
	}
	frags, _ := filepath.Glob(filepath.Join(ext, "configs", "camd_*_defconfig"))
	var fragmented []string
	for _, f := range frags {
		fragmented = append(fragmented, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "camd_"), "_defconfig"))
	}
	sort.Strings(scripted)
	sort.Strings(fragmented)
	if strings.Join(scripted, " ") != strings.Join(fragmented, " ") || len(scripted) != 4 {
		out = append(out, finding{file: "buildroot/build-image.sh", msg: "boards " + strings.Join(scripted, " ") + " vs configs/camd_*_defconfig " + strings.Join(fragmented, " ") + " (want rpi0w, rpi02w, rpi3, rpi4)"})
	}
	for _, b := range fragmented {
		frag := readText(filepath.Join(ext, "configs", "camd_"+b+"_defconfig"))
		want := `BR2_PACKAGE_RPI_FIRMWARE_CONFIG_FILE="$(BR2_EXTERNAL_CAMD_PATH)/board/camd/` + b + `/config.txt"`
		if !strings.Contains(frag, want) {
			out = append(out, finding{file: "buildroot/configs/camd_" + b + "_defconfig", msg: "want " + want})
		}
		txt := readText(filepath.Join(ext, "board", "camd", b, "config.txt"))
		for _, w := range []string{"\nstart_x=1\n", "\ngpu_mem=128\n", "\n#camera_auto_detect=1\n", "\ndtoverlay=miniuart-bt\n"} {
			if !strings.Contains(txt, w) {
				out = append(out, finding{file: "buildroot/board/camd/" + b + "/config.txt", msg: "want the line " + strings.TrimSpace(w)})
			}
		}
	}
	common := readText(filepath.Join(ext, "board", "camd", "common.fragment"))
	for _, w := range []string{"BR2_PACKAGE_CAMD=y", "# BR2_TARGET_GENERIC_REMOUNT_ROOTFS_RW is not set", "BR2_INIT_BUSYBOX=y", "BR2_PACKAGE_WPA_SUPPLICANT=y", "BR2_ROOTFS_DEVICE_CREATION_DYNAMIC_EUDEV=y", `BR2_ROOTFS_OVERLAY="$(BR2_EXTERNAL_CAMD_PATH)/board/camd/rootfs-overlay"`, `BR2_LINUX_KERNEL_CONFIG_FRAGMENT_FILES="$(BR2_EXTERNAL_CAMD_PATH)/board/camd/linux.fragment"`,
		`BR2_PACKAGE_BUSYBOX_CONFIG_FRAGMENT_FILES="$(BR2_EXTERNAL_CAMD_PATH)/board/camd/busybox.fragment"`} {
		if !strings.Contains(common, "\n"+w+"\n") {
			out = append(out, finding{file: "buildroot/board/camd/common.fragment", msg: "want the line " + w})
		}
	}
	kernel := readText(filepath.Join(ext, "board", "camd", "linux.fragment"))
	for _, w := range []string{"CONFIG_VIDEO_CODEC_BCM2835=m", "CONFIG_VIDEO_BCM2835=m", "CONFIG_USB_VIDEO_CLASS=m", "CONFIG_BRCMFMAC=m", "CONFIG_VFAT_FS=y"} {
		if !strings.Contains(kernel, "\n"+w+"\n") {
			out = append(out, finding{file: "buildroot/board/camd/linux.fragment", msg: "want the line " + w})
		}
	}
	// S05bootfs finds the boot partition by its label with findfs.
	if bb := readText(filepath.Join(ext, "board", "camd", "busybox.fragment")); !strings.Contains(bb, "\nCONFIG_FINDFS=y\n") {
		out = append(out, finding{file: "buildroot/board/camd/busybox.fragment", msg: "want the line CONFIG_FINDFS=y"})
	}
	return out
}
