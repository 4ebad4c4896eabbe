package nettest

import (
	"context"
	"github.com/camd-project/camd/scripts/harness"
	"math"
	"sort"
	"testing"
	"time"
)

const (
	mbit = 1_000_000
	fast = 10 * mbit
	slow = 1 * mbit
)

// setUp makes the namespaces (Chromium behind link 0, the Go client behind
// link 1, both at fast), starts camd with extra flags and both viewers,
// and waits until both play.
func setUp(t *testing.T, extra ...string) (*topology, *chromeViewer, *goViewer, *process) {
	harness.NeedRoot(t)
	needTools(t)
	camdBin, viewBin := build(t)
	top := newTopology(t, viewers[0], viewers[1])
	for _, l := range top.links {
		top.shape(t, l, fast)
	}
	cam := startCamd(t, top, camdBin, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	c := startChrome(ctx, t, top.links[0])
	g := startGoViewer(t, top.links[1], viewBin)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	waitPlaying(wctx, t, c, g)
	return top, c, g, cam
}

// median of the target over [from, to].
func medianTarget(rows []row, from, to float64) int {
	var v []int
	for _, x := range rows {
		if x.T >= from && x.T <= to {
			v = append(v, x.Target)
		}
	}
	if len(v) == 0 {
		return 0
	}
	sort.Ints(v)
	return v[len(v)/2]
}

// firstAt is the first time at or after from when ok holds, or NaN.
func firstAt(rows []row, from float64, ok func(row) bool) float64 {
	for _, x := range rows {
		if x.T >= from && ok(x) {
			return x.T
		}
	}
	return math.NaN()
}

// goLoss is the share of packets the Go client lost on the wire over
// [from, to]: gaps, including those retransmission filled later.
func goLoss(rows []row, from, to float64) (loss float64, lost, recovered, packets uint64) {
	a, b := at(rows, from).Go, at(rows, to).Go
	lost, recovered = b.Lost-a.Lost, b.Recovered-a.Recovered
	got := b.Packets - a.Packets - recovered // first arrivals
	if sent := got + lost + recovered; sent > 0 {
		loss = float64(lost+recovered) / float64(sent)
	}
	return loss, lost, recovered, b.Packets - a.Packets
}

// chromeLoss is Chromium's packetsLost over packets expected in [from, to].
func chromeLoss(rows []row, from, to float64) float64 {
	a, b := at(rows, from).Chrome, at(rows, to).Chrome
	lost, got := b.Lost-a.Lost, b.Packets-a.Packets
	if lost+got <= 0 {
		return 0
	}
	return lost / (lost + got)
}

// TestLinkStep: both viewers' links go 10 → 1 → 10 Mbit/s (15 s, 20 s,
// 20 s). The encoder target must fall below the link within 2 s of the
// step; from 3 s after it, loss stays under 2 % and Chromium keeps
// decoding (its freezes grow by at most 1 s); after the lift the target is
// back to 80 % of its value before the step within 10 s.
func TestLinkStep(t *testing.T) {
	top, c, g, cam := setUp(t)
	rec := record(t, top, c, g)
	const step, lift, end = 15.0, 35.0, 55.0
	rec.sleepUntil(step)
	for _, l := range top.links {
		top.shape(t, l, slow)
	}
	stepAt := rec.now()
	rec.sleepUntil(lift)
	for _, l := range top.links {
		top.shape(t, l, fast)
	}
	liftAt := rec.now()
	rec.sleepUntil(end)
	rec.finish()
	rows := rec.series()
	dir := outDir(t)
	saveLog(t, dir, "link-step", cam)
	writeSeries(t, dir, "link-step", "camd: both links 10 -> 1 -> 10 Mbit/s", rows,
		[]mark{{stepAt, "1 Mbit/s"}, {liftAt, "10 Mbit/s"}})
	if len(rows) < int(end/sampleEvery.Seconds())/2 {
		t.Fatalf("only %d samples in %v s (%d failed): %v", len(rows), end, rec.failed, rec.errs)
	}

	before := medianTarget(rows, stepAt-2, stepAt)
	dropped := firstAt(rows, stepAt, func(x row) bool { return x.Target > 0 && x.Target < slow }) - stepAt
	settled := stepAt + 3
	gl, glost, grec, gpk := goLoss(rows, settled, liftAt)
	cl := chromeLoss(rows, settled, liftAt)
	freeze := at(rows, liftAt).Chrome.Freezes - at(rows, settled).Chrome.Freezes
	frames := at(rows, liftAt).Chrome.Frames - at(rows, settled).Chrome.Frames
	back := firstAt(rows, liftAt, func(x row) bool { return float64(x.Target) >= 0.8*float64(before) }) - liftAt
	during := medianTarget(rows, settled, liftAt)
	t.Logf("target before the step %d bit/s, median while constrained %d", before, during)
	t.Logf("target below 1 Mbit/s %.2f s after the step", dropped)
	t.Logf("from 3 s after the step to the lift: Go client lost %.2f %% on the wire (%d never came, %d recovered by retransmission, %d packets); Chromium lost %.2f %%, froze %.2f s, decoded %.0f frames",
		100*gl, glost, grec, gpk, 100*cl, freeze, frames)
	t.Logf("target back to 80 %% of %d bit/s %.2f s after the lift", before, back)
	logFreezes(t, rows, stepAt, liftAt)
	if recon := at(rows, end).Chrome.Reconnects; recon != 0 {
		t.Errorf("the page started %v new sessions", recon)
	}
	switch {
	case before < 4*mbit:
		t.Errorf("target before the step %d bit/s: the encoder never used the fast link", before)
	case math.IsNaN(dropped) || dropped > 2:
		t.Errorf("target not below the 1 Mbit/s link within 2 s of the step (%.2f s)", dropped)
	case gl >= 0.02:
		t.Errorf("Go client lost %.2f %% of packets from 3 s after the step, want < 2 %%", 100*gl)
	case cl >= 0.02:
		t.Errorf("Chromium lost %.2f %% of packets from 3 s after the step, want < 2 %%", 100*cl)
	case freeze > 1:
		t.Errorf("Chromium froze %.2f s while constrained, want ≤ 1 s", freeze)
	case frames < 10*(liftAt-settled):
		t.Errorf("Chromium decoded %.0f frames in %.0f s while constrained", frames, liftAt-settled)
	case math.IsNaN(back) || back > 10:
		t.Errorf("target not back to 80 %% of %d bit/s within 10 s of the lift (%.2f s)", before, back)
	}
}

// TestOneSlowViewer: of two viewers, only the Go client's link narrows,
// first to 3 Mbit/s, then to 1 Mbit/s, below the floor of 1.5 Mbit/s, then
// opens again; Chromium's stays at 10. The policy says: the target follows
// the slowest viewer down to the floor and no further; a viewer whose
// estimate stays below the floor is reported (and sees loss); the others
// play on undisturbed; when the slow link opens the report clears and the
// target climbs again.
func TestOneSlowViewer(t *testing.T) {
	const floor = 1_500_000
	top, c, g, cam := setUp(t, "-set", "encoder.min_bitrate=1.5Mbps")
	rec := record(t, top, c, g)
	const narrow, belowFloor, open, end = 10.0, 25.0, 40.0, 52.0
	goLink := top.links[1]
	rec.sleepUntil(narrow)
	top.shape(t, goLink, 3*mbit)
	narrowAt := rec.now()
	rec.sleepUntil(belowFloor)
	top.shape(t, goLink, slow)
	belowAt := rec.now()
	rec.sleepUntil(open)
	top.shape(t, goLink, fast)
	openAt := rec.now()
	rec.sleepUntil(end)
	rec.finish()
	rows := rec.series()
	dir := outDir(t)
	saveLog(t, dir, "one-slow-viewer", cam)
	writeSeries(t, dir, "one-slow-viewer", "camd: Go client's link 10 -> 3 -> 1 -> 10 Mbit/s, Chromium's 10; floor 1.5 Mbit/s", rows,
		[]mark{{narrowAt, "go: 3 Mbit/s"}, {belowAt, "go: 1 Mbit/s"}, {openAt, "go: 10 Mbit/s"}})
	if len(rows) < int(end/sampleEvery.Seconds())/2 {
		t.Fatalf("only %d samples in %v s (%d failed): %v", len(rows), end, rec.failed, rec.errs)
	}

	// The slow viewer sets the target.
	following := medianTarget(rows, narrowAt+3, belowAt)
	limited, samples := 0, 0
	for _, x := range rows {
		if x.T >= narrowAt+3 && x.T < belowAt {
			samples++
			if x.Est[1] < x.Est[0] {
				limited++
			}
		}
	}
	// The floor holds, the slow viewer is reported, the fast one plays on.
	lowest := math.Inf(1)
	for _, x := range rows {
		if x.T >= belowAt && x.T < openAt && x.Target > 0 {
			lowest = math.Min(lowest, float64(x.Target))
		}
	}
	reported := firstAt(rows, belowAt, func(x row) bool { return x.Below[1] }) - belowAt
	wronglyReported := firstAt(rows, 0, func(x row) bool { return x.Below[0] || (x.Below[1] && x.T < belowAt) })
	settled := belowAt + 3
	freeze := at(rows, openAt).Chrome.Freezes - at(rows, settled).Chrome.Freezes
	cl := chromeLoss(rows, settled, openAt)
	gl, _, _, _ := goLoss(rows, settled, openAt)
	cleared := firstAt(rows, openAt, func(x row) bool { return !x.Below[1] }) - openAt
	after := medianTarget(rows, end-3, end)
	t.Logf("go link at 3 Mbit/s: median target %d bit/s; the Go client's estimate the lower in %d of %d samples", following, limited, samples)
	t.Logf("go link at 1 Mbit/s: lowest target %.0f bit/s (floor %d); go viewer reported below the floor %.2f s after; it lost %.1f %%; Chromium lost %.2f %%, froze %.2f s",
		lowest, floor, reported, 100*gl, 100*cl, freeze)
	t.Logf("go link open again: report cleared after %.2f s; target %d bit/s at the end", cleared, after)
	logFreezes(t, rows, belowAt, openAt)
	switch {
	case following > 3*mbit || following < floor:
		t.Errorf("with the Go client at 3 Mbit/s the median target was %d bit/s, want between the floor and the link", following)
	case limited < samples*2/3:
		t.Errorf("the Go client's estimate was the lower in only %d of %d samples", limited, samples)
	case lowest < floor:
		t.Errorf("the target went down to %.0f bit/s, below the floor of %d", lowest, floor)
	case math.IsNaN(reported) || reported > 8:
		t.Errorf("the Go client was not reported below the floor within 8 s (%.2f s)", reported)
	case !math.IsNaN(wronglyReported):
		t.Errorf("a viewer was reported below the floor at %.1f s without being below it", wronglyReported)
	case cl >= 0.02 || freeze > 1:
		t.Errorf("the fast viewer suffered: Chromium lost %.2f %% and froze %.2f s while the other was below the floor", 100*cl, freeze)
	case math.IsNaN(cleared) || cleared > 8:
		t.Errorf("the report did not clear within 8 s of the link opening (%.2f s)", cleared)
	case after < 4*mbit:
		t.Errorf("target %d bit/s at the end, want it climbing back (≥ 4 Mbit/s)", after)
	}
}
