package loadgen

import (
	"fmt"
	"sort"
)

// Final order statuses the check treats as "sold": the order was paid and
// went on (or not) to be shipped and delivered.
var soldStatuses = map[string]bool{"paid": true, "partially_shipped": true, "shipped": true, "delivered": true}

// OrderOutcome is what the load generator learned about one order it
// placed, after waiting for it to settle.
type OrderOutcome struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Reason string `json:"status_reason,omitempty"`
	// Declined is true when the order was paid with a card the provider
	// declines.
	Declined      bool        `json:"declined"`
	PaymentStatus string      `json:"payment_status"`
	Items         []OrderLine `json:"items"`
	// Charges is the number of successful charges of the order, or -1 when
	// it could not be learned.
	Charges int `json:"charges"`
}

// OrderLine is a product and a quantity of an order.
type OrderLine struct {
	ProductID string `json:"product_id"`
	Quantity  int64  `json:"quantity"`
}

// StockState is one product's inventory before and after the run.
type StockState struct {
	// Initial is the available stock before the run.
	Initial int64 `json:"initial"`
	// Stock and Reserved are the available and held units after the run.
	Stock    int64 `json:"stock"`
	Reserved int64 `json:"reserved"`
	// LedgerSold is the sum of the ledger's outgoing entries written during
	// the run, or -1 when the ledger was not read.
	LedgerSold int64 `json:"ledger_sold"`
	// Adjusted is the net of manual adjustments and incoming stock during
	// the run (0 normally; the load generator makes none).
	Adjusted int64 `json:"adjusted"`
}

// CheckInput is everything the consistency check looks at.
type CheckInput struct {
	Orders   []OrderOutcome        `json:"-"`
	Products map[string]StockState `json:"-"`
}

// CheckResult is the verdict of the consistency check. Violations lists
// every broken rule (bounded); OK is true when there is none.
type CheckResult struct {
	OK              bool     `json:"ok"`
	ProductsChecked int      `json:"products_checked"`
	OrdersChecked   int      `json:"orders_checked"`
	UnitsSold       int64    `json:"units_sold"`
	Unsettled       int      `json:"unsettled_orders"`
	ChargesKnown    bool     `json:"charges_known"`
	Violations      []string `json:"violations,omitempty"`
	MoreViolations  int      `json:"more_violations,omitempty"`
}

// maxViolations bounds the violations listed in a CheckResult.
const maxViolations = 50

// Check verifies the invariants the platform promises after a load run:
//
//   - for every product an order touched: initial stock + adjustments =
//     available stock + reserved units + units sold (sold = the quantities
//     of its paid/shipped/delivered orders); no units stay reserved once
//     every order settled; and when the ledger was read, its outgoing
//     entries equal the units sold;
//   - every order reached a final state (not pending, reserved or
//     awaiting_payment);
//   - every sold order has exactly one successful charge and payment
//     status succeeded; no cancelled order kept a charge; no order paid
//     with a declined card was sold.
//
// When a charge count is unknown (-1) only the payment status is checked
// and ChargesKnown is false.
func Check(in CheckInput) CheckResult {
	res := CheckResult{ChargesKnown: true}
	add := func(format string, args ...any) {
		if len(res.Violations) < maxViolations {
			res.Violations = append(res.Violations, fmt.Sprintf(format, args...))
		} else {
			res.MoreViolations++
		}
	}
	sold := map[string]int64{}
	touched := map[string]bool{}
	orders := append([]OrderOutcome(nil), in.Orders...)
	sort.Slice(orders, func(i, j int) bool { return orders[i].ID < orders[j].ID })
	for _, o := range orders {
		res.OrdersChecked++
		isSold := soldStatuses[o.Status]
		for _, l := range o.Items {
			touched[l.ProductID] = true
			if isSold {
				sold[l.ProductID] += l.Quantity
				res.UnitsSold += l.Quantity
			}
		}
		switch {
		case o.Status == "pending" || o.Status == "reserved" || o.Status == "awaiting_payment" || o.Status == "":
			res.Unsettled++
			add("order %s did not settle: status %q", o.ID, o.Status)
		case isSold:
			if o.Declined {
				add("order %s was paid with a declined card (status %s)", o.ID, o.Status)
			}
			if o.PaymentStatus != "succeeded" {
				add("order %s is %s but its payment is %q", o.ID, o.Status, o.PaymentStatus)
			}
			if o.Charges < 0 {
				res.ChargesKnown = false
			} else if o.Charges != 1 {
				add("order %s is %s with %d successful charges, want exactly 1", o.ID, o.Status, o.Charges)
			}
		case o.Status == "cancelled":
			if o.PaymentStatus == "succeeded" {
				add("order %s is cancelled but its payment is still succeeded", o.ID)
			}
			if o.Charges < 0 {
				res.ChargesKnown = false
			} else if o.Charges > 0 && o.PaymentStatus != "refunded" {
				add("order %s is cancelled (payment %q) yet has %d successful charges", o.ID, o.PaymentStatus, o.Charges)
			}
		}
	}
	ids := make([]string, 0, len(touched))
	for id := range touched {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		st, ok := in.Products[id]
		if !ok {
			add("product %s: inventory not read", id)
			continue
		}
		res.ProductsChecked++
		if st.Stock < 0 || st.Reserved < 0 {
			add("product %s: negative inventory (stock %d, reserved %d)", id, st.Stock, st.Reserved)
		}
		if got, want := st.Stock+st.Reserved+sold[id], st.Initial+st.Adjusted; got != want {
			add("product %s: stock %d + reserved %d + sold %d = %d, want initial %d + adjusted %d = %d",
				id, st.Stock, st.Reserved, sold[id], got, st.Initial, st.Adjusted, want)
		}
		if res.Unsettled == 0 && st.Reserved != 0 {
			add("product %s: %d units still reserved after every order settled", id, st.Reserved)
		}
		if st.LedgerSold >= 0 && st.LedgerSold != sold[id] {
			add("product %s: the ledger shows %d units sold, the orders %d", id, st.LedgerSold, sold[id])
		}
	}
	res.OK = len(res.Violations) == 0
	return res
}
