package file_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/bus/bustest"
	"github.com/opencommerce/opencommerce/internal/svc"
	"github.com/opencommerce/opencommerce/internal/svc/svctest"
	"github.com/opencommerce/opencommerce/services/file"
)

const token = "test-internal-token"

// harness runs a file service on the real servers with a spy on its events.
type harness struct {
	t    testing.TB
	deps svc.Deps
	svc  *file.Service
	cfg  file.Config
	base string
	hc   *http.Client
	spy  *bustest.Spy
}

func start(t testing.TB, mod ...func(*file.Config)) *harness {
	t.Helper()
	deps, _ := svctest.Deps(t)
	cfg := file.DefaultConfig()
	cfg.Dir = t.TempDir()
	cfg.DataAddr = "127.0.0.1:0"
	cfg.InternalToken = token
	for _, m := range mod {
		m(&cfg)
	}
	h := &harness{t: t, deps: deps, cfg: cfg, hc: &http.Client{Timeout: 60 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	h.spy = bustest.NewSpy(t, deps.Bus, "file.*")

	svc, err := file.New(cfg, deps)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := svc.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	h.svc = svc
	h.base = "http://" + svc.DataAddr()
	return h
}

func user() contracts.Actor {
	return contracts.Actor{ID: uuid.NewString(), Role: contracts.RoleCustomer}
}
func seller() contracts.Actor {
	return contracts.Actor{ID: uuid.NewString(), Role: contracts.RoleSeller}
}
func admin() contracts.Actor { return contracts.Actor{ID: uuid.NewString(), Role: contracts.RoleAdmin} }

// reply is a data port answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) file(t testing.TB) contracts.File {
	t.Helper()
	var f contracts.File
	if err := json.Unmarshal(r.body, &f); err != nil {
		t.Fatalf("decode file %s: %v", r.body, err)
	}
	return f
}

func (r reply) code() contracts.Code {
	var e contracts.ErrorBody
	if json.Unmarshal(r.body, &e) != nil || e.Error == nil {
		return ""
	}
	return e.Error.Code
}

func (h *harness) do(req *http.Request, a contracts.Actor) reply {
	h.t.Helper()
	req.Header.Set(file.HeaderInternalToken, token)
	if a.Role != "" {
		req.Header.Set(file.HeaderActorID, a.ID)
		req.Header.Set(file.HeaderActorRole, a.Role)
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("read body: %v", err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// part is one multipart part: a field (filename "") or a file.
type part struct {
	name, filename string
	data           []byte
	contentType    string // the client's claim (ignored by the service)
}

func multipartBody(parts ...part) (io.Reader, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		hdr := textproto.MIMEHeader{}
		esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
		cd := `form-data; name="` + esc.Replace(p.name) + `"`
		if p.filename != "" {
			cd += `; filename="` + esc.Replace(p.filename) + `"`
		}
		hdr.Set("Content-Disposition", cd)
		if p.contentType != "" {
			hdr.Set("Content-Type", p.contentType)
		}
		w, _ := mw.CreatePart(hdr)
		_, _ = w.Write(p.data)
	}
	_ = mw.Close()
	return &buf, mw.FormDataContentType()
}

// upload posts a multipart upload of data with purpose as a form field.
func (h *harness) upload(a contracts.Actor, purpose, filename string, data []byte) reply {
	h.t.Helper()
	return h.uploadParts(a, "", part{name: "purpose", data: []byte(purpose)}, part{name: "file", filename: filename, data: data})
}

func (h *harness) uploadParts(a contracts.Actor, query string, parts ...part) reply {
	h.t.Helper()
	body, ct := multipartBody(parts...)
	req, _ := http.NewRequest(http.MethodPost, h.base+"/upload"+query, body)
	req.Header.Set("Content-Type", ct)
	return h.do(req, a)
}

// mustUpload uploads and fails the test unless it got 201.
func (h *harness) mustUpload(a contracts.Actor, purpose, filename string, data []byte) contracts.File {
	h.t.Helper()
	r := h.upload(a, purpose, filename, data)
	if r.status != http.StatusCreated {
		h.t.Fatalf("upload %s %s: %d %s", purpose, filename, r.status, r.body)
	}
	return r.file(h.t)
}

func (h *harness) get(a contracts.Actor, path string, hdr ...string) reply {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.base+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return h.do(req, a)
}

// call sends a gateway-style RPC (envelope) and returns the reply.
func (h *harness) call(a contracts.Actor, method string, params contracts.Params, body any) bus.Reply {
	h.t.Helper()
	env := contracts.Envelope{Params: params}
	if body != nil {
		b, _ := json.Marshal(body)
		env.Body = b
	}
	b, _ := json.Marshal(env)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := h.deps.RPC.Call(ctx, file.Name, method, b, bus.CallOptions{Actor: a})
	if err != nil {
		h.t.Fatalf("%s: %v", method, err)
	}
	return r
}

func (h *harness) callOK(a contracts.Actor, method string, params contracts.Params, body any, v any) {
	h.t.Helper()
	r := h.call(a, method, params, body)
	if r.Status != contracts.StatusOK {
		h.t.Fatalf("%s as %v: %s %s", method, a, r.Status, r.Body)
	}
	if v != nil {
		if err := json.Unmarshal(r.Body, v); err != nil {
			h.t.Fatalf("%s: decode %s: %v", method, r.Body, err)
		}
	}
}

func (h *harness) callFails(code contracts.Code, a contracts.Actor, method string, params contracts.Params, body any) {
	h.t.Helper()
	r := h.call(a, method, params, body)
	if r.Status != string(code) {
		h.t.Fatalf("%s as %v: got %s %s, want %s", method, a, r.Status, r.Body, code)
	}
}

func id(v string) contracts.Params { return contracts.Params{"id": {v}} }

// blobs lists the blob digests on disk; temps the upload temporaries.
func (h *harness) blobs() []string {
	h.t.Helper()
	var out []string
	_ = filepath.WalkDir(h.cfg.Dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "tmp" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			out = append(out, d.Name())
		}
		return nil
	})
	return out
}

func (h *harness) temps() []string {
	h.t.Helper()
	ents, err := os.ReadDir(filepath.Join(h.cfg.Dir, "tmp"))
	if err != nil {
		h.t.Fatalf("read tmp: %v", err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func (h *harness) count(table string) int {
	h.t.Helper()
	var n int
	if err := h.svc.Pool().QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		h.t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// nothingStored checks that no blob, temporary or row exists.
func (h *harness) nothingStored() {
	h.t.Helper()
	if b, tmp, f, bl := h.blobs(), h.temps(), h.count("files"), h.count("blobs"); len(b)+len(tmp)+f+bl != 0 {
		h.t.Fatalf("something was stored: blobs %v, temps %v, files %d, blob rows %d", b, tmp, f, bl)
	}
}

// waitEvents waits until match has selected n events, and returns them.
func (h *harness) waitEvents(n int, match func(contracts.Event) bool) []contracts.Event {
	h.t.Helper()
	return h.spy.Wait(h.t, n, match)
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// pngOf encodes a w×h gradient (seed varies the pixels).
func pngOf(t testing.TB, w, h int, seed uint8) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := uint32(x*7919+y*104729) + uint32(seed)
			n ^= n << 13
			n ^= n >> 17
			n ^= n << 5
			n *= 2654435761 // noise: compresses badly
			img.Set(x, y, color.NRGBA{uint8(x) + seed, uint8(y), uint8(n >> 24), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jpegOf(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 90, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngHeader is a PNG signature and a valid IHDR chunk declaring w×h RGBA
// pixels, and nothing else: what a decompression bomb shows first.
func pngHeader(w, h uint32) []byte {
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	_ = binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr[:]...)
	b.Write(chunk)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	// An IDAT that would inflate to gigabytes is never read.
	b.Write(bytes.Repeat([]byte{0}, 64))
	return b.Bytes()
}

func textOf(n int) []byte {
	return []byte(strings.Repeat("all work and no play makes jack a dull boy\n", n/43+1)[:n])
}
