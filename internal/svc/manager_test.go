package svc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencommerce/opencommerce/internal/svc"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.events = append(r.events, s)
	r.mu.Unlock()
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.events, " ")
}

type fakeSvc struct {
	name     string
	rec      *recorder
	startErr error
	fail     chan error
}

func (f *fakeSvc) Start(context.Context) error {
	f.rec.add("start:" + f.name)
	return f.startErr
}

func (f *fakeSvc) Stop(context.Context) error {
	f.rec.add("stop:" + f.name)
	return nil
}

func (f *fakeSvc) Failed() <-chan error { return f.fail }

func newManager(rec *recorder, failing map[string]error, fail chan error) *svc.Manager {
	m := svc.NewManager(slog.New(slog.NewTextHandler(io.Discard, nil)), svc.NewHealth())
	add := func(name string, public bool, deps ...string) {
		m.Register(svc.Module{Name: name, Public: public, Deps: deps, Init: func(context.Context) (svc.Service, error) {
			s := &fakeSvc{name: name, rec: rec, startErr: failing[name]}
			if name == "order" {
				s.fail = fail
			}
			return s, nil
		}})
	}
	add("bus", false)
	add("redis", false)
	add("user", true, "bus")
	add("product", true, "bus", "redis")
	add("order", true, "bus", "redis", "product")
	m.Register(svc.Module{Name: "gateway", Public: true, Deps: []string{"bus"}, After: []string{"order", "user"},
		Init: func(context.Context) (svc.Service, error) { return &fakeSvc{name: "gateway", rec: rec}, nil }})
	return m
}

func TestOrderResolvesDependencies(t *testing.T) {
	m := newManager(&recorder{}, nil, nil)
	got, err := m.Order([]string{"order"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "bus,redis,product,order" {
		t.Fatalf("order = %v", got)
	}
	all, _ := m.Order([]string{"all"})
	if strings.Join(all, ",") != "bus,redis,product,order,user,gateway" {
		t.Fatalf("all = %v (the gateway must start after the services)", all)
	}
	// After orders without pulling modules in.
	if gw, _ := m.Order([]string{"gateway"}); strings.Join(gw, ",") != "bus,gateway" {
		t.Fatalf("gateway alone = %v", gw)
	}
	if _, err := m.Order([]string{"bus"}); err == nil {
		t.Fatal("an internal module was accepted as a target")
	}
	if _, err := m.Order([]string{"nope"}); err == nil || !strings.Contains(err.Error(), "known: all, gateway, order, product, user") {
		t.Fatalf("unknown target error = %v", err)
	}
}

func TestStartFailureStopsStarted(t *testing.T) {
	rec := &recorder{}
	m := newManager(rec, map[string]error{"product": errors.New("boom")}, nil)
	err := m.Run(context.Background(), []string{"all"})
	if err == nil || !strings.Contains(err.Error(), "start product: boom") {
		t.Fatalf("err = %v", err)
	}
	// product failed to start, so it is not stopped; everything before it is,
	// in reverse order; nothing after it starts.
	want := "start:bus start:redis start:product stop:redis stop:bus"
	if rec.String() != want {
		t.Fatalf("events = %q, want %q", rec.String(), want)
	}
}

func TestRuntimeFailureStopsAll(t *testing.T) {
	rec := &recorder{}
	fail := make(chan error, 1)
	m := newManager(rec, nil, fail)
	fail <- errors.New("lost database")
	err := m.Run(context.Background(), []string{"order", "user"})
	if err == nil || !strings.Contains(err.Error(), "order failed: lost database") {
		t.Fatalf("err = %v", err)
	}
	if !strings.HasSuffix(rec.String(), "stop:order stop:product stop:redis stop:bus") {
		t.Fatalf("events = %q", rec.String())
	}
}

// On shutdown /readyz turns 503 before any module stops.
func TestShutdownDrainsReadinessFirst(t *testing.T) {
	health := svc.NewHealth()
	admin := svc.NewAdmin(svc.AdminConfig{Addr: "127.0.0.1:0"}, health, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err := admin.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer admin.Stop(context.Background())
	url := "http://" + admin.Addr() + "/readyz"

	m := svc.NewManager(slog.New(slog.DiscardHandler), health)
	m.ShutdownDelay = 300 * time.Millisecond
	seen := make(chan int, 1)
	m.Register(svc.Module{Name: "svc", Public: true, Init: func(context.Context) (svc.Service, error) {
		return svc.Funcs{StopFunc: func(context.Context) error {
			resp, err := http.Get(url)
			if err != nil {
				return err
			}
			resp.Body.Close()
			seen <- resp.StatusCode
			return nil
		}}, nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, []string{"svc"}) }()
	waitStatus(t, url, http.StatusOK)
	cancel()
	waitStatus(t, url, http.StatusServiceUnavailable)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if code := <-seen; code != http.StatusServiceUnavailable {
		t.Fatalf("during stop /readyz = %d, want 503", code)
	}
}

func TestReadyzReportsFailingCheck(t *testing.T) {
	h := svc.NewHealth()
	h.Add("amqp", func(context.Context) error { return errors.New("connection lost") })
	h.Add("pg", func(context.Context) error { return nil })
	st := h.Evaluate(context.Background())
	if st.Ready || st.Checks["amqp"] != "connection lost" || st.Checks["pg"] != "ok" {
		t.Fatalf("status = %+v", st)
	}
}

func waitStatus(t *testing.T, url string, want int) {
	t.Helper()
	testenv.Eventually(t, fmt.Sprintf("%s to answer %d", url, want), func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == want
	})
}
