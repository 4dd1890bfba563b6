package order_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/svc"
	"github.com/opencommerce/opencommerce/internal/svc/svctest"
	"github.com/opencommerce/opencommerce/internal/telemetry/telemetrytest"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/services/order"
	"github.com/opencommerce/opencommerce/services/order/payment"
)

// Test cards.
const (
	cardOK       = payment.TestCardSuccess
	cardDeclined = payment.TestCardDeclined
	cardNoFunds  = payment.TestCardInsufficientFunds
)

var (
	buyer   = contracts.Actor{ID: "u-" + uuid.NewString(), Role: contracts.RoleCustomer}
	buyer2  = contracts.Actor{ID: "u-" + uuid.NewString(), Role: contracts.RoleCustomer}
	sellerA = contracts.Actor{ID: "s-" + uuid.NewString(), Role: contracts.RoleSeller}
	sellerB = contracts.Actor{ID: "s-" + uuid.NewString(), Role: contracts.RoleSeller}
	admin   = contracts.Actor{ID: "a-" + uuid.NewString(), Role: contracts.RoleAdmin}
)

// env is one test's world: isolated deps, the order service, and fakes of
// the product and user services on the real bus.
type env struct {
	t    testing.TB
	deps svc.Deps
	cfg  order.Config
	svc  *order.Service
	prod *fakeProduct

	mu     sync.Mutex
	events []contracts.Event // order.* and payment.* seen on the bus
	pool   *pgxpool.Pool
	reg    *prometheus.Registry
}

// metric returns the value of a counter (with labels) or the sample count
// of a histogram series in the test's registry; 0 when absent.
func (e *env) metric(name string, labels map[string]string) float64 {
	e.t.Helper()
	return telemetrytest.Value(e.t, e.reg, name, labels)
}

// testConfig is the order config for tests: fast sweeps and retries.
func testConfig() order.Config {
	cfg := order.DefaultConfig()
	cfg.SweepInterval = 100 * time.Millisecond
	cfg.ChargeLease = 2 * time.Second
	cfg.ChargeRetryAfter = 200 * time.Millisecond
	return cfg
}

// newEnv builds the world; the product fake is declared (its queue
// exists, so no event is lost) but consumes only after prod.start.
func newEnv(t testing.TB) *env {
	t.Helper()
	deps, aenv := svctest.Deps(t)
	e := &env{t: t, deps: deps, cfg: testConfig(), reg: aenv.Registry}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// One worker: the spy sees the events in the order the outbox
	// published them (id order), so an event that must come after another
	// is a barrier: once it is seen, an earlier one would have been too.
	spy := bus.NewConsumer(deps.Bus, bus.ConsumerConfig{Service: "spy", Bindings: []string{"order.*", "payment.*"}, Workers: 1},
		func(_ context.Context, ev contracts.Event) error {
			e.mu.Lock()
			e.events = append(e.events, ev)
			e.mu.Unlock()
			return nil
		}, deps.Log, nil)
	if err := spy.Start(ctx); err != nil {
		t.Fatalf("spy: %v", err)
	}
	t.Cleanup(func() { _ = spy.Shutdown(context.Background()) })
	e.prod = newFakeProduct(t, deps)
	return e
}

// start starts an order service instance (Stop at cleanup, or by stop).
func (e *env) start(wrap func(payment.Provider) payment.Provider) *order.Service {
	e.t.Helper()
	svc, err := order.New(e.cfg, e.deps)
	if err != nil {
		e.t.Fatalf("new: %v", err)
	}
	if wrap != nil {
		svc.WrapProvider(wrap)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := svc.Start(ctx); err != nil {
		e.t.Fatalf("start: %v", err)
	}
	stopped := false
	e.t.Cleanup(func() {
		if !stopped {
			_ = svc.Stop(context.Background())
		}
	})
	e.svc = svc
	return svc
}

// stop stops the current instance.
func (e *env) stop() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.svc.Stop(ctx); err != nil {
		e.t.Fatalf("stop: %v", err)
	}
}

