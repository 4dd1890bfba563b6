package e2e_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// providerRefunds counts the refunds the built-in test payment provider
// made with idempotency key key, and their sum: the public API shows what
// the order recorded, this looks behind it to prove "refunded once".
func providerRefunds(t testing.TB, env *platformtest.Env, key string) (n, sum int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testenv.WithDatabase(testenv.PGURL, env.Config.DBPrefix+"order"))
	if err != nil {
		t.Fatalf("order database: %v", err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, `SELECT count(*), coalesce(sum(amount), 0) FROM test_provider_refunds WHERE idempotency_key = $1`,
		key).Scan(&n, &sum); err != nil {
		t.Fatalf("count refunds: %v", err)
	}
	return n, sum
}

// Returns through the gateway: the buyer asks to return shipped lines, the
// seller (or an admin) approves or rejects, approval refunds exactly those
// lines once however many approvals race, and the order ends refunded when
// everything is; everyone is told at each step.
func TestReturns(t *testing.T) {
	t.Parallel()
	env := startShop(t)
	c := newClient(t, env)
	adm := c.as(adminSession(c).Access)
	cat := newCategory(adm, "Kitchen", "")
	sellerA, sa := account(c, "seller")
	sellerB, sb := account(c, "seller")
	buyer, bs := account(c, "")
	stranger, _ := account(c, "")
	kettle := newProduct(sellerA, "Copper Kettle", cat.ID, 2000, 10)
	mug := newProduct(sellerB, "Stoneware Mug", cat.ID, 500, 10)

	// Lines: 1 two kettles (A, 40.00), 2 three mugs (B, 15.00).
	o := placeOrder(buyer, newKey(), checkoutOf(cardOK, line(kettle.ID, 2), line(mug.ID, 3)))
	awaitOrder(buyer, o.ID, contracts.OrderStatusPaid)
	returns := "/orders/" + o.ID + "/returns"
	ask := func(reason string, lines ...contracts.ReturnLineInput) contracts.ReturnInput {
		return contracts.ReturnInput{Reason: reason, Lines: lines}
	}
	units := func(line int, qty int64) contracts.ReturnLineInput {
		return contracts.ReturnLineInput{Line: line, Quantity: qty}
	}

	t.Run("only shipped lines of one's own order, with a reason, within what is left", func(t *testing.T) {
		buyer, sellerA, stranger := buyer.with(t), sellerA.with(t), stranger.with(t)
		// Nothing has shipped: nothing can be returned.
		wantError(t, buyer.do("POST", returns, ask("dented", units(1, 1))), http.StatusConflict, "failed_precondition")
		sellerA.must(http.StatusOK, "POST", "/orders/"+o.ID+"/ship", contracts.ShipRequest{Carrier: "DHL", TrackingNumber: "K-1"})
		// B's mugs have not shipped.
		wantError(t, buyer.do("POST", returns, ask("chipped", units(2, 1))), http.StatusConflict, "failed_precondition")
		for name, body := range map[string]any{
			"no reason":        ask("  ", units(1, 1)),
			"no lines":         ask("dented"),
			"zero units":       ask("dented", units(1, 0)),
			"no such line":     ask("dented", units(7, 1)),
			"line 0":           ask("dented", units(0, 1)),
			"a line twice":     ask("dented", units(1, 1), units(1, 1)),
			"unknown field":    map[string]any{"reason": "dented", "lines": []any{units(1, 1)}, "refund": 99999},
			"lines not a list": map[string]any{"reason": "dented", "lines": 1},
		} {
			if r := buyer.do("POST", returns, body); r.Status != http.StatusBadRequest || r.ErrCode() != "invalid_argument" {
				t.Errorf("%s: %s, want 400 invalid_argument", name, r)
			}
		}
		// More units than bought.
		wantError(t, buyer.do("POST", returns, ask("dented", units(1, 3))), http.StatusConflict, "failed_precondition")
		// Not the buyer.
		wantError(t, stranger.do("POST", returns, ask("dented", units(1, 1))), http.StatusNotFound, "not_found")
		wantError(t, sellerA.do("POST", returns, ask("dented", units(1, 1))), http.StatusForbidden, "permission_denied")
		wantError(t, buyer.do("POST", "/orders/not-an-id/returns", ask("dented", units(1, 1))), http.StatusNotFound, "not_found")
	})

	var first contracts.ReturnRequest
	t.Run("the seller is told, sees it in their console, and approves it once however many approvals race", func(t *testing.T) {
		buyer, sellerA, sellerB, stranger := buyer.with(t), sellerA.with(t), sellerB.with(t), stranger.with(t)
		first = decode[contracts.ReturnRequest](t, buyer.must(http.StatusCreated, "POST", returns, ask("The lid is dented", units(1, 1))))
		if first.ID == "" || first.Status != contracts.ReturnRequested || first.SellerID != sa.ID || first.UserID != bs.ID ||
			first.Amount != contracts.USD(2000) || len(first.Lines) != 1 || first.Lines[0].Line != 1 || first.Lines[0].Quantity != 1 ||
			first.Lines[0].Name != "Copper Kettle" {
			t.Fatalf("return request = %+v", first)
		}
		// The last kettle can be asked for, not a third.
		wantError(t, buyer.do("POST", returns, ask("dented too", units(1, 2))), http.StatusConflict, "failed_precondition")

		n := awaitNote(sellerA, contracts.KindReturnRequest, o.ID)
		if n.Total.Amount != 2000 {
			t.Errorf("seller's notification = %+v", n)
		}
		l := decode[contracts.List[contracts.ReturnRequest]](t, sellerA.must(http.StatusOK, "GET", "/seller/returns?status=requested", nil))
		if len(l.Items) != 1 || l.Items[0].ID != first.ID {
			t.Errorf("seller A's console lists %+v", l.Items)
		}
		if l := decode[contracts.List[contracts.ReturnRequest]](t, sellerB.must(http.StatusOK, "GET", "/seller/returns", nil)); len(l.Items) != 0 {
			t.Errorf("seller B's console lists %+v", l.Items)
		}
		wantError(t, sellerA.do("GET", "/seller/returns?status=lost", nil), http.StatusBadRequest, "invalid_argument")
		wantError(t, buyer.do("GET", "/seller/returns", nil), http.StatusForbidden, "permission_denied")
		// The buyer and the seller see it; nobody else.
		if g := decode[contracts.ReturnRequest](t, buyer.must(http.StatusOK, "GET", "/returns/"+first.ID, nil)); g.Status != contracts.ReturnRequested {
			t.Errorf("the buyer sees %+v", g)
		}
		wantError(t, stranger.do("GET", "/returns/"+first.ID, nil), http.StatusNotFound, "not_found")
		// Only its seller (or an admin) decides.
		wantError(t, sellerB.do("POST", "/returns/"+first.ID+"/approve", nil), http.StatusNotFound, "not_found")
		wantError(t, buyer.do("POST", "/returns/"+first.ID+"/approve", nil), http.StatusForbidden, "permission_denied")

		parallel(t, 8, func(int) (response, error) {
			return send(sellerA, "POST", "/returns/"+first.ID+"/approve", contracts.ReturnDecision{Note: "Sorry about that"})
		}, http.StatusOK)
		testenv.Eventually(t, "the approved return refunded", func() bool {
			g := decode[contracts.ReturnRequest](t, sellerA.must(http.StatusOK, "GET", "/returns/"+first.ID, nil))
			return g.Status == contracts.ReturnRefunded && g.RefundedAt != nil
		})
		if n, sum := providerRefunds(t, env, "return:"+first.ID); n != 1 || sum != 2000 {
			t.Errorf("the provider refunded %d times, %d cents; want once, 2000", n, sum)
		}
		// Approving again changes nothing; rejecting now is refused.
		again := decode[contracts.ReturnRequest](t, sellerA.must(http.StatusOK, "POST", "/returns/"+first.ID+"/approve", nil))
		if again.Status != contracts.ReturnRefunded || again.Note != "Sorry about that" {
			t.Errorf("approved again: %+v", again)
		}
		wantError(t, sellerA.do("POST", "/returns/"+first.ID+"/reject", nil), http.StatusConflict, "failed_precondition")

		g := getOrder(buyer, o.ID)
		if g.Status != contracts.OrderStatusPartiallyShipped || g.Refunded != contracts.USD(2000) || g.Payment.Status != contracts.PaymentStatusSucceeded ||
			g.Items[0].RefundedQuantity != 1 || g.Items[1].RefundedQuantity != 0 || len(g.Returns) != 1 || g.Returns[0].Status != contracts.ReturnRefunded {
			t.Errorf("after a partial refund the buyer sees status %s refunded %v payment %s items %+v returns %+v",
				g.Status, g.Refunded, g.Payment.Status, g.Items, g.Returns)
		}
		if v := getOrder(sellerB, o.ID); v.Refunded.Amount != 0 || len(v.Returns) != 0 {
			t.Errorf("seller B sees refunded %v and returns %+v of seller A's lines", v.Refunded, v.Returns)
		}
		d := awaitNote(buyer, contracts.KindReturnDecided, o.ID)
		if d.Total.Amount != 2000 {
			t.Errorf("buyer's approval notification = %+v", d)
		}
		awaitNote(buyer, contracts.KindOrderRefunded, o.ID)
	})

	t.Run("a rejected request refunds nothing and frees its units", func(t *testing.T) {
		buyer, sellerA := buyer.with(t), sellerA.with(t)
		r := decode[contracts.ReturnRequest](t, buyer.must(http.StatusCreated, "POST", returns, ask("Changed my mind", units(1, 1))))
		rej := decode[contracts.ReturnRequest](t, sellerA.must(http.StatusOK, "POST", "/returns/"+r.ID+"/reject",
			contracts.ReturnDecision{Note: "Used items cannot be returned"}))
		if rej.Status != contracts.ReturnRejected || rej.Note != "Used items cannot be returned" || rej.DecidedAt == nil {
			t.Fatalf("rejected = %+v", rej)
		}
		sellerA.must(http.StatusOK, "POST", "/returns/"+r.ID+"/reject", nil) // again: unchanged
		wantError(t, sellerA.do("POST", "/returns/"+r.ID+"/approve", nil), http.StatusConflict, "failed_precondition")
		if n, _ := providerRefunds(t, env, "return:"+r.ID); n != 0 {
			t.Errorf("a rejected return was refunded %d times", n)
		}
		testenv.Eventually(t, "the buyer told of the rejection", func() bool {
			n := 0
			for _, x := range notes(buyer, "") {
				if x.Kind == contracts.KindReturnDecided && x.OrderID == o.ID {
					n++
				}
			}
			return n == 2
		})
		if g := getOrder(buyer, o.ID); g.Refunded != contracts.USD(2000) {
			t.Errorf("refunded after a rejection = %v, want 20.00 USD", g.Refunded)
		}
	})

	t.Run("when every line is refunded the order ends refunded", func(t *testing.T) {
		buyer, sellerA, sellerB, adm := buyer.with(t), sellerA.with(t), sellerB.with(t), adm.with(t)
		sellerB.must(http.StatusOK, "POST", "/orders/"+o.ID+"/ship", contracts.ShipRequest{Carrier: "UPS", TrackingNumber: "M-1"})
		// One request covers one seller's lines.
		wantError(t, buyer.do("POST", returns, ask("all of it", units(1, 1), units(2, 3))), http.StatusBadRequest, "invalid_argument")
		ra := decode[contracts.ReturnRequest](t, buyer.must(http.StatusCreated, "POST", returns, ask("Second kettle dented too", units(1, 1))))
		rb := decode[contracts.ReturnRequest](t, buyer.must(http.StatusCreated, "POST", returns, ask("Mugs chipped", units(2, 3))))
		if rb.SellerID != sb.ID || rb.Amount != contracts.USD(1500) {
			t.Fatalf("return of the mugs = %+v", rb)
		}
		// An admin decides for any seller.
		adm.must(http.StatusOK, "POST", "/returns/"+rb.ID+"/approve", nil)
		if l := decode[contracts.List[contracts.ReturnRequest]](t, adm.must(http.StatusOK, "GET", "/seller/returns?seller="+sb.ID, nil)); len(l.Items) != 1 {
			t.Errorf("the admin's view of seller B's returns = %+v", l.Items)
		}
		if g := getOrder(buyer, o.ID); g.Status == contracts.OrderStatusRefunded {
			t.Fatalf("order refunded with a kettle still unrefunded: %+v", g)
		}
		sellerA.must(http.StatusOK, "POST", "/returns/"+ra.ID+"/approve", nil)
		g := awaitOrder(buyer, o.ID, contracts.OrderStatusRefunded)
		if g.Refunded != g.Total || g.Payment.Status != contracts.PaymentStatusRefunded || g.StatusReason != contracts.ReasonReturned {
			t.Errorf("fully returned order = status %s (%s) refunded %v of %v, payment %s", g.Status, g.StatusReason, g.Refunded, g.Total, g.Payment.Status)
		}
		var total int64
		for _, r := range g.Returns {
			if r.Status == contracts.ReturnRefunded {
				_, sum := providerRefunds(t, env, "return:"+r.ID)
				total += sum
			}
		}
		if n, _ := providerRefunds(t, env, "refund:"+o.ID); total != g.Total.Amount || n != 0 {
			t.Errorf("the provider refunded %d cents by returns and %d whole-order refunds, want %d and none", total, n, g.Total.Amount)
		}
		// Nothing is left to return or refund.
		wantError(t, buyer.do("POST", returns, ask("again", units(1, 1))), http.StatusConflict, "failed_precondition")
		wantError(t, adm.do("POST", "/orders/"+o.ID+"/refund", nil), http.StatusConflict, "failed_precondition")
	})

	t.Run("an admin's full refund after a partial one returns only the rest", func(t *testing.T) {
		buyer, sellerA, adm := buyer.with(t), sellerA.with(t), adm.with(t)
		o := placeOrder(buyer, newKey(), checkoutOf(cardOK, line(kettle.ID, 2)))
		awaitOrder(buyer, o.ID, contracts.OrderStatusPaid)
		sellerA.must(http.StatusOK, "POST", "/orders/"+o.ID+"/ship", contracts.ShipRequest{Carrier: "DHL", TrackingNumber: "K-2"})
		r := decode[contracts.ReturnRequest](t, buyer.must(http.StatusCreated, "POST", "/orders/"+o.ID+"/returns", ask("dented", units(1, 1))))
		sellerA.must(http.StatusOK, "POST", "/returns/"+r.ID+"/approve", nil)
		awaitPayment(buyer, o.ID, contracts.PaymentStatusSucceeded)
		testenv.Eventually(t, "the return refunded", func() bool { return getOrder(buyer, o.ID).Refunded == contracts.USD(2000) })
		f := decode[contracts.Order](t, adm.must(http.StatusOK, "POST", "/orders/"+o.ID+"/refund", contracts.RefundRequest{Reason: "lost parcel"}))
		if f.Status != contracts.OrderStatusRefunded {
			t.Fatalf("refunded = %+v", f)
		}
		g := awaitPayment(buyer, o.ID, contracts.PaymentStatusRefunded)
		if g.Refunded != contracts.USD(4000) {
			t.Errorf("refunded = %v, want 40.00 USD", g.Refunded)
		}
		if n, sum := providerRefunds(t, env, "refund:"+o.ID); n != 1 || sum != 2000 {
			t.Errorf("the whole-order refund took %d cents in %d refunds, want the 2000 left in one", sum, n)
		}
	})
}
