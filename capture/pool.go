package capture

import (
	"sync"
	"time"
)

// framePool recycles frames and their buffers: a frame's OnRelease puts it
// back, so a source whose consumer releases frames allocates nothing in
// steady state. If the consumer holds on to frames, the pool makes new
// ones, and keeps at most keep of them when they come back.
type framePool struct {
	keep  int
	setup func(f *Frame) // gives a new frame its buffers

	mu   sync.Mutex
	free []*pooledFrame
}

type pooledFrame struct {
	Frame
	release func() // made once, handed out as OnRelease on every reuse
}

// get returns a frame with its buffers, zero Time, Seq and Keyframe, and
// OnRelease set to return it to the pool.
func (p *framePool) get() *Frame {
	p.mu.Lock()
	var pf *pooledFrame
	if n := len(p.free); n > 0 {
		pf = p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
	}
	p.mu.Unlock()
	if pf == nil {
		pf = &pooledFrame{}
		pf.release = func() { p.put(pf) }
		if p.setup != nil {
			p.setup(&pf.Frame)
		}
	}
	f := &pf.Frame
	f.Time, f.Seq, f.Keyframe = time.Time{}, 0, false
	f.OnRelease = pf.release
	return f
}

func (p *framePool) put(pf *pooledFrame) {
	p.mu.Lock()
	if len(p.free) < p.keep {
		p.free = append(p.free, pf)
	}
	p.mu.Unlock()
}
