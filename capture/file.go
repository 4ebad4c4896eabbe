package capture

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/camd-project/camd/capture/h264"
)

// maxFileSize bounds what NewFileSource reads into memory.
const maxFileSize = 256 << 20

// FileSource plays an H.264 Annex-B elementary stream file in a loop, as a
// camera that delivers H.264 would: one access unit per frame at a fixed
// rate, each IDR with SPS and PPS in front.
//
// The frames' Planes[0] share the file's bytes, which stay in memory; a
// consumer must not modify them.
type FileSource struct {
	// Clock paces the frames; nil means SystemClock{}. Set it before Run.
	Clock Clock

	path          string
	aus           [][]byte
	keyframe      []bool
	width, height int
	fps           float64
	pool          framePool
	skipped       atomic.Uint64
	running       atomic.Bool
}

// NewFileSource loads the H.264 Annex-B file at path, to be played at fps
// frames per second (30 if fps is 0). Playback starts at the first IDR;
// access units before it, which no decoder could use, are left out.
func NewFileSource(path string, fps float64) (*FileSource, error) {
	if fps == 0 {
		fps = 30
	}
	if !(fps > 0 && fps <= 1000) {
		return nil, fmt.Errorf("capture.NewFileSource: fps %v outside (0, 1000]", fps)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("capture.NewFileSource: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("capture.NewFileSource: %s is not a regular file", path)
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("capture.NewFileSource: %s is %d bytes, more than the %d a file source holds in memory", path, st.Size(), maxFileSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("capture.NewFileSource: %w", err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("capture.NewFileSource: %s is empty", path)
	}
	s := &FileSource{path: path, fps: fps}
	if err := s.load(b); err != nil {
		return nil, fmt.Errorf("capture.NewFileSource: %s: %w", path, err)
	}
	s.pool = framePool{keep: 4, setup: func(f *Frame) {
		f.Format, f.Width, f.Height = H264, s.width, s.height
		f.Planes = make([][]byte, 1)
	}}
	return s, nil
}

func (s *FileSource) load(b []byte) error {
	aus := h264.SplitAccessUnits(b)
	if len(aus) == 0 {
		return fmt.Errorf("%w (no start code followed by a slice)", ErrNotH264)
	}
	first := -1
	for i, au := range aus {
		if h264.IsKeyframe(au) {
			first = i
			break
		}
	}
	if first < 0 {
		return fmt.Errorf("%w (%d access units and no IDR to start from)", ErrNotH264, len(aus))
	}
	aus = aus[first:]
	// Two passes, so that an IDR early in the loop can take parameter sets
	// that only come later in the file.
	var pc h264.ParamCache
	for pass := range 2 {
		for i, au := range aus {
			fixed := pc.Apply(au)
			if pass == 1 {
				aus[i] = fixed
			}
		}
	}
	if !pc.Ready() {
		return fmt.Errorf("%w (no SPS and PPS)", ErrNotH264)
	}
	sps, err := h264.ParseSPS(firstSPS(aus[0]))
	if err != nil {
		return err
	}
	s.aus, s.width, s.height = aus, sps.Width, sps.Height
	s.keyframe = make([]bool, len(aus))
	for i, au := range aus {
		s.keyframe[i] = h264.IsKeyframe(au)
	}
	return nil
}

func firstSPS(au []byte) []byte {
	for {
		var nal []byte
		nal, au = h264.NextNAL(au)
		if nal == nil || h264.TypeOf(nal) == h264.TypeSPS {
			return nal
		}
	}
}

// Info describes the stream.
func (s *FileSource) Info() Info {
	return Info{Name: s.path, Format: H264, Width: s.width, Height: s.height, FPS: s.fps}
}

// Len returns the number of access units in one pass through the file.
func (s *FileSource) Len() int { return len(s.aus) }

// Skipped returns how many frame times Run passed over because it woke up
// late. Each shows as a gap in Seq; the access units themselves are never
// skipped, so the stream stays decodable.
func (s *FileSource) Skipped() uint64 { return s.skipped.Load() }

// Run plays the file in a loop until ctx is done: frame n (its Seq) is due
// at n/fps after Run starts, carries the next access unit in file order
// and is a keyframe if that unit holds an IDR.
func (s *FileSource) Run(ctx context.Context, emit func(*Frame)) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("capture.FileSource.Run: already running")
	}
	defer s.running.Store(false)
	clock := s.Clock
	if clock == nil {
		clock = SystemClock{}
	}
	pc := newPacer(clock, s.fps, &s.skipped)
	defer pc.stop()
	for i := 0; ; i = (i + 1) % len(s.aus) {
		seq, now, ok := pc.wait(ctx)
		if !ok {
			return nil
		}
		f := s.pool.get()
		f.Planes[0] = s.aus[i]
		f.Seq, f.Time, f.Keyframe = seq, now, s.keyframe[i]
		emit(f)
	}
}
