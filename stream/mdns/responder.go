package mdns

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Timing from RFC 6762 §8.
const (
	probeWait      = 250 * time.Millisecond
	probeCount     = 3
	tiebreakWait   = time.Second
	announceWait   = time.Second
	announceCount  = 2
	conflictWindow = 10 * time.Second
	conflictLimit  = 15
	conflictPause  = 5 * time.Second
	maxBrowseEvery = time.Hour
)

type phase int

const (
	phaseProbe phase = iota
	phaseAnnounce
	phaseRun
)

// A Responder claims a .local name, publishes camd's services and
// browses for other camd instances. Create it with New and start it with
// Run.
type Responder struct {
	cfg     config
	log     *slog.Logger
	clock   Clock
	wake    chan struct{}
	started atomic.Bool
	tr      Transport

	mu           sync.Mutex
	base         identity // as configured
	id           identity // as claimed or being probed
	hostN, instN int      // rename counters: 1 is the configured name
	phase        phase
	step         int
	next         time.Time
	conflictHost bool // seen while probing: pick another host name
	conflictInst bool // seen while probing: pick another instance name
	lostTie      bool // lost a simultaneous probe (§8.2)
	reprobe      bool // conflict seen after claiming (§9)
	defend       bool // someone announced our records with a low TTL (§6.6)
	announced    bool // records went out, so goodbyes are due
	lastAnnounce time.Time
	conflicts    []time.Time
	ifaces       map[int]Interface
	lastMcast    map[string]time.Time
	cache        *cache
	browseAt     time.Time
	browseEvery  time.Duration
	pollAt       time.Time
}

// New checks the options. Nothing touches the network before Run.
func New(opts Options) (*Responder, error) {
	cfg, err := opts.config()
	if err != nil {
		return nil, fmt.Errorf("mdns.New: %w", err)
	}
	id := identity{host: cfg.name + "." + domain, instance: cfg.instance, port: cfg.port, txt: cfg.txt}
	return &Responder{
		cfg:       cfg,
		log:       cfg.log,
		clock:     cfg.clock,
		wake:      make(chan struct{}, 1),
		base:      id,
		id:        id,
		hostN:     1,
		instN:     1,
		ifaces:    map[int]Interface{},
		lastMcast: map[string]time.Time{},
		cache:     newCache(512),
	}, nil
}

// Name returns the host name claimed or being claimed, without ".local".
func (r *Responder) Name() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return trimDomain(r.id.host)
}

// Instance returns the DNS-SD instance name in use.
func (r *Responder) Instance() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.id.instance
}

// Claimed reports whether probing finished and the names are in use.
func (r *Responder) Claimed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.phase != phaseProbe
}

// Run opens the transport, probes, announces and answers until ctx ends,
// then sends goodbyes, closes the transport and returns nil. A transport
// passed in Options is closed too.
func (r *Responder) Run(ctx context.Context) error {
	if !r.started.CompareAndSwap(false, true) {
		return ErrRunning
	}
	tr := r.cfg.transport
	if tr == nil {
		var err error
		if tr, err = listen(r.log); err != nil {
			return fmt.Errorf("mdns.Run: %w", err)
		}
	}
	r.tr = tr
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.readLoop()
	}()
	r.loop(ctx)
	r.mu.Lock()
	out := r.goodbyeLocked()
	r.mu.Unlock()
	r.send(out)
	err := tr.Close()
	<-done
	if err != nil {
		r.log.Warn("mdns: closing the sockets", "err", err)
	}
	return nil
}

func (r *Responder) readLoop() {
	for {
		p, err := r.tr.Read()
		if err != nil {
			return
		}
		r.handlePacket(p)
	}
}

// outPacket is a datagram to send once the lock is released.
type outPacket struct {
	b       []byte
	dst     netip.AddrPort
	ifIndex int
}

func (r *Responder) send(out []outPacket) {
	for _, p := range out {
		if err := r.tr.Write(p.b, p.dst, p.ifIndex); err != nil {
			r.log.Debug("mdns: send", "dst", p.dst, "if", p.ifIndex, "err", err)
		}
	}
}

func (r *Responder) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Responder) loop(ctx context.Context) {
	now := r.clock.Now()
	r.poll(now)
	r.mu.Lock()
	r.phase, r.step = phaseProbe, 0
	r.next = now.Add(rand.N(probeWait)) // §8.1: random delay before the first probe
	r.browseAt, r.browseEvery = now, time.Second
	r.mu.Unlock()
	for {
		now = r.clock.Now()
		if !now.Before(r.pollAt) {
			r.poll(now)
		}
		r.mu.Lock()
		out, deadline := r.tickLocked(now)
		r.mu.Unlock()
		r.send(out)
		t := r.clock.NewTimer(deadline.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		case <-r.wake:
			t.Stop()
		}
	}
}

