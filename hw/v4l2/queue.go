package v4l2

import (
	"fmt"
	"sync"
	"time"
	"unsafe"
)

// MaxPlanes is the most planes a buffer can have (VIDEO_MAX_PLANES).
const MaxPlanes = maxPlanes

// BufferPlane describes one plane of a buffer.
type BufferPlane struct {
	BytesUsed  int // bytes of data (from DQBUF; to QBUF for output queues)
	DataOffset int // where the data starts in the plane (multi-planar only)
	Length     int // size of the plane's memory
	FD         int // the DMABUF to import, for MemoryDMABUF queues
}

// Buffer describes a buffer going to the driver (Enqueue) or coming back
// (Dequeue). It is a plain value so that a queue's steady state allocates
// nothing.
type Buffer struct {
	Index     int
	Flags     BufFlag
	Field     uint32
	Sequence  uint32
	Timestamp time.Duration // the timeval as a duration: CLOCK_MONOTONIC for cameras, copied from the output buffer by M2M devices
	NumPlanes int
	Planes    [MaxPlanes]BufferPlane
}

// Queue is one buffer queue of a Device (capture or output), with its
// buffers requested and, for MMAP, mapped.
type Queue struct {
	d       *Device
	typ     BufType
	mem     Memory
	nplanes int
	maps    [][][]byte // MMAP: per buffer, per plane
	lengths [][]int
	offsets [][]uint32
	exports []int // DMABUF fds from Export, closed by Free

	// Scratch for QBUF and DQBUF, kept here so that they do not allocate
	// and so that the planes pointer in raw stays valid. mu guards it:
	// one goroutine may dequeue while another gives buffers back.
	mu     sync.Mutex
	raw    rawBuffer
	planes [maxPlanes]rawPlane
}

// RequestBuffers allocates count buffers of queue type t (VIDIOC_REQBUFS;
// the driver may give more or fewer), learns their layout (QUERYBUF) and
// maps them when mem is MemoryMMAP. The format must be set first.
func (d *Device) RequestBuffers(t BufType, mem Memory, count int) (*Queue, error) {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("%s: RequestBuffers: %w", d.path, ErrClosed)
	}
	rb := rawRequestBuffers{Count: uint32(count), Type: uint32(t), Memory: uint32(mem)}
	if err := d.ioctl(vidiocReqBufs, unsafe.Pointer(&rb), unsafe.Sizeof(rb)); err != nil {
		return nil, err
	}
	q := &Queue{d: d, typ: t, mem: mem}
	if rb.Count == 0 {
		return nil, fmt.Errorf("%s: VIDIOC_REQBUFS %s: the driver gave no buffers: %w", d.path, t, ErrBadArgument)
	}
	n := int(rb.Count)
	q.maps = make([][][]byte, n)
	q.lengths = make([][]int, n)
	q.offsets = make([][]uint32, n)
	for i := 0; i < n; i++ {
		if err := q.query(i); err != nil {
			q.Free()
			return nil, err
		}
	}
	d.mu.Lock()
	d.queues = append(d.queues, q)
	d.mu.Unlock()
	return q, nil
}

// query learns buffer i's planes (VIDIOC_QUERYBUF) and maps them.
func (q *Queue) query(i int) error {
	q.prepare(i)
	if err := q.d.ioctlExt(vidiocQueryBuf, unsafe.Pointer(&q.raw), unsafe.Sizeof(q.raw), q.ext()); err != nil {
		return err
	}
	if q.typ.MPlane() {
		q.nplanes = min(int(q.raw.Length), maxPlanes)
		for p := 0; p < q.nplanes; p++ {
			q.lengths[i] = append(q.lengths[i], int(q.planes[p].Length))
			q.offsets[i] = append(q.offsets[i], uint32(q.planes[p].M))
		}
	} else {
		q.nplanes = 1
		q.lengths[i] = []int{int(q.raw.Length)}
		q.offsets[i] = []uint32{uint32(q.raw.M)}
	}
	if q.mem != MemoryMMAP {
		return nil
	}
	for p := 0; p < q.nplanes; p++ {
		m, err := q.d.conn.Mmap(int64(q.offsets[i][p]), q.lengths[i][p])
		if err != nil {
			return fmt.Errorf("%s: mmap buffer %d plane %d (%d bytes): %w", q.d.path, i, p, q.lengths[i][p], err)
		}
		q.maps[i] = append(q.maps[i], m)
	}
	return nil
}

