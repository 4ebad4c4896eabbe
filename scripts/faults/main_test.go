// Package faults tests how the real camd binary takes abuse: slow and
// idle HTTP clients, a thousand viewers coming and going, bad input on
// every endpoint, a viewer whose network goes dark. Each test prints the
// numbers it measured.
package faults

import (
	"fmt"
	"os"
	"testing"

	"github.com/camd-project/camd/scripts/harness"
)

var camdBin string

func TestMain(m *testing.M) {
	bin, cleanup, err := harness.BuildForTests()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	camdBin = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// small is a light camd for these tests: they are about the daemon, not
// the picture.
var small = []string{"-size", "320x240", "-bitrate", "300kbps", "-set", "auth.token=" + harness.TestToken}

// bearer is the Authorization header for small's token.
const bearer = "Bearer " + harness.TestToken
