package blockcode

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"image"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

const jsReader = "../../stream/web/blockcode.js"

// toRGBA converts an I420 frame to RGBA as a browser would (BT.601,
// video range), keeping only the w x h top-left pixels.
func (f *frame) toRGBA(w, h int) []byte {
	out := make([]byte, 0, w*h*4)
	for y := range h {
		for x := range w {
			c := 298 * (int(f.planes[0][y*f.strides[0]+x]) - 16)
			u := int(f.planes[1][y/2*f.strides[1]+x/2]) - 128
			v := int(f.planes[2][y/2*f.strides[2]+x/2]) - 128
			out = append(out,
				clamp((c+409*v+128)>>8),
				clamp((c-100*u-208*v+128)>>8),
				clamp((c+516*u+128)>>8),
				255)
		}
	}
	return out
}

// rgbLuma is the page's luma: (77R + 150G + 29B) >> 8.
func rgbLuma(rgba []byte) []byte {
	out := make([]byte, len(rgba)/4)
	for i := range out {
		p := rgba[4*i:]
		out[i] = byte((int(p[0])*77 + int(p[1])*150 + int(p[2])*29) >> 8)
	}
	return out
}

type jsResult struct {
	Code *struct {
		Seq    uint32 `json:"seq"`
		TimeMs uint64 `json:"timeMs"`
	} `json:"code"`
	Rect *struct {
		X, Y, W, H int
	} `json:"rect"`
	Resolve *int64 `json:"resolve"`
}

type jsCase struct {
	name     string
	f        *frame
	crop     bool
	edges    bool  // make the cells' sampling window matter to the pixel
	want     *Code // what Read gives on the frame's own luma, if it must read
	goOnRGB  Code  // what Read gives on the page's luma
	goRGBErr error
}

