package files

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/opencommerce/opencommerce/contracts"
)

// Upload errors a client can act on.
var (
	errEmpty = contracts.InvalidArgument("file", "the file is empty")
)

func errTooLarge(limit int64) *contracts.Error {
	return contracts.Errorf(contracts.CodePayloadTooLarge, "the file is larger than %d bytes", limit).WithDetail("limit", limit)
}

func errType(purpose, ct string) *contracts.Error {
	if purpose == "" {
		return contracts.Errorf(contracts.CodeUnsupportedMedia, "files of type %s are not accepted", ct).WithDetail("content_type", ct)
	}
	return contracts.Errorf(contracts.CodeUnsupportedMedia, "a %s must be %s; this file is %s", purpose, allowedList(purpose), ct).
		WithDetail("content_type", ct)
}

// Received is an upload's body written to a temporary blob, not yet
// published: pass it to Core.Upload, or Discard it.
type Received struct {
	tmp Temp
	ct  string
}

// Discard removes the temporary (nothing to do once Upload took it).
// Safe on nil.
func (r *Received) Discard() {
	if r != nil {
		r.tmp.Discard()
	}
}

// Receive streams r into a temporary blob. The type is sniffed from the
// first bytes and refused at once if purpose (or, while the purpose is not
// known yet, every purpose) does not accept it; reading stops at limit+1
// bytes, so an oversized body is refused without being stored or buffered.
// On error nothing is left behind.
func (c *Core) Receive(r io.Reader, purpose string, limit int64) (_ *Received, err error) {
	head, ct, err := sniffHead(r, purpose)
	if err != nil {
		return nil, err
	}
	if int64(len(head)) > limit {
		return nil, errTooLarge(limit)
	}
	tmp, err := c.blobs.Create()
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			tmp.Discard()
		}
	}()
	if _, err := tmp.Write(head); err != nil {
		return nil, err
	}
	var dst io.Writer = tmp
	if ct == typeText {
		dst = textGuard{tmp}
	}
	if len(head) == sniffLen {
		copied, err := io.Copy(dst, io.LimitReader(r, limit+1-int64(len(head))))
		if err != nil {
			return nil, ReadError(err)
		}
		if int64(len(head))+copied > limit {
			return nil, errTooLarge(limit)
		}
	}
	if err := tmp.Finish(); err != nil {
		return nil, err
	}
	return &Received{tmp: tmp, ct: ct}, nil
}

// sniffHead reads the first bytes of r (up to sniffLen) and their content
// type, refused unless purpose (or, with no purpose yet, some purpose)
// accepts it.
func sniffHead(r io.Reader, purpose string) ([]byte, string, error) {
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(r, head)
	switch {
	case errors.Is(err, io.EOF):
		return nil, "", errEmpty
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return nil, "", ReadError(err)
	}
	head = head[:n]
	ct := sniff(head)
	if purpose != "" && !allowed(purpose, ct) {
		return nil, "", errType(purpose, ct)
	}
	if purpose == "" && !allowedAny(ct) {
		return nil, "", errType("", ct)
	}
	return head, ct, nil
}

// allowedAny reports whether some purpose accepts ct.
func allowedAny(ct string) bool {
	for _, p := range contracts.Purposes {
		if allowed(p, ct) {
			return true
		}
	}
	return false
}

// errBinaryText is returned for a "text" file with NUL bytes past the sniff
// window (a binary hiding behind a text prefix).
var errBinaryText = contracts.Errorf(contracts.CodeUnsupportedMedia, "the file starts as text but holds binary data")

// textGuard refuses NUL bytes in what was sniffed as plain text.
type textGuard struct{ w io.Writer }

func (g textGuard) Write(p []byte) (int, error) {
	if bytes.IndexByte(p, 0) >= 0 {
		return 0, errBinaryText
	}
	return g.w.Write(p)
}

// ReadError maps a failure to read an upload body: over the request's
// byte cap is 413, a client that went away or sent garbage is 400.
func ReadError(err error) error {
	var mbe *http.MaxBytesError
	var ce *contracts.Error
	switch {
	case errors.As(err, &mbe):
		return errTooLarge(mbe.Limit)
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, context.DeadlineExceeded):
		return contracts.Errorf(contracts.CodeDeadlineExceeded, "the upload took too long")
	}
	return contracts.InvalidArgument("file", "the upload could not be read: %v", err)
}

// Upload is one upload's input once its body has been received.
type Upload struct {
	Owner   string
	Purpose string
	Folder  string
	Name    string
	File    *Received
}

// Upload checks a received file against its purpose, inspects images
// (dimensions, thumbnail) and records it with its file.uploaded event. The
// temporaries are published or removed before it returns.
func (c *Core) Upload(ctx context.Context, u Upload) (File, error) {
	tmp := u.File.tmp
	defer tmp.Discard()
	if !allowed(u.Purpose, u.File.ct) {
		return File{}, errType(u.Purpose, u.File.ct)
	}
	if limit := c.limits.Limit(u.Purpose); tmp.Size() > limit {
		return File{}, errTooLarge(limit)
	}
	f := File{ID: newID(), OwnerID: u.Owner, Purpose: u.Purpose, Folder: u.Folder, Name: u.Name,
		ContentType: u.File.ct, Size: tmp.Size(), SHA256: tmp.Sum()}
	var thumb Temp
	var thumbSize int64
	if IsImage(u.File.ct) {
		var err error
		if thumb, err = c.imageOf(ctx, tmp, &f); err != nil {
			return File{}, err
		}
		defer thumb.Discard()
		thumbSize = thumb.Size()
	}
	return c.store.Create(ctx, f, thumbSize, func() error { return c.publish(tmp, thumb) }, c.blobs.Remove)
}

// imageOf inspects the image in tmp, records its dimensions and thumbnail
// in f and returns the thumbnail's finished temporary.
func (c *Core) imageOf(ctx context.Context, tmp Temp, f *File) (Temp, error) {
	info, err := c.inspectImage(ctx, tmp, f.ContentType)
	if err != nil {
		return nil, err
	}
	f.Width, f.Height = info.width, info.height
	thumb, err := c.writeBlob(info.thumb)
	if err != nil {
		return nil, err
	}
	f.ThumbSHA256, f.ThumbType = thumb.Sum(), info.thumbType
	return thumb, nil
}

// publish puts the upload's temporaries (thumb may be nil) in place.
func (c *Core) publish(tmp, thumb Temp) error {
	if err := c.blobs.Publish(tmp); err != nil {
		return err
	}
	if thumb != nil {
		return c.blobs.Publish(thumb)
	}
	return nil
}

// writeBlob writes data to a finished temporary blob.
func (c *Core) writeBlob(data []byte) (Temp, error) {
	t, err := c.blobs.Create()
	if err != nil {
		return nil, err
	}
	if _, err := t.Write(data); err != nil {
		t.Discard()
		return nil, err
	}
	if err := t.Finish(); err != nil {
		t.Discard()
		return nil, err
	}
	return t, nil
}
