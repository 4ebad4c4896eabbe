package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camd-project/camd/hw/v4l2"
)

// V4L2Options configure a V4L2 camera source. Zero values take the
// documented defaults.
type V4L2Options struct {
	// Device names the camera: a path (/dev/video0, or a stable
	// /dev/v4l/by-id/… link), or a card name ("HD Pro Webcam C920") or bus
	// info ("usb-0000:01:00.0-1.3") looked up among /dev/video* each time
	// the camera is opened, so that it is found again after a replug under
	// another node. Default: the first camera.
	Device string
	// Width, Height and FPS are what to ask for (default 1280x720 at 30):
	// the closest the camera offers is taken.
	Width, Height int
	FPS           float64
	// Format forces a pixel format (H264, NV12, I420, YUYV or MJPEG);
	// 0 picks one: H.264 when the camera offers it at the size and rate
	// (passed through), then NV12, I420, YUYV (encoded), then MJPEG
	// (decoded to I420).
	Format Format
	// Input selects an input by index ("3") or name ("HDMI 0"); "" keeps
	// the current one. HDMI-like inputs get the DV timings closest to
	// Width, Height and FPS.
	Input string
	// Decoder decodes MJPEG: DecoderAuto uses an M2M decoder found by its
	// formats (the Pi's bcm2835-codec), a path names one, "" or
	// DecoderSoftware use Go's image/jpeg. A hardware decoder that is
	// missing or fails falls back to software, logged once.
	Decoder string
	// Buffers is how many buffers to ask the driver for (default 4).
	Buffers int
	// RetryEvery is how often a camera that vanished is looked for
	// (default 500 ms); StallTimeout is how long without a frame counts
	// as gone (default 2 s).
	RetryEvery, StallTimeout time.Duration

	Logger *slog.Logger // default: discard
	Clock  Clock        // paces retries; default SystemClock{}
	// Open opens device files (default v4l2.OpenFile) and Paths lists the
	// nodes to look a name up in (default /dev/video*): tests replace
	// them.
	Open  v4l2.OpenFunc
	Paths func() ([]string, error)
}

func (o V4L2Options) withDefaults() V4L2Options {
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = 1280, 720
	}
	if o.FPS <= 0 {
		o.FPS = 30
	}
	if o.Buffers <= 0 {
		o.Buffers = 4
	}
	if o.RetryEvery <= 0 {
		o.RetryEvery = 500 * time.Millisecond
	}
	if o.StallTimeout <= 0 {
		// Two seconds, or four frame times for cameras slower than 2 fps.
		o.StallTimeout = max(2*time.Second, time.Duration(4*float64(time.Second)/o.FPS))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Open == nil {
		o.Open = v4l2.OpenFile
	}
	if o.Paths == nil {
		o.Paths = videoNodes
	}
	return o
}

// Camera states, as V4L2Status.State reports them.
const (
	StateStarting     = "starting"
	StateStreaming    = "streaming"
	StateDisconnected = "disconnected" // the camera is gone or not answering; camd keeps looking
)

// V4L2Status says how a camera is doing, for logs, the page and
// /api/status.
type V4L2Status struct {
	State      string    `json:"state"`
	Device     string    `json:"device"`          // the node in use or last used
	Err        string    `json:"error,omitempty"` // why it is disconnected
	Since      time.Time `json:"since"`           // when State last changed
	Reconnects int       `json:"reconnects"`      // how often the camera came back
	Frames     uint64    `json:"frames"`          // frames produced
	Dropped    uint64    `json:"dropped"`         // frames the driver or the source dropped
}

// V4L2 is a camera (or capture bridge) source: it negotiates size, rate and
// format with the device, streams MMAP buffers and hands them on without
// copying (the frame's Release gives the buffer back to the driver).
// MJPEG is decoded to I420. When the camera vanishes (unplugged, its node
// gone, its driver in error, no frame for StallTimeout) Run reports
// "disconnected" in Status and looks for it every RetryEvery; the picture
// returns by itself when the camera does.
type V4L2 struct {
	opts V4L2Options
	log  *slog.Logger
	neg  negotiated // what NewV4L2 settled on; reconnects ask for the same
	info Info

	running  atomic.Bool
	keyframe atomic.Bool // RequestKeyframe was called
	seq      atomic.Uint64
	dropped  atomic.Uint64
	mjpeg    *mjpegDecoder
	// hwDecFailed: the hardware MJPEG decoder was missing or failed; the
	// software one is used from then on.
	hwDecFailed atomic.Bool

	mu     sync.Mutex
	status V4L2Status
}

