package file

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/filedata"
	"github.com/opencommerce/opencommerce/services/file/files"
)

// Headers of the data port protocol (between the gateway and the file
// service; see the package doc), defined once by its client.
const (
	// HeaderInternalToken carries the shared secret (file.internal-token).
	HeaderInternalToken = filedata.HeaderInternalToken
	// HeaderActorID and HeaderActorRole carry the actor the gateway verified.
	HeaderActorID   = filedata.HeaderActorID
	HeaderActorRole = filedata.HeaderActorRole
	// HeaderRequestID carries the edge request id (for logs).
	HeaderRequestID = filedata.HeaderRequestID
)

// maxParts bounds the parts of one multipart upload; maxFieldLen bounds a
// text field (purpose, folder).
const (
	maxParts    = 16
	maxFieldLen = 1024
)

// dataHandler is the data port's HTTP handler.
func (s *Service) dataHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /upload", s.instrument("upload", s.handleUpload))
	mux.Handle("GET /files/{id}", s.instrument("download", func(w http.ResponseWriter, r *http.Request) { s.handleDownload(w, r, false) }))
	mux.Handle("GET /files/{id}/thumbnail", s.instrument("thumbnail", func(w http.ResponseWriter, r *http.Request) { s.handleDownload(w, r, true) }))
	return s.guard(mux)
}

// guard checks the internal token (constant time) before anything else.
func (s *Service) guard(next http.Handler) http.Handler {
	token := []byte(s.cfg.InternalToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(token) > 0 && subtle.ConstantTimeCompare([]byte(r.Header.Get(HeaderInternalToken)), token) != 1 {
			writeError(w, contracts.Unauthenticated("missing or wrong %s", HeaderInternalToken))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter records the status for metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// ReadFrom keeps http.ServeContent's sendfile path.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return io.Copy(w.ResponseWriter, r)
}

func (s *Service) instrument(route string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("data port panic", "route", route, "panic", p)
				if sw.code == 0 {
					writeError(sw, contracts.Errorf(contracts.CodeInternal, "internal error"))
				}
			}
			code := sw.code
			if code == 0 {
				code = http.StatusOK
			}
			s.metrics.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
			s.metrics.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}()
		h(sw, r)
	})
}

// actorOf reads the actor the gateway verified. Unknown roles and
// malformed ids read as anonymous.
func actorOf(r *http.Request) contracts.Actor {
	a := contracts.Actor{ID: r.Header.Get(HeaderActorID), Role: r.Header.Get(HeaderActorRole)}
	switch a.Role {
	case contracts.RoleCustomer, contracts.RoleSeller, contracts.RoleAdmin, contracts.RoleService:
	default:
		return contracts.Actor{}
	}
	if a.ID != "" {
		if _, err := uuid.Parse(a.ID); err != nil {
			return contracts.Actor{}
		}
	}
	return a
}

