package files

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
)

// Limits are the rules an upload must keep, from the service's flags.
type Limits struct {
	// Size limits per purpose, in bytes.
	MaxImageSize    int64 // product_image, review_image
	MaxAvatarSize   int64 // avatar
	MaxDocumentSize int64 // document
	// MaxImageSide and MaxImagePixels bound an image's declared dimensions
	// (read from its header before anything is decoded).
	MaxImageSide   int
	MaxImagePixels int
	// ThumbnailSize is the longest side of a generated thumbnail.
	ThumbnailSize int
	// DecodeConcurrency bounds the image decodes running at once (0 =
	// GOMAXPROCS); an upload waits at most DecodeWait for a slot (see
	// the decoding budget in budget.go).
	DecodeConcurrency int
	DecodeWait        time.Duration
	// UploadsPerMinute bounds each user's upload attempts per minute in
	// this process (0 = no limit).
	UploadsPerMinute int
}

// Limit is the size limit of purpose (0 for an unknown purpose).
func (l Limits) Limit(purpose string) int64 {
	switch purpose {
	case contracts.PurposeProductImage, contracts.PurposeReviewImage:
		return l.MaxImageSize
	case contracts.PurposeAvatar:
		return l.MaxAvatarSize
	case contracts.PurposeDocument:
		return l.MaxDocumentSize
	}
	return 0
}

// MaxLimit is the largest size limit of any purpose.
func (l Limits) MaxLimit() int64 {
	return max(l.MaxImageSize, l.MaxAvatarSize, l.MaxDocumentSize)
}

// Core is the file domain: who may see and change which file, what an
// upload must be, the image pipeline, and the blobs' life. It depends only
// on a Store (metadata) and Blobs (bytes). Safe for concurrent use.
type Core struct {
	limits Limits
	store  Store
	blobs  Blobs
	decode *decodeGate // bounds concurrent image decodes (memory, CPU)
	rate   *uploadRate // bounds each user's uploads
}

// New returns the domain over store and blobs.
func New(limits Limits, store Store, blobs Blobs) *Core {
	return &Core{limits: limits, store: store, blobs: blobs,
		decode: newDecodeGate(limits.DecodeConcurrency, limits.DecodeWait),
		rate:   newUploadRate(limits.UploadsPerMinute)}
}

// Limits returns the limits the core enforces.
func (c *Core) Limits() Limits { return c.limits }

// Stat returns file id as a reads it; a file a may not read is
// not_found. A malformed id is invalid_argument (services ask by id).
func (c *Core) Stat(ctx context.Context, a contracts.Actor, id string) (File, error) {
	uid, err := parseID(id)
	if err != nil {
		return File{}, contracts.InvalidArgument("id", "id must be a file id (UUID)")
	}
	f, err := c.store.Get(ctx, uid)
	if err != nil {
		return File{}, err
	}
	if !f.CanRead(a) {
		return File{}, ErrNotFound
	}
	return f, nil
}

// read is Stat for a path parameter: a malformed id is not_found.
func (c *Core) read(ctx context.Context, a contracts.Actor, id string) (File, error) {
	uid, err := parseID(id)
	if err != nil {
		return File{}, err
	}
	f, err := c.store.Get(ctx, uid)
	if err != nil {
		return File{}, err
	}
	if !f.CanRead(a) {
		return File{}, ErrNotFound
	}
	return f, nil
}

// List returns one page of q.Owner's files (the caller's own when
// q.Owner is empty); only admins and services list another user's.
func (c *Core) List(ctx context.Context, a contracts.Actor, q ListQuery) (contracts.List[contracts.File], error) {
	if q.Owner == "" {
		q.Owner = a.ID
	} else if q.Owner != a.ID && !a.IsAdmin() && !a.IsService() {
		return contracts.List[contracts.File]{}, contracts.PermissionDenied("only admins may list another user's files")
	}
	if q.Owner == "" {
		return contracts.List[contracts.File]{}, contracts.Unauthenticated("sign in to list your files")
	}
	fs, err := c.store.List(ctx, q)
	if err != nil {
		return contracts.List[contracts.File]{}, err
	}
	out := contracts.List[contracts.File]{Items: make([]contracts.File, 0, len(fs))}
	if len(fs) > q.Limit {
		fs = fs[:q.Limit]
		out.NextCursor = fs[len(fs)-1].ID.String()
	}
	for _, f := range fs {
		out.Items = append(out.Items, f.Contract())
	}
	return out, nil
}