// call sends a gateway-style request to the order service.
func (e *env) call(a contracts.Actor, method string, params contracts.Params, body any, meta map[string]string) bus.Reply {
	e.t.Helper()
	ev := contracts.Envelope{Params: params, Meta: meta}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		ev.Body = b
	}
	b, _ := json.Marshal(ev)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := e.deps.RPC.Call(ctx, "order", method, b, bus.CallOptions{Actor: a})
	if err != nil {
		e.t.Fatalf("%s: transport: %v", method, err)
	}
	return r
}

// ok decodes a successful reply into T, failing the test otherwise.
func ok[T any](t testing.TB, r bus.Reply) T {
	t.Helper()
	var v T
	if !r.OK() {
		t.Fatalf("want ok, got %s: %s", r.Status, r.Body)
	}
	if len(r.Body) > 0 {
		if err := json.Unmarshal(r.Body, &v); err != nil {
			t.Fatalf("decode %s: %v", r.Body, err)
		}
	}
	return v
}

// failed asserts an error reply with code and a message containing want.
func failed(t testing.TB, r bus.Reply, code contracts.Code, want string) *contracts.Error {
	t.Helper()
	if r.Status != string(code) {
		t.Fatalf("want %s, got %s: %s", code, r.Status, r.Body)
	}
	var eb contracts.ErrorBody
	if err := json.Unmarshal(r.Body, &eb); err != nil || eb.Error == nil {
		t.Fatalf("error body %s: %v", r.Body, err)
	}
	if !strings.Contains(eb.Error.Message, want) {
		t.Fatalf("error message %q does not mention %q", eb.Error.Message, want)
	}
	return eb.Error
}

func (e *env) setItem(a contracts.Actor, productID string, qty int64) bus.Reply {
	return e.call(a, contracts.MethodOrderCartSetItem, contracts.Params{"product_id": {productID}},
		contracts.CartSetItemRequest{Quantity: qty}, nil)
}

var testAddress = &contracts.ShippingAddress{Name: "Ada", Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "us"}

func checkoutBody(card string, items ...contracts.LineInput) contracts.CheckoutRequest {
	return contracts.CheckoutRequest{
		Address: testAddress,
		Items:   items,
		Payment: contracts.PaymentInput{Method: "card", CardNumber: card, ExpMonth: 12, ExpYear: time.Now().Year() + 2, CVC: "123"},
	}
}

func (e *env) checkout(a contracts.Actor, key string, body any) bus.Reply {
	return e.call(a, contracts.MethodOrderCheckout, nil, body, map[string]string{contracts.MetaIdempotencyKey: key})
}

// pay pays the order id again with card.
func (e *env) pay(a contracts.Actor, id, key, card string) bus.Reply {
	return e.call(a, contracts.MethodOrderPay, contracts.Params{"id": {id}}, contracts.PayRequest{Payment: checkoutBody(card).Payment},
		map[string]string{contracts.MetaIdempotencyKey: key})
}

func (e *env) get(a contracts.Actor, id string) bus.Reply {
	return e.call(a, contracts.MethodOrderGet, contracts.Params{"id": {id}}, nil, nil)
}

// waitStatus polls order.get until the order reaches status.
func (e *env) waitStatus(a contracts.Actor, id, status string) contracts.Order {
	e.t.Helper()
	var o contracts.Order
	if !testenv.Poll(testenv.Wait, func() bool {
		o = ok[contracts.Order](e.t, e.get(a, id))
		return o.Status == status
	}) {
		e.t.Fatalf("order %s: want status %s, still %s (%s)", id, status, o.Status, o.StatusReason)
	}
	return o
}

// eventsOf returns the events of type typ about order id seen so far.
func (e *env) eventsOf(typ, id string) []contracts.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []contracts.Event
	for _, ev := range e.events {
		var ref struct {
			OrderID string `json:"order_id"`
		}
		_ = json.Unmarshal(ev.Data, &ref)
		if ev.Type == typ && ref.OrderID == id {
			out = append(out, ev)
		}
	}
	return out
}