// prepare zeroes the scratch buffer for index i.
func (q *Queue) prepare(i int) {
	q.raw = rawBuffer{Index: uint32(i), Type: uint32(q.typ), Memory: uint32(q.mem)}
	if q.typ.MPlane() {
		q.planes = [maxPlanes]rawPlane{}
		q.raw.M = uintptr(unsafe.Pointer(&q.planes[0]))
		q.raw.Length = maxPlanes
	}
}

// ext returns the planes array the scratch buffer points at, as bytes,
// for multi-planar queues.
func (q *Queue) ext() []byte {
	if !q.typ.MPlane() {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&q.planes[0])), unsafe.Sizeof(q.planes))
}

// Type returns the queue's buffer type.
func (q *Queue) Type() BufType { return q.typ }

// Memory returns how the queue's buffers are backed.
func (q *Queue) Memory() Memory { return q.mem }

// Len returns the number of buffers.
func (q *Queue) Len() int { return len(q.maps) }

// NumPlanes returns the number of planes per buffer.
func (q *Queue) NumPlanes() int { return q.nplanes }

// PlaneLength returns the size of plane p of buffer i.
func (q *Queue) PlaneLength(i, p int) int { return q.lengths[i][p] }

// Mapped returns the memory of plane p of buffer i (MMAP queues), nil
// otherwise. It stays valid until Free or the device's Close.
func (q *Queue) Mapped(i, p int) []byte {
	if i < 0 || i >= len(q.maps) || p < 0 || p >= len(q.maps[i]) {
		return nil
	}
	return q.maps[i][p]
}

// Enqueue hands a buffer to the driver (VIDIOC_QBUF). For output queues
// b carries BytesUsed per plane and a Timestamp (M2M devices copy it to
// the result); for DMABUF queues it carries the FD per plane. Enqueue and
// Dequeue may be called from different goroutines.
func (q *Queue) Enqueue(b *Buffer) error {
	if b.Index < 0 || b.Index >= len(q.maps) {
		return fmt.Errorf("%s: VIDIOC_QBUF: buffer %d of %d: %w", q.d.path, b.Index, len(q.maps), ErrBadArgument)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.prepare(b.Index)
	r := &q.raw
	r.Flags = uint32(b.Flags)
	r.Field = b.Field
	r.Timestamp = timeval{Sec: int(b.Timestamp / time.Second), Usec: int(b.Timestamp % time.Second / time.Microsecond)}
	if q.typ.MPlane() {
		r.Length = uint32(q.nplanes)
		for p := 0; p < q.nplanes; p++ {
			pl := &q.planes[p]
			pl.BytesUsed = uint32(b.Planes[p].BytesUsed)
			pl.DataOffset = uint32(b.Planes[p].DataOffset)
			pl.Length = uint32(q.lengths[b.Index][p])
			if q.mem == MemoryDMABUF {
				pl.M = uintptr(b.Planes[p].FD)
				if b.Planes[p].Length > 0 {
					pl.Length = uint32(b.Planes[p].Length)
				}
			}
		}
	} else {
		r.BytesUsed = uint32(b.Planes[0].BytesUsed)
		r.Length = uint32(q.lengths[b.Index][0])
		if q.mem == MemoryDMABUF {
			r.M = uintptr(b.Planes[0].FD)
			if b.Planes[0].Length > 0 {
				r.Length = uint32(b.Planes[0].Length)
			}
		}
	}
	return q.d.ioctlExt(vidiocQBuf, unsafe.Pointer(r), unsafe.Sizeof(*r), q.ext())
}

// Dequeue takes a finished buffer back from the driver (VIDIOC_DQBUF)
// into b. With no buffer ready it returns an error for which IsAgain is
// true: Wait first.
func (q *Queue) Dequeue(b *Buffer) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.prepare(0)
	r := &q.raw
	if err := q.d.ioctlExt(vidiocDQBuf, unsafe.Pointer(r), unsafe.Sizeof(*r), q.ext()); err != nil {
		return err
	}
	*b = Buffer{
		Index:     int(r.Index),
		Flags:     BufFlag(r.Flags),
		Field:     r.Field,
		Sequence:  r.Sequence,
		Timestamp: time.Duration(r.Timestamp.Sec)*time.Second + time.Duration(r.Timestamp.Usec)*time.Microsecond,
	}
	if b.Index < 0 || b.Index >= len(q.maps) {
		return fmt.Errorf("%s: VIDIOC_DQBUF returned buffer %d of %d: %w", q.d.path, b.Index, len(q.maps), ErrBadArgument)
	}
	if q.typ.MPlane() {
		b.NumPlanes = min(int(r.Length), maxPlanes)
		for p := 0; p < b.NumPlanes; p++ {
			pl := &q.planes[p]
			b.Planes[p] = BufferPlane{BytesUsed: int(pl.BytesUsed), DataOffset: int(pl.DataOffset), Length: int(pl.Length)}
			if q.mem == MemoryDMABUF {
				b.Planes[p].FD = int(int32(pl.M))
			}
		}
	} else {
		b.NumPlanes = 1
		b.Planes[0] = BufferPlane{BytesUsed: int(r.BytesUsed), Length: int(r.Length)}
		if q.mem == MemoryDMABUF {
			b.Planes[0].FD = int(int32(r.M))
		}
	}
	return nil
}

