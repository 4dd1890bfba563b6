package contracts

// Health is the body of the gateway's GET /api/v1/health (liveness: the
// process serves requests).
type Health struct {
	Status string `json:"status"` // "ok"
}

func init() {
	Register("gateway.health", Health{})
}
