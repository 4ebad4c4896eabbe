package encode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camd-project/camd/capture"
)

// ErrNoPicture means a snapshot was asked of a source that gives H.264,
// which camd passes through without decoding: there is no picture to take.
// It matches errors.ErrUnsupported.
var ErrNoPicture error = noPicture{}

type noPicture struct{}

func (noPicture) Error() string {
	return "the source gives H.264, which camd passes through without decoding, so there is no picture for a snapshot"
}

func (noPicture) Is(target error) bool { return target == errors.ErrUnsupported }

// SnapshotQuality is the JPEG quality of snapshots made from raw frames.
const SnapshotQuality = 85

// SnapshotReuse is how long a snapshot is served again to later requests:
// however fast clients ask, camd makes at most five JPEGs a second, so
// snapshots cannot take the CPU the encoder needs.
const SnapshotReuse = 200 * time.Millisecond

// Snapshot is one picture as a JPEG.
type Snapshot struct {
	JPEG []byte
	Time time.Time // capture time
	Seq  uint64    // the source's frame number
}

// snapshots hands the next frame through the pipeline to whoever asked
// for one. When nobody asks, the pipeline pays one atomic load per frame;
// when someone does, it copies one frame (1.4 MB at 720p, into the picture
// of the last snapshot) and the asker encodes the JPEG on its own
// goroutine.
// Requests that arrive together share one frame and one JPEG, and one JPEG
// is encoded at a time.
type snapshots struct {
	wanted  atomic.Bool
	mu      sync.Mutex
	pending *shot         // waiting for the next frame
	spare   *image.YCbCr  // a picture already encoded, to copy the next into
	encode  chan struct{} // one JPEG encode at a time; made by the first request
	last    Snapshot      // the latest snapshot made, and when
	lastAt  time.Time
	now     func() time.Time // time.Now unless a test sets it
}

func (s *snapshots) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// recent returns the latest snapshot if it was made within SnapshotReuse.
func (s *snapshots) recent(now time.Time) (Snapshot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last.JPEG == nil || now.Sub(s.lastAt) >= SnapshotReuse || now.Before(s.lastAt) {
		return Snapshot{}, false
	}
	return s.last, true
}

// shot is one frame taken for the requests that were waiting for it.
type shot struct {
	done chan struct{} // closed when the frame is taken
	snap Snapshot
	img  *image.YCbCr // the frame's copy, until it is encoded
	err  error
	once sync.Once
}

// request returns the shot the next frame will fill.
func (s *snapshots) request() *shot {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.encode == nil {
		s.encode = make(chan struct{}, 1)
	}
	if s.pending == nil {
		s.pending = &shot{done: make(chan struct{})}
		s.wanted.Store(true)
	}
	return s.pending
}

// take fills the pending shot from f, on the pipeline's goroutine, before f
// goes to the encoder.
func (s *snapshots) take(f *capture.Frame) {
	s.mu.Lock()
	sh := s.pending
	s.pending = nil
	s.wanted.Store(false)
	s.mu.Unlock()
	if sh == nil {
		return
	}
	sh.snap.Time, sh.snap.Seq = f.Time, f.Seq
	switch {
	case len(f.JPEG) > 0: // the camera's own JPEG: no encode
		sh.snap.JPEG = bytes.Clone(f.JPEG)
	case f.Format == capture.H264:
		sh.err = ErrNoPicture
	default:
		s.mu.Lock()
		spare := s.spare
		s.spare = nil
		s.mu.Unlock()
		sh.img, sh.err = copyPicture(f, spare)
	}
	close(sh.done)
}

// copyPicture copies a raw frame into a 4:2:0 image, converting straight
// into it (NV12's chroma, YUYV) where the format needs it. It reuses img
// when it has the frame's size (a fresh 720p picture costs more to
// allocate than to fill), else makes a new one.
func copyPicture(f *capture.Frame, img *image.YCbCr) (*image.YCbCr, error) {
	w, h := f.Width, f.Height
	if w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 {
		return nil, fmt.Errorf("snapshot of a %dx%d frame: %w", w, h, ErrBadSize)
	}
	if img == nil || img.Rect != image.Rect(0, 0, w, h) || img.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		img = image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	}
	// toYCbCr converts into buf when it must; buf is img's own planes.
	buf := i420Buf{y: img.Y, u: img.Cb, v: img.Cr}
	var view image.YCbCr
	if err := toYCbCr(&view, &buf, f, w, h); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if &view.Y[0] != &img.Y[0] {
		copyPlane(img.Y, img.YStride, view.Y, view.YStride, w, h)
	}
	if &view.Cb[0] != &img.Cb[0] {
		copyPlane(img.Cb, img.CStride, view.Cb, view.CStride, w/2, h/2)
		copyPlane(img.Cr, img.CStride, view.Cr, view.CStride, w/2, h/2)
	}
	return img, nil
}

// result encodes sh's JPEG once, for every request that shares it, and
// keeps the picture for the next shot.
func (s *snapshots) result(sh *shot) (Snapshot, error) {
	sh.once.Do(func() {
		if sh.err != nil || sh.snap.JPEG != nil {
			return
		}
		s.encode <- struct{}{}
		defer func() { <-s.encode }()
		var b bytes.Buffer
		b.Grow(sh.img.Rect.Dx() * sh.img.Rect.Dy() / 8)
		err := jpeg.Encode(&b, sh.img, &jpeg.Options{Quality: SnapshotQuality})
		s.mu.Lock()
		s.spare, sh.img = sh.img, nil
		s.mu.Unlock()
		if err != nil {
			sh.err = fmt.Errorf("snapshot: jpeg: %w", err)
			return
		}
		sh.snap.JPEG = b.Bytes()
	})
	return sh.snap, sh.err
}

// keep remembers snap, made at t, for requests within SnapshotReuse.
func (s *snapshots) keep(snap Snapshot, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.After(s.lastAt) {
		s.last, s.lastAt = snap, t
	}
}

// Snapshot returns the latest picture as a JPEG: the next frame that
// reaches the encoder, or the snapshot made from an earlier one if that is
// less than SnapshotReuse old. It is the camera's own JPEG for an MJPEG
// camera, else encoded from the raw frame at SnapshotQuality. It waits at
// most until ctx ends (a stalled or unplugged camera gives no frame).
// Sources that give H.264 have no picture: ErrNoPicture. The stream is
// not disturbed: the encoder waits only for one copy of the frame, and
// only while someone asks.
func (p *Pipeline) Snapshot(ctx context.Context) (Snapshot, error) {
	if p.Source != nil && p.Source.Info().Format == capture.H264 {
		return Snapshot{}, ErrNoPicture
	}
	if s, ok := p.snap.recent(p.snap.clock()); ok {
		return s, nil
	}
	sh := p.snap.request() // makes p.snap.encode, under its mutex
	select {
	case <-sh.done:
	case <-ctx.Done():
		return Snapshot{}, fmt.Errorf("encode.Pipeline.Snapshot: no frame came: %w", ctx.Err())
	}
	s, err := p.snap.result(sh)
	if err == nil {
		p.snap.keep(s, p.snap.clock())
	}
	return s, err
}