// writeError writes the platform's error body with the code's status,
// and Retry-After when the error says when to retry (details.retry_after,
// seconds: a busy decode gate's 503, the upload rate's 429).
func writeError(w http.ResponseWriter, err error) {
	e := contracts.AsError(err)
	h := w.Header()
	for _, k := range []string{"Content-Disposition", "Cache-Control", "Etag", "Last-Modified", "Content-Encoding"} {
		h.Del(k)
	}
	if secs, ok := e.Details["retry_after"].(int64); ok && secs > 0 {
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(e.Code.HTTPStatus())
	_ = json.NewEncoder(w).Encode(contracts.ErrorBody{Error: e})
}

func (s *Service) fail(w http.ResponseWriter, r *http.Request, route string, err error) {
	code := contracts.ErrorCode(err)
	if code == contracts.CodeInternal {
		s.log.Error("data port", "route", route, "request_id", r.Header.Get(HeaderRequestID), "err", err)
	}
	writeError(w, err)
}

// handleUpload serves POST /upload: a multipart/form-data body with the
// parts "file" (the bytes, its filename the stored name), "purpose" and
// "folder" (both may come in the query instead), or a raw body with
// purpose, folder and name in the query.
func (s *Service) handleUpload(w http.ResponseWriter, r *http.Request) {
	result := "error"
	purposeLabel := "unknown"
	defer func() { s.metrics.uploads.WithLabelValues(purposeLabel, result).Inc() }()

	fail := func(err error) {
		result = string(contracts.ErrorCode(err))
		s.fail(w, r, "upload", err)
	}
	a := actorOf(r)
	if a.ID == "" {
		fail(contracts.Unauthenticated("uploads need a signed-in user"))
		return
	}
	// Counted before the body is read, so a refused upload costs nothing.
	if err := s.core.AdmitUpload(a.ID); err != nil {
		fail(err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.UploadTimeout)
	defer cancel()
	// The whole body is capped too (multipart framing included), so no
	// upload reads more than the largest limit plus a little.
	r.Body = http.MaxBytesReader(w, r.Body, s.core.Limits().MaxLimit()+64<<10)
	u, err := s.readUpload(r, a)
	if err != nil {
		fail(err)
		return
	}
	purposeLabel = u.Purpose
	f, err := s.core.Upload(ctx, u)
	if err != nil {
		fail(err)
		return
	}
	s.metrics.uploadedBytes.Add(float64(f.Size))
	result = "ok"
	c := f.Contract()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", c.URL)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(c)
}

// readUpload reads an upload's fields from the query and its body (a
// multipart form or the raw bytes) and receives the file into a
// temporary. On error nothing is left behind.
func (s *Service) readUpload(r *http.Request, a contracts.Actor) (files.Upload, error) {
	q := r.URL.Query()
	u := files.Upload{Owner: a.ID, Purpose: q.Get("purpose"), Folder: q.Get("folder"), Name: q.Get("name")}
	if err := validQueryFields(u); err != nil {
		return u, err
	}
	var err error
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mt == "multipart/form-data":
		err = s.readMultipart(r.Body, params["boundary"], &u)
	case u.Purpose != "":
		u.File, err = s.core.Receive(r.Body, u.Purpose, s.core.Limits().Limit(u.Purpose))
	}
	if err == nil && u.Purpose == "" {
		err = files.ValidPurpose("")
	}
	if err != nil {
		u.File.Discard()
		return files.Upload{}, err
	}
	return u, nil
}

// validQueryFields checks the fields an upload's query gave.
func validQueryFields(u files.Upload) error {
	if u.Purpose != "" {
		if err := files.ValidPurpose(u.Purpose); err != nil {
			return err
		}
	}
	if err := files.ValidFolder(u.Folder); err != nil {
		return err
	}
	return files.ValidName(u.Name)
}

// readMultipart reads the parts of an upload into u. The file part is
// streamed to a temporary as it arrives (with the purpose's limit when the
// purpose came first, else the largest limit, checked again afterwards).
// On error u.File may hold a temporary the caller must discard.
func (s *Service) readMultipart(body io.Reader, boundary string, u *files.Upload) error {
	if boundary == "" {
		return contracts.InvalidArgument("", "multipart body without a boundary")
	}
	mr := multipart.NewReader(body, boundary)
	fromQuery := map[string]bool{"purpose": u.Purpose != "", "folder": u.Folder != ""}
	for i := 0; ; i++ {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return files.ReadError(err)
			}
			return contracts.InvalidArgument("", "malformed multipart body: %v", err)
		}
		if i >= maxParts {
			return contracts.InvalidArgument("", "too many multipart parts (max %d)", maxParts)
		}
		if err := s.readPart(part, u, fromQuery); err != nil {
			return err
		}
	}
	if u.File == nil {
		return contracts.InvalidArgument("file", "the multipart field \"file\" is required")
	}
	return nil
}

// readPart reads one part of a multipart upload into u: the file, a
// field (purpose or folder; fromQuery tells which the query gave, which
// the form may only repeat), or an ignored field.
func (s *Service) readPart(part *multipart.Part, u *files.Upload, fromQuery map[string]bool) error {
	name, filename, ok := partNames(part)
	if !ok {
		return contracts.InvalidArgument("", "malformed multipart part header (Content-Disposition)")
	}
	switch name {
	case "file":
		return s.readFilePart(part, filename, u)
	case "purpose", "folder":
		v, err := readField(part, name)
		if err != nil {
			return err
		}
		cur, check := &u.Purpose, files.ValidPurpose
		if name == "folder" {
			cur, check = &u.Folder, files.ValidFolder
		}
		if err := check(v); err != nil {
			return err
		}
		if fromQuery[name] && *cur != v {
			return contracts.InvalidArgument(name, "%s given twice with different values (query and form)", name)
		}
		*cur = v
		return nil
	}
	// Unknown fields are ignored, within the field bound.
	_, err := readField(part, name)
	return err
}

// readFilePart receives the file part of a multipart upload into u.File.
func (s *Service) readFilePart(part *multipart.Part, filename string, u *files.Upload) error {
	if u.File != nil {
		return contracts.InvalidArgument("file", "only one file per upload")
	}
	if err := files.ValidName(filename); err != nil {
		return err
	}
	if u.Name == "" {
		u.Name = filename
	}
	limits := s.core.Limits()
	limit := limits.MaxLimit()
	if u.Purpose != "" {
		limit = limits.Limit(u.Purpose)
	}
	var err error
	u.File, err = s.core.Receive(part, u.Purpose, limit)
	return err
}

// partNames returns a part's form name and its filename exactly as sent
// (multipart.Part.FileName would strip a path, hiding a client's mistake).
func partNames(p *multipart.Part) (name, filename string, ok bool) {
	d, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil || d != "form-data" {
		return "", "", false
	}
	return params["name"], params["filename"], true
}

