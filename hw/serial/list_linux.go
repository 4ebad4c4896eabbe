package serial

import (
	"strings"

	"go.bug.st/serial/enumerator"
)

// listPorts reads the ports and their USB details from /dev and sysfs.
var listPorts = func() ([]PortInfo, error) {
	ds, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, err
	}
	return portInfos(ds), nil
}

func portInfos(ds []*enumerator.PortDetails) []PortInfo {
	out := make([]PortInfo, 0, len(ds))
	for _, d := range ds {
		if d == nil || d.Name == "" {
			continue
		}
		out = append(out, PortInfo{
			Path: d.Name, USB: d.IsUSB,
			VID: strings.ToLower(d.VID), PID: strings.ToLower(d.PID), SerialNumber: d.SerialNumber,
			Manufacturer: d.Manufacturer, Product: d.Product,
		})
	}
	return out
}
