package edge

import (
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/filedata"
)

// File routes: the bytes never travel through RabbitMQ. The gateway
// streams an upload's body to a healthy file service instance's data port
// and the answer back (internal/filedata), and the same for downloads and
// thumbnails. Access checks happen in the file service, which gets the
// verified actor; a client's identity headers were dropped before.

const fileService = "file"

// pickFile returns the data port of a healthy file service instance,
// skipping instances that announce none; "" when there is none.
func (g *Gateway) pickFile() string {
	if g.files == nil {
		return ""
	}
	for range 3 {
		inst, ok := g.files.Pick(fileService)
		if !ok {
			return ""
		}
		if inst.DataURL != "" {
			return inst.DataURL
		}
	}
	return ""
}

func (g *Gateway) fileUnavailable(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.SetCanonical(hRetryAfter, g.retry)
	writeError(ctx, fasthttp.StatusServiceUnavailable, contracts.CodeUnavailable, "service file is unavailable")
}

// serveUpload streams POST /files to the file service. A declared body over
// Config.UploadMaxBody is refused before anything is sent. An upload cannot
// be retried (its body is partly consumed), so a transport failure answers
// 503. Every refusal closes the connection with a lingering close, so the
// client, which may still be sending, reads the answer.
func (g *Gateway) serveUpload(ctx *fasthttp.RequestCtx, req *Request) {
	if cl := ctx.Request.Header.ContentLength(); cl > g.cfg.UploadMaxBody {
		g.tooLarge(ctx, g.cfg.UploadMaxBody)
		return
	}
	base := g.pickFile()
	if base == "" {
		g.fileUnavailable(ctx)
		return
	}
	err := g.data.Upload(ctx, base, filedata.Request{Actor: req.Actor, RequestID: string(req.RequestID)})
	if err != nil {
		g.log.Warn("upload to the file service failed", "instance", base, "err", err, "request_id", string(req.RequestID))
		e := contracts.AsError(err)
		ctx.Response.Header.SetCanonical(hRetryAfter, g.retry)
		writeError(ctx, fasthttp.StatusServiceUnavailable, contracts.CodeUnavailable, e.Message)
	}
	if ctx.Response.StatusCode() >= 400 {
		lingerClose(ctx)
	}
}

// serveDownload streams GET|HEAD /files/{id} from the file service.
func (g *Gateway) serveDownload(ctx *fasthttp.RequestCtx, req *Request) { g.download(ctx, req, false) }

// serveThumbnail streams GET|HEAD /files/{id}/thumbnail.
func (g *Gateway) serveThumbnail(ctx *fasthttp.RequestCtx, req *Request) { g.download(ctx, req, true) }

// download passes Range and conditional headers through, so the file
// service answers 200, 206, 304 or 416 itself. A transport failure is
// retried once on the next instance (a download has not consumed
// anything); the actor, when the caller sent a valid token, lets owners
// read their private files.
func (g *Gateway) download(ctx *fasthttp.RequestCtx, req *Request, thumbnail bool) {
	id := req.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		writeError(ctx, fasthttp.StatusNotFound, contracts.CodeNotFound, "file not found")
		return
	}
	r := filedata.Request{Actor: req.Actor, RequestID: string(req.RequestID)}
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		base := g.pickFile()
		if base == "" {
			break
		}
		if err = g.data.Download(ctx, base, id, thumbnail, r); err == nil {
			return
		}
		g.log.Warn("download from the file service failed", "instance", base, "attempt", attempt+1, "err", err,
			"request_id", string(req.RequestID))
		if contracts.ErrorCode(err) != contracts.CodeUnavailable {
			break // a timeout is not retried: the next instance would wait as long
		}
	}
	if err == nil {
		g.fileUnavailable(ctx)
		return
	}
	e := contracts.AsError(err)
	if e.Code == contracts.CodeUnavailable {
		ctx.Response.Header.SetCanonical(hRetryAfter, g.retry)
	}
	writeError(ctx, e.Code.HTTPStatus(), e.Code, e.Message)
}
