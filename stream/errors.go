package stream

import (
	"errors"
	"io"
)

var (
	errBadOffer     = errors.New("bad SDP offer")
	errBadCandidate = errors.New("bad ICE candidate")
	errICERestart   = errors.New("ICE restart is not supported yet")
	errClosedPipe   = io.ErrClosedPipe
)
