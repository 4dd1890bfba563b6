package order_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
)

// BenchmarkCheckout measures order.checkout end to end over RPC (envelope
// decode, idempotency lookup, product.lookup over the bus, tokenize, the
// order transaction with its outbox event) from 8×GOMAXPROCS concurrent
// callers: alone (saga=off: the inventory does not answer) and with the
// saga running behind it on a fake inventory (saga=on: reserve, charge and
// paid for every order, competing for the same CPU).
//
//	go test -run '^$' -bench Checkout -benchtime 2000x ./services/order/
func BenchmarkCheckout(b *testing.B) {
	b.Run("saga=off", func(b *testing.B) { benchCheckout(b, false) })
	b.Run("saga=on", func(b *testing.B) { benchCheckout(b, true) })
}

func benchCheckout(b *testing.B, saga bool) {
	e := newEnv(b)
	if saga {
		e.prod.start()
	}
	e.start(nil)
	p := e.prod.add("Bench", 100, 1<<40, sellerA, contracts.ProductActive)
	body := checkoutBody(cardOK, contracts.LineInput{ProductID: p, Quantity: 1})
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := e.checkout(buyer, fmt.Sprintf("bench-%d", n.Add(1)), body)
			if !r.OK() {
				b.Errorf("checkout: %s %s", r.Status, r.Body)
				return
			}
		}
	})
}
