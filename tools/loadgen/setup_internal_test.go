package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Seeding waits as a 429's Retry-After says, past the attempt bound that
// applies to 503s, and tells the user once how to raise the limits.
func TestSetupHonoursRetryAfter(t *testing.T) {
	var mu sync.Mutex
	var seen []time.Time
	const limited = 3
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		seen = append(seen, time.Now())
		n := len(seen)
		mu.Unlock()
		if n <= limited {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error":{"code":"resource_exhausted","message":"rate limit exceeded; retry in 1 second"}}`))
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	cl, err := NewClient(srv.URL, 4, 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	g := &gen{plain: cl, progress: func(f string, a ...any) { notes = append(notes, fmt.Sprintf(f, a...)) }}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := g.setup(ctx, Call{Method: "POST", Path: "/auth/register"}); err != nil {
		t.Fatalf("setup after %d 429s: %v", limited, err)
	}
	if len(seen) != limited+1 {
		t.Fatalf("%d requests, want %d", len(seen), limited+1)
	}
	for i := 1; i < len(seen); i++ {
		if gap := seen[i].Sub(seen[i-1]); gap < time.Second {
			t.Fatalf("retry %d came %s after a 429 with Retry-After: 1", i, gap)
		}
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "OC_GATEWAY_RATE_LOGIN") {
		t.Fatalf("notes %q, want one hint on raising the limits", notes)
	}
}
