package order_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/services/order/payment"
)

// crashingRefunds refunds for real the first time and then "dies" before
// the order service learns the outcome.
type crashingRefunds struct {
	payment.Provider
	mu      sync.Mutex
	crashes int
}

func (c *crashingRefunds) Refund(ctx context.Context, key, chargeRef string, amount contracts.Money) (payment.Refund, error) {
	rf, err := c.Provider.Refund(ctx, key, chargeRef, amount)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil && c.crashes == 0 {
		c.crashes++
		return payment.Refund{}, errors.New("connection reset by peer")
	}
	return rf, err
}

// TestReturnRefundSurvivesProviderCrash: the provider refunded an approved
// return but its answer was lost; the return stays approved, the sweeper
// retries with the same idempotency key and records the first refund:
// refunded once, recorded once with its order.refunded.
func TestReturnRefundSurvivesProviderCrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.prod.start()
	crash := &crashingRefunds{}
	e.start(func(p payment.Provider) payment.Provider { crash.Provider = p; return crash })
	o, _, _ := e.paidOrder(buyer)
	id := contracts.Params{"id": {o.ID}}
	ok[contracts.Order](t, e.call(sellerA, contracts.MethodOrderShip, id, contracts.ShipRequest{Carrier: "UPS", TrackingNumber: "1Z"}, nil))
	r := ok[contracts.ReturnRequest](t, e.call(buyer, contracts.MethodOrderReturnCreate, id,
		contracts.ReturnInput{Reason: "broken", Lines: []contracts.ReturnLineInput{{Line: 1, Quantity: 1}}}, nil))
	rid := contracts.Params{"id": {r.ID}}
	a := ok[contracts.ReturnRequest](t, e.call(sellerA, contracts.MethodOrderReturnApprove, rid, nil, nil))
	if a.Status != contracts.ReturnApproved {
		t.Fatalf("approved while the provider's answer was lost: %+v", a)
	}
	testenv.Eventually(t, "the sweeper to finish the refund", func() bool {
		g := ok[contracts.ReturnRequest](t, e.call(buyer, contracts.MethodOrderReturnGet, rid, nil, nil))
		return g.Status == contracts.ReturnRefunded
	})
	if n := e.count(`SELECT count(*) FROM test_provider_refunds WHERE idempotency_key = $1`, "return:"+r.ID); n != 1 {
		t.Fatalf("refunds at the provider = %d, want 1", n)
	}
	// The refund is recorded once, with its order.refunded (same transaction).
	if n := e.count(`SELECT count(*) FROM payments WHERE order_id = $1 AND kind = 'refund'`, o.ID); n != 1 {
		t.Fatalf("refunds recorded = %d, want 1", n)
	}
	var re contracts.OrderRefunded
	if err := e.waitEvent(contracts.EventOrderRefunded, o.ID).Decode(&re); err != nil {
		t.Fatal(err)
	}
	if re.ReturnID != r.ID || re.Amount != contracts.USD(1000) || re.Status != contracts.OrderStatusPartiallyShipped || !re.Shipped {
		t.Fatalf("order.refunded = %+v", re)
	}
	g := ok[contracts.Order](t, e.get(buyer, o.ID))
	if g.Refunded != contracts.USD(1000) || g.Items[0].RefundedQuantity != 1 {
		t.Fatalf("order after the return = refunded %v items %+v", g.Refunded, g.Items)
	}
}
