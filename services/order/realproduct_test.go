package order_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/svc/svctest"
	"github.com/opencommerce/opencommerce/services/product"
)

// TestSagaWithRealProductService runs the order saga against the real
// product service (catalogue, lookup, reservations) on the real bus: a
// paid order takes stock for good; a declined card cancels and the stock
// is back where it was.
func TestSagaWithRealProductService(t *testing.T) {
	t.Parallel()
	deps, _ := svctest.Deps(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pcfg := product.DefaultConfig()
	psvc, err := product.New(pcfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	if err := psvc.Start(ctx); err != nil {
		t.Fatalf("product start: %v", err)
	}
	t.Cleanup(func() { _ = psvc.Stop(context.Background()) })
	e := &env{t: t, deps: deps, cfg: testConfig()}
	e.start(nil)

	pcall := func(a contracts.Actor, method string, params contracts.Params, body any) bus.Reply {
		t.Helper()
		ev := contracts.Envelope{Params: params}
		if body != nil {
			ev.Body, _ = json.Marshal(body)
		}
		b, _ := json.Marshal(ev)
		r, err := deps.RPC.Call(ctx, "product", method, b, bus.CallOptions{Actor: a})
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return r
	}
	cat := ok[contracts.Category](t, pcall(admin, contracts.MethodProductCategoriesCreate, nil, contracts.CategoryInput{Name: "Kitchen"}))
	p := ok[contracts.Product](t, pcall(sellerA, contracts.MethodProductCreate, nil, contracts.ProductInput{
		Name: "Real Mug", Description: "A mug", CategoryID: cat.ID, Price: contracts.USD(1800), Stock: 10,
	}))
	stock := func() int64 {
		inv := ok[contracts.Inventory](t, pcall(sellerA, contracts.MethodProductInventoryGet, contracts.Params{"id": {p.ID}}, nil))
		return inv.Stock
	}

	ok[contracts.Cart](t, e.setItem(buyer, p.ID, 3))
	o := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(cardOK)))
	if o.Total != contracts.USD(3*1800) || o.Items[0].SellerID != sellerA.ID || o.Items[0].Name != "Real Mug" {
		t.Fatalf("order = %+v", o)
	}
	e.waitStatus(buyer, o.ID, contracts.OrderStatusPaid)
	waitFor(t, func() bool {
		inv := ok[contracts.Inventory](t, pcall(sellerA, contracts.MethodProductInventoryGet, contracts.Params{"id": {p.ID}}, nil))
		return inv.Stock == 7 && inv.Reserved == 0 // sold, not merely held
	}, "stock committed")

	d := ok[contracts.Order](t, e.checkout(buyer, key(), checkoutBody(cardDeclined, contracts.LineInput{ProductID: p.ID, Quantity: 2})))
	got := e.waitStatus(buyer, d.ID, contracts.OrderStatusAwaitingPayment)
	if got.StatusReason != contracts.ReasonPaymentDeclined {
		t.Fatalf("reason = %s", got.StatusReason)
	}
	ok[contracts.Order](t, e.call(buyer, contracts.MethodOrderCancel, contracts.Params{"id": {d.ID}}, nil, nil))
	waitFor(t, func() bool { return stock() == 7 }, "stock released after the declined order was cancelled")

	// More than the stock: refused at checkout with the count left.
	failed(t, e.checkout(buyer, key(), checkoutBody(cardOK, contracts.LineInput{ProductID: p.ID, Quantity: 8})),
		contracts.CodeFailedPrecondition, "only 7")
}
