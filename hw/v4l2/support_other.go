//go:build !linux

package v4l2

func supported() error { return ErrUnsupported }
