package browser

import (
	"fmt"
	"os"
	"os/exec"
)

// EnvPath names the environment variable that overrides the Chromium
// binary Find returns.
const EnvPath = "CAMD_CHROMIUM"

// candidates are tried in order after $CAMD_CHROMIUM. Debian's
// /usr/bin/chromium is a wrapper script around the first one; starting the
// real binary directly saves the shell and keeps the process tree simple.
var candidates = []string{
	"/usr/lib/chromium/chromium",
	"chromium",
	"chromium-browser",
	"google-chrome",
	"google-chrome-stable",
}

// Find returns the path of the Chromium binary to start: $CAMD_CHROMIUM if
// set (it must exist), else the first of Debian's /usr/lib/chromium/chromium,
// chromium, chromium-browser and google-chrome found in $PATH. It returns
// an error wrapping ErrNotFound when there is none.
func Find() (string, error) {
	if p := os.Getenv(EnvPath); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("browser.Find: %s=%q: %w", EnvPath, p, err)
		}
		return path, nil
	}
	for _, c := range candidates {
		if path, err := exec.LookPath(c); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("browser.Find: %w", ErrNotFound)
}
