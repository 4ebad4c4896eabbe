// Package vicodectest runs capture's M2M decoder over pictures encoded by
// vicodec's stateful encoder and checks every decoded picture against its
// source. v4l2probe runs it on the real driver in the VM tests (and
// records it); capture's unit test replays the recording through the same
// code.
package vicodectest

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/capture/capturetest"
	"github.com/camd-project/camd/encode"
	"github.com/camd-project/camd/hw/v4l2"
)

// RoundTrip is one run of the decoder over vicodec-encoded pattern
// pictures: n at the first size, then n at the second (a source change
// in mid-stream), a drain, a restart, and the first picture of the
// second size again. Every decoded picture is compared with the pattern
// frame it was encoded from.
type RoundTrip struct {
	Encoder, Decoder string    // the vicodec nodes
	Sizes            [2][2]int // width and height, before and after the source change
	N                int       // pictures at each size
	Logger           *slog.Logger
}

// Result is what a RoundTrip measured.
type Result struct {
	Frames, SourceChanges int
	MinPSNR               float64       // of the luma, over all decoded pictures
	MaxBlockDiff          int           // see capturetest.Compare
	DecodeTime            time.Duration // wall time in Decode, over all frames
}

// Run encodes the pictures with vicodec, decodes them and compares.
func (r RoundTrip) Run(ctx context.Context, open v4l2.OpenFunc) (Result, error) {
	var res Result
	res.MinPSNR = 1e9
	type picture struct {
		src *capture.Frame
		au  []byte
	}
	var pics [2][]picture
	for i, sz := range r.Sizes {
		w, h := sz[0], sz[1]
		opts := encode.Options{Width: w, Height: h, FPS: 30, GOP: time.Second, Bitrate: 1_000_000}
		enc, err := encode.NewM2M(opts, capture.Info{Format: capture.I420, Width: w, Height: h, FPS: 30},
			encode.M2MOptions{Device: r.Encoder, CodedFormat: v4l2.PixFWHT, Open: open, Logger: r.Logger})
		if err != nil {
			return res, err
		}
		pat := capture.NewPattern(capture.PatternOptions{Width: w, Height: h, FPS: 30})
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for seq := uint64(0); seq < uint64(r.N); seq++ {
			f := pat.Frame(seq, t0.Add(time.Duration(seq)*time.Second/30))
			au, ok, err := enc.Encode(f)
			if err != nil || !ok {
				enc.Close()
				return res, fmt.Errorf("encode %dx%d frame %d: ok %v, %v", w, h, seq, ok, err)
			}
			pics[i] = append(pics[i], picture{f, append([]byte(nil), au.Data...)}) // Data is the encoder's, reused
		}
		if err := enc.Close(); err != nil {
			return res, err
		}
	}
	dec, err := capture.NewM2MDecoder(capture.M2MDecoderOptions{Device: r.Decoder, Coded: capture.Format(v4l2.PixFWHT),
		Width: r.Sizes[0][0], Height: r.Sizes[0][1], Open: open, Logger: r.Logger})
	if err != nil {
		return res, err
	}
	defer dec.Close()
	check := func(p picture, what string) error {
		t0 := time.Now()
		f, err := dec.Decode(p.au)
		res.DecodeTime += time.Since(t0)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if f == nil {
			return fmt.Errorf("%s: the decoder flagged the picture as broken", what)
		}
		defer f.Release()
		res.Frames++
		if f.Width != p.src.Width || f.Height != p.src.Height {
			return fmt.Errorf("%s: decoded %dx%d, want %dx%d", what, f.Width, f.Height, p.src.Width, p.src.Height)
		}
		psnr, diff, err := capturetest.Compare(f, p.src)
		if err != nil {
			return err
		}
		res.MinPSNR, res.MaxBlockDiff = min(res.MinPSNR, psnr), max(res.MaxBlockDiff, diff)
		if psnr < 28 || diff > 12 {
			return fmt.Errorf("%s: decoded picture differs from the source: PSNR %.1f dB, block means up to %d apart", what, psnr, diff)
		}
		return nil
	}
	for i := range pics {
		for j, p := range pics[i] {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			if err := check(p, fmt.Sprintf("%dx%d picture %d", p.src.Width, p.src.Height, j)); err != nil {
				return res, err
			}
		}
	}
	left, err := dec.Drain()
	for _, f := range left {
		f.Release()
	}
	if err != nil {
		return res, fmt.Errorf("drain: %w", err)
	}
	if len(left) != 0 {
		return res, fmt.Errorf("drain gave %d pictures, want none (each was decoded before the next was queued)", len(left))
	}
	if err := dec.Restart(); err != nil {
		return res, fmt.Errorf("restart: %w", err)
	}
	if err := check(pics[1][0], "first picture again after drain and restart"); err != nil {
		return res, err
	}
	res.SourceChanges = dec.SourceChanges()
	if res.SourceChanges != 2 {
		return res, fmt.Errorf("%d source changes, want 2 (the first size, then the second)", res.SourceChanges)
	}
	return res, dec.Close()
}

func (r Result) String() string {
	return fmt.Sprintf("frames=%d source_changes=%d min_psnr_y=%.1fdB max_block_diff=%d decode_per_frame=%v",
		r.Frames, r.SourceChanges, r.MinPSNR, r.MaxBlockDiff, (r.DecodeTime / time.Duration(max(r.Frames, 1))).Round(10*time.Microsecond))
}
