package e2e_test

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"
)

// TestFileRangesUnsatisfiable: through the gateway, a Range that selects
// no byte of the file (RFC 9110 §14.1.2: no first-pos below the length and
// no suffix of non-zero length) answers 416 with Content-Range
// "bytes */length", never a 206 with an impossible Content-Range; ranges
// the server may or must ignore serve the whole file; a good range still
// gets its slice, and a validator check still comes before the range.
func TestFileRangesUnsatisfiable(t *testing.T) {
	t.Parallel()
	env := startFiles(t)
	c := newClient(t, env)
	alice := c.as(signUp(c, "alice-ranges@example.com", "").Access)
	doc := noisyPNG(t, 120, 120, 3)
	r := upload(alice, "document", "", "scan.png", doc)
	if r.Status != http.StatusCreated {
		t.Fatalf("upload: %s", r)
	}
	f := decode[fileInfo](t, r)
	size := strconv.Itoa(len(doc))
	path := "/files/" + f.ID

	for _, tc := range []struct {
		rng        string
		status     int
		contentRng string
		body       []byte
	}{
		{"bytes=-0", http.StatusRequestedRangeNotSatisfiable, "bytes */" + size, nil},
		{"bytes=" + size + "-", http.StatusRequestedRangeNotSatisfiable, "bytes */" + size, nil},
		{"bytes=" + size + "-" + strconv.Itoa(len(doc)+10), http.StatusRequestedRangeNotSatisfiable, "bytes */" + size, nil},
		{"bytes=-0,-0", http.StatusRequestedRangeNotSatisfiable, "bytes */" + size, nil},
		{"bytes=-0, " + size + "-", http.StatusRequestedRangeNotSatisfiable, "bytes */" + size, nil},
		// Satisfiable, or to be ignored: the slice or the whole file.
		{"bytes=-1", http.StatusPartialContent, "bytes " + strconv.Itoa(len(doc)-1) + "-" + strconv.Itoa(len(doc)-1) + "/" + size, doc[len(doc)-1:]},
		{"bytes=0-0", http.StatusPartialContent, "bytes 0-0/" + size, doc[:1]},
		{"bytes=-0,0-0", http.StatusOK, "", doc}, // one satisfiable of several: the whole file
		{"bytes=9-2", http.StatusOK, "", doc},    // invalid: ignored
		{"items=0-5", http.StatusOK, "", doc},    // unknown unit: ignored
		{"bytes=abc-", http.StatusOK, "", doc},   // invalid: ignored
		{"bytes=", http.StatusOK, "", doc},       // no range at all
	} {
		t.Run(tc.rng, func(t *testing.T) {
			r := alice.with(t).must(tc.status, "GET", path, nil, "Range", tc.rng)
			if got := r.Header.Get("Content-Range"); got != tc.contentRng {
				t.Errorf("Content-Range %q, want %q", got, tc.contentRng)
			}
			if tc.body != nil && !bytes.Equal(r.Body, tc.body) {
				t.Errorf("body of %d bytes, want %d", len(r.Body), len(tc.body))
			}
		})
	}
	// Preconditions come before the range: a matching If-None-Match is a
	// 304 even with an unsatisfiable range; a stale If-Range drops it.
	etag := alice.with(t).must(http.StatusOK, "HEAD", path, nil).Header.Get("ETag")
	alice.with(t).must(http.StatusNotModified, "GET", path, nil, "Range", "bytes=-0", "If-None-Match", etag)
	if r := alice.with(t).must(http.StatusOK, "GET", path, nil, "Range", "bytes=-0", "If-Range", `"stale"`); !bytes.Equal(r.Body, doc) {
		t.Fatal("a stale If-Range did not serve the whole file")
	}
	alice.with(t).must(http.StatusRequestedRangeNotSatisfiable, "GET", path, nil, "Range", "bytes=-0", "If-Range", etag)
}
