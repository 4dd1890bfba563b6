// Package disk keeps the file service's blobs in a directory, content
// addressed: it implements files.Blobs. The blob of digest abcd… lives at
// dir/ab/cd/abcd…; paths derive only from a validated hex digest, so no
// client-supplied string ever reaches the file system. Blobs are written to
// a temporary in dir/tmp (the same file system), fsynced, and only then
// renamed into place (then the directory fsynced), so a crash never leaves
// a half blob visible.
package disk

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/opencommerce/opencommerce/services/file/files"
)

// Dir is a blob directory. Safe for concurrent use.
type Dir struct {
	dir string
	tmp string
}

// tmpPrefix starts the name of every upload temporary.
const tmpPrefix = "upload-"

var _ files.Blobs = (*Dir)(nil)

// Open opens (creating) the blob directory dir and its tmp directory.
func Open(dir string) (*Dir, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("file.dir %q: %w", dir, err)
	}
	s := &Dir{dir: abs, tmp: filepath.Join(abs, "tmp")}
	if err := os.MkdirAll(s.tmp, 0o750); err != nil {
		return nil, fmt.Errorf("file.dir: %w", err)
	}
	return s, nil
}

// validSum reports whether s is a lower-case hex SHA-256 digest.
func validSum(s string) bool {
	if len(s) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// path is where the blob of sum lives. sum must be valid (validSum); the
// function panics otherwise, since that is a programming error that must
// never turn into a file system path.
func (s *Dir) path(sum string) string {
	if !validSum(sum) {
		panic("file: invalid blob digest " + fmt.Sprintf("%q", sum))
	}
	return filepath.Join(s.dir, sum[0:2], sum[2:4], sum)
}

// Temp returns the temporaries directory (for a health check).
func (s *Dir) Temp() string { return s.tmp }

// Path returns the directory's absolute path.
func (s *Dir) Path() string { return s.dir }

// tempBlob is a blob being written: bytes go to the temporary file and the
// hash at once. It implements files.Temp.
type tempBlob struct {
	f    *os.File
	h    hash.Hash
	size int64
	sum  string // set by finish
	done bool   // published or discarded
}

// Create implements files.Blobs.
func (s *Dir) Create() (files.Temp, error) {
	f, err := os.CreateTemp(s.tmp, tmpPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("create temporary: %w", err)
	}
	return &tempBlob{f: f, h: sha256.New()}, nil
}

// Write implements io.Writer.
func (t *tempBlob) Write(p []byte) (int, error) {
	n, err := t.f.Write(p)
	t.h.Write(p[:n])
	t.size += int64(n)
	return n, err
}

// Finish implements files.Temp: it flushes the temporary to stable storage
// and computes its digest.
func (t *tempBlob) Finish() error {
	if err := t.f.Sync(); err != nil {
		return fmt.Errorf("fsync temporary: %w", err)
	}
	if err := t.f.Close(); err != nil {
		return fmt.Errorf("close temporary: %w", err)
	}
	t.sum = hex.EncodeToString(t.h.Sum(nil))
	return nil
}

// Sum implements files.Temp.
func (t *tempBlob) Sum() string { return t.sum }

// Size implements files.Temp.
func (t *tempBlob) Size() int64 { return t.size }

// Open implements files.Temp.
func (t *tempBlob) Open() (io.ReadSeekCloser, error) { return os.Open(t.f.Name()) }

// Discard implements files.Temp: it removes the temporary unless it was
// published. Safe to call more than once.
func (t *tempBlob) Discard() {
	if t.done {
		return
	}
	t.done = true
	_ = t.f.Close()
	_ = os.Remove(t.f.Name())
}

// Publish implements files.Blobs: it renames a finished temporary into its
// content address. An existing blob of the same digest is replaced by
// identical bytes (which also repairs a damaged one); readers holding the
// old one keep reading it.
func (s *Dir) Publish(ft files.Temp) error {
	t, ok := ft.(*tempBlob)
	if !ok {
		return fmt.Errorf("disk: publish of a foreign temporary %T", ft)
	}
	if t.done {
		return nil
	}
	dst := s.path(t.sum)
	parent := filepath.Dir(dst)
	if err := os.MkdirAll(parent, 0o750); err != nil {
		return fmt.Errorf("blob directory: %w", err)
	}
	if err := os.Rename(t.f.Name(), dst); err != nil {
		return fmt.Errorf("publish blob: %w", err)
	}
	t.done = true
	syncDir(parent)
	return nil
}

// syncDir makes a rename or removal in dir durable (best effort: some file
// systems refuse fsync on directories).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// Open implements files.Blobs.
func (s *Dir) Open(sum string) (files.Blob, error) {
	if !validSum(sum) {
		return nil, fmt.Errorf("open blob %q: %w", sum, fs.ErrNotExist)
	}
	f, err := os.Open(s.path(sum))
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Exists implements files.Blobs.
func (s *Dir) Exists(sum string) bool {
	_, err := os.Stat(s.path(sum))
	return err == nil
}

// Remove implements files.Blobs: a missing blob is not an error.
func (s *Dir) Remove(sum string) error {
	p := s.path(sum)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	syncDir(filepath.Dir(p))
	return nil
}

// Walk implements files.Blobs. Entries that are not blobs (wrong names or
// depth) are skipped.
func (s *Dir) Walk(fn func(sum string) error) error {
	return filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			if p == s.tmp {
				return filepath.SkipDir
			}
			return nil
		}
		sum := d.Name()
		if !validSum(sum) || p != s.path(sum) {
			return nil
		}
		return fn(sum)
	})
}

// StaleTemps implements files.Blobs.
func (s *Dir) StaleTemps(maxAge time.Duration, now time.Time) (int, error) {
	ents, err := os.ReadDir(s.tmp)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		if now.Sub(info.ModTime()) < maxAge {
			continue
		}
		if err := os.Remove(filepath.Join(s.tmp, e.Name())); err == nil {
			n++
		}
	}
	return n, nil
}