func readField(p *multipart.Part, name string) (string, error) {
	b, err := io.ReadAll(io.LimitReader(p, maxFieldLen+1))
	if err != nil {
		return "", files.ReadError(err)
	}
	if len(b) > maxFieldLen {
		return "", contracts.InvalidArgument(name, "form field %q is longer than %d bytes", name, maxFieldLen)
	}
	return string(b), nil
}

// handleDownload serves GET/HEAD /files/{id} and /files/{id}/thumbnail:
// conditional requests and single byte ranges are answered by
// http.ServeContent with the sha256 as strong ETag.
func (s *Service) handleDownload(w http.ResponseWriter, r *http.Request, thumb bool) {
	route := "download"
	if thumb {
		route = "thumbnail"
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	d, err := s.core.Open(ctx, actorOf(r), r.PathValue("id"), thumb)
	cancel()
	if err != nil {
		s.fail(w, r, route, err)
		return
	}
	defer d.Blob.Close()
	downloadHeaders(w.Header(), d)
	if st, err := d.Blob.Stat(); err == nil { // the size ServeContent will see
		if rg := byteRange(r.Header.Get("Range"), st.Size()); rg == "" {
			r.Header.Del("Range")
		} else {
			r.Header.Set("Range", rg)
		}
	}
	http.ServeContent(w, r, "", d.File.CreatedAt, d.Blob)
}

// downloadHeaders sets what a download tells the client about its bytes:
// type, strong ETag, disposition, and caching (public files for a year,
// others revalidated privately).
func downloadHeaders(h http.Header, d files.Download) {
	kind := "attachment"
	if d.Inline {
		kind = "inline"
	}
	h.Set("Content-Type", d.ContentType)
	h.Set("Etag", `"`+d.SHA256+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox")
	h.Set("Content-Disposition", contentDisposition(kind, d.Name))
	if d.File.Public() {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "private, no-cache")
	}
}

// byteRange decides what a Range header (RFC 9110 §14.1.2, §14.2) asks of
// a representation of size bytes and returns the header to hand to
// http.ServeContent, which still applies the conditional headers first
// (If-None-Match, If-Range …) and so keeps their precedence:
//   - "" (serve the whole file, 200) for no header, a range unit other
//     than bytes (which must be ignored), a syntactically invalid set
//     (which may be ignored), an empty file (nothing to slice), or several
//     ranges of which one is satisfiable (one range only keeps responses
//     simple and cheap; serving the whole is allowed);
//   - "bytes=<size>-" when no range is satisfiable — no first-pos below
//     size and no suffix of non-zero length, e.g. bytes=-0 or bytes=size-
//     — so ServeContent answers 416 with Content-Range: bytes */size;
//     http.ServeContent alone would answer bytes=-0 with a 206 and the
//     impossible Content-Range bytes size-(size-1)/size;
//   - the header itself, for one satisfiable range.
func byteRange(h string, size int64) string {
	h = strings.TrimSpace(h)
	if h == "" || size <= 0 {
		return ""
	}
	unit, set, ok := strings.Cut(h, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return ""
	}
	specs, satisfiable := 0, false
	for spec := range strings.SplitSeq(set, ",") {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue
		}
		first, last, ok := strings.Cut(spec, "-")
		first, last = strings.TrimSpace(first), strings.TrimSpace(last)
		if !ok || (first == "" && last == "") || !digits(first) || !digits(last) {
			return ""
		}
		specs++
		if first == "" { // suffix-range: the last n bytes
			n, err := strconv.ParseInt(last, 10, 64)
			if err == nil && n > 0 {
				satisfiable = true
			}
			continue
		}
		start, err := strconv.ParseInt(first, 10, 64)
		if err != nil {
			return "" // beyond int64: not a range this server can read
		}
		if last != "" {
			end, err := strconv.ParseInt(last, 10, 64)
			if err == nil && end < start {
				return "" // invalid byte-range-spec
			}
		}
		if start < size {
			satisfiable = true
		}
	}
	switch {
	case specs == 0:
		return ""
	case !satisfiable:
		return "bytes=" + strconv.FormatInt(size, 10) + "-"
	case specs > 1:
		return ""
	}
	return "bytes=" + strings.TrimSpace(set)
}

// digits reports whether s is empty or only ASCII digits.
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// contentDisposition builds a safe Content-Disposition (RFC 6266): an
// ASCII fallback filename with anything doubtful replaced by '_', and the
// exact name as RFC 8187 filename*.
func contentDisposition(kind, name string) string {
	var ascii, ext strings.Builder
	for _, r := range name {
		if r < 0x20 || r >= 0x7f || r == '"' || r == '\\' || r == '/' || r == '%' || r == ';' {
			ascii.WriteByte('_')
		} else {
			ascii.WriteRune(r)
		}
	}
	const hexd = "0123456789ABCDEF"
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			ext.WriteByte(c)
		} else {
			ext.WriteByte('%')
			ext.WriteByte(hexd[c>>4])
			ext.WriteByte(hexd[c&15])
		}
	}
	return kind + `; filename="` + ascii.String() + `"; filename*=UTF-8''` + ext.String()
}
