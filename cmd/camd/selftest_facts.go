package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	bug "go.bug.st/serial"

	"github.com/camd-project/camd/config"
	"github.com/camd-project/camd/encode"
	"github.com/camd-project/camd/hw/serial"
	"github.com/camd-project/camd/hw/v4l2"
)

// firmwareConfigs are where Raspberry Pi systems keep the firmware's
// config.txt: Raspberry Pi OS since Bookworm, before it, and camd's image.
var firmwareConfigs = []string{"/boot/firmware/config.txt", "/boot/config.txt"}

// gatherFacts looks at this machine: who runs selftest, the board, the
// video devices and the serial port the config names.
func gatherFacts(cfg *config.Config) *facts {
	f := &facts{
		uid:      os.Getuid(),
		software: encode.SoftwareBuiltIn(),
		source:   cfg.Source.Kind,
		modules:  loadedModules(),
		access:   map[string]error{},
	}
	f.user, f.groups = currentUser()
	if u, err := user.Lookup("camd"); err == nil {
		f.serviceUser = groupNames(u)
	}
	if b, err := os.ReadFile("/proc/device-tree/model"); err == nil {
		f.board = strings.TrimRight(string(b), "\x00\n")
	}
	for _, p := range firmwareConfigs {
		if b, err := os.ReadFile(p); err == nil {
			f.bootConfig, f.bootKeys = p, parseFirmwareConfig(string(b))
			break
		}
	}
	f.devices, f.enumErr = v4l2.Enumerate()
	nodes, _ := filepath.Glob("/dev/video*")
	for _, n := range nodes {
		fd, err := os.OpenFile(n, os.O_RDWR, 0)
		if err == nil {
			fd.Close()
		}
		f.access[n] = err
	}
	f.serialPort, f.serialErr = probeSerial(cfg.Serial)
	return f
}

// currentUser names this process's user and groups.
func currentUser() (string, []string) {
	name := strconv.Itoa(os.Getuid())
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	gids, _ := os.Getgroups()
	gids = append(gids, os.Getgid())
	var groups []string
	seen := map[string]bool{}
	for _, id := range gids {
		g := strconv.Itoa(id)
		if grp, err := user.LookupGroupId(g); err == nil {
			g = grp.Name
		}
		if !seen[g] {
			seen[g] = true
			groups = append(groups, g)
		}
	}
	return name, groups
}

func groupNames(u *user.User) []string {
	ids, err := u.GroupIds()
	if err != nil {
		return []string{}
	}
	out := []string{}
	for _, id := range ids {
		if g, err := user.LookupGroupId(id); err == nil {
			out = append(out, g.Name)
		}
	}
	return out
}

// parseFirmwareConfig reads config.txt's active key=value lines; later
// lines win. Conditional sections ([pi4], [all]) are not told apart.
func parseFirmwareConfig(text string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.SplitN(line, "#", 2)[0])
		if k, v, ok := strings.Cut(line, "="); ok {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

// loadedModules lists /proc/modules by name (underscores, as the kernel
// writes them).
func loadedModules() map[string]bool {
	out := map[string]bool{}
	b, err := os.ReadFile("/proc/modules")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		if name, _, ok := strings.Cut(line, " "); ok {
			out[name] = true
		}
	}
	return out
}

// probeSerial opens the configured serial port, if any, and closes it.
// Permission problems come back wrapping fs.ErrPermission.
func probeSerial(c config.Serial) (string, error) {
	if c.Port == "" && c.USB == "" {
		return "", nil
	}
	sc := serial.Config{Path: c.Port, Baud: c.Baud}
	name := c.Port
	if c.USB != "" {
		parts := strings.Split(c.USB, ":")
		sc.VID, sc.PID = parts[0], parts[1]
		if len(parts) == 3 {
			sc.SerialNumber = parts[2]
		}
		name = "USB " + c.USB
	}
	p, path, err := serial.Open(sc)
	if path != "" {
		name = path
	}
	if err != nil {
		var pe *bug.PortError
		if errors.As(err, &pe) && pe.Code() == bug.PermissionDenied {
			return name, fmt.Errorf("%w: %v", fs.ErrPermission, err)
		}
		return name, err
	}
	return name, p.Close()
}
