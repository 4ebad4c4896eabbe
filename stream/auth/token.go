package auth

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/camd-project/camd/internal/atomicfile"
)

// TokenBytes is the random part of a generated token: 192 bits, written
// as 32 characters of unpadded base64url.
const TokenBytes = 24

// MinTokenLen is the shortest configured token accepted: 22 base64url
// characters carry 128 bits.
const MinTokenLen = 22

// FileName is the token's file in the state directory.
const FileName = "token"

// NewToken returns a fresh random token, URL-safe.
func NewToken() (string, error) {
	b := make([]byte, TokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: crypto/rand: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// CheckToken says what is wrong with a token given in the config, or nil.
// A token goes into a URL fragment and an HTTP header, so it must be
// URL-safe: letters, digits, '-', '_', '.' and '~'.
func CheckToken(t string) error {
	if len(t) < MinTokenLen {
		return fmt.Errorf("must be at least %d characters (128 bits), got %d; `camd token -new` prints a good one", MinTokenLen, len(t))
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '~') {
			return errors.New("may hold only A-Z, a-z, 0-9, '-', '_', '.' and '~'")
		}
	}
	return nil
}

// LoadOrCreate returns the token kept in dir, making dir (0700) and the
// token file (0600) on first use. created says whether this call made the
// token. Several processes starting at once agree on one token.
func LoadOrCreate(dir string) (token string, created bool, err error) {
	path := filepath.Join(dir, FileName)
	if t, err := Load(dir); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return t, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, fmt.Errorf("auth: state directory: %w (set state_dir to a writable directory)", err)
	}
	t, err := NewToken()
	if err != nil {
		return "", false, err
	}
	created, err = atomicfile.Create(path, []byte(t+"\n"), 0o600)
	if err != nil {
		return "", false, fmt.Errorf("auth: writing %s: %w (set state_dir to a writable directory)", path, err)
	}
	if !created { // another camd made it a moment ago
		t, err = Load(dir)
	}
	return t, created, err
}

// Load reads the token kept in dir. A missing file is an error that
// matches fs.ErrNotExist.
func Load(dir string) (string, error) {
	path := filepath.Join(dir, FileName)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	t := string(bytes.TrimSpace(b))
	if err := CheckToken(t); err != nil {
		return "", fmt.Errorf("auth: %s: the token %v; delete the file and camd makes a new one", path, err)
	}
	return t, nil
}
