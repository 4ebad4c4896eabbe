package v4l2

import (
	"fmt"
	"path/filepath"
)

// FindEncoder returns the path of the first M2M encoder (by node number)
// whose capture side offers the coded format (PixH264; PixFWHT for
// vicodec), opened with open. It returns an error wrapping ErrNotFound
// when there is none.
func FindEncoder(open OpenFunc, coded uint32) (string, error) {
	if err := supported(); err != nil {
		return "", fmt.Errorf("v4l2.FindEncoder: %w", err)
	}
	paths, err := filepath.Glob("/dev/video*")
	if err != nil {
		return "", fmt.Errorf("v4l2.FindEncoder: %w", err)
	}
	SortPaths(paths)
	return FindEncoderIn(open, paths, coded)
}

// FindEncoderIn is FindEncoder over the given paths.
func FindEncoderIn(open OpenFunc, paths []string, coded uint32) (string, error) {
	for _, p := range paths {
		if IsEncoder(open, p, coded) {
			return p, nil
		}
	}
	return "", fmt.Errorf("v4l2.FindEncoder: no M2M encoder producing %s among %d video nodes: %w", FourCC(coded), len(paths), ErrNotFound)
}

// IsEncoder reports whether the device at path is an M2M device whose
// capture side offers coded and whose output side takes raw pictures.
func IsEncoder(open OpenFunc, path string, coded uint32) bool {
	d, err := OpenWith(open, path)
	if err != nil {
		return false
	}
	defer d.Close()
	c := d.Capability()
	if !c.IsM2M() {
		return false
	}
	caps, err := d.Formats(c.CaptureType())
	if err != nil {
		return false
	}
	offers := false
	for _, f := range caps {
		offers = offers || f.PixelFormat == coded
	}
	if !offers {
		return false
	}
	outs, err := d.Formats(c.OutputType())
	if err != nil {
		return false
	}
	for _, f := range outs {
		if f.Flags&fmtFlagCompressed == 0 {
			return true
		}
	}
	return false
}
