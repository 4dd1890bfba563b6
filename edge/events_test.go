package edge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/natsx/natsxtest"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// purgeIDs are products an inventory event names together (a checkout of
// several lines).
var purgeIDs = func() []string {
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = fmt.Sprintf("0190c3a4-0000-7000-8000-0000000001%02d", i)
	}
	return ids
}()

// itemsEvent is an inventory event naming ids, encoded as the mirror puts
// it on NATS.
func itemsEvent(t *testing.T, id, typ string, ids []string) contracts.Event {
	t.Helper()
	type item struct {
		ProductID string `json:"product_id"`
		Quantity  int    `json:"quantity"`
	}
	var data struct {
		OrderID string `json:"order_id"`
		Items   []item `json:"items"`
	}
	data.OrderID = "order-1"
	for _, p := range ids {
		data.Items = append(data.Items, item{p, 1})
	}
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return contracts.Event{ID: id, Type: typ, Data: raw}
}

// cacheProducts fills the cache with an anonymous read of each product and
// checks the second read is a hit.
func cacheProducts(t *testing.T, base string, rpc *fakeRPC, ids []string) {
	t.Helper()
	for _, id := range ids {
		do(t, "GET", base+"/api/v1/products/"+id, "")
	}
	n := rpc.count()
	for _, id := range ids {
		do(t, "GET", base+"/api/v1/products/"+id, "")
	}
	if rpc.count() != n {
		t.Fatalf("product reads not served from the cache: %d calls for %d cached reads", rpc.count()-n, len(ids))
	}
}

// assertPurged checks that each product's next anonymous read reaches the
// service.
func assertPurged(t *testing.T, base string, rpc *fakeRPC, ids []string) {
	t.Helper()
	for _, id := range ids {
		n := rpc.count()
		do(t, "GET", base+"/api/v1/products/"+id, "")
		if rpc.count() != n+1 {
			t.Errorf("product %s still served from the cache after an event naming it", id)
		}
	}
}

func echoID(_ context.Context, c call) (bus.Reply, error) {
	return bus.Reply{Status: "ok", Body: fmt.Appendf(nil, `{"id":%q}`, c.Env.Params.Get("id"))}, nil
}

// TestProductEventPurgesGroupsOnce: an event naming N products purges each
// product's cached read and invalidates the catalogue route groups once,
// as an event naming one product does (not once per product).
func TestProductEventPurgesGroupsOnce(t *testing.T) {
	t.Parallel()
	g, base, rpc, _ := setup(t)
	rpc.reply = echoID
	ctx := context.Background()

	// What one catalogue event costs: one invalidation per catalogue group.
	before := g.CacheGenerations()
	if err := g.HandleProductEvent(ctx, contracts.Event{ID: "c1", Type: contracts.EventCategoriesChanged, Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	perEvent := g.CacheGenerations() - before
	if perEvent == 0 {
		t.Fatal("a catalogue event invalidated no route group: the cache has no catalogue routes and this test proves nothing")
	}

	cacheProducts(t, base, rpc, purgeIDs)
	before = g.CacheGenerations()
	if err := g.HandleProductEvent(ctx, itemsEvent(t, "e1", contracts.EventInventoryReserved, purgeIDs)); err != nil {
		t.Fatal(err)
	}
	if got := g.CacheGenerations() - before; got != perEvent {
		t.Fatalf("an event naming %d products made %d group invalidations, want %d (once per event)", len(purgeIDs), got, perEvent)
	}
	assertPurged(t, base, rpc, purgeIDs)
}

// TestPurgeSubscription: the gateway's own NATS subscription purges the
// products an event mirrored to NATS names, each route group once per
// event, and events of other aggregates purge nothing.
func TestPurgeSubscription(t *testing.T) {
	t.Parallel()
	env := natsxtest.New(t)
	nc, _ := env.Connect(t)
	g, base, rpc, _ := setup(t)
	rpc.reply = echoID
	ps, err := g.SubscribePurges(nc, env.Scheme)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ps.Stop)

	publish := func(ev contracts.Event) {
		t.Helper()
		subj, err := env.Scheme.EventSubject(ev.Type)
		if err != nil {
			t.Fatal(err)
		}
		body, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if err := nc.Publish(subj, body); err != nil {
			t.Fatal(err)
		}
	}
	before := g.CacheGenerations()
	if err := g.HandleProductEvent(context.Background(), contracts.Event{ID: "c0", Type: contracts.EventCategoriesChanged, Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	perEvent := g.CacheGenerations() - before

	cacheProducts(t, base, rpc, purgeIDs)
	before = g.CacheGenerations()
	// The N-product event purges; the next event, on the same
	// subscription (delivered in order, handled one at a time), is the
	// barrier: once its purge is seen, the first has been handled whole.
	publish(itemsEvent(t, "e1", contracts.EventInventoryReserved, purgeIDs))
	publish(itemsEvent(t, "e2", contracts.EventInventoryReleased, purgeIDs[:1]))
	testenv.Eventually(t, "the barrier event's purge", func() bool { return g.CacheGenerations()-before >= 2*perEvent })
	if got := g.CacheGenerations() - before; got != 2*perEvent {
		t.Fatalf("two events (one naming %d products) made %d group invalidations, want %d", len(purgeIDs), got, 2*perEvent)
	}
	assertPurged(t, base, rpc, purgeIDs)

	// A product event on its own subject purges a cached product read.
	cacheProducts(t, base, rpc, purgeIDs[:1])
	data, _ := json.Marshal(contracts.ProductChanged{ProductID: purgeIDs[0]})
	before = g.CacheGenerations()
	publish(contracts.Event{ID: "p1", Type: contracts.EventProductUpdated, Data: data})
	testenv.Eventually(t, "the product event's purge", func() bool { return g.CacheGenerations()-before >= perEvent })
	assertPurged(t, base, rpc, purgeIDs[:1])

	// An unreadable message purges everything rather than leave stale data
	// (the barrier, a categories event, purges no product read itself).
	cacheProducts(t, base, rpc, purgeIDs[1:2])
	before = g.CacheGenerations()
	subj, _ := env.Scheme.EventSubject(contracts.EventProductUpdated)
	if err := nc.Publish(subj, []byte("not json")); err != nil {
		t.Fatal(err)
	}
	publish(contracts.Event{ID: "c2", Type: contracts.EventCategoriesChanged, Data: []byte(`{}`)}) // barrier
	testenv.Eventually(t, "the barrier event's purge", func() bool { return g.CacheGenerations()-before >= perEvent })
	assertPurged(t, base, rpc, purgeIDs[1:2])
}
