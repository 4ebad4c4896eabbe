//go:build !(cgo && (linux || darwin) && (amd64 || arm64 || arm.7))

package encode

import "fmt"

const openH264BuiltIn = false

func newOpenH264(Options) (Encoder, error) {
	return nil, fmt.Errorf("openh264: %w (build with CGO_ENABLED=1 for linux amd64, arm64 or GOARM=7)", ErrNotBuiltIn)
}
