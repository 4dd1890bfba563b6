package svc

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Check reports a dependency's state: nil when usable.
type Check func(ctx context.Context) error

// Health is the readiness registry behind /readyz. It is safe for
// concurrent use.
type Health struct {
	mu       sync.RWMutex
	checks   map[string]Check
	draining atomic.Bool
	starting atomic.Bool
}

// NewHealth returns an empty registry: ready until a check says otherwise.
// A Manager marks it starting while modules start, so /readyz does not say
// ready before every module serves.
func NewHealth() *Health { return &Health{checks: map[string]Check{}} }

// SetStarting marks whether modules are still starting.
func (h *Health) SetStarting(on bool) { h.starting.Store(on) }

// Add registers (or replaces) a named readiness check.
func (h *Health) Add(name string, c Check) {
	h.mu.Lock()
	h.checks[name] = c
	h.mu.Unlock()
}

// Remove drops a named check.
func (h *Health) Remove(name string) {
	h.mu.Lock()
	delete(h.checks, name)
	h.mu.Unlock()
}

// SetDraining marks the process as shutting down: /readyz answers 503 from
// now on, whatever the checks say.
func (h *Health) SetDraining() { h.draining.Store(true) }

// Draining reports whether shutdown has begun.
func (h *Health) Draining() bool { return h.draining.Load() }

// Status is the /readyz report.
type Status struct {
	Ready  bool              `json:"ready"`
	Checks map[string]string `json:"checks"`
}

// Evaluate runs every check concurrently, each bounded by ctx.
func (h *Health) Evaluate(ctx context.Context) Status {
	h.mu.RLock()
	names := make([]string, 0, len(h.checks))
	for n := range h.checks {
		names = append(names, n)
	}
	sort.Strings(names)
	checks := make([]Check, len(names))
	for i, n := range names {
		checks[i] = h.checks[n]
	}
	h.mu.RUnlock()

	results := make([]error, len(names))
	var wg sync.WaitGroup
	for i := range checks {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = checks[i](ctx)
		}(i)
	}
	wg.Wait()
	st := Status{Ready: !h.Draining() && !h.starting.Load(), Checks: make(map[string]string, len(names))}
	if h.Draining() {
		st.Checks["shutdown"] = "draining"
	} else if h.starting.Load() {
		st.Checks["startup"] = "starting"
	}
	for i, n := range names {
		if results[i] != nil {
			st.Ready = false
			st.Checks[n] = results[i].Error()
		} else {
			st.Checks[n] = "ok"
		}
	}
	return st
}

// ReadyHandler serves /readyz: 200 when ready, 503 otherwise, with the
// report as JSON.
func (h *Health) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		st := h.Evaluate(ctx)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !st.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(st)
	})
}
