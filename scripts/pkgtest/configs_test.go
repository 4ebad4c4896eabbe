package pkgtest

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/camd-project/camd/config"
)

// TestShippedConfigs checks the configs the Debian package and the SD
// card image ship, as camd check-config would, and the card's copy again
// with Windows line endings, as a PC's editor may save it.
func TestShippedConfigs(t *testing.T) {
	root := repoRoot(t)
	for _, rel := range []string{"packaging/camd.toml", "buildroot/board/camd/boot/camd.toml"} {
		path := filepath.Join(root, rel)
		if _, err := config.Check(path, nil); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
	}
	crlf := filepath.Join(t.TempDir(), "camd.toml")
	text := readText(filepath.Join(root, "buildroot/board/camd/boot/camd.toml"))
	writeFile(t, crlf, strings.ReplaceAll(text, "\n", "\r\n"))
	if _, err := config.Check(crlf, nil); err != nil {
		t.Errorf("camd.toml with CRLF line endings: %v", err)
	}
}
