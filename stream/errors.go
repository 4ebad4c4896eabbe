package stream

import (
	"errors"
	"io"
)

var (
	errBadOffer     = errors.New("bad SDP offer")
	errBadCandidate = errors.New("bad ICE candidate")
	errClosedPipe   = io.ErrClosedPipe
)