// NewV4L2 opens the camera, negotiates the format and closes it again;
// Run opens it for good. It fails when the camera is not there or offers
// nothing camd can use.
func NewV4L2(opts V4L2Options) (*V4L2, error) {
	opts = opts.withDefaults()
	s := &V4L2{opts: opts, log: opts.Logger}
	dev, err := s.open()
	if err != nil {
		return nil, fmt.Errorf("capture.NewV4L2: %w", err)
	}
	defer dev.Close()
	neg, err := negotiate(dev, opts)
	if err != nil {
		return nil, fmt.Errorf("capture.NewV4L2: %s: %w", dev.Path(), err)
	}
	s.neg = neg
	out := neg.pixfmt
	if out == MJPEG || Format(neg.pixfmt) == Format(v4l2.PixJPEG) {
		out = I420
		s.mjpeg = newMJPEGDecoder(neg.width, neg.height)
	}
	s.info = Info{
		Name:   fmt.Sprintf("%s (%s)", dev.Path(), dev.Capability().Card),
		Format: out, Width: neg.width, Height: neg.height, FPS: neg.fps,
	}
	s.status = V4L2Status{State: StateStarting, Device: dev.Path(), Since: opts.Clock.Now()}
	s.log.Info("camera negotiated", "device", dev.Path(), "card", dev.Capability().Card, "format", neg.pixfmt,
		"size", fmt.Sprintf("%dx%d", neg.width, neg.height), "fps", neg.fps, "delivers", out)
	return s, nil
}

// Info describes the frames: the negotiated size and rate, and I420 for a
// camera that sends MJPEG.
func (s *V4L2) Info() Info { return s.info }

// CameraFormat returns the format the camera sends (MJPEG for a camera
// whose frames Run decodes to I420).
func (s *V4L2) CameraFormat() Format { return s.neg.pixfmt }

// Status returns how the camera is doing.
func (s *V4L2) Status() V4L2Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Frames, st.Dropped = s.seq.Load(), s.dropped.Load()
	return st
}

func (s *V4L2) setStatus(state, device string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if s.status.State == state && s.status.Err == msg && s.status.Device == device {
		return
	}
	if state == StateStreaming && s.status.State == StateDisconnected {
		s.status.Reconnects++
	}
	s.status.State, s.status.Device, s.status.Err, s.status.Since = state, device, msg, s.opts.Clock.Now()
	switch state {
	case StateDisconnected:
		s.log.Warn("camera disconnected, looking for it", "device", device, "err", msg, "every", s.opts.RetryEvery)
	case StateStreaming:
		s.log.Info("camera streaming", "device", device, "reconnects", s.status.Reconnects)
	}
}

// RequestKeyframe asks an H.264 camera for an IDR, on cameras with a
// keyframe control; others send their periodic ones.
func (s *V4L2) RequestKeyframe() { s.keyframe.Store(true) }

// Run streams until ctx is done, reconnecting whenever the camera goes
// away; it returns nil when ctx is done and never fails on the camera's
// account. Frames still held by the consumer when Run returns stay valid
// until released.
func (s *V4L2) Run(ctx context.Context, emit func(*Frame)) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("capture.V4L2.Run: already running")
	}
	defer s.running.Store(false)
	var timer Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for ctx.Err() == nil {
		path, err := s.stream(ctx, emit)
		if ctx.Err() != nil {
			break
		}
		s.setStatus(StateDisconnected, path, err)
		if timer == nil {
			timer = s.opts.Clock.NewTimer(s.opts.RetryEvery)
		} else {
			timer.Reset(s.opts.RetryEvery)
		}
		select {
		case <-ctx.Done():
		case <-timer.C():
		}
	}
	return nil
}

// stream opens the camera, streams until ctx is done or the camera fails,
// and returns the path used and why it stopped.
func (s *V4L2) stream(ctx context.Context, emit func(*Frame)) (string, error) {
	dev, err := s.open()
	if err != nil {
		return s.opts.Device, err
	}
	sess, err := s.start(dev)
	if err != nil {
		dev.Close()
		return dev.Path(), err
	}
	s.setStatus(StateStreaming, dev.Path(), nil)
	stop := context.AfterFunc(ctx, dev.Interrupt)
	err = sess.loop(ctx, emit)
	stop()
	sess.finish()
	return dev.Path(), err
}
