package v4l2

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// Control describes a control (VIDIOC_QUERY_EXT_CTRL).
type Control struct {
	ID      uint32     `json:"id"`
	Type    CtrlType   `json:"type"`
	Name    string     `json:"name"`
	Min     int64      `json:"min"`
	Max     int64      `json:"max"`
	Step    int64      `json:"step"`
	Default int64      `json:"default"`
	Flags   uint32     `json:"flags"`
	Menu    []MenuItem `json:"menu,omitempty"` // menu and integer-menu controls
}

// MenuItem is one choice of a menu control.
type MenuItem struct {
	Index int64  `json:"index"`
	Name  string `json:"name,omitempty"`  // menu controls
	Value int64  `json:"value,omitempty"` // integer-menu controls
}

// Writable reports whether the control can be set now.
func (c Control) Writable() bool {
	return c.Flags&(CtrlFlagDisabled|CtrlFlagReadOnly) == 0
}

// Clamp returns v limited to the control's range and rounded down to its
// step.
func (c Control) Clamp(v int64) int64 {
	if c.Max > c.Min {
		v = max(min(v, c.Max), c.Min)
		if c.Step > 1 {
			v = c.Min + (v-c.Min)/c.Step*c.Step
		}
	}
	return v
}

// QueryControl describes control id. An unknown control gives an error
// for which IsNotSupported is true.
func (d *Device) QueryControl(id uint32) (Control, error) {
	q := rawQueryExtCtrl{ID: id}
	if err := d.ioctl(vidiocQueryExtCtrl, unsafe.Pointer(&q), unsafe.Sizeof(q)); err != nil {
		return Control{}, err
	}
	return d.control(&q)
}

func (d *Device) control(q *rawQueryExtCtrl) (Control, error) {
	c := Control{
		ID: q.ID, Type: CtrlType(q.Type), Name: cstr(q.Name[:]),
		Min: q.Minimum, Max: q.Maximum, Step: int64(q.Step), Default: q.DefaultValue,
		Flags: q.Flags,
	}
	if c.Type == CtrlMenu || c.Type == CtrlIntegerMenu {
		for i := c.Min; i <= c.Max && i-c.Min < 256; i++ {
			m := rawQueryMenu{ID: c.ID, Index: uint32(i)}
			if err := d.ioctl(vidiocQueryMenu, unsafe.Pointer(&m), unsafe.Sizeof(m)); err != nil {
				if IsNotSupported(err) {
					continue // menus may have holes
				}
				return c, err
			}
			item := MenuItem{Index: i}
			if c.Type == CtrlMenu {
				item.Name = cstr(m.Name[:])
			} else {
				item.Value = int64(binary.LittleEndian.Uint64(m.Name[:8]))
			}
			c.Menu = append(c.Menu, item)
		}
	}
	return c, nil
}

// Controls lists every control of the device, class headings left out.
func (d *Device) Controls() ([]Control, error) {
	var out []Control
	id := uint32(0)
	for n := 0; n < 1024; n++ {
		q := rawQueryExtCtrl{ID: id | CtrlFlagNextCtrl}
		if err := d.ioctl(vidiocQueryExtCtrl, unsafe.Pointer(&q), unsafe.Sizeof(q)); err != nil {
			if IsNotSupported(err) { // EINVAL: no more controls
				return out, nil
			}
			return out, err
		}
		id = q.ID
		if CtrlType(q.Type) == CtrlClass {
			continue
		}
		c, err := d.control(&q)
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
	return out, nil
}

// GetControl reads a control's value (VIDIOC_G_CTRL).
func (d *Device) GetControl(id uint32) (int32, error) {
	c := rawControl{ID: id}
	if err := d.ioctl(vidiocGCtrl, unsafe.Pointer(&c), unsafe.Sizeof(c)); err != nil {
		return 0, err
	}
	return c.Value, nil
}

// SetControl sets a control (VIDIOC_S_CTRL). Drivers may adjust the value;
// an unknown control gives an error for which IsNotSupported is true.
func (d *Device) SetControl(id uint32, v int32) error {
	c := rawControl{ID: id, Value: v}
	return d.ioctl(vidiocSCtrl, unsafe.Pointer(&c), unsafe.Sizeof(c))
}

// ExtControl is one control of an extended-controls request.
type ExtControl struct {
	ID    uint32
	Value int64 // 32-bit controls use the low half
}

// SetControls sets several controls at once (VIDIOC_S_EXT_CTRLS); the
// driver applies all or none. It writes back the values the driver chose.
// On failure the error says which control failed when the driver does.
func (d *Device) SetControls(ctrls []ExtControl) error {
	return d.extControls(vidiocSExtCtrls, ctrls)
}

// GetControls reads several controls at once (VIDIOC_G_EXT_CTRLS).
func (d *Device) GetControls(ctrls []ExtControl) error {
	return d.extControls(vidiocGExtCtrls, ctrls)
}

func (d *Device) extControls(req uint32, ctrls []ExtControl) error {
	if len(ctrls) == 0 {
		return nil
	}
	raw := make([]rawExtControl, len(ctrls))
	for i, c := range ctrls {
		raw[i].ID = c.ID
		binary.LittleEndian.PutUint64(raw[i].Value[:], uint64(c.Value))
	}
	cs := rawExtControls{Which: 0, Count: uint32(len(raw)), Controls: uintptr(unsafe.Pointer(&raw[0]))}
	ext := unsafe.Slice((*byte)(unsafe.Pointer(&raw[0])), uintptr(len(raw))*unsafe.Sizeof(raw[0]))
	err := d.ioctlExt(req, unsafe.Pointer(&cs), unsafe.Sizeof(cs), ext)
	for i := range raw {
		ctrls[i].Value = int64(binary.LittleEndian.Uint64(raw[i].Value[:]))
	}
	if err != nil {
		if int(cs.ErrorIdx) < len(ctrls) {
			return fmt.Errorf("control 0x%08x: %w", ctrls[cs.ErrorIdx].ID, err)
		}
		return err
	}
	return nil
}
