package loadgen_test

import (
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/tools/loadgen"
)

// A consistent run: p1 sold 3 (two paid orders), p2 sold 0 (its order was
// declined and released), nothing reserved.
func consistent() loadgen.CheckInput {
	return loadgen.CheckInput{
		Orders: []loadgen.OrderOutcome{
			{ID: "o1", Status: "paid", PaymentStatus: "succeeded", Charges: 1, Items: []loadgen.OrderLine{{"p1", 2}}},
			{ID: "o2", Status: "shipped", PaymentStatus: "succeeded", Charges: 1, Items: []loadgen.OrderLine{{"p1", 1}}},
			{ID: "o3", Status: "cancelled", Reason: "payment_declined", Declined: true, PaymentStatus: "failed", Charges: 0,
				Items: []loadgen.OrderLine{{"p2", 1}, {"p1", 1}}},
		},
		Products: map[string]loadgen.StockState{
			"p1": {Initial: 10, Stock: 7, Reserved: 0, LedgerSold: 3},
			"p2": {Initial: 5, Stock: 5, Reserved: 0, LedgerSold: -1},
		},
	}
}

func TestCheckPasses(t *testing.T) {
	res := loadgen.Check(consistent())
	if !res.OK || len(res.Violations) != 0 {
		t.Fatalf("violations on consistent data: %v", res.Violations)
	}
	if res.ProductsChecked != 2 || res.OrdersChecked != 3 || res.UnitsSold != 3 || !res.ChargesKnown {
		t.Fatalf("result %+v", res)
	}
}

func TestCheckDetectsViolations(t *testing.T) {
	for name, tc := range map[string]struct {
		mutate func(*loadgen.CheckInput)
		want   string
	}{
		"oversold": {func(in *loadgen.CheckInput) {
			in.Products["p1"] = loadgen.StockState{Initial: 10, Stock: 8, LedgerSold: 3}
		},
			"stock 8 + reserved 0 + sold 3 = 11, want initial 10"},
		"units lost": {func(in *loadgen.CheckInput) {
			in.Products["p2"] = loadgen.StockState{Initial: 5, Stock: 4, LedgerSold: -1}
		},
			"product p2: stock 4"},
		"stuck reservation": {func(in *loadgen.CheckInput) {
			in.Products["p2"] = loadgen.StockState{Initial: 5, Stock: 4, Reserved: 1, LedgerSold: -1}
		}, "1 units still reserved"},
		"ledger disagrees": {func(in *loadgen.CheckInput) {
			in.Products["p1"] = loadgen.StockState{Initial: 10, Stock: 7, LedgerSold: 2}
		},
			"the ledger shows 2 units sold, the orders 3"},
		"double charge":       {func(in *loadgen.CheckInput) { in.Orders[0].Charges = 2 }, "o1 is paid with 2 successful charges"},
		"paid without charge": {func(in *loadgen.CheckInput) { in.Orders[1].Charges = 0 }, "o2 is shipped with 0 successful charges"},
		"declined card paid": {func(in *loadgen.CheckInput) {
			in.Orders[0].Declined = true
		}, "o1 was paid with a declined card"},
		"payment status": {func(in *loadgen.CheckInput) { in.Orders[0].PaymentStatus = "pending" }, `o1 is paid but its payment is "pending"`},
		"cancelled kept charge": {func(in *loadgen.CheckInput) { in.Orders[2].Charges = 1 },
			"o3 is cancelled (payment \"failed\") yet has 1 successful charges"},
		"unsettled":         {func(in *loadgen.CheckInput) { in.Orders[2].Status = "reserved" }, `o3 did not settle: status "reserved"`},
		"inventory missing": {func(in *loadgen.CheckInput) { delete(in.Products, "p2") }, "product p2: inventory not read"},
		"negative": {func(in *loadgen.CheckInput) {
			in.Products["p2"] = loadgen.StockState{Initial: 5, Stock: -1, Reserved: 6, LedgerSold: -1}
		}, "negative inventory"},
	} {
		t.Run(name, func(t *testing.T) {
			in := consistent()
			tc.mutate(&in)
			res := loadgen.Check(in)
			if res.OK {
				t.Fatal("check passed")
			}
			if !strings.Contains(strings.Join(res.Violations, "\n"), tc.want) {
				t.Fatalf("violations %q, want one mentioning %q", res.Violations, tc.want)
			}
		})
	}
}

func TestCheckUnknownCharges(t *testing.T) {
	in := consistent()
	for i := range in.Orders {
		in.Orders[i].Charges = -1
	}
	res := loadgen.Check(in)
	if !res.OK || res.ChargesKnown {
		t.Fatalf("unknown charge counts: OK=%v ChargesKnown=%v %v", res.OK, res.ChargesKnown, res.Violations)
	}
}

func TestCheckBoundsViolations(t *testing.T) {
	in := loadgen.CheckInput{Products: map[string]loadgen.StockState{}}
	for i := range 80 {
		in.Orders = append(in.Orders, loadgen.OrderOutcome{ID: strings.Repeat("x", i+1), Status: "pending", Charges: -1})
	}
	res := loadgen.Check(in)
	if len(res.Violations) != 50 || res.MoreViolations != 30 || res.Unsettled != 80 {
		t.Fatalf("%d listed, %d more, %d unsettled", len(res.Violations), res.MoreViolations, res.Unsettled)
	}
}