// tickLocked runs whatever is due and returns when it next has work.
func (r *Responder) tickLocked(now time.Time) ([]outPacket, time.Time) {
	var out []outPacket
	if r.phase == phaseProbe {
		out = append(out, r.probeTickLocked(now)...)
	} else if r.reprobe {
		r.reprobe = false
		r.restartProbeLocked(now)
	}
	if r.phase == phaseAnnounce && !now.Before(r.next) {
		out = append(out, r.announceLocked(now, r.allIfaces())...)
		r.step++
		r.next = now.Add(announceWait)
		if r.step >= announceCount {
			r.phase = phaseRun
		}
	}
	if r.defend && r.phase == phaseRun && now.Sub(r.lastAnnounce) >= mcastSpacing {
		out = append(out, r.announceLocked(now, r.allIfaces())...)
	}
	r.defend = false
	out = append(out, r.browseTickLocked(now)...)
	deadline := r.pollAt
	if r.phase != phaseRun && r.next.Before(deadline) {
		deadline = r.next
	}
	if r.browseAt.Before(deadline) {
		deadline = r.browseAt
	}
	if t, ok := r.cache.nextEvent(); ok && t.Before(deadline) {
		deadline = t
	}
	return out, deadline
}

func (r *Responder) restartProbeLocked(now time.Time) {
	r.phase, r.step, r.next = phaseProbe, 0, now
}

// poll reads the interfaces and reacts to changes (§8.3: announce again
// when addresses change; probe again on a new link).
func (r *Responder) poll(now time.Time) {
	list, err := r.cfg.addrs()
	r.mu.Lock()
	r.pollAt = now.Add(r.cfg.poll)
	if err != nil {
		r.mu.Unlock()
		r.log.Warn("mdns: listing interfaces", "err", err)
		return
	}
	fresh := map[int]Interface{}
	for _, ifi := range list {
		if len(ifi.Addrs) > 0 {
			ifi.Addrs = slices.Clone(ifi.Addrs)
			slices.SortFunc(ifi.Addrs, netip.Addr.Compare)
			ifi.Addrs = slices.Compact(ifi.Addrs)
			fresh[ifi.Index] = ifi
		}
	}
	var out []outPacket
	var joined, changed bool
	for idx, ifi := range fresh {
		old, ok := r.ifaces[idx]
		if !ok {
			if err := r.tr.Join(ifi); err != nil {
				r.log.Warn("mdns: joining the mDNS group", "if", ifi.Name, "err", err)
			}
			r.log.Info("mdns: using interface", "if", ifi.Name, "addrs", ifi.Addrs)
			joined = true
			continue
		}
		gone := minus(old.Addrs, ifi.Addrs)
		if len(gone) > 0 && r.announced {
			out = append(out, r.packetsLocked(ifi, true, r.id.hostRecords(gone), 0)...)
		}
		if len(gone) > 0 || len(minus(ifi.Addrs, old.Addrs)) > 0 {
			r.log.Info("mdns: addresses changed", "if", ifi.Name, "addrs", ifi.Addrs)
			if err := r.tr.Join(ifi); err != nil { // a new address family
				r.log.Warn("mdns: joining the mDNS group", "if", ifi.Name, "err", err)
			}
			changed = true
		}
	}
	r.ifaces = fresh
	switch {
	case joined:
		if r.phase != phaseProbe {
			r.restartProbeLocked(now)
		}
		r.browseAt, r.browseEvery = now, time.Second
	case changed && r.phase == phaseRun:
		r.phase, r.step, r.next = phaseAnnounce, 0, now
	}
	r.mu.Unlock()
	r.send(out)
}

// minus returns the addresses of a that are not in b.
func minus(a, b []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func (r *Responder) allIfaces() []Interface {
	out := make([]Interface, 0, len(r.ifaces))
	for _, ifi := range r.ifaces {
		out = append(out, ifi)
	}
	slices.SortFunc(out, func(a, b Interface) int { return a.Index - b.Index })
	return out
}

// allRecordsLocked returns every record published on any interface.
func (r *Responder) allRecordsLocked() []record {
	var addrs []netip.Addr
	for _, ifi := range r.ifaces {
		addrs = append(addrs, ifi.Addrs...)
	}
	return r.id.records(addrs)
}

func mcastKey(ifIndex int, rec record) string {
	return strconv.Itoa(ifIndex) + "|" + rec.key()
}

func trimDomain(host string) string {
	if len(host) > len(domain) {
		return host[:len(host)-len(domain)-1]
	}
	return host
}
