package product_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/bus/bustest"
	"github.com/opencommerce/opencommerce/internal/svc"
	"github.com/opencommerce/opencommerce/internal/svc/svctest"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/services/product"
)

// Actors used across tests.
var (
	admin     = contracts.Actor{ID: "admin-1", Role: contracts.RoleAdmin}
	seller    = contracts.Actor{ID: "seller-1", Role: contracts.RoleSeller}
	seller2   = contracts.Actor{ID: "seller-2", Role: contracts.RoleSeller}
	customer  = contracts.Actor{ID: "customer-1", Role: contracts.RoleCustomer}
	customer2 = contracts.Actor{ID: "customer-2", Role: contracts.RoleCustomer}
	anonymous = contracts.Actor{}
)

// harness runs the product service in process on isolated servers, with a
// fake file service and a spy on the events it publishes.
type harness struct {
	t    testing.TB
	deps svc.Deps
	svc  *product.Service
	pub  *bus.Publisher

	mu        sync.Mutex
	files     map[string]product.FileInfo
	published map[string]bool // file.publish calls seen
	spy       *bustest.Spy
	sent      atomic.Int64 // events published to the service (republished ones too)
}

func start(t testing.TB, mod ...func(*product.Config)) *harness {
	t.Helper()
	deps, _ := svctest.Deps(t)
	cfg := product.DefaultConfig()
	cfg.SweepInterval = time.Hour // tests sweep explicitly
	for _, m := range mod {
		m(&cfg)
	}
	h := &harness{t: t, deps: deps, files: map[string]product.FileInfo{}, published: map[string]bool{}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// The spy consumes every event the service emits.
	h.spy = bustest.NewSpy(t, deps.Bus, "product.*", "inventory.*", "review.*", "comment.*")

	// A fake file service answering file.stat from h.files.
	fsrv := bus.NewServer(deps.Bus, bus.ServerConfig{Service: "file"}, deps.Log, nil)
	fsrv.Handle("file.stat", func(_ context.Context, req *bus.Request) (any, error) {
		var in struct {
			ID string `json:"id"`
		}
		if err := bus.Decode(req, &in); err != nil {
			return nil, err
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		fi, ok := h.files[in.ID]
		if !ok {
			return nil, contracts.NotFound("file")
		}
		return fi, nil
	})
	fsrv.Handle(contracts.MethodFilePublish, func(_ context.Context, req *bus.Request) (any, error) {
		var in contracts.FilePublishRequest
		if err := bus.Decode(req, &in); err != nil {
			return nil, err
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		fi, ok := h.files[in.ID]
		switch {
		case !ok:
			return nil, contracts.NotFound("file")
		case fi.OwnerID != in.OwnerID:
			return nil, contracts.PermissionDenied("file %s is not yours", in.ID)
		case fi.Purpose != in.Purpose:
			return nil, contracts.InvalidArgument("file_id", "file %s has purpose %q, not %s", in.ID, fi.Purpose, in.Purpose)
		}
		h.published[in.ID] = true
		return fi, nil
	})
	if err := fsrv.Start(ctx); err != nil {
		t.Fatalf("file server: %v", err)
	}
	t.Cleanup(func() { _ = fsrv.Shutdown(context.Background()) })

	svc, err := product.New(cfg, deps)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	h.svc = svc
	pub, err := bus.NewPublisher(deps.Bus, deps.Log, nil)
	if err != nil {
		t.Fatalf("publisher: %v", err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	h.pub = pub
	return h
}

// file registers a file the fake file service knows.
func (h *harness) file(owner, purpose string) string {
	id := uuid.NewString()
	h.mu.Lock()
	h.files[id] = product.FileInfo{ID: id, OwnerID: owner, Purpose: purpose, ContentType: "image/png", Size: 10}
	h.mu.Unlock()
	return id
}

// call sends a gateway-style request (envelope) and returns the reply.
func (h *harness) call(a contracts.Actor, method string, params contracts.Params, body any) bus.Reply {
	h.t.Helper()
	env := contracts.Envelope{Params: params}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		env.Body = b
	}
	b, _ := json.Marshal(env)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := h.deps.RPC.Call(ctx, product.Name, method, b, bus.CallOptions{Actor: a})
	if err != nil {
		h.t.Fatalf("%s: transport: %v", method, err)
	}
	return r
}

// ok calls and decodes a successful reply into T.
func ok[T any](h *harness, a contracts.Actor, method string, params contracts.Params, body any) T {
	h.t.Helper()
	r := h.call(a, method, params, body)
	var v T
	if !r.OK() {
		h.t.Fatalf("%s as %v: %s %s", method, a, r.Status, r.Body)
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		h.t.Fatalf("%s: decode %s: %v", method, r.Body, err)
	}
	return v
}

// fails calls and checks the error code.
func (h *harness) fails(code contracts.Code, a contracts.Actor, method string, params contracts.Params, body any) {
	h.t.Helper()
	r := h.call(a, method, params, body)
	if r.Status != string(code) {
		h.t.Fatalf("%s as %v: got %s %s, want %s", method, a, r.Status, r.Body, code)
	}
}

func id(v string) contracts.Params { return contracts.Params{"id": {v}} }

// publish sends an event as another service would.
func (h *harness) publish(typ string, data any) contracts.Event {
	h.t.Helper()
	b, _ := json.Marshal(data)
	ev := contracts.Event{ID: uuid.NewString(), Type: typ, OccurredAt: time.Now().UTC(), Data: b}
	h.republish(ev)
	return ev
}

func (h *harness) republish(ev contracts.Event) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.pub.Publish(ctx, ev); err != nil {
		h.t.Fatalf("publish %s: %v", ev.Type, err)
	}
	h.sent.Add(1)
}

// handled is how many deliveries the service's event consumer has finished
// with (acknowledged after its handler committed, or dead-lettered), from
// its oc_events_consumed_total counter.
func (h *harness) handled() int64 {
	h.t.Helper()
	mfs, err := h.deps.Metrics.(prometheus.Gatherer).Gather()
	if err != nil {
		h.t.Fatalf("gather metrics: %v", err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != "oc_events_consumed_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && (l.GetValue() == "ok" || l.GetValue() == "dead_lettered") {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return int64(n)
}

// drain is the barrier before asserting that something did not happen:
// it waits until the service has handled every delivery published so far
// (redeliveries included), so their effects are committed. The events
// those effects wrote reach the spy before the events of anything
// published afterwards (the relay publishes the outbox in order), so a
// marker published after drain, once seen, proves the spy has seen them.
func (h *harness) drain() {
	h.t.Helper()
	sent := h.sent.Load()
	testenv.Eventually(h.t, fmt.Sprintf("the service handled the %d events published", sent), func() bool {
		return h.handled() >= sent
	})
}

// waitEvents waits until match has selected n events, and returns them.
func (h *harness) waitEvents(n int, match func(contracts.Event) bool) []contracts.Event {
	h.t.Helper()
	return h.spy.Wait(h.t, n, match)
}

func ofType(types ...string) func(contracts.Event) bool {
	return func(ev contracts.Event) bool {
		for _, t := range types {
			if ev.Type == t {
				return true
			}
		}
		return false
	}
}

func forOrder(orderID string, types ...string) func(contracts.Event) bool {
	return func(ev contracts.Event) bool {
		if !ofType(types...)(ev) {
			return false
		}
		var d struct {
			OrderID string `json:"order_id"`
		}
		_ = json.Unmarshal(ev.Data, &d)
		return d.OrderID == orderID
	}
}

// category creates a category as admin.
func (h *harness) category(name string, parent *contracts.Category) *contracts.Category {
	h.t.Helper()
	in := contracts.CategoryInput{Name: name}
	if parent != nil {
		in.ParentID = &parent.ID
	}
	c := ok[contracts.Category](h, admin, contracts.MethodProductCategoriesCreate, nil, in)
	return &c
}

// product creates a product.
func (h *harness) product(a contracts.Actor, in contracts.ProductInput) contracts.Product {
	h.t.Helper()
	return ok[contracts.Product](h, a, contracts.MethodProductCreate, nil, in)
}

func busOpts() bus.CallOptions {
	return bus.CallOptions{Actor: contracts.Actor{Role: contracts.RoleService}}
}

// buy makes a a customer who bought one unit of the product, as the order
// service's events would: a unit comes in (so that one is available), an
// order of it is placed, reserved and paid (the reservation committed).
func (h *harness) buy(a contracts.Actor, productID string) {
	h.t.Helper()
	ok[contracts.Inventory](h, admin, contracts.MethodProductInventoryAdjust, id(productID),
		contracts.InventoryAdjustRequest{Adjust: 1, Kind: contracts.LedgerIncoming, Reason: "stock for a test purchase"})
	oid := uuid.NewString()
	h.publish("order.placed", map[string]any{"order_id": oid, "user_id": a.ID,
		"items": []map[string]any{{"product_id": productID, "quantity": 1}}})
	h.waitEvents(1, func(ev contracts.Event) bool {
		var r contracts.InventoryReserved
		return ev.Type == contracts.EventInventoryReserved && ev.Decode(&r) == nil && r.OrderID == oid
	})
	h.publish("order.paid", map[string]any{"order_id": oid, "user_id": a.ID})
	testenv.Eventually(h.t, fmt.Sprintf("order %s of %s committed", oid, productID), func() bool {
		inv := ok[contracts.Inventory](h, admin, contracts.MethodProductInventoryGet, contracts.Params{"id": {productID}, "limit": {"100"}}, nil)
		for _, e := range inv.Ledger {
			if e.OrderID == oid && e.Kind == contracts.LedgerOutgoing {
				return true
			}
		}
		return false
	})
}
