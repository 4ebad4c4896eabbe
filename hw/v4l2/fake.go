package v4l2

import (
	"unsafe"
)

// The helpers below let a Conn that records or replays the exchange
// (package v4l2test) see the pointer fields of the few requests that carry
// them, and find the data a driver wrote into mapped buffers. Nothing else
// needs them.

// PointerSize is the size of a pointer in the argument structs: the
// recordings of one pointer size replay only on targets of the same one.
const PointerSize = int(unsafe.Sizeof(uintptr(0)))

// PointerOffset returns the offset of the pointer field in the argument of
// a request that carries one (multi-planar QUERYBUF, QBUF and DQBUF;
// G/S/TRY_EXT_CTRLS), whose value differs from run to run. ok is false
// for every other request and for arguments without a pointer.
func PointerOffset(req uint32, arg []byte) (off int, ok bool) {
	switch req {
	case vidiocQueryBuf, vidiocQBuf, vidiocDQBuf:
		var b rawBuffer
		if len(arg) != int(unsafe.Sizeof(b)) {
			return 0, false
		}
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&b)), unsafe.Sizeof(b)), arg)
		return int(unsafe.Offsetof(b.M)), BufType(b.Type).MPlane()
	case vidiocGExtCtrls, vidiocSExtCtrls, vidiocTryExtCtrls:
		var c rawExtControls
		return int(unsafe.Offsetof(c.Controls)), len(arg) == int(unsafe.Sizeof(c))
	}
	return 0, false
}

// MappedPlane locates the data of one plane of a dequeued buffer: the
// mmap offset of the plane's memory and the bytes the driver filled.
type MappedPlane struct {
	Offset    int64
	BytesUsed int
}

// DequeuedData appends to dst, for a successful DQBUF of a
// capture-direction MMAP buffer, where the driver put the data, and
// returns dst unchanged for anything else. arg and ext are the argument
// and array after the call.
func DequeuedData(dst []MappedPlane, req uint32, arg, ext []byte) []MappedPlane {
	var b rawBuffer
	if req != vidiocDQBuf || len(arg) != int(unsafe.Sizeof(b)) {
		return dst
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&b)), unsafe.Sizeof(b)), arg)
	t := BufType(b.Type)
	if !t.Capture() || Memory(b.Memory) != MemoryMMAP {
		return dst
	}
	if !t.MPlane() {
		return append(dst, MappedPlane{Offset: int64(uint32(b.M)), BytesUsed: int(b.BytesUsed)})
	}
	var p rawPlane
	size := int(unsafe.Sizeof(p))
	n := min(int(b.Length), maxPlanes, len(ext)/size)
	for i := 0; i < n; i++ {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&p)), size), ext[i*size:])
		dst = append(dst, MappedPlane{Offset: int64(uint32(p.M)), BytesUsed: int(p.BytesUsed)})
	}
	return dst
}
