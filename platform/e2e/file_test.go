package e2e_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// fileInfo is the part of contracts.File the tests read.
type fileInfo struct {
	ID           string `json:"id"`
	URL          string `json:"url"`
	ThumbnailURL string `json:"thumbnail_url"`
	SHA256       string `json:"sha256"`
	Size         int64  `json:"size"`
	ContentType  string `json:"content_type"`
	Purpose      string `json:"purpose"`
	Folder       string `json:"folder"`
	Name         string `json:"name"`
	OwnerID      string `json:"owner_id"`
}

// part is one multipart field; file parts have a filename.
type part struct {
	name, filename string
	data           []byte
}

// postMultipart uploads parts to POST /files(?query) as c.
func postMultipart(c *client, query string, parts ...part) response {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p.filename != "" {
			w, err = mw.CreateFormFile(p.name, p.filename)
		} else {
			w, err = mw.CreateFormField(p.name)
		}
		if err != nil {
			c.t.Fatal(err)
		}
		_, _ = w.Write(p.data)
	}
	_ = mw.Close()
	return postRaw(c, query, mw.FormDataContentType(), body.Bytes())
}

// postRaw sends body to POST /files(?query) with Content-Type ct as c.
func postRaw(c *client, query, ct string, body []byte) response {
	c.t.Helper()
	req, err := http.NewRequest("POST", c.base+"/files"+query, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("upload of %d bytes: the client received no answer: %v", len(body), err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// upload sends data as the multipart part "file" named filename with
// purpose (and folder when not empty).
func upload(c *client, purpose, folder, filename string, data []byte) response {
	c.t.Helper()
	parts := []part{{name: "purpose", data: []byte(purpose)}}
	if folder != "" {
		parts = append(parts, part{name: "folder", data: []byte(folder)})
	}
	return postMultipart(c, "", append(parts, part{name: "file", filename: filename, data: data})...)
}

// myFiles lists c's files (all folders).
func myFiles(c *client) []fileInfo {
	c.t.Helper()
	var l struct{ Items []fileInfo }
	c.must(http.StatusOK, "GET", "/files?limit=100", nil).JSON(c.t, &l)
	return l.Items
}

// noisyPNG is a w×h PNG of random pixels (it does not compress, so its size
// is about 4·w·h bytes).
func noisyPNG(t testing.TB, w, h int, seed uint64) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(r.Uint32())
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// hugeHeaderPNG is a valid 1×1 PNG whose header claims w×h pixels.
func hugeHeaderPNG(t testing.TB, w, h uint32) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.Gray{Y: 7})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	p := b.Bytes()
	// signature (8) | length (4) "IHDR" (4) width height ... | crc
	binary.BigEndian.PutUint32(p[16:], w)
	binary.BigEndian.PutUint32(p[20:], h)
	binary.BigEndian.PutUint32(p[29:], crc32.ChecksumIEEE(p[12:29]))
	return p
}

// exeBytes starts like a Windows executable.
func exeBytes() []byte {
	b := make([]byte, 4096)
	copy(b, "MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff")
	copy(b[64:], "PE\x00\x00")
	for i := 128; i < len(b); i++ {
		b[i] = byte(i * 7)
	}
	return b
}

// startFiles starts a platform whose gateway rate classes let one test
// sign up several accounts and upload many files from one IP (the upload
// class allows 10 in a burst by default).
func startFiles(t *testing.T) *platformtest.Env {
	t.Helper()
	return platformtest.Start(t, platformtest.Options{WideRateLimits: true})
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestFilesThroughGateway(t *testing.T) {
	t.Parallel()
	env := startFiles(t)
	c := newClient(t, env)
	alice := c.as(signUp(c, "alice-files@example.com", "").Access)
	bob := c.as(signUp(c, "bob-files@example.com", "").Access)
	anon := newClient(t, env)

	doc := noisyPNG(t, 300, 300, 1) // ~360 KB: many reads and writes on the way
	r := upload(alice, "document", "invoices/2026", "scan.png", doc)
	if r.Status != http.StatusCreated {
		t.Fatalf("upload: %s", r)
	}
	f := decode[fileInfo](t, r)
	if f.ID == "" || f.SHA256 != sha(doc) || f.Size != int64(len(doc)) || f.ContentType != "image/png" ||
		f.Purpose != "document" || f.Folder != "invoices/2026" || f.Name != "scan.png" {
		t.Fatalf("uploaded file: %+v", f)
	}

	t.Run("download returns the same bytes", func(t *testing.T) {
		r := alice.with(t).must(http.StatusOK, "GET", "/files/"+f.ID, nil)
		if !bytes.Equal(r.Body, doc) || sha(r.Body) != f.SHA256 {
			t.Fatalf("downloaded %d bytes (sha %s), uploaded %d (%s)", len(r.Body), sha(r.Body), len(doc), f.SHA256)
		}
		if et := r.Header.Get("ETag"); !strings.Contains(et, f.SHA256) {
			t.Fatalf("ETag %q does not name the hash %s", et, f.SHA256)
		}
		if r.Header.Get("X-Request-ID") == "" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("gateway headers missing: %v", r.Header)
		}
	})

	t.Run("a range request returns the slice", func(t *testing.T) {
		r := alice.with(t).must(http.StatusPartialContent, "GET", "/files/"+f.ID, nil, "Range", "bytes=1000-1999")
		if !bytes.Equal(r.Body, doc[1000:2000]) {
			t.Fatalf("range body: %d bytes, not the slice", len(r.Body))
		}
		if cr := r.Header.Get("Content-Range"); cr != "bytes 1000-1999/"+strconv.Itoa(len(doc)) {
			t.Fatalf("Content-Range %q", cr)
		}
		r = alice.with(t).must(http.StatusPartialContent, "GET", "/files/"+f.ID, nil, "Range", "bytes=-10")
		if !bytes.Equal(r.Body, doc[len(doc)-10:]) {
			t.Fatal("suffix range: not the last 10 bytes")
		}
	})

	t.Run("an unchanged ETag gives 304", func(t *testing.T) {
		et := alice.with(t).must(http.StatusOK, "HEAD", "/files/"+f.ID, nil).Header.Get("ETag")
		if et == "" {
			t.Fatal("HEAD without ETag")
		}
		r := alice.with(t).must(http.StatusNotModified, "GET", "/files/"+f.ID, nil, "If-None-Match", et)
		if len(r.Body) != 0 {
			t.Fatalf("304 with a body of %d bytes", len(r.Body))
		}
	})

	t.Run("a private file is its owner's", func(t *testing.T) {
		t.Helper()
		bob := bob.with(t)
		wantError(t, anon.with(t).do("GET", "/files/"+f.ID, nil), http.StatusNotFound, "not_found")
		wantError(t, bob.do("GET", "/files/"+f.ID, nil), http.StatusNotFound, "not_found")
		wantError(t, bob.do("GET", "/files/"+f.ID+"/thumbnail", nil), http.StatusNotFound, "not_found")
		wantError(t, bob.do("DELETE", "/files/"+f.ID, nil), http.StatusNotFound, "not_found")
		wantError(t, bob.do("POST", "/files/"+f.ID+"/move", map[string]string{"folder": "stolen"}), http.StatusNotFound, "not_found")
		wantError(t, bob.do("POST", "/files/"+f.ID+"/copy", map[string]string{"folder": "stolen"}), http.StatusNotFound, "not_found")
		if got := myFiles(bob); len(got) != 0 {
			t.Fatalf("bob lists %d files", len(got))
		}
		// Still there, unmoved, for alice.
		alice.with(t).must(http.StatusPartialContent, "GET", "/files/"+f.ID, nil, "Range", "bytes=0-0")
		found := false
		for _, g := range myFiles(alice.with(t)) {
			found = found || (g.ID == f.ID && g.Folder == "invoices/2026")
		}
		if !found {
			t.Fatal("alice's file moved or vanished")
		}
	})

	before := len(myFiles(alice))
	t.Run("the type comes from the bytes", func(t *testing.T) {
		img := pngBytes(t)
		r := upload(alice.with(t), "product_image", "", "setup.exe", img)
		if r.Status != http.StatusCreated {
			t.Fatalf("a PNG named .exe: %s", r)
		}
		if got := decode[fileInfo](t, r); got.ContentType != "image/png" {
			t.Fatalf("stored as %q", got.ContentType)
		}
		wantError(t, upload(alice.with(t), "product_image", "", "cat.png", exeBytes()), http.StatusUnsupportedMediaType, "unsupported_media_type")
		wantError(t, upload(alice.with(t), "document", "", "cat.png", exeBytes()), http.StatusUnsupportedMediaType, "unsupported_media_type")
	})
	before++ // the PNG named .exe

	t.Run("refused uploads store nothing", func(t *testing.T) {
		img := pngBytes(t)
		big := append(bytes.Clone(img), make([]byte, 10<<20)...) // a PNG start, then over the 10 MiB image limit
		tests := []struct {
			name   string
			send   func(c *client) response
			status int
			code   string
		}{
			{"over the image limit (the file service refuses)", func(c *client) response {
				return upload(c, "product_image", "", "big.png", big)
			}, 413, "payload_too_large"},
			{"over the gateway's upload limit", func(c *client) response {
				return upload(c, "document", "", "huge.txt", bytes.Repeat([]byte("all work and no play\n"), 1<<20+100))
			}, 413, "payload_too_large"},
			{"a 20000×20000 PNG header", func(c *client) response {
				return upload(c, "product_image", "", "bomb.png", hugeHeaderPNG(t, 20000, 20000))
			}, 400, "invalid_argument"},
			{"../ in the folder", func(c *client) response { return upload(c, "document", "../etc", "a.png", img) }, 400, "invalid_argument"},
			{"../ in the filename", func(c *client) response { return upload(c, "document", "", "../../etc/a.png", img) }, 400, "invalid_argument"},
			{"../ in the purpose", func(c *client) response { return upload(c, "../document", "", "a.png", img) }, 400, "invalid_argument"},
			{"../ in the query folder", func(c *client) response {
				return postMultipart(c, "?folder=..%2F..%2Fx&purpose=document", part{name: "file", filename: "a.png", data: img})
			}, 400, "invalid_argument"},
			{"an empty body", func(c *client) response {
				return postRaw(c, "?purpose=document", "application/octet-stream", nil)
			}, 400, "invalid_argument"},
			{"an empty file part", func(c *client) response { return upload(c, "document", "", "empty.txt", nil) }, 400, "invalid_argument"},
			{"multipart without a file part", func(c *client) response {
				return postMultipart(c, "", part{name: "purpose", data: []byte("document")}, part{name: "other", filename: "a.png", data: img})
			}, 400, "invalid_argument"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				msg := wantError(t, tc.send(alice.with(t)), tc.status, tc.code)
				if strings.Contains(tc.name, "gateway") && !strings.Contains(msg, "body larger than") {
					t.Errorf("refused by someone else than the gateway: %q", msg)
				}
			})
		}
		if got := myFiles(alice.with(t)); len(got) != before {
			t.Fatalf("alice has %d files after the refusals, want %d", len(got), before)
		}
	})

	t.Run("signed out uploads are refused", func(t *testing.T) {
		wantError(t, upload(anon.with(t), "document", "", "a.png", pngBytes(t)), http.StatusUnauthorized, "unauthenticated")
	})

	t.Run("the owner moves and deletes", func(t *testing.T) {
		alice := alice.with(t)
		moved := decode[fileInfo](t, alice.must(http.StatusOK, "POST", "/files/"+f.ID+"/move", map[string]string{"folder": "archive"}))
		if moved.Folder != "archive" {
			t.Fatalf("moved to %q", moved.Folder)
		}
		alice.must(http.StatusNoContent, "DELETE", "/files/"+f.ID, nil)
		wantError(t, alice.do("GET", "/files/"+f.ID, nil), http.StatusNotFound, "not_found")
	})
}

