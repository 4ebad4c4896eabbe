package pkgtest

import (
	"strings"
	"testing"
)

// TestCheckRules shows that each rule catches what check-package catches,
// and passes the good form, so a clean TestBuildrootTree means something.
func TestCheckRules(t *testing.T) {
	const header = "################################################################################\n#\n# camd\n#\n################################################################################\n\n"
	cases := []struct {
		name, file, text string
		rule             rule
		want             string // "" for no finding
	}{
		{"trailing space", "x", "a \n", ruleTextBasics, "trailing whitespace"},
		{"two empty lines", "x", "a\n\n\nb\n", ruleTextBasics, "consecutive empty lines"},
		{"no newline at EOF", "x", "a", ruleTextBasics, "missing newline"},
		{"empty last line", "x", "a\n\n", ruleTextBasics, "empty line at the end"},
		{"text ok", "x", "a\n\nb\n", ruleTextBasics, ""},

		{"config ok", "Config.in", "config BR2_PACKAGE_CAMD\n\tbool \"camd\"\n\tdepends on BR2_USE_MMU\n\thelp\n\t  Camera.\n\n\t  https://example.org/a/very/long/url/that/is/longer/than/sixty-two/characters\n", ruleConfigIn, ""},
		{"config spaces", "Config.in", "config BR2_PACKAGE_CAMD\n    bool \"camd\"\n", ruleConfigIn, "should be indented with one tab"},
		{"config indented", "Config.in", "  config BR2_PACKAGE_CAMD\n\tbool \"camd\"\n", ruleConfigIn, "should not be indented"},
		{"help too long", "Config.in", "config BR2_PACKAGE_CAMD\n\tbool \"camd\"\n\thelp\n\t  " + strings.Repeat("x", 63) + "\n", ruleConfigIn, "help text"},
		{"help first line", "Config.in", "config BR2_PACKAGE_CAMD\n\tbool \"camd\"\n\thelp\n\t   indented\n", ruleConfigIn, "help text"},
		{"attribute order", "Config.in", "config BR2_PACKAGE_CAMD\n\tdepends on BR2_USE_MMU\n\tbool \"camd\"\n", ruleConfigIn, "attributes order"},
		{"default n", "Config.in", "config BR2_PACKAGE_CAMD\n\tbool \"camd\"\n\tdefault n\n", ruleConfigIn, "redundant"},
		{"redeclared", "Config.in", "config BR2_PACKAGE_CAMD\n\tbool \"camd\"\n\nconfig BR2_PACKAGE_CAMD\n\tbool \"camd\"\n", ruleConfigIn, "redeclared"},
		{"not BR2_", "Config.in", "config PACKAGE_CAMD\n\tbool \"camd\"\n", ruleConfigIn, "start with BR2_"},
		{"continuation", "Config.in", "config BR2_PACKAGE_CAMD\n\tbool \"camd\"\n\tdepends on A || \\\n  B\n", ruleConfigIn, "continuation line"},

		{"mk ok", "package/camd/camd.mk", header + "CAMD_VERSION = 1\nifeq ($(BR2_X),y)\nCAMD_GO_ENV = A=1\nelse\nCAMD_GO_ENV = A=0\nendif\n\ndefine CAMD_HOOK\n\techo \\\n\t\thi\nendef\n\n$(eval $(golang-package))\n", ruleMk, ""},
		{"mk header", "package/camd/camd.mk", "# camd\nCAMD_VERSION = 1\n", ruleMk, "package header"},
		{"mk typo", "package/camd/camd.mk", header + "CMAD_VERSION = 1\n", ruleMk, "possible typo"},
		{"mk override", "package/camd/camd.mk", header + "CAMD_LDFLAGS = a\nCAMD_LDFLAGS = b\n", ruleMk, "unconditional override"},
		{"mk conditional override", "package/camd/camd.mk", header + "CAMD_LDFLAGS = a\nifeq ($(X),y)\nCAMD_LDFLAGS = b\nendif\n", ruleMk, "conditional override"},
		{"mk braces", "package/camd/camd.mk", header + "CAMD_X = ${CAMD_Y}\n", ruleMk, "use $()"},
		{"mk backslash spaces", "package/camd/camd.mk", header + "CAMD_X = a  \\\n\tb\n", ruleMk, "one space before backslash"},
		{"mk trailing backslash", "package/camd/camd.mk", header + "CAMD_X = a \\\n\n", ruleMk, "remove trailing backslash"},
		{"mk useless flag", "package/camd/camd.mk", header + "CAMD_INSTALL_TARGET = YES\n", ruleMk, "useless default"},
		{"mk define indent", "package/camd/camd.mk", header + "define CAMD_HOOK\n    echo hi\nendef\n", ruleMk, "expected indent with tabs"},
		{"mk stray tab", "package/camd/camd.mk", header + "\tCAMD_X = 1\n", ruleMk, "unexpected indent"},

		{"sysv ok", "package/camd/S90camd", "#!/bin/sh\nDAEMON=\"camd\"\nPIDFILE=\"/var/run/$DAEMON.pid\"\nstart() {\n\ttrue\n}\n", ruleSysV, ""},
		{"sysv spaces", "package/camd/S90camd", "DAEMON=\"camd\"\nstart() {\n    true\n}\n", ruleSysV, "indented with tabs"},
		{"sysv path", "package/camd/S90camd", "DAEMON=\"/usr/bin/camd\"\n", ruleSysV, "path in DAEMON"},
		{"sysv pidfile", "package/camd/S90camd", "DAEMON=\"camd\"\nPIDFILE=\"/run/camd.pid\"\n", ruleSysV, "Incorrect PIDFILE"},
		{"sysv no daemon", "package/camd/S90camd", "#!/bin/sh\n", ruleSysV, "DAEMON variable not defined"},
		{"sysv file name", "package/camd/S90cam", "DAEMON=\"camd\"\n", ruleSysV, "filename should be"},

		{"defconfig ok", "configs/camd_x_defconfig", "# a comment\nBR2_PACKAGE_CAMD=y\nBR2_X=\"a \\\"b\\\"\"\n# BR2_Y is not set\n", ruleDefconfig, ""},
		{"defconfig not BR2_", "configs/camd_x_defconfig", "PACKAGE_CAMD=y\n", ruleDefconfig, "not a BR2_ option"},
		{"defconfig twice", "configs/camd_x_defconfig", "BR2_PACKAGE_CAMD=y\n# BR2_PACKAGE_CAMD is not set\n", ruleDefconfig, "set again"},
		{"kernel not CONFIG_", "linux.fragment", "VIDEO_BCM2835=m\n", ruleKernelFragment, "not a kernel CONFIG_"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.rule(newLintFile(c.file, c.text))
			if c.want == "" {
				for _, f := range got {
					t.Errorf("unexpected finding: %v", f)
				}
				return
			}
			for _, f := range got {
				if strings.Contains(f.msg, c.want) {
					return
				}
			}
			t.Errorf("want a finding with %q, got %v", c.want, got)
		})
	}
}