// Data returns the bytes a dequeued MMAP buffer holds in plane p: from
// DataOffset to BytesUsed, clamped to the mapping.
func (q *Queue) Data(b *Buffer, p int) []byte {
	m := q.Mapped(b.Index, p)
	if m == nil || p >= b.NumPlanes {
		return nil
	}
	end := min(b.Planes[p].BytesUsed, len(m))
	start := min(b.Planes[p].DataOffset, end)
	return m[start:end]
}

// Export exports buffer i's planes as DMABUF file descriptors
// (VIDIOC_EXPBUF), for another device to import. The queue closes them in
// Free.
func (q *Queue) Export(i int) ([]int, error) {
	if i < 0 || i >= len(q.maps) {
		return nil, fmt.Errorf("%s: VIDIOC_EXPBUF: buffer %d of %d: %w", q.d.path, i, len(q.maps), ErrBadArgument)
	}
	fds := make([]int, 0, q.nplanes)
	for p := 0; p < q.nplanes; p++ {
		eb := rawExportBuffer{Type: uint32(q.typ), Index: uint32(i), Plane: uint32(p), Flags: oRDWR | oCLOEXEC}
		if err := q.d.ioctl(vidiocExpBuf, unsafe.Pointer(&eb), unsafe.Sizeof(eb)); err != nil {
			for _, fd := range fds {
				q.d.conn.CloseFD(fd)
			}
			return nil, err
		}
		fds = append(fds, int(eb.FD))
	}
	q.exports = append(q.exports, fds...)
	return fds, nil
}

// O_RDWR and O_CLOEXEC for EXPBUF: the same on amd64, arm64 and arm.
const (
	oRDWR    = 0x2
	oCLOEXEC = 0x80000
)

// unmap closes exported DMABUFs and unmaps the buffers.
func (q *Queue) unmap() error {
	var first error
	for _, fd := range q.exports {
		if err := q.d.conn.CloseFD(fd); err != nil && first == nil {
			first = fmt.Errorf("%s: close dmabuf: %w", q.d.path, err)
		}
	}
	q.exports = nil
	for i := range q.maps {
		for _, m := range q.maps[i] {
			if err := q.d.conn.Munmap(m); err != nil && first == nil {
				first = fmt.Errorf("%s: munmap: %w", q.d.path, err)
			}
		}
		q.maps[i] = nil
	}
	return first
}

// Free unmaps the buffers and releases them (VIDIOC_REQBUFS with count
// 0). The queue must not be streaming. The device's Close frees its queues
// too.
func (q *Queue) Free() error {
	d := q.d
	d.mu.Lock()
	for i, o := range d.queues {
		if o == q {
			d.queues = append(d.queues[:i], d.queues[i+1:]...)
			break
		}
	}
	closed := d.closed
	d.mu.Unlock()
	err := q.unmap()
	if closed {
		return err
	}
	rb := rawRequestBuffers{Count: 0, Type: uint32(q.typ), Memory: uint32(q.mem)}
	if rerr := d.ioctl(vidiocReqBufs, unsafe.Pointer(&rb), unsafe.Sizeof(rb)); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// StreamOn starts streaming on queue type t (VIDIOC_STREAMON).
func (d *Device) StreamOn(t BufType) error {
	v := int32(t)
	return d.ioctl(vidiocStreamOn, unsafe.Pointer(&v), unsafe.Sizeof(v))
}

// StreamOff stops streaming on queue type t and returns all its buffers
// to the application (VIDIOC_STREAMOFF).
func (d *Device) StreamOff(t BufType) error {
	v := int32(t)
	return d.ioctl(vidiocStreamOff, unsafe.Pointer(&v), unsafe.Sizeof(v))
}
