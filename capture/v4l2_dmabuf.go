package capture

import "sync"

// DMABuf is a frame's memory as a DMABUF: a file descriptor that another
// device (a hardware encoder) can import instead of having the frame
// copied, and the size of the buffer behind it.
type DMABuf struct {
	FD, Size int
}

// dmabufs maps the frames of V4L2 sessions whose buffers the driver
// exported to their DMABUF.
var dmabufs sync.Map // *Frame → DMABuf

// FrameDMABuf returns the DMABUF holding f's memory, for frames of a V4L2
// camera whose driver exports its buffers. The descriptor stays valid
// until f is released. Raw frames' planes lie in it one after the other
// at the frame's strides, Y at offset 0.
func FrameDMABuf(f *Frame) (DMABuf, bool) {
	v, ok := dmabufs.Load(f)
	if !ok {
		return DMABuf{}, false
	}
	return v.(DMABuf), true
}

// export exports the session's buffers as DMABUFs when the driver can and
// the format is raw; without it frames are copied, as before.
func (sess *v4l2Session) export() {
	if sess.frames[0].Format.Compressed() || sess.q.NumPlanes() != 1 {
		return
	}
	fds := make([]int, len(sess.frames))
	for i := range sess.frames {
		fd, err := sess.q.Export(i)
		if err != nil {
			sess.s.log.Debug("camera buffers not exportable as DMABUF; frames will be copied", "err", err)
			return
		}
		fds[i] = fd[0]
	}
	for i, f := range sess.frames {
		dmabufs.Store(f, DMABuf{FD: fds[i], Size: sess.q.PlaneLength(i, 0)})
	}
	sess.exported = true
}

// unexport forgets the session's DMABUFs; Free closes them.
func (sess *v4l2Session) unexport() {
	if !sess.exported {
		return
	}
	for _, f := range sess.frames {
		dmabufs.Delete(f)
	}
	sess.exported = false
}
