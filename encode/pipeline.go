package encode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/camd-project/camd/capture"
)

// maxFailures is how many frames in a row the encoder may fail on before
// Run gives up: a single bad frame (a truncated buffer, a corrupt access
// unit from a drone) is logged and dropped, a broken encoder ends Run.
const maxFailures = 30

// Pipeline moves frames from a Source through an Encoder to Out. The source
// hands frames to a queue of QueueDepth (default 2) that drops the oldest
// frame when encoding falls behind, so the source keeps its pace and the
// encoder always works on a recent frame.
//
// Set the fields, then call Run. Stats may be called at any time from any
// goroutine.
type Pipeline struct {
	Source  capture.Source
	Encoder Encoder
	// Out receives each access unit, on Run's goroutine; au.Data is valid
	// until Out returns. Out must not block for long: encoding waits.
	Out        func(AccessUnit)
	Logger     *slog.Logger // default: discard
	QueueDepth int          // default 2
	// RestartBackoff is the wait before rebuilding a Restartable encoder
	// that failed maxFailures frames in a row (default 250 ms); it doubles
	// while rebuilds keep failing, up to 16 times, and resets once a frame
	// encodes.
	RestartBackoff time.Duration

	now   func() time.Time // time.Now unless a test sets it
	stats pipelineCounters
	queue atomic.Pointer[capture.Queue] // of the current run

	snap snapshots // see Snapshot
}

// Run runs the source and encodes its frames until ctx is done (then it
// returns nil), the source ends (nil, once the frames still queued are
// encoded) or fails (its error, wrapped, after the same), or the encoder
// fails on maxFailures frames in a row. When Run returns, the source's
// goroutine has ended and every frame has been released. Run does not close the encoder: its owner does.
// A Pipeline runs once at a time.
//
// When the encoder is a *Passthrough and the source implements
// KeyframeRequester, Run connects them.
func (p *Pipeline) Run(ctx context.Context) error {
	if p.Source == nil || p.Encoder == nil || p.Out == nil {
		return fmt.Errorf("encode.Pipeline.Run: %w", ErrIncomplete)
	}
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	depth := p.QueueDepth
	if depth <= 0 {
		depth = 2
	}
	p.connectPassthrough()
	name := p.Source.Info().Name
	q := capture.NewQueue(depth)
	p.queue.Store(q)
	defer func() {
		p.queue.Store(nil)
		p.stats.dropped.Add(q.Dropped())
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// getCtx ends when the source does, so that the loop encodes the
	// frames still queued and then stops.
	getCtx, stopGet := context.WithCancel(ctx)
	srcDone := make(chan error, 1)
	go func() {
		err := p.Source.Run(ctx, func(f *capture.Frame) {
			p.stats.in.Add(1)
			q.Put(f)
		})
		stopGet()
		srcDone <- err
	}()
	log.Info("pipeline started", "source", name, "encoder", p.Encoder.Name(), "queue", depth)

	encErr := p.loop(ctx, getCtx, q, log)
	cancel()
	srcErr := <-srcDone
	q.Close() // releases what is left

	switch {
	case srcErr != nil && !errors.Is(srcErr, context.Canceled):
		return fmt.Errorf("encode.Pipeline: source %s: %w", name, srcErr)
	case encErr != nil:
		return fmt.Errorf("encode.Pipeline: %s: %w", p.Encoder.Name(), encErr)
	}
	log.Info("pipeline stopped", "source", name)
	return nil
}

// loop encodes frames until ctx is done, the source has ended (getCtx is
// done) and the queue is empty, or the encoder keeps failing and cannot be
// restarted.
func (p *Pipeline) loop(ctx, getCtx context.Context, q *capture.Queue, log *slog.Logger) error {
	failures := 0
	backoff := p.RestartBackoff
	if backoff <= 0 {
		backoff = 250 * time.Millisecond
	}
	wait := backoff
	for {
		f, err := q.Get(getCtx) // returns queued frames before getCtx's error
		if err != nil {
			return nil
		}
		if ctx.Err() != nil {
			f.Release()
			return nil
		}
		seq := f.Seq // f goes back to the source in encode
		err = p.encode(f)
		if err == nil {
			failures, wait = 0, backoff
			continue
		}
		p.stats.errors.Add(1)
		failures++
		if failures == 1 {
			log.Warn("encode failed", "seq", seq, "err", err)
		}
		if failures < maxFailures {
			continue
		}
		r, ok := p.Encoder.(*Restartable)
		if !ok {
			return fmt.Errorf("%d frames in a row failed, last: %w", failures, err)
		}
		log.Error("encoder keeps failing; restarting it", "failures", failures, "err", err, "after", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 16*backoff)
		if rerr := r.Restart(); rerr != nil {
			log.Error("encoder restart failed; trying again", "err", rerr, "after", wait)
			failures = maxFailures - 1 // the next failed frame tries again
			continue
		}
		p.stats.restarts.Add(1)
		p.connectPassthrough()
		failures = 0
		log.Info("encoder restarted", "encoder", r.Name(), "restarts", r.Restarts())
	}
}

// connectPassthrough lets a *Passthrough encoder (also inside a
// Restartable) ask a source that implements KeyframeRequester for IDRs.
func (p *Pipeline) connectPassthrough() {
	enc := p.Encoder
	if r, ok := enc.(*Restartable); ok {
		enc = r.current()
	}
	if pt, ok := enc.(*Passthrough); ok {
		if kr, ok := p.Source.(KeyframeRequester); ok {
			pt.SetKeyframeRequester(kr.RequestKeyframe)
		}
	}
}

func (p *Pipeline) encode(f *capture.Frame) error {
	if p.snap.wanted.Load() {
		p.snap.take(f)
	}
	start := p.now()
	au, ok, err := p.Encoder.Encode(f)
	p.stats.observe(p.now().Sub(start))
	f.Release()
	if err != nil || !ok {
		if err == nil {
			p.stats.skipped.Add(1)
		}
		return err
	}
	p.stats.encoded.Add(1)
	p.stats.bytes.Add(uint64(len(au.Data)))
	if au.Keyframe {
		p.stats.keyframes.Add(1)
	}
	p.Out(au)
	return nil
}

// Stats returns the pipeline's counters. It is safe to call at any time.
func (p *Pipeline) Stats() PipelineStats {
	s := p.stats.snapshot()
	if q := p.queue.Load(); q != nil {
		s.Dropped += q.Dropped()
	}
	return s
}