// Delete deletes file id (the owner's or an admin's) with its
// file.deleted event, and removes the blobs it held the last reference to.
func (c *Core) Delete(ctx context.Context, a contracts.Actor, id string) error {
	if a.Anonymous() {
		return contracts.Unauthenticated("sign in to delete files")
	}
	uid, err := parseID(id)
	if err != nil {
		return err
	}
	f, err := c.store.Get(ctx, uid)
	if err != nil {
		return err
	}
	if err := f.checkChange(a); err != nil {
		return err
	}
	return c.store.Delete(ctx, f, c.blobs.Remove)
}

// Copy records a new file of the same bytes as file id in folder, owned by
// the source's owner, with its file.uploaded event.
func (c *Core) Copy(ctx context.Context, a contracts.Actor, id, folder string) (File, error) {
	if err := checkChangeInput(a, folder); err != nil {
		return File{}, err
	}
	uid, err := parseID(id)
	if err != nil {
		return File{}, err
	}
	return c.store.Copy(ctx, uid, func(src File) (File, error) {
		if err := src.checkChange(a); err != nil {
			return File{}, err
		}
		n := src
		n.ID, n.Folder = newID(), folder
		return n, nil
	})
}

// Move sets the folder of file id.
func (c *Core) Move(ctx context.Context, a contracts.Actor, id, folder string) (File, error) {
	if err := checkChangeInput(a, folder); err != nil {
		return File{}, err
	}
	uid, err := parseID(id)
	if err != nil {
		return File{}, err
	}
	return c.store.Update(ctx, uid, func(f *File) error {
		if err := f.checkChange(a); err != nil {
			return err
		}
		f.Folder = folder
		return nil
	})
}

func checkChangeInput(a contracts.Actor, folder string) error {
	if a.Anonymous() {
		return contracts.Unauthenticated("sign in to change files")
	}
	return ValidFolder(folder)
}

// Publish makes a file public for good (file.publish, services only): the
// file must be req.OwnerID's, of req.Purpose (avatar or review_image), and
// an image. Publishing twice changes nothing.
func (c *Core) Publish(ctx context.Context, a contracts.Actor, req contracts.FilePublishRequest) (File, error) {
	if !a.IsService() {
		return File{}, contracts.PermissionDenied("only services publish files")
	}
	if req.OwnerID == "" || (req.Purpose != contracts.PurposeAvatar && req.Purpose != contracts.PurposeReviewImage) {
		return File{}, contracts.InvalidArgument("purpose", "file.publish needs owner_id and a purpose of avatar or review_image")
	}
	uid, err := parseID(req.ID)
	if err != nil {
		return File{}, err
	}
	return c.store.Update(ctx, uid, func(f *File) error {
		if err := f.checkPublish(req); err != nil {
			return err
		}
		f.Published = true
		return nil
	})
}

// Download is a file's bytes (or its thumbnail's) opened for a reader,
// with what the reader is told about them.
type Download struct {
	File        File
	Blob        Blob   // the caller closes it
	SHA256      string // of the bytes served
	ContentType string
	Name        string // the name to save as, with an Extension
	Inline      bool   // images are shown, everything else saved
}

// Open opens file id's bytes (its thumbnail's with thumb) for a; a file a
// may not read is not_found, as is a missing thumbnail.
func (c *Core) Open(ctx context.Context, a contracts.Actor, id string, thumb bool) (Download, error) {
	f, err := c.read(ctx, a, id)
	if err != nil {
		return Download{}, err
	}
	d := Download{File: f, SHA256: f.SHA256, ContentType: f.ContentType, Name: f.Name}
	if thumb {
		if f.ThumbSHA256 == "" {
			return Download{}, contracts.NotFound("thumbnail")
		}
		d.SHA256, d.ContentType, d.Name = f.ThumbSHA256, f.ThumbType, "thumbnail"
	}
	d.Inline = IsImage(d.ContentType)
	if d.Name == "" {
		d.Name = f.ID.String()
	}
	if thumb || !strings.HasSuffix(strings.ToLower(d.Name), Extension(d.ContentType)) {
		d.Name += Extension(d.ContentType)
	}
	d.Blob, err = c.blobs.Open(d.SHA256)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = errors.New("blob " + d.SHA256 + " is missing from the blob directory")
		}
		return Download{}, err
	}
	return d, nil
}
