package product_test

import (
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/services/product"
)

// TestSeedRPC: product.seed makes the synthetic catalogue a load run or a
// benchmark asks for (with the stock it asks for), shows it at once (the
// cached category tree is purged), and refuses callers that are not
// services and counts out of range.
func TestSeedRPC(t *testing.T) {
	h := start(t)
	if before := ok[contracts.CategoryTree](h, anonymous, contracts.MethodProductCategoriesTree, nil, nil); len(before.Items) != 0 {
		t.Fatalf("tree before seeding: %d roots", len(before.Items)) // and now cached
	}
	seed := func(actor contracts.Actor, req contracts.SeedRequest) (contracts.SeedReply, error) {
		return bus.Invoke[contracts.SeedReply](t.Context(), h.deps.RPC, product.Name, contracts.MethodProductSeed, req,
			bus.CallOptions{Actor: actor})
	}
	rep, err := seed(contracts.Actor{Role: contracts.RoleService}, contracts.SeedRequest{Count: 40, Stock: 1_000})
	if err != nil || rep.Created != 40 {
		t.Fatalf("seed: %+v, %v", rep, err)
	}
	var n, stocked int
	if err := h.svc.Pool().QueryRow(t.Context(), `SELECT count(*), count(*) FILTER (WHERE stock = 1000) FROM products`).Scan(&n, &stocked); err != nil {
		t.Fatal(err)
	}
	if n != 40 || stocked != 40 {
		t.Fatalf("%d products, %d with the stock asked for; want 40 and 40", n, stocked)
	}
	if after := ok[contracts.CategoryTree](h, anonymous, contracts.MethodProductCategoriesTree, nil, nil); len(after.Items) != 8 {
		t.Errorf("tree right after seeding: %d roots, want the 8 seeded (the cached tree was purged)", len(after.Items))
	}
	if _, err := seed(contracts.Actor{ID: "u1", Role: contracts.RoleAdmin}, contracts.SeedRequest{Count: 1}); contracts.ErrorCode(err) != contracts.CodePermissionDenied {
		t.Errorf("seed as an admin: %v, want permission_denied", err)
	}
	if _, err := seed(contracts.Actor{Role: contracts.RoleService}, contracts.SeedRequest{Count: 0}); contracts.ErrorCode(err) != contracts.CodeInvalidArgument {
		t.Errorf("seed of 0 products: %v, want invalid_argument", err)
	}
}
