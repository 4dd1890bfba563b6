package files

import (
	"context"
	"io"
	"io/fs"
	"time"

	"github.com/google/uuid"
)

// Store keeps the files' metadata and the reference counts of their blobs
// (services/file/postgres implements it). Methods that add or remove a
// file write its event (File.Uploaded, File.Deleted) to the outbox in the
// same transaction. A file that does not exist is ErrNotFound.
//
// A blob's life (publishing it and committing its first reference, or
// committing its last unreference and removing it) is decided under a
// lock per blob that every instance sharing the blob directory honours:
// the callbacks below run under those locks. Implementations are safe for
// concurrent use.
type Store interface {
	// Get loads file id.
	Get(ctx context.Context, id uuid.UUID) (File, error)
	// List returns up to q.Limit+1 files of q.Owner matching q, newest
	// first (the extra one tells the caller there is a next page).
	List(ctx context.Context, q ListQuery) ([]File, error)
	// Create takes the locks of f's blobs, calls publish (which puts the
	// blobs in place), then records f with one more reference to each of
	// its blobs (thumbSize is the size of its thumbnail's). If recording
	// fails, it calls unpublish with each of f's blobs that no file
	// references, before the locks are released.
	Create(ctx context.Context, f File, thumbSize int64, publish func() error, unpublish func(sum string) error) (File, error)
	// Delete deletes file f.ID and, after the commit and under the blobs'
	// locks, calls release with each blob it held the last reference to.
	Delete(ctx context.Context, f File, release func(sum string) error) error
	// Copy loads file id share-locked (so its blobs keep their references)
	// and records the file fn makes of it, with one more reference to each
	// of its blobs. An error from fn is returned and nothing is written.
	Copy(ctx context.Context, id uuid.UUID, fn func(src File) (File, error)) (File, error)
	// Update loads file id locked for update, lets fn change its Folder
	// and Published, and saves them. An error from fn is returned and
	// nothing is written.
	Update(ctx context.Context, id uuid.UUID, fn func(f *File) error) (File, error)
	// Unreferenced returns the digests among sums that no file references.
	Unreferenced(ctx context.Context, sums []string) ([]string, error)
	// IfUnreferenced calls fn under sum's lock if no file references sum
	// (checked again under the lock) and returns what fn returns (false
	// without calling it when sum is referenced).
	IfUnreferenced(ctx context.Context, sum string, fn func() (bool, error)) (bool, error)
}

// ListQuery selects one page of an owner's files.
type ListQuery struct {
	Owner     string    // "" = the caller's own
	Folder    *string   // nil = any folder; "" = the root
	Purpose   string    // "" = any
	After     uuid.UUID // with HasCursor: files older than this id
	HasCursor bool
	Limit     int
}

// Blobs keeps the files' bytes, content-addressed by their SHA-256 (a
// lower-case hex digest; services/file/disk implements it on a directory).
// Implementations are safe for concurrent use; a Temp is not.
type Blobs interface {
	// Create starts a temporary blob.
	Create() (Temp, error)
	// Publish puts a finished temporary at its content address (replacing
	// identical bytes). Publishing twice does nothing.
	Publish(t Temp) error
	// Open opens the blob of sum; a missing blob is an error matching
	// fs.ErrNotExist.
	Open(sum string) (Blob, error)
	// Exists reports whether the blob of sum is stored.
	Exists(sum string) bool
	// Remove removes the blob of sum; a missing blob is not an error.
	Remove(sum string) error
	// Walk calls fn with the digest of every stored blob.
	Walk(fn func(sum string) error) error
	// StaleTemps removes temporaries not written for maxAge (left by a
	// crash or a client that went away) and returns how many.
	StaleTemps(maxAge time.Duration, now time.Time) (int, error)
}

// Temp is a blob being written: Write, then Finish (durable, digest
// known), then Blobs.Publish or Discard.
type Temp interface {
	io.Writer
	// Finish makes the bytes durable and computes the digest.
	Finish() error
	// Sum is the digest (after Finish); Size the bytes written.
	Sum() string
	Size() int64
	// Open reopens the finished bytes for reading (image inspection).
	Open() (io.ReadSeekCloser, error)
	// Discard removes the temporary unless it was published. Safe to call
	// more than once.
	Discard()
}

// Blob is a stored blob opened for reading.
type Blob interface {
	io.ReadSeekCloser
	Stat() (fs.FileInfo, error)
}
