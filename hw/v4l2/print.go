package v4l2

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteJSON writes devices as indented JSON (`camd devices -json`).
func WriteJSON(w io.Writer, devs []DeviceInfo) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if devs == nil {
		devs = []DeviceInfo{}
	}
	if err := enc.Encode(devs); err != nil {
		return fmt.Errorf("v4l2.WriteJSON: %w", err)
	}
	return nil
}

// WriteTable writes devices for a person at a terminal (`camd devices`):
// a line per node, then its formats with sizes and frame rates, and for
// M2M devices the controls with their ranges.
func WriteTable(w io.Writer, devs []DeviceInfo) error {
	var b strings.Builder
	if len(devs) == 0 {
		b.WriteString("no video devices (/dev/video*)\n")
	}
	for _, d := range devs {
		fmt.Fprintf(&b, "%-12s %-8s %s %q %s\n", d.Path, d.Kind, d.Driver, d.Card, d.BusInfo)
		for _, l := range d.Links {
			fmt.Fprintf(&b, "    link     %s\n", l)
		}
		if d.Err != "" {
			fmt.Fprintf(&b, "    error    %s\n", d.Err)
		}
		for _, in := range d.Inputs {
			extra := ""
			if in.Capabilities&InputCapDVTimings != 0 {
				extra = " (DV timings)"
			}
			fmt.Fprintf(&b, "    input %d  %s%s\n", in.Index, in.Name, extra)
		}
		inLabel, outLabel := "format  ", "format  "
		if d.Kind == KindEncoder || d.Kind == KindDecoder || d.Kind == KindM2M {
			inLabel, outLabel = "in      ", "out     "
		}
		for _, f := range d.Output {
			fmt.Fprintf(&b, "    %s %-4s %s\n", inLabel, f.FourCC, formatSizes(f))
		}
		for _, f := range d.Capture {
			fmt.Fprintf(&b, "    %s %-4s %s\n", outLabel, f.FourCC, formatSizes(f))
		}
		if d.Kind == KindEncoder || d.Kind == KindDecoder || d.Kind == KindM2M {
			for _, c := range d.Controls {
				fmt.Fprintf(&b, "    control  %s\n", controlLine(c))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func formatSizes(f FormatInfo) string {
	var parts []string
	for _, s := range f.Sizes {
		parts = append(parts, sizeString(s))
	}
	desc := f.Description
	if f.Compressed && !strings.Contains(strings.ToLower(desc), "compressed") {
		desc += ", compressed"
	}
	if len(parts) == 0 {
		return desc
	}
	return desc + ": " + strings.Join(parts, "; ")
}

func sizeString(s SizeInfo) string {
	if s.Type != FrmSizeDiscrete {
		return fmt.Sprintf("%dx%d..%dx%d", s.MinWidth, s.MinHeight, s.MaxWidth, s.MaxHeight)
	}
	size := fmt.Sprintf("%dx%d", s.MinWidth, s.MinHeight)
	var rates []string
	for _, iv := range s.Intervals {
		if iv.Type == FrmSizeDiscrete {
			rates = append(rates, fpsString(iv.Min.FPS()))
		} else {
			rates = append(rates, fpsString(iv.Max.FPS())+"-"+fpsString(iv.Min.FPS()))
		}
	}
	if len(rates) == 0 {
		return size
	}
	return size + "@" + strings.Join(rates, ",")
}

func fpsString(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func controlLine(c Control) string {
	name := c.Name
	switch c.Type {
	case CtrlMenu, CtrlIntegerMenu:
		var items []string
		for _, m := range c.Menu {
			if c.Type == CtrlMenu {
				items = append(items, fmt.Sprintf("%d %s", m.Index, m.Name))
			} else {
				items = append(items, fmt.Sprintf("%d %d", m.Index, m.Value))
			}
		}
		return fmt.Sprintf("%s: menu [%s] default %d", name, strings.Join(items, ", "), c.Default)
	case CtrlBoolean:
		return fmt.Sprintf("%s: bool default %d", name, c.Default)
	case CtrlButton:
		return name + ": button"
	}
	return fmt.Sprintf("%s: %d..%d step %d default %d", name, c.Min, c.Max, c.Step, c.Default)
}
