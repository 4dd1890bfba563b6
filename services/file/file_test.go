package file_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/services/file"
)

func TestUploadDownloadSameBytes(t *testing.T) {
	t.Parallel()
	h := start(t)
	u := seller()
	data := pngOf(t, 64, 48, 1)
	f := h.mustUpload(u, contracts.PurposeProductImage, "shoe.png", data)
	if f.SHA256 != sum(data) || f.Size != int64(len(data)) || f.ContentType != "image/png" || f.OwnerID != u.ID ||
		f.URL != "/api/v1/files/"+f.ID || f.ThumbnailURL != f.URL+"/thumbnail" || f.Width != 64 || f.Height != 48 || f.Purpose != contracts.PurposeProductImage {
		t.Fatalf("upload reply: %+v", f)
	}
	// Public: anyone may read it, even anonymous.
	r := h.get(contracts.Actor{}, "/files/"+f.ID)
	if r.status != 200 || !bytes.Equal(r.body, data) || sum(r.body) != f.SHA256 {
		t.Fatalf("download: %d, %d bytes", r.status, len(r.body))
	}
	for k, want := range map[string]string{
		"Content-Type":           "image/png",
		"Etag":                   `"` + f.SHA256 + `"`,
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "public, max-age=31536000, immutable",
		"Accept-Ranges":          "bytes",
		"Content-Disposition":    `inline; filename="shoe.png"; filename*=UTF-8''shoe.png`,
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}

	// A private document: attachment, private cache, name sanitised.
	doc := textOf(3000)
	d := h.mustUpload(u, contracts.PurposeDocument, `re"port ü.txt`, doc)
	r = h.get(u, "/files/"+d.ID)
	if r.status != 200 || !bytes.Equal(r.body, doc) || r.header.Get("Content-Type") != "text/plain" {
		t.Fatalf("document download: %d %q", r.status, r.header.Get("Content-Type"))
	}
	if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename="re_port _.txt"; filename*=UTF-8''re%22port%20%C3%BC.txt` {
		t.Errorf("Content-Disposition = %q", cd)
	}
	if cc := r.header.Get("Cache-Control"); cc != "private, no-cache" {
		t.Errorf("Cache-Control = %q", cc)
	}
	if d.ThumbnailURL != "" {
		t.Errorf("a text document has a thumbnail: %+v", d)
	}
	if r := h.get(u, "/files/"+d.ID+"/thumbnail"); r.status != 404 {
		t.Errorf("thumbnail of a document: %d", r.status)
	}

	// A raw (non-multipart) body with the purpose in the query.
	req, _ := http.NewRequest(http.MethodPost, h.base+"/upload?purpose=avatar&folder=me&name=face.png", bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/octet-stream")
	r = h.do(req, u)
	if r.status != 201 {
		t.Fatalf("raw upload: %d %s", r.status, r.body)
	}
	if a := r.file(t); a.Folder != "me" || a.Name != "face.png" || a.SHA256 != f.SHA256 || a.Purpose != "avatar" {
		t.Fatalf("raw upload reply: %+v", a)
	}
}

func TestRangeAndConditional(t *testing.T) {
	t.Parallel()
	h := start(t)
	u := user()
	data := textOf(10000)
	f := h.mustUpload(u, contracts.PurposeDocument, "a.txt", data)
	path := "/files/" + f.ID

	r := h.get(u, path, "Range", "bytes=100-199")
	if r.status != http.StatusPartialContent || !bytes.Equal(r.body, data[100:200]) ||
		r.header.Get("Content-Range") != fmt.Sprintf("bytes 100-199/%d", len(data)) {
		t.Fatalf("range: %d %q %q", r.status, r.header.Get("Content-Range"), r.body)
	}
	r = h.get(u, path, "Range", "bytes=-10")
	if r.status != 206 || !bytes.Equal(r.body, data[len(data)-10:]) {
		t.Fatalf("suffix range: %d %q", r.status, r.body)
	}
	r = h.get(u, path, "Range", "bytes=20000-")
	if r.status != http.StatusRequestedRangeNotSatisfiable || r.header.Get("Content-Range") != fmt.Sprintf("bytes */%d", len(data)) {
		t.Fatalf("unsatisfiable: %d %q", r.status, r.header.Get("Content-Range"))
	}
	r = h.get(u, path, "Range", "bytes=0-1,5-6")
	if r.status != 200 || !bytes.Equal(r.body, data) {
		t.Fatalf("multi-range should get the whole file: %d", r.status)
	}

	etag := `"` + f.SHA256 + `"`
	r = h.get(u, path, "If-None-Match", etag)
	if r.status != http.StatusNotModified || len(r.body) != 0 {
		t.Fatalf("If-None-Match: %d", r.status)
	}
	r = h.get(u, path, "If-None-Match", `"other"`)
	if r.status != 200 || !bytes.Equal(r.body, data) {
		t.Fatalf("changed ETag: %d", r.status)
	}
	// If-Range with a stale validator gets the whole file.
	r = h.get(u, path, "Range", "bytes=0-9", "If-Range", `"stale"`)
	if r.status != 200 || len(r.body) != len(data) {
		t.Fatalf("If-Range stale: %d %d", r.status, len(r.body))
	}
}

func TestTypeComesFromTheBytes(t *testing.T) {
	t.Parallel()
	h := start(t)
	u := user()
	// A PNG named .exe (and claimed as an executable) is a PNG.
	r := h.uploadParts(u, "", part{name: "purpose", data: []byte("review_image")},
		part{name: "file", filename: "setup.exe", data: pngOf(t, 10, 10, 2), contentType: "application/x-msdownload"})
	if r.status != 201 || r.file(t).ContentType != "image/png" {
		t.Fatalf("png named exe: %d %s", r.status, r.body)
	}
	before := len(h.blobs())
	elf := append([]byte("\x7fELF\x02\x01\x01\x00"), bytes.Repeat([]byte{0, 1, 2, 3}, 300)...)
	mz := append([]byte("MZ\x90\x00\x03\x00\x00\x00"), bytes.Repeat([]byte{0xff, 0, 7}, 300)...)
	textThenBinary := append(textOf(600), 0, 0, 0, 1)
	for _, c := range []struct {
		name, purpose, filename string
		data                    []byte
	}{
		{"elf as png", "product_image", "cat.png", elf},
		{"mz as png", "avatar", "cat.png", mz},
		{"mz as document", "document", "invoice.pdf", mz},
		{"pdf as image", "product_image", "x.png", []byte("%PDF-1.7\n%âãÏÓ\n1 0 obj\n<<>>\nendobj\n")},
		{"text as image", "avatar", "a.png", textOf(100)},
		{"svg as image", "product_image", "x.png", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)},
		{"html as document", "document", "x.txt", []byte("<html><script>alert(1)</script></html>")},
		{"binary after text", "document", "x.txt", textThenBinary},
	} {
		r := h.upload(u, c.purpose, c.filename, c.data)
		if r.status != http.StatusUnsupportedMediaType || r.code() != contracts.CodeUnsupportedMedia {
			t.Errorf("%s: %d %s, want 415", c.name, r.status, r.body)
		}
	}
	if got := len(h.blobs()); got != before || len(h.temps()) != 0 || h.count("files") != 1 {
		t.Fatalf("a refused upload left something: blobs %d→%d, temps %v", before, got, h.temps())
	}
	// A PDF is a document.
	if r := h.upload(u, "document", "i.pdf", []byte("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")); r.status != 201 || r.file(t).ContentType != "application/pdf" {
		t.Fatalf("pdf: %d %s", r.status, r.body)
	}
}

func TestOverTheLimitStoresNothing(t *testing.T) {
	t.Parallel()
	h := start(t, func(c *file.Config) { c.MaxAvatarSize = 4000; c.MaxDocumentSize = 1 << 20 })
	u := user()
	big := pngOf(t, 200, 200, 3)
	if len(big) <= 4000 {
		t.Fatalf("test png too small: %d", len(big))
	}
	r := h.upload(u, "avatar", "me.png", big)
	if r.status != http.StatusRequestEntityTooLarge || r.code() != contracts.CodePayloadTooLarge {
		t.Fatalf("avatar over the limit: %d %s", r.status, r.body)
	}
	h.nothingStored()
	// The purpose after the file: the limit is checked once it is known.
	r = h.uploadParts(u, "", part{name: "file", filename: "me.png", data: big}, part{name: "purpose", data: []byte("avatar")})
	if r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("purpose after file: %d %s", r.status, r.body)
	}
	h.nothingStored()
	// A body far over every limit, streamed raw: the 413 really arrives
	// (the service stops reading) and nothing stays.
	pr, pw := io.Pipe()
	go func() {
		chunk := textOf(64 << 10)
		for i := 0; i < 200; i++ { // 12.5 MiB
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		_ = pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, h.base+"/upload?purpose=document", pr)
	r = h.do(req, u)
	_ = pr.Close()
	if r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("streamed body over the limit: %d %s", r.status, r.body)
	}
	h.nothingStored()
	// Exactly at the limit is fine.
	r = h.upload(u, "document", "max.txt", textOf(1<<20))
	if r.status != 201 {
		t.Fatalf("at the limit: %d %s", r.status, r.body)
	}
}

func TestDecompressionBombRefused(t *testing.T) {
	t.Parallel()
	h := start(t)
	u := user()
	for _, c := range []struct {
		w, h uint32
	}{{20000, 20000}, {8001, 10}, {7000, 7000}, {4001, 4000}} { // 4001×4000 > 16 Mpx
		r := h.upload(u, "product_image", "bomb.png", pngHeader(c.w, c.h))
		if r.status < 400 || r.status >= 500 {
			t.Fatalf("%d×%d: %d %s", c.w, c.h, r.status, r.body)
		}
	}
	// A damaged image (valid header, no pixels) is refused too.
	if r := h.upload(u, "product_image", "bad.png", pngHeader(100, 100)); r.status != 400 {
		t.Fatalf("damaged image: %d %s", r.status, r.body)
	}
	h.nothingStored()
}

func TestBadInputRefusedAndNothingStored(t *testing.T) {
	t.Parallel()
	h := start(t)
	u := user()
	img := pngOf(t, 8, 8, 4)
	filePart := part{name: "file", filename: "a.png", data: img}
	for _, c := range []struct {
		name  string
		query string
		parts []part
	}{
		{"folder traversal", "", []part{{name: "purpose", data: []byte("avatar")}, {name: "folder", data: []byte("../etc")}, filePart}},
		{"folder traversal inside", "", []part{{name: "purpose", data: []byte("avatar")}, {name: "folder", data: []byte("a/../../b")}, filePart}},
		{"folder absolute", "", []part{{name: "purpose", data: []byte("avatar")}, {name: "folder", data: []byte("/etc")}, filePart}},
		{"folder in query", "?folder=..%2Fx", []part{{name: "purpose", data: []byte("avatar")}, filePart}},
		{"folder too long", "", []part{{name: "purpose", data: []byte("avatar")}, {name: "folder", data: []byte(strings.Repeat("a", 201))}, filePart}},
		{"folder bad char", "", []part{{name: "purpose", data: []byte("avatar")}, {name: "folder", data: []byte("a\\b")}, filePart}},
		{"filename traversal", "", []part{{name: "purpose", data: []byte("avatar")}, {name: "file", filename: "../../evil.png", data: img}}},
		{"filename backslash", "", []part{{name: "purpose", data: []byte("avatar")}, {name: "file", filename: `..\evil.png`, data: img}}},
		{"name in query", "?name=..%2Fx.png", []part{{name: "purpose", data: []byte("avatar")}, filePart}},
		{"purpose traversal", "", []part{{name: "purpose", data: []byte("../avatar")}, filePart}},
		{"purpose unknown", "", []part{{name: "purpose", data: []byte("wallpaper")}, filePart}},
		{"purpose traversal in query", "?purpose=..%2F", []part{filePart}},
		{"purpose missing", "", []part{filePart}},
		{"purpose conflict", "?purpose=avatar", []part{{name: "purpose", data: []byte("document")}, filePart}},
		{"purpose after file traversal", "", []part{filePart, {name: "purpose", data: []byte("../x")}}},
		{"no file part", "", []part{{name: "purpose", data: []byte("avatar")}}},
		{"two files", "", []part{{name: "purpose", data: []byte("avatar")}, filePart, filePart}},
		{"empty file", "", []part{{name: "purpose", data: []byte("avatar")}, {name: "file", filename: "a.png"}}},
	} {
		r := h.uploadParts(u, c.query, c.parts...)
		if r.status != http.StatusBadRequest || r.code() != contracts.CodeInvalidArgument {
			t.Errorf("%s: %d %s, want 400", c.name, r.status, r.body)
		}
	}
	for _, c := range []struct {
		name, ct string
		body     []byte
	}{
		{"empty raw body", "application/octet-stream", nil},
		{"raw body without purpose", "application/octet-stream", img},
		{"multipart without boundary", "multipart/form-data", img},
		{"garbage multipart", "multipart/form-data; boundary=xyz", []byte("not multipart at all")},
	} {
		q := "?purpose=avatar"
		if strings.Contains(c.name, "without purpose") {
			q = ""
		}
		req, _ := http.NewRequest(http.MethodPost, h.base+"/upload"+q, bytes.NewReader(c.body))
		req.Header.Set("Content-Type", c.ct)
		if r := h.do(req, u); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", c.name, r.status, r.body)
		}
	}
	h.nothingStored()

	// No actor, no upload; no token, nothing at all.
	if r := h.upload(contracts.Actor{}, "avatar", "a.png", img); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous upload: %d", r.status)
	}
	req, _ := http.NewRequest(http.MethodGet, h.base+"/files/00000000-0000-0000-0000-000000000000", nil)
	resp, err := h.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no internal token: %d", resp.StatusCode)
	}
	h.nothingStored()
	// Malformed ids are plain 404s.
	for _, p := range []string{"/files/nope", "/files/..%2F..%2Fetc%2Fpasswd", "/files/00000000-0000-0000-0000-000000000000/thumbnail"} {
		if r := h.get(u, p); r.status != 404 {
			t.Errorf("GET %s: %d", p, r.status)
		}
	}
}

func TestOwnership(t *testing.T) {
	t.Parallel()
	h := start(t)
	alice, bob, boss := user(), user(), admin()
	svcActor := contracts.Actor{Role: contracts.RoleService}
	priv := h.mustUpload(alice, "document", "secret.txt", textOf(100))
	pub := h.mustUpload(alice, "product_image", "p.png", pngOf(t, 20, 20, 5))

	// Reading: the owner and admins; bob and anonymous get 404.
	for _, a := range []contracts.Actor{bob, {}} {
		if r := h.get(a, "/files/"+priv.ID); r.status != 404 {
			t.Errorf("%v reads a private file: %d", a, r.status)
		}
		h.callFails(contracts.CodeNotFound, a, contracts.MethodFileStat, id(priv.ID), nil)
	}
	if r := h.get(boss, "/files/"+priv.ID); r.status != 200 {
		t.Errorf("admin reads: %d", r.status)
	}
	if r := h.get(bob, "/files/"+pub.ID+"/thumbnail"); r.status != 200 {
		t.Errorf("bob reads a product image thumbnail: %d", r.status)
	}

	// Changing: never for bob (404 private, 403 public).
	h.callFails(contracts.CodeNotFound, bob, contracts.MethodFileDelete, id(priv.ID), nil)
	h.callFails(contracts.CodeNotFound, bob, contracts.MethodFileMove, id(priv.ID), contracts.FileFolderRequest{Folder: "mine"})
	h.callFails(contracts.CodeNotFound, bob, contracts.MethodFileCopy, id(priv.ID), contracts.FileFolderRequest{Folder: "mine"})
	h.callFails(contracts.CodePermissionDenied, bob, contracts.MethodFileDelete, id(pub.ID), nil)
	h.callFails(contracts.CodePermissionDenied, bob, contracts.MethodFileMove, id(pub.ID), contracts.FileFolderRequest{Folder: "x"})
	h.callFails(contracts.CodeUnauthenticated, contracts.Actor{}, contracts.MethodFileDelete, id(priv.ID), nil)
	var l contracts.List[contracts.File]
	h.callOK(bob, contracts.MethodFileList, nil, nil, &l)
	if len(l.Items) != 0 {
		t.Errorf("bob lists alice's files: %+v", l.Items)
	}
	h.callFails(contracts.CodePermissionDenied, bob, contracts.MethodFileList, contracts.Params{"owner_id": {alice.ID}}, nil)
	if r := h.get(alice, "/files/"+priv.ID); r.status != 200 {
		t.Fatalf("alice lost her file: %d", r.status)
	}

	// file.stat as the product service calls it (body {"id"}, service
	// actor; services import no other service, so the call is spelled here).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	statAsProduct := func(id string) (contracts.File, error) {
		return bus.Invoke[contracts.File](ctx, h.deps.RPC, "file", contracts.MethodFileStat, map[string]string{"id": id},
			bus.CallOptions{Actor: contracts.Actor{Role: contracts.RoleService}})
	}
	fi, err := statAsProduct(pub.ID)
	if err != nil || fi.ID != pub.ID || fi.OwnerID != alice.ID || fi.Purpose != "product_image" || fi.ContentType != "image/png" || fi.Size != pub.Size {
		t.Fatalf("product's file.stat: %+v %v", fi, err)
	}
	var st contracts.File
	h.callOK(svcActor, contracts.MethodFileStat, id(priv.ID), nil, &st)
	if st.OwnerID != alice.ID {
		t.Errorf("service stat: %+v", st)
	}
	if _, err := statAsProduct("not-an-id"); contracts.ErrorCode(err) != contracts.CodeInvalidArgument {
		t.Errorf("stat of a malformed id: %v", err)
	}

	// Admin may delete anyone's file.
	h.callOK(boss, contracts.MethodFileDelete, id(priv.ID), nil, nil)
	if r := h.get(alice, "/files/"+priv.ID); r.status != 404 {
		t.Errorf("deleted file still served: %d", r.status)
	}
}

func TestDedupAndBlobLifetime(t *testing.T) {
	t.Parallel()
	h := start(t)
	a, b := user(), user()
	data := pngOf(t, 400, 300, 6)
	f1 := h.mustUpload(a, "review_image", "one.png", data)
	f2 := h.mustUpload(b, "review_image", "two.png", data)
	if f1.ID == f2.ID || f1.SHA256 != f2.SHA256 {
		t.Fatalf("two uploads: %+v %+v", f1, f2)
	}
	// One blob for the bytes, one for the thumbnail, each referenced twice.
	if got := h.blobs(); len(got) != 2 {
		t.Fatalf("blobs on disk: %v", got)
	}
	var refs int
	_ = h.svc.Pool().QueryRow(context.Background(), "SELECT refs FROM blobs WHERE sha256 = $1", f1.SHA256).Scan(&refs)
	if refs != 2 {
		t.Fatalf("refs = %d", refs)
	}
	// A copy adds references, not blobs.
	var cp contracts.File
	h.callOK(a, contracts.MethodFileCopy, id(f1.ID), contracts.FileFolderRequest{Folder: "backup"}, &cp)
	if cp.ID == f1.ID || cp.SHA256 != f1.SHA256 || cp.Folder != "backup" || len(h.blobs()) != 2 {
		t.Fatalf("copy: %+v, blobs %v", cp, h.blobs())
	}
	h.callOK(a, contracts.MethodFileDelete, id(f1.ID), nil, nil)
	h.callOK(a, contracts.MethodFileDelete, id(cp.ID), nil, nil)
	if len(h.blobs()) != 2 {
		t.Fatalf("blob removed while still referenced: %v", h.blobs())
	}
	if r := h.get(b, "/files/"+f2.ID); r.status != 200 || !bytes.Equal(r.body, data) {
		t.Fatalf("survivor download: %d", r.status)
	}
	h.callFails(contracts.CodeNotFound, a, contracts.MethodFileDelete, id(f1.ID), nil)
	h.callOK(b, contracts.MethodFileDelete, id(f2.ID), nil, nil)
	h.nothingStored()
}

func TestThumbnails(t *testing.T) {
	t.Parallel()
	h := start(t)
	u := seller()
	for _, c := range []struct {
		name     string
		data     []byte
		ct       string
		tw, th   int
		filename string
	}{
		{"wide png", pngOf(t, 1000, 500, 7), "image/png", 320, 160, "w.png"},
		{"tall jpeg", jpegOf(t, 300, 900), "image/jpeg", 106, 320, "t.jpg"},
		{"small png", pngOf(t, 50, 40, 8), "image/png", 50, 40, "s.png"},
	} {
		f := h.mustUpload(u, "product_image", c.filename, c.data)
		r := h.get(contracts.Actor{}, "/files/"+f.ID+"/thumbnail")
		if r.status != 200 || r.header.Get("Content-Type") != c.ct {
			t.Fatalf("%s thumbnail: %d %q", c.name, r.status, r.header.Get("Content-Type"))
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(r.body))
		if err != nil || "image/"+format != c.ct || cfg.Width != c.tw || cfg.Height != c.th {
			t.Fatalf("%s thumbnail: %s %d×%d %v, want %d×%d", c.name, format, cfg.Width, cfg.Height, err, c.tw, c.th)
		}
		etag := r.header.Get("Etag")
		if etag == `"`+f.SHA256+`"` || len(etag) != 66 {
			t.Errorf("%s thumbnail etag %q", c.name, etag)
		}
		if r := h.get(contracts.Actor{}, "/files/"+f.ID+"/thumbnail", "If-None-Match", etag); r.status != 304 {
			t.Errorf("%s thumbnail revalidation: %d", c.name, r.status)
		}
	}
}

func TestEventsThroughOutbox(t *testing.T) {
	t.Parallel()
	h := start(t)
	u := user()
	data := pngOf(t, 30, 30, 9)
	f := h.mustUpload(u, "avatar", "me.png", data)
	evs := h.waitEvents(1, func(ev contracts.Event) bool { return ev.Type == contracts.EventFileUploaded })
	var up contracts.FileUploaded
	if err := evs[0].Decode(&up); err != nil {
		t.Fatal(err)
	}
	want := contracts.FileUploaded{FileID: f.ID, OwnerID: u.ID, Purpose: "avatar", ContentType: "image/png", Size: int64(len(data)), SHA256: sum(data)}
	if up != want {
		t.Fatalf("file.uploaded = %+v, want %+v", up, want)
	}
	h.callOK(u, contracts.MethodFileDelete, id(f.ID), nil, nil)
	evs = h.waitEvents(1, func(ev contracts.Event) bool { return ev.Type == contracts.EventFileDeleted })
	var del contracts.FileDeleted
	if err := evs[0].Decode(&del); err != nil {
		t.Fatal(err)
	}
	if del != (contracts.FileDeleted{FileID: f.ID, OwnerID: u.ID}) {
		t.Fatalf("file.deleted = %+v", del)
	}
	// Refused uploads emit nothing: an upload accepted after the refused
	// one is the barrier (the outbox relays in commit order), so once its
	// event is in, an event of the refused upload would be too.
	if r := h.upload(u, "avatar", "x.png", []byte("\x7fELF....")); r.status == http.StatusCreated {
		t.Fatal("an ELF file was accepted as an avatar")
	}
	marker := h.mustUpload(u, "avatar", "marker.png", pngOf(t, 20, 20, 3))
	h.waitEvents(1, func(ev contracts.Event) bool {
		return ev.Type == contracts.EventFileUploaded && eventFileID(t, ev) == marker.ID
	})
	if n := len(h.waitEvents(0, func(ev contracts.Event) bool { return true })); n != 3 {
		t.Fatalf("events: %d, want 3 (upload, delete, the marker's upload)", n)
	}
}

func TestListMoveCopy(t *testing.T) {
	t.Parallel()
	h := start(t)
	u := user()
	var ids []string
	for i := 0; i < 5; i++ {
		f := h.mustUpload(u, "document", fmt.Sprintf("%d.txt", i), textOf(100+i))
		ids = append(ids, f.ID)
	}
	img := h.mustUpload(u, "avatar", "me.png", pngOf(t, 10, 10, 10))

	// Keyset pages, newest first.
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		p := contracts.Params{"limit": {"2"}}
		if cursor != "" {
			p["cursor"] = []string{cursor}
		}
		var l contracts.List[contracts.File]
		h.callOK(u, contracts.MethodFileList, p, nil, &l)
		for _, f := range l.Items {
			got = append(got, f.ID)
		}
		if l.NextCursor == "" {
			break
		}
		cursor = l.NextCursor
		if pages > 5 {
			t.Fatal("endless pages")
		}
	}
	want := append([]string{img.ID}, ids[4], ids[3], ids[2], ids[1], ids[0])
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("pages: %v, want %v", got, want)
	}

	var moved contracts.File
	h.callOK(u, contracts.MethodFileMove, id(ids[1]), contracts.FileFolderRequest{Folder: "invoices/2026"}, &moved)
	if moved.Folder != "invoices/2026" || moved.ID != ids[1] {
		t.Fatalf("move: %+v", moved)
	}
	var cp contracts.File
	h.callOK(u, contracts.MethodFileCopy, id(ids[2]), contracts.FileFolderRequest{Folder: "invoices/2026"}, &cp)

	var l contracts.List[contracts.File]
	h.callOK(u, contracts.MethodFileList, contracts.Params{"folder": {"invoices/2026"}}, nil, &l)
	if len(l.Items) != 2 || l.Items[0].ID != cp.ID || l.Items[1].ID != ids[1] {
		t.Fatalf("folder list: %+v", l.Items)
	}
	h.callOK(u, contracts.MethodFileList, contracts.Params{"folder": {""}}, nil, &l)
	if len(l.Items) != 5 { // 6 uploaded, one moved out of the root
		t.Fatalf("root list: %d items", len(l.Items))
	}
	h.callOK(u, contracts.MethodFileList, contracts.Params{"purpose": {"avatar"}}, nil, &l)
	if len(l.Items) != 1 || l.Items[0].ID != img.ID {
		t.Fatalf("purpose filter: %+v", l.Items)
	}

	for _, c := range []struct {
		method string
		params contracts.Params
		body   any
	}{
		{contracts.MethodFileMove, id(ids[0]), contracts.FileFolderRequest{Folder: "../x"}},
		{contracts.MethodFileMove, id(ids[0]), contracts.FileFolderRequest{Folder: "/root"}},
		{contracts.MethodFileMove, id(ids[0]), contracts.FileFolderRequest{Folder: "a//b"}},
		{contracts.MethodFileMove, id(ids[0]), map[string]any{"folder": "x", "path": "/etc"}},
		{contracts.MethodFileCopy, id(ids[0]), contracts.FileFolderRequest{Folder: "a/./b"}},
		{contracts.MethodFileList, contracts.Params{"folder": {"../"}}, nil},
		{contracts.MethodFileList, contracts.Params{"purpose": {"../"}}, nil},
		{contracts.MethodFileList, contracts.Params{"cursor": {"zzz"}}, nil},
		{contracts.MethodFileList, contracts.Params{"limit": {"-1"}}, nil},
	} {
		h.callFails(contracts.CodeInvalidArgument, u, c.method, c.params, c.body)
	}
	h.callFails(contracts.CodeNotFound, u, contracts.MethodFileMove, id("nope"), contracts.FileFolderRequest{Folder: "x"})
}

func TestSweeperRemovesOrphansAndStaleTemps(t *testing.T) {
	t.Parallel()
	h := start(t, func(c *file.Config) { c.TempMaxAge = time.Minute })
	u := user()
	kept := h.mustUpload(u, "document", "keep.txt", textOf(500))

	orphan := textOf(77)
	orphanPath := orphanWrite(t, h.cfg.Dir, orphan)
	stale := filepath.Join(h.cfg.Dir, "tmp", "upload-stale")
	fresh := filepath.Join(h.cfg.Dir, "tmp", "upload-fresh")
	writeFile(t, stale, []byte("half"))
	writeFile(t, fresh, []byte("in flight"))
	old := time.Now().Add(-time.Hour)
	if err := chtimes(stale, old); err != nil {
		t.Fatal(err)
	}
	st, err := h.svc.Sweep(context.Background())
	if err != nil || st.OrphanBlobs != 1 || st.StaleTemps != 1 {
		t.Fatalf("sweep: %+v %v", st, err)
	}
	if exists(orphanPath) || exists(stale) || !exists(fresh) {
		t.Fatalf("after sweep: orphan %v stale %v fresh %v", exists(orphanPath), exists(stale), exists(fresh))
	}
	if r := h.get(u, "/files/"+kept.ID); r.status != 200 {
		t.Fatalf("referenced blob swept: %d", r.status)
	}
}

func orphanWrite(t testing.TB, dir string, data []byte) string {
	s := sum(data)
	p := filepath.Join(dir, s[:2], s[2:4], s)
	writeFile(t, p, data)
	return p
}

func writeFile(t testing.TB, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o640); err != nil {
		t.Fatal(err)
	}
}

func chtimes(p string, at time.Time) error { return os.Chtimes(p, at, at) }

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// eventFileID is the file id of a file.uploaded event.
func eventFileID(t testing.TB, ev contracts.Event) string {
	t.Helper()
	var up contracts.FileUploaded
	if err := ev.Decode(&up); err != nil {
		t.Fatal(err)
	}
	return up.FileID
}
