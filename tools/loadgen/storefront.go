package loadgen

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Endpoint names used in the report: route patterns, as the gateway's
// metrics name them.
const (
	EPFeatured   = "GET /products/featured"
	EPCategories = "GET /categories"
	EPCategory   = "GET /products?category"
	EPSearch     = "GET /products?q"
	EPProduct    = "GET /products/{id}"
	EPCartSet    = "PUT /cart/items/{product_id}"
	EPCartClear  = "DELETE /cart"
	EPCheckout   = "POST /orders"
)

// placed is an order the load placed.
type placed struct {
	ID       string
	User     *session
	Declined bool
}

// worker is the per-goroutine state of the actions (random source, Zipf
// sampler); actions borrow one from a pool.
type worker struct {
	r    *mrand.Rand
	zipf *mrand.Zipf
}

func (g *gen) newWorker() *worker {
	r := mrand.New(mrand.NewPCG(g.seed, g.workerSeq.Add(1)))
	w := &worker{r: r}
	if n := len(g.cat.products); n > 1 {
		w.zipf = mrand.NewZipf(r, 1.1, 4, uint64(n-1))
	}
	return w
}

func (w *worker) pick(g *gen) *product {
	i := 0
	if w.zipf != nil {
		i = int(w.zipf.Uint64())
	}
	return g.cat.products[g.cat.popular[i]]
}

// iteration is the Task of the run: one action of the mix.
func (g *gen) iteration(ctx context.Context, intended time.Time) {
	w := g.workers.Get().(*worker)
	defer g.workers.Put(w)
	switch g.mix.Next(w.r) {
	case ActHome:
		// An action's first request is measured from the scheduled time;
		// the requests that follow it in the same action from their send.
		g.cl.Do(ctx, Call{Endpoint: EPFeatured, Method: "GET", Path: "/products/featured?limit=12", Start: intended})
		g.cl.Do(ctx, Call{Endpoint: EPCategories, Method: "GET", Path: "/categories"})
	case ActCategory:
		c := g.cat.categories[w.r.IntN(len(g.cat.categories))]
		sort := [...]string{"newest", "price_asc", "price_desc", "rating"}[w.r.IntN(4)]
		g.cl.Do(ctx, Call{Endpoint: EPCategory, Method: "GET", Path: "/products?limit=20&sort=" + sort + "&category=" + c, Start: intended})
	case ActSearch:
		q := g.cat.terms[w.r.IntN(len(g.cat.terms))]
		g.cl.Do(ctx, Call{Endpoint: EPSearch, Method: "GET", Path: "/products?limit=20&q=" + url.QueryEscape(q), Start: intended})
	case ActProduct:
		g.cl.Do(ctx, Call{Endpoint: EPProduct, Method: "GET", Path: "/products/" + w.pick(g).ID, Start: intended})
	case ActAddCart:
		g.withUser(ctx, func(u *session) {
			if len(u.cart) >= 4 {
				g.checkout(ctx, w, u, intended)
				return
			}
			g.addToCart(ctx, w, u, intended)
		})
	case ActCheckout:
		g.withUser(ctx, func(u *session) {
			if len(u.cart) == 0 {
				if !g.addToCart(ctx, w, u, intended) {
					return
				}
				intended = time.Time{} // the checkout starts after the add
			}
			g.checkout(ctx, w, u, intended)
		})
	}
}

// withUser runs fn with an idle customer: a customer does one thing at a
// time, like a shopper in one browser tab.
func (g *gen) withUser(ctx context.Context, fn func(u *session)) {
	var u *session
	select {
	case u = <-g.idle:
	case <-ctx.Done():
		return
	}
	defer func() { g.idle <- u }()
	g.fresh(ctx, u)
	fn(u)
}

// addToCart puts 1–2 units of a popular product that is still on sale in
// u's cart. It reports whether the cart has an item.
func (g *gen) addToCart(ctx context.Context, w *worker, u *session, intended time.Time) bool {
	var p *product
	for range 8 {
		c := w.pick(g)
		if _, in := u.cart[c.ID]; !in && c.left.Load() > 2 {
			p = c
			break
		}
	}
	if p == nil {
		return len(u.cart) > 0
	}
	qty := int64(1 + w.r.IntN(2))
	r := g.cl.Do(ctx, Call{Endpoint: EPCartSet, Method: "PUT", Path: "/cart/items/" + p.ID, Token: u.Token,
		Body: map[string]int64{"quantity": qty}, Start: intended})
	if r.OK() {
		u.cart[p.ID] = qty
	}
	return len(u.cart) > 0
}

func (g *gen) checkout(ctx context.Context, w *worker, u *session, intended time.Time) {
	// The local stock estimate drops first, so concurrent shoppers stop
	// picking a product before it sells out (a sold-out line would fail
	// the checkout, which is not what this load measures).
	for id, q := range u.cart {
		g.cat.byID[id].left.Add(-q)
	}
	declined := w.r.Float64() < g.cfg.DeclineRate
	card := CardOK
	if declined {
		card = CardDeclined
	}
	body := map[string]any{
		"address": map[string]string{"name": "Load Shopper", "line1": "1 Test Street", "city": "Springfield",
			"postal_code": "12345", "country": "US"},
		"payment": map[string]any{"method": "card", "card_number": card, "exp_month": 12,
			"exp_year": time.Now().Year() + 3, "cvc": "123"},
	}
	r := g.cl.Do(ctx, Call{Endpoint: EPCheckout, Method: "POST", Path: "/orders", Token: u.Token, Body: body,
		Idem: uuid.NewString(), Start: intended})
	clear(u.cart)
	if !r.OK() {
		// Whatever is left in the server-side cart is dropped so the next
		// checkout starts clean.
		g.cl.Do(ctx, Call{Endpoint: EPCartClear, Method: "DELETE", Path: "/cart", Token: u.Token})
		return
	}
	var o struct {
		ID string `json:"id"`
	}
	if err := r.Decode(&o); err != nil || o.ID == "" {
		g.progress("checkout answered %d without an order id: %.200s", r.Status, r.Body)
		return
	}
	g.ordersMu.Lock()
	g.orders = append(g.orders, placed{ID: o.ID, User: u, Declined: declined})
	g.ordersMu.Unlock()
}

