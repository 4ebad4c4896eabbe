package pkgtest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// aptMirror returns this machine's Debian (or Ubuntu) release code name
// and the mirror its apt sources fetch that release from: debootstrap must
// use a mirror the machine can reach.
func aptMirror() (codename, mirror string, err error) {
	osRelease, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "", "", errors.New("no /etc/os-release: not a Debian system")
	}
	for _, line := range strings.Split(string(osRelease), "\n") {
		if v, ok := strings.CutPrefix(line, "VERSION_CODENAME="); ok {
			codename = strings.Trim(v, `"`)
		}
	}
	if codename == "" {
		return "", "", errors.New("/etc/os-release names no VERSION_CODENAME")
	}
	files := []string{"/etc/apt/sources.list"}
	for _, pattern := range []string{"/etc/apt/sources.list.d/*.list", "/etc/apt/sources.list.d/*.sources"} {
		m, _ := filepath.Glob(pattern)
		files = append(files, m...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if mirror = mirrorFor(string(b), strings.HasSuffix(f, ".sources"), codename); mirror != "" {
			return codename, mirror, nil
		}
	}
	return "", "", errors.New("no apt source for " + codename + " in /etc/apt/sources.list*")
}

// mirrorFor finds, in one apt sources file (one-line or deb822 format),
// the first http(s) URI of a deb source for suite.
func mirrorFor(text string, deb822 bool, suite string) string {
	if !deb822 {
		for _, line := range strings.Split(text, "\n") {
			fields := strings.Fields(strings.SplitN(line, "#", 2)[0])
			if len(fields) < 3 || fields[0] != "deb" {
				continue
			}
			fields = fields[1:]
			if strings.HasPrefix(fields[0], "[") { // options: [arch=amd64 signed-by=…]
				for len(fields) > 0 && !strings.HasSuffix(fields[0], "]") {
					fields = fields[1:]
				}
				if len(fields) > 0 {
					fields = fields[1:]
				}
			}
			if len(fields) >= 2 && fields[1] == suite && strings.HasPrefix(fields[0], "http") {
				return fields[0]
			}
		}
		return ""
	}
	for _, stanza := range strings.Split(text, "\n\n") {
		f := map[string]string{}
		for _, line := range strings.Split(stanza, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, " ") {
				f[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
		if strings.EqualFold(f["enabled"], "no") || !contains(strings.Fields(f["types"]), "deb") || !contains(strings.Fields(f["suites"]), suite) {
			continue
		}
		for _, uri := range strings.Fields(f["uris"]) {
			if strings.HasPrefix(uri, "http") {
				return uri
			}
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestMirrorFor(t *testing.T) {
	const deb822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`
	const disabled = "Enabled: no\nTypes: deb\nURIs: http://old.example/debian\nSuites: bookworm\n\nTypes: deb-src deb\nURIs: https://new.example/debian\nSuites: bookworm\n"
	const oneLine = "# deb http://commented.example/debian bookworm main\ndeb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://ftp.example/debian bookworm main contrib\n"
	cases := []struct {
		text   string
		deb822 bool
		want   string
	}{
		{deb822, true, "http://deb.debian.org/debian"},
		{disabled, true, "https://new.example/debian"},
		{oneLine, false, "http://ftp.example/debian"},
		{"deb http://x.example/debian trixie main\n", false, ""},
		{"Types: deb\nURIs: http://x.example/debian\nSuites: trixie\n", true, ""},
	}
	for i, c := range cases {
		if got := mirrorFor(c.text, c.deb822, "bookworm"); got != c.want {
			t.Errorf("case %d: %q, want %q", i, got, c.want)
		}
	}
}
