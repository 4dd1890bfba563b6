package file_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/opencommerce/opencommerce/services/file"
)

// unlimited lifts the per-user upload rate: a benchmark uploads as one
// user as fast as it can.
func unlimited(c *file.Config) { c.UploadsPerMinute = 0 }

// BenchmarkUpload measures one multipart upload of a 1 MiB text document
// (stream to a temporary, fsync, rename, commit with its event).
func BenchmarkUpload(b *testing.B) {
	h := start(b, unlimited)
	u := user()
	data := textOf(1 << 20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		copy(data, fmt.Sprintf("%12d", i)) // distinct bytes: no dedup
		if r := h.upload(u, "document", "b.txt", data); r.status != 201 {
			b.Fatalf("%d %s", r.status, r.body)
		}
	}
}

// BenchmarkUploadImage measures an upload of a 2000×1500 JPEG: header
// check, full decode, 320px thumbnail, two blobs.
func BenchmarkUploadImage(b *testing.B) {
	h := start(b, unlimited)
	u := user()
	data := jpegOf(b, 2000, 1500)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if r := h.upload(u, "product_image", "b.jpg", data); r.status != 201 {
			b.Fatalf("%d %s", r.status, r.body)
		}
	}
}

// BenchmarkDownload measures GET of a 1 MiB file (metadata lookup + stream).
func BenchmarkDownload(b *testing.B) {
	h := start(b)
	u := user()
	data := textOf(1 << 20)
	f := h.mustUpload(u, "document", "d.txt", data)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if r := h.get(u, "/files/"+f.ID); r.status != 200 || !bytes.Equal(r.body[:10], data[:10]) {
			b.Fatalf("%d", r.status)
		}
	}
}
