package serial

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestBridgeRawBothWays(t *testing.T) {
	checkGoroutines(t)
	p := newPtyPair(t)
	dev := p.device()
	rec := newRecorder()
	b, err := NewBridge(BridgeOptions{Port: Config{Path: p.A}, OnData: rec.onData, OnStatus: rec.onStatus})
	if err != nil {
		t.Fatal(err)
	}
	runBridge(t, b)
	rec.waitFor(t, "connected", 5*time.Second, connected(rec))
	if st := b.Status(); !st.Connected || st.Path != p.A || st.Err != nil {
		t.Fatalf("status %+v", st)
	}

	// Every byte value, NUL and invalid UTF-8 included, comes through as is.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	if _, err := dev.Write(all); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "256 bytes", 5*time.Second, func() bool { return len(rec.joined()) >= 256 })
	if got := rec.joined(); !bytes.Equal(got, all) {
		t.Fatalf("bridge read %q, want every byte value", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Send(ctx, []byte("P10\n\x00\xff")); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, dev, 6, 5*time.Second); string(got) != "P10\n\x00\xff" {
		t.Fatalf("device read %q", got)
	}
	s := b.Stats()
	if s.BytesIn != 256 || s.BytesOut != 6 || s.Opens != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestBridgeLinesWithGarbage(t *testing.T) {
	input := "ok 1\r\n\xff\xfe\x00noise\nok \xe2\x82\xac 2\n\n" + strings.Repeat("x", 40) + "\ntail"
	for _, tc := range []struct {
		invalid Invalid
		want    []string
		dropped uint64
	}{
		{InvalidPass, []string{"ok 1", "\xff\xfe\x00noise", "ok € 2", strings.Repeat("x", 32), strings.Repeat("x", 8), "tail"}, 0},
		{InvalidReplace, []string{"ok 1", "\uFFFD\x00noise", "ok € 2", strings.Repeat("x", 32), strings.Repeat("x", 8), "tail"}, 0},
		{InvalidDrop, []string{"ok 1", "ok € 2", strings.Repeat("x", 32), strings.Repeat("x", 8), "tail"}, 1},
	} {
		t.Run(tc.invalid.String(), func(t *testing.T) {
			checkGoroutines(t)
			p := newPtyPair(t)
			dev := p.device()
			rec := newRecorder()
			b, err := NewBridge(BridgeOptions{Port: Config{Path: p.A}, Lines: true, MaxLine: 32, Invalid: tc.invalid,
				OnData: rec.onData, OnStatus: rec.onStatus, MaxBackoff: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			runBridge(t, b)
			rec.waitFor(t, "connected", 5*time.Second, connected(rec))
			for _, c := range []byte(input) { // byte by byte: lines span reads
				if _, err := dev.Write([]byte{c}); err != nil {
					t.Fatal(err)
				}
			}
			n := len(tc.want) - 1 // "tail" has no newline: it comes when the port goes
			rec.waitFor(t, "lines", 5*time.Second, func() bool { return len(rec.data) >= n })
			for deadline := time.Now().Add(5 * time.Second); b.Stats().BytesIn < uint64(len(input)); time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("read %d of %d bytes", b.Stats().BytesIn, len(input))
				}
			}
			p.stop() // unplug: the partial line is delivered
			rec.waitFor(t, "tail", 5*time.Second, func() bool { return len(rec.data) > n })
			rec.mu.Lock()
			var got []string
			for _, d := range rec.data {
				got = append(got, string(d))
			}
			rec.mu.Unlock()
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Fatalf("lines\n got %q\nwant %q", got, tc.want)
			}
			rec.waitFor(t, "disconnected", 5*time.Second, func() bool { return !rec.last().Connected })
			if d := b.Stats().LinesDropped; d != tc.dropped {
				t.Fatalf("dropped %d lines, want %d", d, tc.dropped)
			}
		})
	}
}

func TestBridgeReconnectsAfterUnplug(t *testing.T) {
	checkGoroutines(t)
	p := newPtyPair(t)
	rec := newRecorder()
	b, err := NewBridge(BridgeOptions{Port: Config{Path: p.A}, Lines: true,
		OnData: rec.onData, OnStatus: rec.onStatus, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runBridge(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for round := 1; round <= 3; round++ {
		rec.waitFor(t, "connected", 5*time.Second, connected(rec))
		dev := p.device()
		if _, err := fmt.Fprintf(dev, "hello %d\n", round); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("hello %d", round)
		rec.waitFor(t, want, 5*time.Second, func() bool {
			return len(rec.data) > 0 && string(rec.data[len(rec.data)-1]) == want
		})
		if err := b.Send(ctx, []byte("ack\n")); err != nil {
			t.Fatalf("round %d: Send: %v", round, err)
		}
		if got := readN(t, dev, 4, 5*time.Second); string(got) != "ack\n" {
			t.Fatalf("device read %q", got)
		}
		dev.Close()

		unplugged := time.Now()
		if round == 2 {
			p.stopWith(syscall.SIGKILL) // the links stay, dangling
		} else {
			p.stop()
		}
		rec.waitFor(t, "disconnected", 5*time.Second, func() bool { return !rec.last().Connected })
		t.Logf("round %d: disconnect noticed after %v: %v", round, time.Since(unplugged).Round(time.Millisecond), b.Status().Err)
		if err := b.Send(ctx, []byte("x")); !errors.Is(err, ErrDisconnected) {
			t.Fatalf("Send while unplugged: %v, want ErrDisconnected", err)
		}
		time.Sleep(100 * time.Millisecond) // a few failed opens
		replugged := time.Now()
		p.start()
		rec.waitFor(t, "reconnected", 5*time.Second, connected(rec))
		t.Logf("round %d: reconnected %v after the port came back", round, time.Since(replugged).Round(time.Millisecond))
	}
	if s := b.Stats(); s.Opens != 4 || s.Disconnects != 3 || s.FailedOpens == 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestBridgeSerialisesWrites(t *testing.T) {
	checkGoroutines(t)
	p := newPtyPair(t)
	dev := p.device()
	rec := newRecorder()
	b, err := NewBridge(BridgeOptions{Port: Config{Path: p.A}, OnStatus: rec.onStatus})
	if err != nil {
		t.Fatal(err)
	}
	runBridge(t, b)
	rec.waitFor(t, "connected", 5*time.Second, connected(rec))

	const writers, each = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				rec := fmt.Sprintf("<%d:%02d:%s>", w, i, strings.Repeat(string(rune('a'+w)), 40))
				if err := b.Send(context.Background(), []byte(rec)); err != nil {
					errs <- err
				}
			}
		}()
	}
	recLen := len(fmt.Sprintf("<%d:%02d:%s>", 0, 0, strings.Repeat("a", 40)))
	got := readN(t, dev, writers*each*recLen, 10*time.Second)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	next := make([]int, writers)
	for i := 0; i < len(got); i += recLen {
		var w, n int
		var body string
		if _, err := fmt.Sscanf(string(got[i:i+recLen]), "<%d:%d:%40s>", &w, &n, &body); err != nil {
			t.Fatalf("record %q at %d is torn: %v", got[i:i+recLen], i, err)
		}
		if n != next[w] || body != strings.Repeat(string(rune('a'+w)), 40) {
			t.Fatalf("record %q out of order or mixed (want #%d of writer %d)", got[i:i+recLen], next[w], w)
		}
		next[w]++
	}
}

func TestBridgeOpenModes(t *testing.T) {
	p := newPtyPair(t)
	for _, c := range []Config{
		{Path: p.A},
		{Path: p.A, Baud: 9600, DataBits: 7, Parity: EvenParity, StopBits: 2},
		{Path: p.A, Baud: 230400, Parity: OddParity},
		{Path: p.A, Baud: 250000}, // not a standard rate: BOTHER
	} {
		port, path, err := Open(c)
		if err != nil {
			t.Fatalf("Open %+v: %v", c, err)
		}
		if path != p.A {
			t.Fatalf("path %q", path)
		}
		port.Close()
	}
	if _, _, err := Open(Config{Path: p.A + ".missing"}); err == nil || !strings.Contains(err.Error(), "serial.Open") {
		t.Fatalf("Open of a missing port: %v", err)
	}
}

func TestBridgeSendWithoutRun(t *testing.T) {
	b, err := NewBridge(BridgeOptions{Port: Config{Path: "/tmp/none"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Send(context.Background(), []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send before Run: %v", err)
	}
	if err := b.Send(context.Background(), nil); err != nil {
		t.Fatalf("empty Send: %v", err)
	}
}

func TestNewBridgeRejectsBadOptions(t *testing.T) {
	for _, o := range []BridgeOptions{
		{},
		{Port: Config{Path: "/tmp/x"}, MaxLine: 8},
		{Port: Config{Path: "/tmp/x"}, Invalid: 7},
		{Port: Config{Path: "/tmp/x", Baud: -1}},
	} {
		if _, err := NewBridge(o); !errors.Is(err, ErrBadConfig) {
			t.Errorf("NewBridge(%+v): %v, want ErrBadConfig", o, err)
		}
	}
}