// orderView is the part of GET /orders/{id} the check reads. Payment
// attempts are read when the API lists them.
type orderView struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	StatusReason string `json:"status_reason"`
	Items        []struct {
		ProductID string `json:"product_id"`
		Quantity  int64  `json:"quantity"`
	} `json:"items"`
	Payment struct {
		Status   string `json:"status"`
		Charges  *int   `json:"charges"`
		Attempts []struct {
			Kind   string `json:"kind"`
			Status string `json:"status"`
		} `json:"attempts"`
	} `json:"payment"`
}

// final reports whether an order needs nothing more of the run. An order
// awaiting_payment (its card was declined) is not: settle gives it up.
func final(status string) bool {
	return status != "pending" && status != "reserved" && status != "awaiting_payment" && status != ""
}

// settle waits (bounded) until every placed order reached a final status
// and returns what each became.
func (g *gen) settle(ctx context.Context) []OrderOutcome {
	g.ordersMu.Lock()
	orders := append([]placed(nil), g.orders...)
	g.ordersMu.Unlock()
	out := make([]OrderOutcome, len(orders))
	deadline := time.Now().Add(g.cfg.SettleTimeout)
	for _, u := range g.cat.users {
		g.fresh(ctx, u) // before the concurrent reads below share the sessions
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, o := range orders {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = OrderOutcome{ID: o.ID, Declined: o.Declined, Charges: -1}
			for delay := 20 * time.Millisecond; ; delay = min(delay*2, time.Second) {
				r := g.plain.Do(ctx, Call{Method: "GET", Path: "/orders/" + o.ID, Token: o.User.Token})
				var v orderView
				if r.OK() && r.Decode(&v) == nil {
					out[i] = outcomeOf(v, o.Declined)
					if final(v.Status) {
						return
					}
					if v.Status == "awaiting_payment" {
						// A declined card: the shopper gives up rather than pay
						// again, which releases the held stock.
						g.plain.Do(ctx, Call{Method: "POST", Path: "/orders/" + o.ID + "/cancel", Token: o.User.Token})
					}
				}
				if time.Now().After(deadline) || ctx.Err() != nil {
					return
				}
				time.Sleep(delay)
			}
		}()
	}
	wg.Wait()
	return out
}

func outcomeOf(v orderView, declined bool) OrderOutcome {
	o := OrderOutcome{ID: v.ID, Status: v.Status, Reason: v.StatusReason, Declined: declined,
		PaymentStatus: v.Payment.Status, Charges: -1}
	for _, it := range v.Items {
		o.Items = append(o.Items, OrderLine{ProductID: it.ProductID, Quantity: it.Quantity})
	}
	switch {
	case v.Payment.Attempts != nil:
		o.Charges = 0
		for _, a := range v.Payment.Attempts {
			if a.Kind == "charge" && a.Status == "succeeded" {
				o.Charges++
			}
		}
	case v.Payment.Charges != nil:
		o.Charges = *v.Payment.Charges
	}
	return o
}

type inventoryView struct {
	Stock    int64 `json:"stock"`
	Reserved int64 `json:"reserved"`
	Ledger   []struct {
		Kind     string `json:"kind"`
		Quantity int64  `json:"quantity"`
		OrderID  string `json:"order_id"`
	} `json:"ledger"`
	NextCursor string `json:"next_cursor"`
}

// maxLedgerPages bounds the ledger pages read per product (100 entries
// each); a product with a longer ledger is checked without it.
const maxLedgerPages = 50

// inventories reads, as the admin, the inventory of every product the
// orders touched, with the units its ledger shows sold to these orders.
func (g *gen) inventories(ctx context.Context, orders []OrderOutcome) (map[string]StockState, error) {
	ours := map[string]bool{}
	touched := map[string]bool{}
	for _, o := range orders {
		ours[o.ID] = true
		for _, l := range o.Items {
			touched[l.ProductID] = true
		}
	}
	out := map[string]StockState{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	sem := make(chan struct{}, 16)
	for id := range touched {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			p := g.cat.byID[id]
			st := StockState{LedgerSold: 0}
			if p == nil {
				st.Initial = -1 // not from this catalogue: the check will flag it
			} else {
				st.Initial = p.Initial
			}
			cursor := ""
			for page := 0; ; page++ {
				if page == maxLedgerPages {
					st.LedgerSold = -1
					break
				}
				path := "/products/" + id + "/inventory?limit=100"
				if cursor != "" {
					path += "&cursor=" + url.QueryEscape(cursor)
				}
				r, err := g.setup(ctx, Call{Method: "GET", Path: path, Token: g.cat.admin.Token})
				var inv inventoryView
				if err == nil {
					err = r.Decode(&inv)
				}
				if err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, fmt.Errorf("inventory of %s: %w", id, err))
					mu.Unlock()
					return
				}
				if page == 0 {
					st.Stock, st.Reserved = inv.Stock, inv.Reserved
				}
				for _, e := range inv.Ledger {
					if e.Kind == "outgoing" && ours[e.OrderID] {
						st.LedgerSold += e.Quantity
					}
				}
				if inv.NextCursor == "" {
					break
				}
				cursor = inv.NextCursor
			}
			mu.Lock()
			out[id] = st
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out, firstErr
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