// waitEvent waits until an event of typ about id was seen and returns it.
func (e *env) waitEvent(typ, id string) contracts.Event {
	e.t.Helper()
	var evs []contracts.Event
	testenv.Eventually(e.t, fmt.Sprintf("a %s event for order %s", typ, id), func() bool {
		evs = e.eventsOf(typ, id)
		return len(evs) > 0
	})
	return evs[0]
}

// db is a pool on the order database of its own, usable while no
// instance runs.
func (e *env) db() *pgxpool.Pool {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pool == nil {
		p, err := pgxpool.New(context.Background(), testenv.WithDatabase(testenv.PGURL, e.deps.Database("order")))
		if err != nil {
			e.t.Fatalf("pool: %v", err)
		}
		e.t.Cleanup(p.Close)
		e.pool = p
	}
	return e.pool
}

// count runs a counting query on the order database.
func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// fakeProduct is the product service as the order service sees it:
// product.lookup from an in-memory catalogue, and a stock keeper reacting
// to order.placed/cancelled/paid with inventory.reserved/rejected.
type fakeProduct struct {
	t        testing.TB
	deps     svc.Deps
	pub      *bus.Publisher
	consumer *bus.Consumer

	mu       sync.Mutex
	products map[string]*contracts.LookupItem
	held     map[string][]contracts.InventoryItem // order id → held lines
	reject   bool                                 // reject every reservation
	handled  map[string][]string                  // order id → types of the order events handled, in order
}

var fakeBindings = []string{contracts.EventOrderPlaced, contracts.EventOrderCancelled, contracts.EventOrderPaid}

const fakeRetryDelay = 200 * time.Millisecond

