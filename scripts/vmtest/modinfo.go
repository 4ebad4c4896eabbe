package vmtest

import (
	"bytes"
	"debug/elf"
	"fmt"
	"slices"
	"strings"
)

// modinfo is what the kernel's .modinfo section says about a module.
type modinfo struct {
	Name     string   // "videobuf2-common" (dashes, as in file names)
	Depends  []string // module names, dashes
	Vermagic string
}

// readModinfo parses the .modinfo section of a .ko file's bytes.
func readModinfo(ko []byte) (modinfo, error) {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return modinfo{}, fmt.Errorf("elf.NewFile: %w", err)
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return modinfo{}, fmt.Errorf("elf: no .modinfo section")
	}
	data, err := sec.Data()
	if err != nil {
		return modinfo{}, fmt.Errorf("elf .modinfo: %w", err)
	}
	var mi modinfo
	for _, kv := range bytes.Split(data, []byte{0}) {
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok {
			continue
		}
		switch k {
		case "name":
			mi.Name = modName(v)
		case "vermagic":
			mi.Vermagic = v
		case "depends":
			for _, d := range strings.Split(v, ",") {
				if d != "" {
					mi.Depends = append(mi.Depends, modName(d))
				}
			}
		}
	}
	if mi.Name == "" {
		return modinfo{}, fmt.Errorf("elf .modinfo: no name")
	}
	return mi, nil
}

// modName normalises a module name: the kernel treats - and _ alike.
func modName(s string) string { return strings.ReplaceAll(s, "_", "-") }

// closure returns roots and everything they depend on, dependencies first.
// It fails naming any module that is needed but not in mods.
func closure(mods map[string]modinfo, roots []string) ([]string, error) {
	var order, missing []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string) error
	visit = func(n string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("modules: dependency cycle at %s", n)
		case 2:
			return nil
		}
		mi, ok := mods[n]
		if !ok {
			if !slices.Contains(missing, n) {
				missing = append(missing, n)
			}
			state[n] = 2
			return nil
		}
		state[n] = 1
		for _, d := range mi.Depends {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[n] = 2
		order = append(order, n)
		return nil
	}
	for _, r := range roots {
		if err := visit(modName(r)); err != nil {
			return nil, err
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("modules: %s needed but not found", strings.Join(missing, ", "))
	}
	return order, nil
}
