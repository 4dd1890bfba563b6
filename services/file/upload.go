package file

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

// received is a file body written to a temporary, not yet published.
type received struct {
	tmp *tempBlob
	ct  string
}

// receive streams r into a temporary blob. The type is sniffed from the
// first bytes and refused at once if purpose (or, while the purpose is not
// known yet, every purpose) does not accept it; reading stops at limit+1
// bytes, so an oversized body is refused without being stored or buffered.
// On error nothing is left on disk.
func (s *Service) receive(r io.Reader, purpose string, limit int64) (_ *received, err error) {
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(r, head)
	switch {
	case errors.Is(err, io.EOF):
		return nil, errEmpty
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return nil, readError(err)
	}
	head = head[:n]
	ct := sniff(head)
	if purpose != "" && !allowed(purpose, ct) {
		return nil, errType(purpose, ct)
	}
	if purpose == "" && !allowedAny(ct) {
		return nil, errType("", ct)
	}
	if int64(n) > limit {
		return nil, errTooLarge(limit)
	}
	tmp, err := s.store.create()
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			tmp.discard()
		}
	}()
	if _, err := tmp.Write(head); err != nil {
		return nil, err
	}
	var dst io.Writer = tmp
	if ct == typeText {
		dst = textGuard{tmp}
	}
	if n == sniffLen {
		copied, err := io.Copy(dst, io.LimitReader(r, limit+1-int64(n)))
		if err != nil {
			return nil, readError(err)
		}
		if int64(n)+copied > limit {
			return nil, errTooLarge(limit)
		}
	}
	if err := tmp.finish(); err != nil {
		return nil, err
	}
	return &received{tmp: tmp, ct: ct}, nil
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

// readError maps a failure to read the request body: over the request's
// byte cap is 413, a client that went away or sent garbage is 400.
func readError(err error) error {
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

// upload is one upload's input once the body has been read.
type upload struct {
	owner   string
	purpose string
	folder  string
	name    string
	file    *received
}

// finishUpload checks a received file against its purpose, inspects images
// (dimensions, thumbnail) and records it. The temporaries are published or
// removed before it returns.
func (s *Service) finishUpload(ctx context.Context, u upload) (contracts.File, error) {
	tmp := u.file.tmp
	defer tmp.discard()
	if !allowed(u.purpose, u.file.ct) {
		return contracts.File{}, errType(u.purpose, u.file.ct)
	}
	if limit := s.cfg.limit(u.purpose); tmp.size > limit {
		return contracts.File{}, errTooLarge(limit)
	}
	row := fileRow{ID: newID(), OwnerID: u.owner, Purpose: u.purpose, Folder: u.folder, Name: u.name,
		ContentType: u.file.ct, Size: tmp.size, SHA256: tmp.sum}
	var thumb *tempBlob
	if isImage(u.file.ct) {
		info, err := s.inspectImage(ctx, tmp.name(), u.file.ct)
		if err != nil {
			return contracts.File{}, err
		}
		row.Width, row.Height = info.width, info.height
		thumb, err = s.writeBlob(info.thumb)
		if err != nil {
			return contracts.File{}, err
		}
		defer thumb.discard()
		row.ThumbSHA256, row.ThumbType = thumb.sum, info.thumbType
	}
	out, err := s.meta.store(ctx, s.store, tmp, thumb, row)
	if err != nil {
		return contracts.File{}, err
	}
	s.metrics.uploadedBytes.Add(float64(out.Size))
	return out.contract(), nil
}

// writeBlob writes data to a finished temporary blob.
func (s *Service) writeBlob(data []byte) (*tempBlob, error) {
	t, err := s.store.create()
	if err != nil {
		return nil, err
	}
	if _, err := t.Write(data); err != nil {
		t.discard()
		return nil, err
	}
	if err := t.finish(); err != nil {
		t.discard()
		return nil, err
	}
	return t, nil
}