func newFakeProduct(t testing.TB, deps svc.Deps) *fakeProduct {
	t.Helper()
	f := &fakeProduct{t: t, deps: deps, products: map[string]*contracts.LookupItem{}, held: map[string][]contracts.InventoryItem{},
		handled: map[string][]string{}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := bus.NewServer(deps.Bus, bus.ServerConfig{Service: "product"}, deps.Log, nil)
	srv.Handle(contracts.MethodProductLookup, func(_ context.Context, req *bus.Request) (any, error) {
		var in contracts.LookupRequest
		if err := bus.Decode(req, &in); err != nil {
			return nil, err
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		out := contracts.LookupReply{Items: make([]contracts.LookupItem, len(in.IDs))}
		for i, id := range in.IDs {
			if p, ok := f.products[id]; ok {
				out.Items[i] = *p
			} else {
				out.Items[i] = contracts.LookupItem{ID: id}
			}
		}
		return out, nil
	})
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("fake product server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	// Declare the events queue now so nothing published before start is
	// lost (like a product service that is merely down).
	if err := deps.Bus.Declare(ctx, func(ch *amqp.Channel) error {
		return bus.DeclareEventQueues(ch, bus.ConsumerConfig{Service: "product", Bindings: fakeBindings, RetryDelay: fakeRetryDelay})
	}); err != nil {
		t.Fatalf("declare product queues: %v", err)
	}
	pub, err := bus.NewPublisher(deps.Bus, deps.Log, nil)
	if err != nil {
		t.Fatalf("publisher: %v", err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	f.pub = pub
	return f
}

// start begins consuming order events.
func (f *fakeProduct) start() {
	f.t.Helper()
	// One worker: events are handled in the order they were published,
	// so handledEvent of a later event is a barrier for the earlier ones.
	f.consumer = bus.NewConsumer(f.deps.Bus, bus.ConsumerConfig{Service: "product", Bindings: fakeBindings, RetryDelay: fakeRetryDelay, Workers: 1},
		f.handle, f.deps.Log, nil)
	if err := f.consumer.Start(context.Background()); err != nil {
		f.t.Fatalf("fake product consumer: %v", err)
	}
	f.t.Cleanup(func() { _ = f.consumer.Shutdown(context.Background()) })
}

// add puts a product in the catalogue and returns its id.
func (f *fakeProduct) add(name string, price, stock int64, seller contracts.Actor, status string) string {
	id := uuid.NewString()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.products[id] = &contracts.LookupItem{
		ID: id, Exists: true, Name: name, Price: contracts.USD(price), Status: status,
		StockStatus: contracts.StockStatusOf(stock), Available: stock, SellerID: seller.ID,
	}
	return id
}

func (f *fakeProduct) stock(id string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.products[id].Available
}

// handledEvent reports whether the fake handled the event typ of order
// orderID.
func (f *fakeProduct) handledEvent(orderID, typ string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.handled[orderID], typ)
}

func (f *fakeProduct) setReject(v bool) {
	f.mu.Lock()
	f.reject = v
	f.mu.Unlock()
}

func (f *fakeProduct) handle(ctx context.Context, ev contracts.Event) error {
	var ref struct {
		OrderID string `json:"order_id"`
	}
	if err := ev.Decode(&ref); err != nil {
		return bus.Permanent(err)
	}
	defer func() {
		f.mu.Lock()
		f.handled[ref.OrderID] = append(f.handled[ref.OrderID], ev.Type)
		f.mu.Unlock()
	}()
	switch ev.Type {
	case contracts.EventOrderPlaced:
		var p contracts.OrderPlaced
		if err := ev.Decode(&p); err != nil {
			return bus.Permanent(err)
		}
		f.mu.Lock()
		if _, dup := f.held[p.OrderID]; dup {
			f.mu.Unlock()
			return nil
		}
		var short []contracts.InventoryShortfall
		for _, it := range p.Items {
			pr := f.products[it.ProductID]
			if f.reject || pr == nil || pr.Available < it.Quantity {
				var avail int64
				if pr != nil {
					avail = pr.Available
				}
				short = append(short, contracts.InventoryShortfall{ProductID: it.ProductID, Requested: it.Quantity, Available: avail})
			}
		}
		var out contracts.Event
		var err error
		if len(short) > 0 {
			out, err = newEvent(contracts.EventInventoryRejected, contracts.InventoryRejected{OrderID: p.OrderID, Reason: contracts.RejectOutOfStock, Items: short})
		} else {
			var items []contracts.InventoryItem
			for _, it := range p.Items {
				pr := f.products[it.ProductID]
				pr.Available -= it.Quantity
				items = append(items, contracts.InventoryItem{ProductID: it.ProductID, VariantID: it.VariantID, Quantity: it.Quantity})
			}
			f.held[p.OrderID] = items
			out, err = newEvent(contracts.EventInventoryReserved, contracts.InventoryReserved{OrderID: p.OrderID, Items: items})
		}
		f.mu.Unlock()
		if err != nil {
			return err
		}
		return f.pub.Publish(ctx, out)
	case contracts.EventOrderCancelled:
		var p contracts.OrderCancelled
		if err := ev.Decode(&p); err != nil {
			return bus.Permanent(err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, it := range f.held[p.OrderID] {
			f.products[it.ProductID].Available += it.Quantity
		}
		f.held[p.OrderID] = nil
	}
	return nil
}

func newEvent(typ string, data any) (contracts.Event, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return contracts.Event{}, err
	}
	return contracts.Event{ID: uuid.Must(uuid.NewV7()).String(), Type: typ, OccurredAt: time.Now().UTC(), Data: b}, nil
}

// fakeUsers answers user.addresses.list from a map of address books.
func fakeUsers(t testing.TB, deps svc.Deps, books map[string][]contracts.Address) {
	t.Helper()
	srv := bus.NewServer(deps.Bus, bus.ServerConfig{Service: "user"}, deps.Log, nil)
	srv.Handle(contracts.MethodUserAddressesList, func(_ context.Context, req *bus.Request) (any, error) {
		if req.Actor.ID == "" {
			return nil, contracts.Unauthenticated("no actor")
		}
		return contracts.List[contracts.Address]{Items: books[req.Actor.ID]}, nil
	})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("fake user server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
}

func key() string { return fmt.Sprintf("k-%s", uuid.NewString()) }
