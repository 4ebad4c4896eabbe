package stream

import (
	"runtime/debug"
	"sync"
	"time"
)

// idleReleaseAfter is how long after the last viewer left camd gives its
// freed memory back to the system.
const idleReleaseAfter = 10 * time.Second

// idleRelease returns memory to the system once the viewers have gone: a
// board that served a crowd should not keep the crowd's RSS (Go's
// scavenger would take minutes). It runs one GC, once per quiet period.
type idleRelease struct {
	mu sync.Mutex
	t  *time.Timer
}

// arm schedules the release; a later call moves it back.
func (r *idleRelease) arm() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.t == nil {
		r.t = time.AfterFunc(idleReleaseAfter, debug.FreeOSMemory)
		return
	}
	r.t.Reset(idleReleaseAfter)
}

// stop cancels a scheduled release.
func (r *idleRelease) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.t != nil {
		r.t.Stop()
	}
}
