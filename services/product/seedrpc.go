package product

import (
	"context"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
)

// seedHandler answers product.seed: Seed's synthetic catalogue, for the
// load generator and the benchmarks, which reach the catalogue through this
// contract instead of the product database. Only the service role may call
// it (the gateway never routes it).
func seedHandler(c *core) bus.Handler {
	return func(ctx context.Context, req *bus.Request) (any, error) {
		if req.Actor.Role != contracts.RoleService {
			return nil, contracts.Errorf(contracts.CodePermissionDenied, "product.seed is for services only")
		}
		var in contracts.SeedRequest
		if err := bus.Decode(req, &in); err != nil {
			return nil, err
		}
		if in.Count < 1 || in.Count > contracts.SeedMax {
			return nil, contracts.Errorf(contracts.CodeInvalidArgument, "count must be 1 to %d", contracts.SeedMax)
		}
		if in.Stock < 0 {
			return nil, contracts.Errorf(contracts.CodeInvalidArgument, "stock must not be negative")
		}
		if err := c.catalog.Seed(ctx, in.Count, in.Stock); err != nil {
			return nil, err
		}
		// New categories and products: the tree, the product counts and
		// the recent search pages of this instance start afresh.
		c.purge(ctx, &change{categories: true})
		return contracts.SeedReply{Created: in.Count}, nil
	}
}
