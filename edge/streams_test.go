package edge_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge"
	"github.com/opencommerce/opencommerce/edge/stream"
	"github.com/opencommerce/opencommerce/edge/stream/streamtest"
	"github.com/opencommerce/opencommerce/internal/natsx/natsxtest"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// Through the gateway's own server (its read timeout, streamed bodies):
// a user over the per-user cap gets 429 with Retry-After, and streams the
// user closes free their slots at once, so the user's next streams are
// accepted. The heartbeat is an hour, so only noticing the closed
// connections can free the slots.
func TestStreamCapsThroughGateway(t *testing.T) {
	t.Parallel()
	env := natsxtest.New(t)
	_, js := env.Connect(t)
	scfg := stream.DefaultConfig()
	scfg.Scheme = env.Scheme
	scfg.MaxPerUser = 2
	scfg.Heartbeat = time.Hour
	hub := stream.New(scfg, js, nil, nil)
	_, base, _, k := setup(t, func(c *edge.Config, d *edge.Deps) {
		c.ReadTimeout = time.Second // far shorter than a stream: it must not end the watch of the connection
		d.Stream = hub
	})
	url := base + "/api/v1/notifications/stream?access_token=" + k.Sign(t, uuid.NewString(), contracts.RoleCustomer, time.Hour)

	openTwo := func(round string) []*streamtest.SSE {
		s := []*streamtest.SSE{streamtest.Open(t, url, ""), streamtest.Open(t, url, "")}
		r := do(t, "GET", url, "")
		if r.Status != 429 || r.errorCode(t) != contracts.CodeResourceExhausted || r.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: a third stream got %d %s (Retry-After %q), want 429 resource_exhausted with Retry-After",
				round, r.Status, r.Body, r.Header.Get("Retry-After"))
		}
		return s
	}
	for _, s := range openTwo("first round") {
		s.Close()
	}
	testenv.Eventually(t, "the closed streams' slots freed", func() bool { return hub.Clients() == 0 })
	openTwo("after closing")
}
