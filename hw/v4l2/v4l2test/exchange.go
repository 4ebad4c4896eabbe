package v4l2test

import (
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exchange is a recorded conversation with V4L2 devices: the files opened,
// in order, each with the operations done to it.
type Exchange struct {
	// PointerSize is the size of a pointer where it was recorded (8 on
	// amd64 and arm64, 4 on arm): argument structs differ between the two,
	// so an exchange replays only where v4l2.PointerSize matches.
	PointerSize int     `json:"pointer_size"`
	Note        string  `json:"note,omitempty"`
	Files       []*File `json:"files"`
}

// File is one opened device file.
type File struct {
	Path string `json:"path"`
	// OpenErrno is the errno open failed with (the device was gone), 0
	// when it opened.
	OpenErrno int  `json:"open_errno,omitempty"`
	Ops       []Op `json:"ops"`
}

// Operation kinds.
const (
	OpIoctl   = "ioctl"
	OpMmap    = "mmap"
	OpMunmap  = "munmap"
	OpPoll    = "poll"
	OpWrite   = "write"
	OpCloseFD = "closefd"
	OpClose   = "close"
)

// Op is one operation on a file.
type Op struct {
	Op string `json:"op"`

	// ioctl: the request, the argument before and after (pointer fields
	// zeroed), the array it points at before and after, and the errno.
	Req    string `json:"req,omitempty"`
	Nr     uint32 `json:"nr,omitempty"`
	In     []byte `json:"in,omitempty"`
	Out    []byte `json:"out,omitempty"`
	ExtIn  []byte `json:"ext_in,omitempty"`
	ExtOut []byte `json:"ext_out,omitempty"`
	Errno  int    `json:"errno,omitempty"`
	// Data holds, for DQBUF of a capture buffer, what the driver put in
	// each mapped plane.
	Data [][]byte `json:"data,omitempty"`

	// mmap and munmap.
	Offset int64 `json:"offset,omitempty"`
	Length int   `json:"length,omitempty"`

	// poll: the events asked for and those returned; Interrupted when
	// Interrupt ended the wait.
	Events      int16 `json:"events,omitempty"`
	Revents     int16 `json:"revents,omitempty"`
	Interrupted bool  `json:"interrupted,omitempty"`

	// closefd: the descriptor (from EXPBUF).
	FD int `json:"fd,omitempty"`
}

func (o *Op) String() string {
	switch o.Op {
	case OpIoctl:
		return o.Req
	case OpMmap, OpMunmap:
		return fmt.Sprintf("%s(offset %d, %d bytes)", o.Op, o.Offset, o.Length)
	case OpPoll:
		return fmt.Sprintf("poll(%#x)", o.Events)
	case OpWrite:
		return fmt.Sprintf("write(%d bytes)", o.Length)
	}
	return o.Op
}

// Ops returns how many operations the exchange holds.
func (e *Exchange) Ops() int {
	n := 0
	for _, f := range e.Files {
		n += len(f.Ops)
	}
	return n
}

// Write writes the exchange as gzipped JSON.
func (e *Exchange) Write(w io.Writer) error {
	zw := gzip.NewWriter(w)
	enc := json.NewEncoder(zw)
	if err := enc.Encode(e); err != nil {
		return fmt.Errorf("v4l2test: encode exchange: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("v4l2test: gzip: %w", err)
	}
	return nil
}

// WriteFile writes the exchange to a file (conventionally .json.gz).
func (e *Exchange) WriteFile(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("v4l2test: %w", err)
	}
	if err := e.Write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("v4l2test: %w", err)
	}
	return nil
}

// Read reads an exchange written by Write.
func Read(r io.Reader) (*Exchange, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("v4l2test: gunzip: %w", err)
	}
	var e Exchange
	if err := json.NewDecoder(zr).Decode(&e); err != nil {
		return nil, fmt.Errorf("v4l2test: decode exchange: %w", err)
	}
	if e.PointerSize != 4 && e.PointerSize != 8 {
		return nil, fmt.Errorf("v4l2test: exchange has pointer size %d, want 4 or 8", e.PointerSize)
	}
	return &e, nil
}

// ReadFile reads an exchange from a file written by WriteFile.
func ReadFile(name string) (*Exchange, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("v4l2test: %w", err)
	}
	defer f.Close()
	e, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return e, nil
}

// Summary lists the files and their operation counts, for logs.
func (e *Exchange) Summary() string {
	var b strings.Builder
	for i, f := range e.Files {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %d ops", f.Path, len(f.Ops))
		if f.OpenErrno != 0 {
			fmt.Fprintf(&b, " (open errno %d)", f.OpenErrno)
		}
	}
	return b.String()
}

// Find returns the index of the first operation at or after from, in the
// file opened i-th, that is the ioctl req (a name such as "VIDIOC_QBUF")
// or of the kind req (OpPoll, …) and whose argument has, when typ is not
// 0, that buffer type in its second 32-bit word (struct v4l2_buffer and
// most others keep the type there); -1 when there is none. Tests use it
// to find a recorded steady state for Player.Repeat.
func (e *Exchange) Find(i, from int, req string, typ uint32) int {
	if i < 0 || i >= len(e.Files) {
		return -1
	}
	ops := e.Files[i].Ops
	for k := max(from, 0); k < len(ops); k++ {
		o := &ops[k]
		if o.Req != req && (o.Op != req || o.Op == OpIoctl) {
			continue
		}
		if typ != 0 && (len(o.In) < 8 || binary.LittleEndian.Uint32(o.In[4:8]) != typ) {
			continue
		}
		return k
	}
	return -1
}
