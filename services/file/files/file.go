package files

import (
	"time"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
)

// File is a stored file's metadata: the aggregate the rules below decide
// about and the Store keeps.
type File struct {
	ID          uuid.UUID
	OwnerID     string
	Purpose     string
	Folder      string
	Name        string
	ContentType string
	Size        int64
	SHA256      string
	Width       int
	Height      int
	ThumbSHA256 string // "" when the file has no thumbnail
	ThumbType   string
	CreatedAt   time.Time
	Published   bool // attached where everyone sees it (file.publish)
}

// ErrNotFound is the answer for a file that does not exist, or that the
// caller may not see (its existence is not revealed).
var ErrNotFound = contracts.NotFound("file")

// Contract is the file's wire shape.
func (f File) Contract() contracts.File {
	id := f.ID.String()
	out := contracts.File{
		ID: id, URL: contracts.FileURL(id), SHA256: f.SHA256, Size: f.Size, ContentType: f.ContentType,
		Purpose: f.Purpose, Folder: f.Folder, Name: f.Name, OwnerID: f.OwnerID,
		Width: f.Width, Height: f.Height, CreatedAt: f.CreatedAt.UTC(), Public: f.Public(),
	}
	if f.ThumbSHA256 != "" {
		out.ThumbnailURL = contracts.FileThumbnailURL(id)
	}
	return out
}

// Public reports whether anyone may read the file: product images, and
// files another service published by attaching them (avatars, review
// images).
func (f File) Public() bool { return f.Purpose == contracts.PurposeProductImage || f.Published }

// CanRead reports whether a may read the file: public files by anyone;
// everything else only by its owner, admins and services.
func (f File) CanRead(a contracts.Actor) bool { return f.Public() || a.Can(f.OwnerID) }

// checkChange allows the owner, admins and services to change f. Others
// get not_found for a file they cannot read (its existence is not
// revealed) and permission_denied for a public one.
func (f File) checkChange(a contracts.Actor) error {
	if a.Can(f.OwnerID) {
		return nil
	}
	if f.Public() {
		return contracts.PermissionDenied("only the owner of a file may change it")
	}
	return ErrNotFound
}

// checkPublish checks that f may be published as req asks: it must be
// req.OwnerID's, of req.Purpose, and an image.
func (f File) checkPublish(req contracts.FilePublishRequest) error {
	switch {
	case f.OwnerID != req.OwnerID:
		return contracts.PermissionDenied("file %s is not yours", req.ID)
	case f.Purpose != req.Purpose:
		return contracts.InvalidArgument("file_id", "file %s has purpose %q, not %s", req.ID, f.Purpose, req.Purpose)
	case !IsImage(f.ContentType):
		return contracts.InvalidArgument("file_id", "file %s is not an image", req.ID)
	}
	return nil
}

// Blobs lists the digests of the blobs f references (its bytes, and its
// thumbnail when it has one).
func (f File) Blobs() []string {
	if f.ThumbSHA256 == "" {
		return []string{f.SHA256}
	}
	return []string{f.SHA256, f.ThumbSHA256}
}

// Uploaded is the file.uploaded event of f (a new upload or a copy).
func (f File) Uploaded() contracts.FileUploaded {
	return contracts.FileUploaded{FileID: f.ID.String(), OwnerID: f.OwnerID, Purpose: f.Purpose,
		ContentType: f.ContentType, Size: f.Size, SHA256: f.SHA256}
}

// Deleted is the file.deleted event of f.
func (f File) Deleted() contracts.FileDeleted {
	return contracts.FileDeleted{FileID: f.ID.String(), OwnerID: f.OwnerID}
}

func newID() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.New()
	}
	return id
}

// parseID reads a file id; a malformed one is not_found (no such file).
func parseID(id string) (uuid.UUID, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return uuid.UUID{}, ErrNotFound
	}
	return uid, nil
}
