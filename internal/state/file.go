package state

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// FileStore keeps each key in its own 0600 file, written atomically.
type FileStore struct{ dir string }

// NewFile returns a file store rooted at dir; the folder is made on first Set.
func NewFile(dir string) *FileStore { return &FileStore{dir: dir} }

// Describe implements Store.
func (f *FileStore) Describe() string { return "file (" + f.dir + ")" }

func (f *FileStore) path(key string) (string, error) {
	if key == "" || strings.Contains(key, "..") {
		return "", fmt.Errorf("invalid state key %q", key)
	}
	// One flat folder: keys never create sub-folders, and escaping keeps
	// every name a single path element.
	return filepath.Join(f.dir, url.PathEscape(key)), nil
}

// Get implements Store.
func (f *FileStore) Get(key string) ([]byte, error) {
	p, err := f.path(key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("state store: cannot read %s: %w (fix its permissions, or move it away to start afresh)", p, err)
	}
	return b, nil
}

// Set implements Store: a temporary file in the same folder, synced, then
// renamed over the old one, so a crash leaves the old value or the new one.
func (f *FileStore) Set(key string, value []byte) error {
	p, err := f.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return fmt.Errorf("state store: cannot create %s: %w", f.dir, err)
	}
	tmp, err := os.CreateTemp(f.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("state store: cannot write in %s: %w", f.dir, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(value); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("state store: cannot replace %s: %w", p, err)
	}
	return nil
}

// Delete implements Store; deleting a missing key is not an error.
func (f *FileStore) Delete(key string) error {
	p, err := f.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