// TestProductImageThroughGateway: a seller uploads an image and attaches it
// to a product; the product page, cached by the gateway before the attach,
// shows it, and the image is public.
func TestProductImageThroughGateway(t *testing.T) {
	t.Parallel()
	env := startFiles(t)
	c := newClient(t, env)
	adm := c.as(adminSession(c).Access)
	seller := c.as(signUp(c, "image-seller@example.com", "seller").Access)
	anon := newClient(t, env)
	cat := newCategory(adm, "Shoes", "")
	p := newProduct(seller, "Trail Shoe", cat.ID, 8900, 3)

	img := noisyPNG(t, 64, 48, 2)
	r := upload(seller, "product_image", "", "shoe.png", img)
	if r.Status != http.StatusCreated {
		t.Fatalf("upload: %s", r)
	}
	f := decode[fileInfo](t, r)

	// The product page, fetched (and cached) before the attach.
	for range 2 {
		if got := decode[product](t, anon.must(http.StatusOK, "GET", "/products/"+p.ID, nil)); len(got.Images) != 0 {
			t.Fatalf("images before the attach: %+v", got.Images)
		}
	}
	seller.must(http.StatusCreated, "POST", "/products/"+p.ID+"/images", map[string]string{"file_id": f.ID})
	if got := decode[product](t, seller.must(http.StatusOK, "GET", "/products/"+p.ID, nil)); len(got.Images) != 1 {
		t.Fatalf("the product service does not show the image: %+v", got.Images)
	}
	var last product
	testenv.EventuallyWithin(t, 3*time.Second, "anonymous GET /products/{id} still serves the product without its image (the gateway cache was not purged on product.updated)", func() bool {
		last = decode[product](t, anon.must(http.StatusOK, "GET", "/products/"+p.ID, nil))
		return len(last.Images) == 1
	})
	if len(last.Images) != 1 || last.Images[0].FileID != f.ID {
		t.Fatalf("anonymous product images: %+v", last.Images)
	}

	// A product image is public: anyone downloads it and its thumbnail.
	dl := anon.must(http.StatusOK, "GET", "/files/"+f.ID, nil)
	if !bytes.Equal(dl.Body, img) || dl.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("public image: %d bytes, %q", len(dl.Body), dl.Header.Get("Content-Type"))
	}
	if u := last.Images[0].URL; u != "" && !strings.HasSuffix(u, "/files/"+f.ID) {
		t.Fatalf("image URL %q", u)
	}
	th := anon.must(http.StatusOK, "GET", "/files/"+f.ID+"/thumbnail", nil)
	if _, _, err := image.Decode(bytes.NewReader(th.Body)); err != nil {
		t.Fatalf("thumbnail does not decode: %v", err)
	}
	// Another seller cannot attach it to their product, nor delete it.
	other := c.as(signUp(c, "other-seller@example.com", "seller").Access)
	wantError(t, other.do("DELETE", "/files/"+f.ID, nil), http.StatusForbidden, "permission_denied")
}