func TestJSReaderAgrees(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("node not installed; the JavaScript reader is checked in CI")
		}
		t.Fatal("node is required in CI to check stream/web/blockcode.js")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	var cases []*jsCase
	add := func(name string, w, h int, crop, mustRead bool, mutate func(f *frame)) {
		f := newFrame(w, h, rng)
		c := randomCode(rng)
		f.draw(c)
		if mutate != nil {
			mutate(f)
		}
		jc := &jsCase{name: name, f: f, crop: crop}
		if mustRead {
			jc.want = &c
		}
		cases = append(cases, jc)
	}
	for _, size := range [][2]int{{640, 480}, {1280, 720}, {321, 241}} {
		add("full frame", size[0], size[1], false, true, nil)
	}
	add("full frame without a code", 640, 480, false, false, func(f *frame) { f.planes[0][0] = 1 })
	add("too small", 200, 150, false, false, nil)
	sizes := [][2]int{{640, 480}, {1280, 720}, {1920, 1080}, {960, 720}}
	for i := range 120 {
		size := sizes[i%len(sizes)]
		switch i % 6 {
		case 0:
			add("clean", size[0], size[1], true, true, nil)
		case 1:
			add("noise ±30 and rescale", size[0], size[1], true, true, func(f *frame) { f.rescale(2); f.noise(30, rng) })
		case 2:
			add("quantised", size[0], size[1], true, true, func(f *frame) { f.quantise(40); f.noise(10, rng) })
		case 3:
			// Heavy noise: some frames read, some do not; both readers
			// must decide alike.
			add("noise ±110", size[0], size[1], true, false, func(f *frame) { f.rescale(2); f.noise(110, rng) })
		case 4:
			add("one cell flipped", size[0], size[1], true, false, func(f *frame) {
				col, row := rng.IntN(Cols), rng.IntN(Rows)
				f.setCell(col, row, White+Black-f.cell(col, row))
			})
		case 5:
			add("grey cell", size[0], size[1], true, false, func(f *frame) {
				f.setCell(rng.IntN(Cols), rng.IntN(Rows), byte(96+rng.IntN(64)))
			})
		}
	}

	for _, size := range sizes {
		for range 2 {
			add("edge-sensitive", size[0], size[1], true, false, nil)
			cases[len(cases)-1].edges = true
		}
	}

	var in bytes.Buffer
	for _, c := range cases {
		w, h := c.f.w, c.f.h
		if r := Rect(w, h); c.crop && !r.Empty() {
			w, h = r.Dx(), r.Dy()
		}
		for _, v := range []int{c.f.w, c.f.h, w, h} {
			binary.Write(&in, binary.LittleEndian, uint32(v))
		}
		rgba := c.f.toRGBA(w, h)
		if c.edges {
			sharpenEdges(rgba, w, CellSize(c.f.w, c.f.h))
		}
		in.Write(rgba)
		c.goOnRGB, c.goRGBErr = Read(rgbLuma(rgba), w, c.f.w, c.f.h)
	}
	// Copy the scripts through the test process so that go test's cache
	// notices when they change.
	dir := t.TempDir()
	files := map[string][]byte{"frames.bin": in.Bytes()}
	for name, src := range map[string]string{"blockcode.js": jsReader, "harness.js": "testdata/harness.js"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(node, filepath.Join(dir, "harness.js"), filepath.Join(dir, "blockcode.js"), filepath.Join(dir, "frames.bin")).Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	var results []jsResult
	for sc.Scan() {
		var r jsResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("node output %q: %v", sc.Text(), err)
		}
		results = append(results, r)
	}
	if len(results) != len(cases)+3 {
		t.Fatalf("node printed %d results for %d frames", len(results), len(cases))
	}
	read, refused := 0, 0
	for i, c := range cases {
		r := results[i]
		var js *Code
		if r.Code != nil {
			js = &Code{Seq: r.Code.Seq, TimeMs: r.Code.TimeMs}
			read++
		} else {
			refused++
		}
		switch {
		case (js == nil) != (c.goRGBErr != nil):
			t.Errorf("frame %d (%s): JS read %+v, Go on the same luma %+v, %v", i, c.name, js, c.goOnRGB, c.goRGBErr)
		case js != nil && *js != c.goOnRGB:
			t.Errorf("frame %d (%s): JS read %+v, Go %+v", i, c.name, *js, c.goOnRGB)
		}
		if c.want != nil && (js == nil || *js != *c.want) {
			t.Errorf("frame %d (%s, %dx%d): JS read %+v, want %+v", i, c.name, c.f.w, c.f.h, js, *c.want)
		}
		rect := Rect(c.f.w, c.f.h)
		if got := r.Rect; (got == nil) != rect.Empty() || got != nil && image.Rect(got.X, got.Y, got.X+got.W, got.Y+got.H) != rect {
			t.Errorf("frame %d: JS rect %+v, Go %v", i, got, rect)
		}
	}
	for _, c := range cases {
		if c.edges && c.goRGBErr != nil {
			t.Errorf("edge-sensitive frame %dx%d: Go on the page's luma: %v", c.f.w, c.f.h, c.goRGBErr)
		}
	}
	t.Logf("%d frames: JS and Go both read %d, both refused %d", len(cases), read, refused)
	if read < len(cases)/2 || refused < len(cases)/4 {
		t.Errorf("too few of one outcome (read %d, refused %d) for the comparison to mean much", read, refused)
	}
	resolve := [][2]int64{{5, 1763899200000}, {650488372323, 1750000000100}, {1<<40 - 1, 3<<40 + 2}}
	for i, rv := range resolve {
		want := Code{TimeMs: uint64(rv[0])}.Resolve(time.UnixMilli(rv[1])).UnixMilli()
		if got := results[len(cases)+i].Resolve; got == nil || *got != want {
			t.Errorf("resolve(%d, %d): JS %v, Go %d", rv[0], rv[1], got, want)
		}
	}
}

// sharpenEdges repaints the data cells of a code in grey RGBA (where the
// page's luma equals the grey level) so that they read only through the
// exact sampling window: the window holds a level just past the decision
// margin, and a one-pixel ring around it the opposite extreme. With clean
// sync cells (white 255, black 0) the threshold is 127 and the margin 31; a
// window one pixel off or one pixel larger takes in part of the ring and
// makes the cell unclear.
func sharpenEdges(rgba []byte, stride, cs int) {
	half, inset := cs/2, cs/4
	set := func(x, y int, v byte) {
		p := rgba[4*(y*stride+x):]
		p[0], p[1], p[2] = v, v, v
	}
	for row := range Rows {
		for col := 1; col < Cols; col++ {
			x0, y0 := Margin+col*cs+inset, Margin+row*cs+inset
			white := rgba[4*(y0*stride+x0)] > 127
			in, ring := byte(94), byte(255)
			if white {
				in, ring = 160, 0
			}
			for y := y0 - 1; y <= y0+half; y++ {
				for x := x0 - 1; x <= x0+half; x++ {
					if x < x0 || y < y0 || x == x0+half || y == y0+half {
						set(x, y, ring)
					} else {
						set(x, y, in)
					}
				}
			}
		}
	}
}
