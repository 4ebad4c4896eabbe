package encode

import "errors"

// Errors returned by this package, wrapped with the failing call's name and
// context. Test for them with errors.Is.
var (
	// ErrNotBuiltIn means the requested encoder is not part of this binary:
	// openh264 needs cgo on linux or darwin, amd64, arm64 or armv7.
	ErrNotBuiltIn = errors.New("encoder not built into this binary")
	// ErrNoEncoder means New found no encoder for the source at all.
	ErrNoEncoder = errors.New("no H.264 encoder available")
	// ErrUnknownKind means New was asked for an encoder it does not know.
	ErrUnknownKind = errors.New("unknown encoder kind")
	// ErrUnsupportedFormat means the encoder cannot take frames of this
	// format.
	ErrUnsupportedFormat = errors.New("unsupported frame format")
	// ErrBadSize means a picture size the encoder cannot use, or a frame
	// whose size differs from the one the encoder was set up for.
	ErrBadSize = errors.New("bad picture size")
	// ErrShortFrame means a frame whose planes or strides are too small for
	// its width and height.
	ErrShortFrame = errors.New("frame planes too short")
	// ErrBitstream means H.264 data that is not usable Annex-B, or that is
	// not what the encoder promised (profile, parameter sets).
	ErrBitstream = errors.New("bad H.264 bitstream")
	// ErrClosed means the encoder was used after Close.
	ErrClosed = errors.New("encoder closed")
	// ErrIncomplete means a Pipeline was run without a Source, an Encoder
	// or Out.
	ErrIncomplete = errors.New("pipeline needs a Source, an Encoder and Out")
)
