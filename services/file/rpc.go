package file

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/services/file/files"
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

// handlers returns the RPC handlers of every file.* method. Gateway-routed
// methods are bus.Routed (the client's body decoded by the transport) or
// bus.Query (file.list, which receives its parsed filter); file.stat and
// file.publish are service calls with a typed body.
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
			return reply(s.core.Stat(ctx, req.Actor, id))
		},
		contracts.MethodFilePublish: func(ctx context.Context, req *bus.Request) (any, error) {
			var in contracts.FilePublishRequest
			if err := bus.Decode(req, &in); err != nil {
				return nil, err
			}
			return reply(s.core.Publish(ctx, req.Actor, in))
		},
		contracts.MethodFileList: bus.Query(parseList, func(ctx context.Context, a contracts.Actor, q files.ListQuery) (any, error) {
			return s.core.List(ctx, a, q)
		}),
		contracts.MethodFileDelete: bus.Routed(func(ctx context.Context, c bus.Call[bus.NoBody]) (any, error) {
			return empty, s.core.Delete(ctx, c.Actor, c.Params.Get("id"))
		}),
		contracts.MethodFileCopy: bus.Routed(func(ctx context.Context, c bus.Call[contracts.FileFolderRequest]) (any, error) {
			return reply(s.core.Copy(ctx, c.Actor, c.Params.Get("id"), c.In.Folder))
		}),
		contracts.MethodFileMove: bus.Routed(func(ctx context.Context, c bus.Call[contracts.FileFolderRequest]) (any, error) {
			return reply(s.core.Move(ctx, c.Actor, c.Params.Get("id"), c.In.Folder))
		}),
	}
}

// reply is a file method's answer: the file's wire shape, or the error.
func reply(f files.File, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return f.Contract(), nil
}

// parseList reads file.list's params: limit, cursor, folder (present =
// exactly that folder, "" the root), purpose, and owner_id (whom the
// domain lets list which owner's files is files.Core.List's rule).
func parseList(_ contracts.Actor, p contracts.Params) (files.ListQuery, error) {
	q := files.ListQuery{Owner: p.Get("owner_id")}
	pg, err := contracts.PageOf(p)
	if err != nil {
		return q, err
	}
	q.Limit = pg.Limit
	if pg.Cursor != "" {
		id, err := uuid.Parse(pg.Cursor)
		if err != nil {
			return q, contracts.InvalidArgument("cursor", "malformed cursor")
		}
		q.After, q.HasCursor = id, true
	}
	if vs, ok := p["folder"]; ok {
		f := ""
		if len(vs) > 0 {
			f = vs[0]
		}
		if err := files.ValidFolder(f); err != nil {
			return q, err
		}
		q.Folder = &f
	}
	if pur := p.Get("purpose"); pur != "" {
		if err := files.ValidPurpose(pur); err != nil {
			return q, err
		}
		q.Purpose = pur
	}
	return q, nil
}
