package order_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// TestCheckoutTwinOvertaken: a retry of a checkout passes the idempotency
// check while its twin (same key, same request) is still being placed, and
// by the time the retry prices its lines the twin has placed the order and
// the inventory has taken the last unit. The retry must answer the twin's
// order (the key's answer), not "insufficient stock"; the same holds for a
// cart the twin emptied.
func TestCheckoutTwinOvertaken(t *testing.T) {
	e := newEnv(t)
	e.prod.start()
	e.start(nil)

	// A user service that holds the first address-book call (the retry's)
	// until released; later calls answer at once.
	addr := contracts.Address{ID: uuid.NewString(), Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "US"}
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv := bus.NewServer(e.deps.Bus, bus.ServerConfig{Service: "user", Workers: 4, Prefetch: 4}, e.deps.Log, nil)
	srv.Handle(contracts.MethodUserAddressesList, func(ctx context.Context, _ *bus.Request) (any, error) {
		held := false
		once.Do(func() { held = true })
		if held {
			close(entered)
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return contracts.List[contracts.Address]{Items: []contracts.Address{addr}}, nil
	})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("fake user server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })

	pid := e.prod.add("Desk Lamp", 2500, 1, sellerA, contracts.ProductActive)
	body := checkoutBody(cardOK, contracts.LineInput{ProductID: pid, Quantity: 1})
	body.Address, body.AddressID = nil, addr.ID
	k := key()

	type result struct {
		r   bus.Reply
		err error
	}
	retry := make(chan result, 1)
	go func() {
		raw, _ := json.Marshal(body)
		env, _ := json.Marshal(contracts.Envelope{Body: raw, Meta: map[string]string{contracts.MetaIdempotencyKey: k}})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		r, err := e.deps.RPC.Call(ctx, "order", contracts.MethodOrderCheckout, env, bus.CallOptions{Actor: buyer})
		retry <- result{r, err}
	}()
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the retry never asked for the address book")
	}
	first := ok[contracts.Order](t, e.checkout(buyer, k, body))
	testenv.Eventually(t, "the reservation of the first order", func() bool { return e.prod.stock(pid) == 0 })
	close(release)
	res := <-retry
	if res.err != nil {
		t.Fatalf("retry: %v", res.err)
	}
	if got := ok[contracts.Order](t, res.r); got.ID != first.ID {
		t.Fatalf("the retry answered order %s, want the twin's %s", got.ID, first.ID)
	}
	if n := e.count(`SELECT count(*) FROM orders WHERE user_id = $1`, buyer.ID); n != 1 {
		t.Fatalf("%d orders, want 1", n)
	}
}
