package encode

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/capture/h264"
	"github.com/camd-project/camd/hw/v4l2"
)

// M2MOptions configure the V4L2 memory-to-memory encoder beyond Options.
// Zero values take the documented defaults.
type M2MOptions struct {
	// Device is the encoder's node, e.g. /dev/video11. Default: the first
	// M2M device whose capture side offers CodedFormat.
	Device string
	// CodedFormat is the V4L2 pixel format of the encoded stream:
	// v4l2.PixH264 (default), or v4l2.PixFWHT to drive vicodec in tests.
	// Access units of other formats than H.264 carry one encoded picture
	// each, with Keyframe from the format's own flags.
	CodedFormat uint32
	// Open opens device files (default v4l2.OpenFile); tests pass a
	// v4l2test player.
	Open v4l2.OpenFunc
	// OutputBuffers and CaptureBuffers are how many buffers to ask for on
	// each queue (default 2 and 4; drivers may raise them).
	OutputBuffers, CaptureBuffers int
	// Timeout bounds the wait for the encoded picture of a frame (default
	// 1 s). Longer, and the encoder is restarted.
	Timeout time.Duration
	// RestartEvery is the least time between two restarts after a fatal
	// driver error (default 250 ms), so that a failed device is tried again
	// well within a second without spinning.
	RestartEvery time.Duration
	Logger       *slog.Logger // default: discard
	// Now is the clock for restart pacing (default time.Now).
	Now func() time.Time
	// CopyFrames always copies frames into the encoder's buffers. By
	// default the encoder imports the camera's buffers as DMABUFs instead
	// (zero-copy) when the camera exports them (capture.FrameDMABuf) and
	// their layout is the encoder's; the first failure of that (the
	// encoder refuses the import, or a frame fails while imported) goes
	// back to copying for good, logged once. Proven vivid → vicodec in the
	// VM tests, through a Pipeline and from inside the camera's callback.
	CopyFrames bool
}

