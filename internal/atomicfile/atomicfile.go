// Package atomicfile writes small files (secrets, state, configuration) so
// that a crash or power cut at any moment leaves either the old file or the
// new one on disk, never a truncated or partly written one.
//
// The recipe: write a temporary file in the same directory (so the rename
// cannot cross file systems), fsync it, rename it over the target (atomic
// on POSIX file systems), then fsync the directory so the rename itself is
// durable. See rename(2) and fsync(2).
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data, created with perm (before the umask
// is applied to nothing: the mode is set explicitly, so 0600 stays 0600).
// Readers see the old content or the new, never a mix.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("atomicfile: os.Rename: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// Create writes data to path only if path does not exist yet, atomically
// as WriteFile does. It reports whether it created the file; when another
// process got there first, created is false and the other's file stays.
// Two processes racing agree on one file: the link that publishes it fails
// for the second.
func Create(path string, data []byte, perm fs.FileMode) (created bool, err error) {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	err = os.Link(tmp, path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrExist):
		return false, nil
	default:
		// File systems without hard links (FAT) refuse the link; a
		// check and a rename is the best they allow.
		if _, serr := os.Lstat(path); serr == nil {
			return false, nil
		}
		if rerr := os.Rename(tmp, path); rerr != nil {
			return false, fmt.Errorf("atomicfile: os.Link: %v; os.Rename: %w", err, rerr)
		}
	}
	return true, syncDir(filepath.Dir(path))
}

// writeTemp writes data to a new temporary file next to path, synced to
// disk, and returns its name.
func writeTemp(path string, data []byte, perm fs.FileMode) (string, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("atomicfile: os.CreateTemp: %w", err)
	}
	name := f.Name()
	fail := func(op string, err error) (string, error) {
		_ = f.Close()
		_ = os.Remove(name)
		return "", fmt.Errorf("atomicfile: %s: %w", op, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail("Chmod", err)
	}
	if _, err := f.Write(data); err != nil {
		return fail("Write", err)
	}
	if err := f.Sync(); err != nil {
		return fail("Sync", err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(name)
		return "", fmt.Errorf("atomicfile: Close: %w", err)
	}
	return name, nil
}

// syncDir makes a rename in dir durable. File systems that cannot sync a
// directory (some FUSE and FAT mounts answer EINVAL) are left as they are:
// the rename is still atomic, only its durability is up to them.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("atomicfile: open directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) && !isEINVAL(err) {
		return fmt.Errorf("atomicfile: sync directory: %w", err)
	}
	return nil
}
