package file_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
)

// Identical uploads and deletes racing each other never lose a referenced
// blob nor leave an unreferenced one (the per-blob locks).
func TestConcurrentDedupUploadsAndDeletes(t *testing.T) {
	t.Parallel()
	h := start(t)
	data := pngOf(t, 120, 90, 12)
	const n = 8
	files := make([]contracts.File, n)
	owners := make([]contracts.Actor, n)
	var wg sync.WaitGroup
	for i := range n {
		owners[i] = user()
		wg.Add(1)
		go func() {
			defer wg.Done()
			files[i] = h.mustUpload(owners[i], "review_image", "same.png", data)
		}()
	}
	wg.Wait()
	if got := h.blobs(); len(got) != 2 {
		t.Fatalf("blobs after %d identical uploads: %v", n, got)
	}
	// Half delete while the others upload again.
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				h.callOK(owners[i], contracts.MethodFileDelete, id(files[i].ID), nil, nil)
			} else {
				files[i] = h.mustUpload(owners[i], "review_image", "again.png", data)
			}
		}()
	}
	wg.Wait()
	for i := 1; i < n; i += 2 {
		if r := h.get(owners[i], "/files/"+files[i].ID+"/thumbnail"); r.status != http.StatusOK {
			t.Fatalf("thumbnail of a live file: %d", r.status)
		}
	}
	var l contracts.List[contracts.File]
	for i := 1; i < n; i += 2 {
		h.callOK(owners[i], contracts.MethodFileList, nil, nil, &l)
		for _, f := range l.Items {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h.callOK(owners[i], contracts.MethodFileDelete, id(f.ID), nil, nil)
			}()
		}
		wg.Wait()
	}
	h.nothingStored()
}
