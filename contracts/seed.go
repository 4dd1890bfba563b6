package contracts

// MethodProductSeed fills the product service's catalogue with synthetic
// products in bulk, for development, load generation and benchmarks: a
// category tree and SeedRequest.Count products made in the database in one
// statement (far faster than product.create per product). It is
// service-to-service: the gateway does not route it, and the product
// service answers it only to the service role. SeedRequest → SeedReply.
const MethodProductSeed = "product.seed"

// SeedRequest is the request of product.seed.
type SeedRequest struct {
	// Count is how many products to make (1 to SeedMax).
	Count int `json:"count"`
	// Stock, when positive, is the stock every seeded product gets (a load
	// run that must never sell out); zero keeps the generated stock (0–199).
	Stock int64 `json:"stock,omitempty"`
}

// SeedMax bounds SeedRequest.Count.
const SeedMax = 10_000_000

// SeedReply is the reply of product.seed.
type SeedReply struct {
	Created int `json:"created"` // products made
}

func init() {
	Register("product.seed.request", SeedRequest{})
	Register("product.seed.reply", SeedReply{})
}
