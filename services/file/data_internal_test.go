package file

import (
	"net/http/httptest"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
)

func TestContentDisposition(t *testing.T) {
	for _, c := range []struct{ kind, name, want string }{
		{"inline", "a.png", `inline; filename="a.png"; filename*=UTF-8''a.png`},
		{"attachment", `evil"; x=".txt`, `attachment; filename="evil__ x=_.txt"; filename*=UTF-8''evil%22%3B%20x%3D%22.txt`},
		{"attachment", "résumé.pdf", `attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`},
		{"attachment", "50%.txt", `attachment; filename="50_.txt"; filename*=UTF-8''50%25.txt`},
	} {
		if got := contentDisposition(c.kind, c.name); got != c.want {
			t.Errorf("contentDisposition(%q) = %s, want %s", c.name, got, c.want)
		}
	}
}

// An error that says when to retry carries Retry-After.
func TestWriteErrorRetryAfter(t *testing.T) {
	w := httptest.NewRecorder()
	writeError(w, contracts.Errorf(contracts.CodeUnavailable, "busy").WithDetail("retry_after", int64(5)))
	if w.Code != 503 || w.Header().Get("Retry-After") != "5" {
		t.Fatalf("busy: %d Retry-After %q, want 503 and 5", w.Code, w.Header().Get("Retry-After"))
	}
	w = httptest.NewRecorder()
	writeError(w, contracts.InvalidArgument("file", "bad"))
	if w.Header().Get("Retry-After") != "" {
		t.Fatal("Retry-After on an error that cannot be retried")
	}
}