func (o M2MOptions) withDefaults() M2MOptions {
	if o.CodedFormat == 0 {
		o.CodedFormat = v4l2.PixH264
	}
	if o.Open == nil {
		o.Open = v4l2.OpenFile
	}
	if o.OutputBuffers <= 0 {
		o.OutputBuffers = 2
	}
	if o.CaptureBuffers <= 0 {
		o.CaptureBuffers = 4
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.RestartEvery <= 0 {
		o.RestartEvery = 250 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// M2M is the stateful V4L2 memory-to-memory encoder: the SoC's hardware
// H.264 encoder (Raspberry Pi's bcm2835-codec, Qualcomm venus, Samsung
// MFC, …), set up in the order of the kernel's stateful encoder interface
// (https://docs.kernel.org/userspace-api/media/v4l/dev-encoder.html).
//
// Frames are copied into the encoder's own buffers, converted when the
// encoder does not take the source's format and re-strided to its
// alignment. A fatal driver error (EIO, the device gone, no picture
// within Timeout) closes the device; the next frame opens it again (at
// most every RestartEvery), and the fresh stream starts with an IDR, so
// the Pipeline and the viewers carry on. Controls the driver lacks are
// logged once and done without: keyframes are found in the bitstream, and
// a keyframe request on an encoder without FORCE_KEY_FRAME restarts it.
type M2M struct {
	opts Options
	mo   M2MOptions
	log  *slog.Logger
	src  capture.Info
	path string
	raw  uint32 // the pixel format the encoder takes

	s           *m2mSession // nil between a fatal error and the restart
	lastStart   time.Time
	restarts    int
	failedAt    time.Time       // when the session last failed
	lastRestart time.Duration   // from that failure to the encoder being ready again
	deviceTime  time.Duration   // the encoder's own time for the last picture
	missing     map[uint32]bool // controls logged as missing
	times       [16]frameStamp  // capture times by timestamp, for the results
	ps          h264.ParamCache
	buf         []byte  // the last access unit, valid until the next Encode
	convBuf     i420Buf // for conversions that go through I420
	zc          int     // zero-copy state: zcUnknown, zcOn, zcOff
	// copied and imported count frames queued by copy and by DMABUF.
	copied, imported uint64

	mu         sync.Mutex // guards bitrate and keyframe requests against Encode
	bitrate    int
	setBitrate bool
	forceKey   atomic.Bool
	keyPending bool // a forced keyframe has not come out yet

	closed atomic.Bool
}

// keyRestartEvery is the least time between two restarts made for a
// keyframe on encoders without FORCE_KEY_FRAME.
const keyRestartEvery = time.Second

// frameStamp ties the timestamp an output buffer was queued with to the
// frame it carried.
type frameStamp struct {
	ts   time.Duration
	seq  uint64
	time time.Time
}

// NewM2M opens the encoder and sets it up for w×h frames of src's format.
// It fails (wrapping ErrNotBuiltIn) when no encoder is found, and with
// the driver's error when the encoder refuses the size or format.
func NewM2M(opts Options, src capture.Info, mo M2MOptions) (*M2M, error) {
	opts = opts.withDefaults()
	mo = mo.withDefaults()
	if opts.Width <= 0 || opts.Height <= 0 || opts.Width%2 != 0 || opts.Height%2 != 0 {
		return nil, fmt.Errorf("v4l2m2m: %dx%d, want positive even width and height: %w", opts.Width, opts.Height, ErrBadSize)
	}
	if err := checkRaw(src); err != nil {
		return nil, fmt.Errorf("v4l2m2m: %w", err)
	}
	e := &M2M{opts: opts, mo: mo, log: mo.Logger, src: src, path: mo.Device, missing: map[uint32]bool{}, bitrate: opts.Bitrate}
	if e.path == "" {
		p, err := v4l2.FindEncoder(mo.Open, mo.CodedFormat)
		if err != nil {
			return nil, fmt.Errorf("v4l2m2m: %w: %w", err, ErrNotBuiltIn)
		}
		e.path = p
	}
	if err := e.start(); err != nil {
		return nil, err
	}
	e.log.Info("hardware encoder ready", "device", e.path, "card", e.s.dev.Capability().Card,
		"coded", v4l2.FourCC(mo.CodedFormat), "raw", v4l2.FourCC(e.raw),
		"size", fmt.Sprintf("%dx%d", opts.Width, opts.Height), "stride", e.s.outFmt.Planes[0].BytesPerLine)
	return e, nil
}

// newM2MAuto is New's hardware encoder: the first H.264 M2M encoder found.
func newM2MAuto(opts Options, src capture.Info) (Encoder, error) {
	e, err := NewM2M(opts, src, M2MOptions{})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Name returns "v4l2m2m".
func (e *M2M) Name() string { return "v4l2m2m" }

// Device returns the encoder's device path.
func (e *M2M) Device() string { return e.path }

// M2MStats describe a hardware encoder's life.
type M2MStats struct {
	// Restarts counts restarts after fatal errors and for keyframes;
	// LastRestart is how long the last one after a failure took, from the
	// failure to the encoder being ready again.
	Restarts    int
	LastRestart time.Duration
	// DeviceTime is the encoder's own time for the last picture: from
	// queueing the frame to its picture being ready.
	DeviceTime time.Duration
	// ZeroCopy says that frames reach the encoder as the camera's DMABUFs,
	// without a copy.
	ZeroCopy bool
	// Copied counts frames copied into the encoder's buffers, Imported
	// those queued as the camera's DMABUFs.
	Copied, Imported uint64
}

// Stats returns the encoder's counters. It must not run during Encode.
func (e *M2M) Stats() M2MStats {
	return M2MStats{Restarts: e.restarts, LastRestart: e.lastRestart, DeviceTime: e.deviceTime,
		ZeroCopy: e.zc == zcOn && e.s != nil && e.s.dmabuf, Copied: e.copied, Imported: e.imported}
}

// SetBitrate sets the target bitrate; it takes effect from the next frame,
// while streaming, on drivers that allow it.
func (e *M2M) SetBitrate(bps int) error {
	e.mu.Lock()
	e.bitrate, e.setBitrate = bps, true
	e.mu.Unlock()
	return nil
}

// ForceKeyframe makes the next encoded picture an IDR.
func (e *M2M) ForceKeyframe() { e.forceKey.Store(true) }

// Encode encodes one frame: it copies the frame into a free output buffer,
// queues it and waits for the encoded picture. ok is false when the frame
// was dropped while the encoder restarts.
func (e *M2M) Encode(f *capture.Frame) (AccessUnit, bool, error) {
	if e.closed.Load() {
		return AccessUnit{}, false, fmt.Errorf("v4l2m2m: Encode: %w", ErrClosed)
	}
	if f.Width != e.opts.Width || f.Height != e.opts.Height {
		return AccessUnit{}, false, fmt.Errorf("v4l2m2m: frame %d is %dx%d, encoder is %dx%d: %w", f.Seq, f.Width, f.Height, e.opts.Width, e.opts.Height, ErrBadSize)
	}
	if e.forceKey.Swap(false) {
		e.keyPending = true
		if e.s != nil && e.s.forceKey() {
			e.keyPending = false // the driver makes the next picture an IDR
		}
	}
	if e.keyPending && e.s != nil && e.mo.Now().Sub(e.lastStart) >= keyRestartEvery {
		// No FORCE_KEY_FRAME: a new stream starts with a keyframe. Not
		// more than once a second; a request sooner waits.
		e.log.Info("restarting the encoder for a keyframe", "device", e.path)
		e.stop()
		if err := e.start(); err != nil {
			e.failedAt = e.mo.Now()
			return AccessUnit{}, false, err
		}
		e.restarts++
	}
	if e.s == nil {
		if !e.lastStart.IsZero() && e.mo.Now().Sub(e.lastStart) < e.mo.RestartEvery {
			return AccessUnit{}, false, nil // dropped while waiting to restart
		}
		if err := e.start(); err != nil {
			return AccessUnit{}, false, err
		}
		e.restarts++
		if !e.failedAt.IsZero() {
			e.lastRestart, e.failedAt = e.mo.Now().Sub(e.failedAt), time.Time{}
		}
	}
	e.tryZeroCopy(f)
	if e.s == nil { // the zero-copy session failed to start: copy
		if err := e.start(); err != nil {
			return AccessUnit{}, false, err
		}
	}
	e.applyBitrate()
	au, ok, err := e.s.encode(e, f)
	if err != nil && e.s.dmabuf {
		// The encoder cannot take the camera's buffers after all, or failed
		// while it did: copy from now on.
		e.log.Warn("zero-copy failed; copying frames from now on", "device", e.path, "err", err)
		e.zc = zcOff
		e.stop()
		if err := e.start(); err != nil {
			return AccessUnit{}, false, err
		}
		e.applyBitrate()
		au, ok, err = e.s.encode(e, f)
	}
	if err != nil {
		if e.s.fatal {
			e.log.Warn("encoder failed, restarting", "device", e.path, "err", err)
			e.stop()
			e.failedAt = e.mo.Now()
		}
		return AccessUnit{}, false, fmt.Errorf("v4l2m2m: frame %d: %w", f.Seq, err)
	}
	if ok && au.Keyframe {
		e.keyPending = false
	}
	return au, ok, nil
}

func (e *M2M) applyBitrate() {
	e.mu.Lock()
	bps, set := e.bitrate, e.setBitrate
	e.setBitrate = false
	e.mu.Unlock()
	if set {
		e.s.setBitrate(bps)
	}
}

// remember stores the capture time of the frame queued with timestamp ts.
func (e *M2M) remember(ts time.Duration, f *capture.Frame) {
	e.times[f.Seq%uint64(len(e.times))] = frameStamp{ts: ts, seq: f.Seq, time: f.Time}
}

// recall returns the frame queued with timestamp ts.
func (e *M2M) recall(ts time.Duration) (frameStamp, bool) {
	for _, s := range e.times {
		if s.ts == ts && ts != 0 {
			return s, true
		}
	}
	return frameStamp{}, false
}

// noteMissing logs once per control that the driver lacks it.
func (e *M2M) noteMissing(id uint32, name string, err error) {
	if e.missing[id] {
		return
	}
	e.missing[id] = true
	e.log.Info("encoder control not available, going without", "device", e.path, "control", name, "err", err)
}

// Close drains the encoder (ENC_CMD_STOP until the last buffer) and frees
// it. It must not run during Encode.
func (e *M2M) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	if e.s == nil {
		return nil
	}
	err := e.s.drain(e)
	if cerr := e.s.close(); err == nil {
		err = cerr
	}
	e.s = nil
	if err != nil {
		return fmt.Errorf("v4l2m2m: Close: %w", err)
	}
	return nil
}

// stop closes the session without draining (after a fatal error).
func (e *M2M) stop() {
	if e.s == nil {
		return
	}
	if err := e.s.close(); err != nil {
		e.log.Debug("closing the failed encoder", "err", err)
	}
	e.s = nil
}
