//go:build !linux

package serial

import bug "go.bug.st/serial"

// listPorts lists the ports without USB details (the enumerator needs cgo
// on some systems); camd matches USB ids on Linux only.
var listPorts = func() ([]PortInfo, error) {
	names, err := bug.GetPortsList()
	if err != nil {
		return nil, err
	}
	out := make([]PortInfo, len(names))
	for i, n := range names {
		out[i] = PortInfo{Path: n}
	}
	return out, nil
}
