package file

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// blobStore keeps content-addressed blobs on disk: the blob of digest
// abcd… lives at dir/ab/cd/abcd…. Paths derive only from a validated hex
// digest; no client-supplied string ever reaches the file system. Blobs are
// written to a temporary in dir/tmp (same file system), fsynced, and only
// then renamed into place, so a crash never leaves a half blob visible.
type blobStore struct {
	dir string
	tmp string
}

// tmpPrefix starts the name of every upload temporary.
const tmpPrefix = "upload-"

func newBlobStore(dir string) (*blobStore, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("file.dir %q: %w", dir, err)
	}
	s := &blobStore{dir: abs, tmp: filepath.Join(abs, "tmp")}
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
func (s *blobStore) path(sum string) string {
	if !validSum(sum) {
		panic("file: invalid blob digest " + fmt.Sprintf("%q", sum))
	}
	return filepath.Join(s.dir, sum[0:2], sum[2:4], sum)
}

// tempBlob is a blob being written: bytes go to the temporary file and the
// hash at once.
type tempBlob struct {
	f    *os.File
	h    hash.Hash
	size int64
	sum  string // set by finish
	done bool   // published or discarded
}

func (s *blobStore) create() (*tempBlob, error) {
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

// finish flushes the temporary to stable storage and computes its digest.
func (t *tempBlob) finish() error {
	if err := t.f.Sync(); err != nil {
		return fmt.Errorf("fsync temporary: %w", err)
	}
	if err := t.f.Close(); err != nil {
		return fmt.Errorf("close temporary: %w", err)
	}
	t.sum = hex.EncodeToString(t.h.Sum(nil))
	return nil
}

// name is the temporary's path (for decoding an image from it).
func (t *tempBlob) name() string { return t.f.Name() }

// discard removes the temporary unless it was published. Safe to call more
// than once and on nil.
func (t *tempBlob) discard() {
	if t == nil || t.done {
		return
	}
	t.done = true
	_ = t.f.Close()
	_ = os.Remove(t.f.Name())
}

// publish renames a finished temporary into its content address. An
// existing blob of the same digest is replaced by identical bytes (which
// also repairs a damaged one); readers holding the old one keep reading it.
func (s *blobStore) publish(t *tempBlob) error {
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

// open opens the blob of sum for reading.
func (s *blobStore) open(sum string) (*os.File, error) { return os.Open(s.path(sum)) }

// exists reports whether the blob of sum is on disk.
func (s *blobStore) exists(sum string) bool {
	_, err := os.Stat(s.path(sum))
	return err == nil
}

// remove deletes the blob of sum; a missing blob is not an error.
func (s *blobStore) remove(sum string) error {
	p := s.path(sum)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	syncDir(filepath.Dir(p))
	return nil
}

// walk calls fn with the digest of every blob on disk. Entries that are not
// blobs (wrong names or depth) are skipped.
func (s *blobStore) walk(fn func(sum string) error) error {
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

// staleTemps removes upload temporaries not written for maxAge and returns
// how many it removed.
func (s *blobStore) staleTemps(maxAge time.Duration, now time.Time) (int, error) {
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
