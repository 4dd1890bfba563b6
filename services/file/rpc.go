package file

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
)

// empty is the reply of methods the gateway answers 204.
var empty = struct{}{}

// statRequest accepts both a FileStatRequest ({"id"}) and a gateway
// envelope with params.id.
type statRequest struct {
	ID     string            `json:"id"`
	Params contracts.Params  `json:"params"`
	Body   json.RawMessage   `json:"body"`
	Meta   map[string]string `json:"meta"`
}

func (s *Service) handlers() map[string]bus.Handler {
	return map[string]bus.Handler{
		contracts.MethodFileStat: func(ctx context.Context, req *bus.Request) (any, error) {
			var in statRequest
			if err := bus.Decode(req, &in); err != nil {
				return nil, err
			}
			id := in.ID
			if id == "" {
				id = in.Params.Get("id")
			}
			if _, err := uuid.Parse(id); err != nil {
				return nil, contracts.InvalidArgument("id", "id must be a file id (UUID)")
			}
			f, err := s.meta.get(ctx, id)
			if err != nil {
				return nil, err
			}
			if !f.canRead(req.Actor) {
				return nil, errNoFile
			}
			return f.contract(), nil
		},
		contracts.MethodFilePublish: func(ctx context.Context, req *bus.Request) (any, error) {
			if !req.Actor.IsService() {
				return nil, contracts.PermissionDenied("only services publish files")
			}
			var in contracts.FilePublishRequest
			if err := bus.Decode(req, &in); err != nil {
				return nil, err
			}
			if in.OwnerID == "" || (in.Purpose != contracts.PurposeAvatar && in.Purpose != contracts.PurposeReviewImage) {
				return nil, contracts.InvalidArgument("purpose", "file.publish needs owner_id and a purpose of avatar or review_image")
			}
			f, err := s.meta.publish(ctx, in)
			if err != nil {
				return nil, err
			}
			return f.contract(), nil
		},
		contracts.MethodFileList: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			q, err := parseList(a, p)
			if err != nil {
				return nil, err
			}
			return s.meta.list(ctx, q)
		}),
		contracts.MethodFileDelete: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			if a.Anonymous() {
				return nil, contracts.Unauthenticated("sign in to delete files")
			}
			f, err := s.meta.get(ctx, p.Get("id"))
			if err != nil {
				return nil, err
			}
			if err := ownerCheck(a, f); err != nil {
				return nil, err
			}
			return empty, s.meta.remove(ctx, s.store, f)
		}),
		contracts.MethodFileCopy: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, body []byte) (any, error) {
			folder, err := folderBody(a, body)
			if err != nil {
				return nil, err
			}
			f, err := s.meta.copyFile(ctx, a, p.Get("id"), folder)
			if err != nil {
				return nil, err
			}
			return f.contract(), nil
		}),
		contracts.MethodFileMove: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, body []byte) (any, error) {
			folder, err := folderBody(a, body)
			if err != nil {
				return nil, err
			}
			f, err := s.meta.move(ctx, a, p.Get("id"), folder)
			if err != nil {
				return nil, err
			}
			return f.contract(), nil
		}),
	}
}

func folderBody(a contracts.Actor, body []byte) (string, error) {
	if a.Anonymous() {
		return "", contracts.Unauthenticated("sign in to change files")
	}
	var in contracts.FileFolderRequest
	if err := bus.DecodeJSON(body, &in); err != nil {
		return "", err
	}
	return in.Folder, validFolder(in.Folder)
}

// parseList reads file.list's params: limit, cursor, folder (present =
// exactly that folder, "" the root), purpose, and owner_id (admins and
// services only; others list their own files).
func parseList(a contracts.Actor, p contracts.Params) (listQuery, error) {
	q := listQuery{owner: a.ID}
	if o := p.Get("owner_id"); o != "" {
		if !a.IsAdmin() && !a.IsService() && o != a.ID {
			return q, contracts.PermissionDenied("only admins may list another user's files")
		}
		q.owner = o
	}
	if q.owner == "" {
		return q, contracts.Unauthenticated("sign in to list your files")
	}
	pg, err := contracts.PageOf(p)
	if err != nil {
		return q, err
	}
	q.limit = pg.Limit
	if pg.Cursor != "" {
		id, err := uuid.Parse(pg.Cursor)
		if err != nil {
			return q, contracts.InvalidArgument("cursor", "malformed cursor")
		}
		q.after, q.hasCursor = id, true
	}
	if vs, ok := p["folder"]; ok {
		f := ""
		if len(vs) > 0 {
			f = vs[0]
		}
		if err := validFolder(f); err != nil {
			return q, err
		}
		q.folder = &f
	}
	if pur := p.Get("purpose"); pur != "" {
		if err := validPurpose(pur); err != nil {
			return q, err
		}
		q.purpose = pur
	}
	return q, nil
}
