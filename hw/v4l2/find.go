package v4l2

import (
	"fmt"
	"path/filepath"
	"slices"
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
	return isM2M(open, path, false, coded, nil)
}

// FindDecoder returns the path of the first M2M decoder (by node number)
// whose output side takes the coded format (PixMJPEG or PixJPEG; PixFWHT
// for vicodec) and whose capture side gives one of raw, opened with
// open. It returns an error wrapping ErrNotFound when there is none.
func FindDecoder(open OpenFunc, coded uint32, raw []uint32) (string, error) {
	if err := supported(); err != nil {
		return "", fmt.Errorf("v4l2.FindDecoder: %w", err)
	}
	paths, err := filepath.Glob("/dev/video*")
	if err != nil {
		return "", fmt.Errorf("v4l2.FindDecoder: %w", err)
	}
	SortPaths(paths)
	return FindDecoderIn(open, paths, coded, raw)
}

// FindDecoderIn is FindDecoder over the given paths.
func FindDecoderIn(open OpenFunc, paths []string, coded uint32, raw []uint32) (string, error) {
	for _, p := range paths {
		if IsDecoder(open, p, coded, raw) {
			return p, nil
		}
	}
	return "", fmt.Errorf("v4l2.FindDecoder: no M2M decoder taking %s among %d video nodes: %w", FourCC(coded), len(paths), ErrNotFound)
}

// IsDecoder reports whether the device at path is an M2M device whose
// output side takes coded and whose capture side gives one of raw.
func IsDecoder(open OpenFunc, path string, coded uint32, raw []uint32) bool {
	return isM2M(open, path, true, coded, raw)
}

// isM2M checks an M2M device's two queues: the coded side (capture for an
// encoder, output for a decoder) must offer coded, the other side a raw
// format: one of raw when given, else any uncompressed one.
func isM2M(open OpenFunc, path string, decoder bool, coded uint32, raw []uint32) bool {
	d, err := OpenWith(open, path)
	if err != nil {
		return false
	}
	defer d.Close()
	c := d.Capability()
	if !c.IsM2M() {
		return false
	}
	codedSide, rawSide := c.CaptureType(), c.OutputType()
	if decoder {
		codedSide, rawSide = rawSide, codedSide
	}
	offers := func(t BufType, match func(FormatDesc) bool) bool {
		fs, err := d.Formats(t)
		if err != nil {
			return false
		}
		for _, f := range fs {
			if match(f) {
				return true
			}
		}
		return false
	}
	return offers(codedSide, func(f FormatDesc) bool { return f.PixelFormat == coded }) &&
		offers(rawSide, func(f FormatDesc) bool {
			if raw == nil {
				return f.Flags&fmtFlagCompressed == 0
			}
			return slices.Contains(raw, f.PixelFormat)
		})
}
