package atomicfile

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// content is generation n of the file: a header naming n, then a body
// long enough that a write takes several system calls.
func content(n int) []byte {
	body := bytes.Repeat([]byte{byte('a' + n%26)}, 256<<10+n%4096)
	return append([]byte(fmt.Sprintf("%08d\n", n)), body...)
}

// generation returns n if b is exactly content(n).
func generation(b []byte) (int, bool) {
	if len(b) < 9 {
		return 0, false
	}
	n, err := strconv.Atoi(string(b[:8]))
	if err != nil || !bytes.Equal(b, content(n)) {
		return 0, false
	}
	return n, true
}

// The child: rewrites the file as fast as it can until it is killed.
func TestMain(m *testing.M) {
	if path := os.Getenv("ATOMICFILE_TEST_WRITER"); path != "" {
		for n := 1; ; n++ {
			if err := WriteFile(path, content(n), 0o600); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
			if n == 1 {
				fmt.Println("writing") // the parent's cue
			}
		}
	}
	os.Exit(m.Run())
}

// TestKillWhileWriting kills a real writer process with SIGKILL at
// arbitrary moments, many times, and checks that the file is always one
// whole generation: the old file or the new, never a broken one.
func TestKillWhileWriting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	if err := WriteFile(path, content(0), 0o600); err != nil {
		t.Fatal(err)
	}
	rounds, seen := 40, map[int]bool{}
	for i := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "ATOMICFILE_TEST_WRITER="+path)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Once the writer is under way (however slowly the machine
		// started it), kill it after 0 to ~30 ms: in the middle of a
		// write, almost always.
		if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
			t.Fatalf("the writer never got going: %v: %s", err, stderr.Bytes())
		}
		time.Sleep(time.Duration(i%8) * 4 * time.Millisecond)
		_ = cmd.Process.Kill()
		err = cmd.Wait()
		if stderr.Len() > 0 {
			t.Fatalf("writer failed: %v: %s", err, stderr.Bytes())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		n, ok := generation(b)
		if !ok {
			t.Fatalf("round %d: the file is broken after kill -9: %d bytes, starts %q", i, len(b), b[:min(len(b), 16)])
		}
		seen[n] = true
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, want 0600", info.Mode().Perm())
		}
	}
	if len(seen) < 3 {
		t.Errorf("the writer got through only generations %v in %d rounds: the kills did not land during writes", seen, rounds)
	}
	t.Logf("%d kills; the file always held a whole generation (%d distinct seen)", rounds, len(seen))
}

func TestWriteFileMode(t *testing.T) {
	old := syscallUmask(0o022)
	defer syscallUmask(old)
	path := filepath.Join(t.TempDir(), "secret")
	if err := WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("y"), 0o600); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	if b, _ := os.ReadFile(path); string(b) != "y" {
		t.Errorf("content %q, want y", b)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestWriteFileErrors(t *testing.T) {
	if err := WriteFile(filepath.Join(t.TempDir(), "missing", "f"), []byte("x"), 0o600); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
}

// TestCreateRace: many goroutines create the same file at once; exactly
// one wins and everyone reads the winner's content.
func TestCreateRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	var wg sync.WaitGroup
	wins := make(chan int, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			created, err := Create(path, []byte(strconv.Itoa(i)), 0o600)
			if err != nil {
				t.Error(err)
			}
			if created {
				wins <- i
			}
		}()
	}
	wg.Wait()
	close(wins)
	var winners []int
	for w := range wins {
		winners = append(winners, w)
	}
	if len(winners) != 1 {
		t.Fatalf("%d creators won: %v", len(winners), winners)
	}
	if b, _ := os.ReadFile(path); string(b) != strconv.Itoa(winners[0]) {
		t.Errorf("file holds %q, the winner wrote %d", b, winners[0])
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}
