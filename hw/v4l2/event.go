package v4l2

import (
	"encoding/binary"
	"errors"
	"syscall"
	"time"
	"unsafe"
)

// Event is a dequeued event (VIDIOC_DQEVENT).
type Event struct {
	Type     uint32
	ID       uint32 // the control, for EventCtrl
	Sequence uint32
	Pending  uint32 // events still queued
	Time     time.Duration
	// Changes holds v4l2_event_src_change.changes for EventSourceChange
	// (1: resolution) and v4l2_event_ctrl.changes for EventCtrl.
	Changes uint32
	// Value is the control's new value, for EventCtrl.
	Value int64
}

// SubscribeEvent subscribes to events of type typ (for EventCtrl, of
// control id).
func (d *Device) SubscribeEvent(typ, id uint32) error {
	s := rawEventSubscription{Type: typ, ID: id}
	return d.ioctl(vidiocSubscribeEvent, unsafe.Pointer(&s), unsafe.Sizeof(s))
}

// UnsubscribeEvent ends a subscription.
func (d *Device) UnsubscribeEvent(typ, id uint32) error {
	s := rawEventSubscription{Type: typ, ID: id}
	return d.ioctl(vidiocUnsubscribeEvent, unsafe.Pointer(&s), unsafe.Sizeof(s))
}

// DequeueEvent takes the next pending event. With none pending it returns
// an error for which IsAgain is true (drivers say ENOENT, which this
// turns into EAGAIN): Wait for PollPri first.
func (d *Device) DequeueEvent() (Event, error) {
	var e rawEvent
	if err := d.ioctl(vidiocDQEvent, unsafe.Pointer(&e), unsafe.Sizeof(e)); err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return Event{}, errAgain
		}
		return Event{}, err
	}
	ev := Event{
		Type: e.Type, ID: e.ID, Sequence: e.Sequence, Pending: e.Pending,
		Time:    time.Duration(e.Timestamp.Sec)*time.Second + time.Duration(e.Timestamp.Nsec),
		Changes: binary.LittleEndian.Uint32(e.U[0:4]),
	}
	if e.Type == EventCtrl {
		ev.Value = int64(binary.LittleEndian.Uint64(e.U[8:16]))
	}
	return ev, nil
}

// EncoderCommand sends an encoder command (VIDIOC_ENCODER_CMD): EncCmdStop
// drains the encoder (the last capture buffer comes back with BufFlagLast),
// EncCmdStart resumes it after a drain.
func (d *Device) EncoderCommand(cmd, flags uint32) error {
	c := rawEncoderCmd{Cmd: cmd, Flags: flags}
	return d.ioctl(vidiocEncoderCmd, unsafe.Pointer(&c), unsafe.Sizeof(c))
}

// DecoderCommand sends a decoder command (VIDIOC_DECODER_CMD): DecCmdStop
// drains the decoder (the last decoded buffer comes back with
// BufFlagLast, then EventEOS), DecCmdStart resumes it after a drain.
func (d *Device) DecoderCommand(cmd, flags uint32) error {
	c := rawDecoderCmd{Cmd: cmd, Flags: flags}
	return d.ioctl(vidiocDecoderCmd, unsafe.Pointer(&c), unsafe.Sizeof(c))
}

// TryEncoderCommand reports whether the driver accepts an encoder command
// (VIDIOC_TRY_ENCODER_CMD) without sending it.
func (d *Device) TryEncoderCommand(cmd, flags uint32) error {
	c := rawEncoderCmd{Cmd: cmd, Flags: flags}
	return d.ioctl(vidiocTryEncoderCmd, unsafe.Pointer(&c), unsafe.Sizeof(c))
}
