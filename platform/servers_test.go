package platform_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/platform"
)

// The servers of a target follow the module graph: the gateway's come from
// its bus, redis and nats modules, a service adds PostgreSQL.
func TestServersFollowTheModuleGraph(t *testing.T) {
	cases := map[string][]string{
		"gateway":      {"nats", "rabbitmq", "redis"},
		"user":         {"postgres", "rabbitmq", "redis"},
		"file":         {"postgres", "rabbitmq"},
		"notification": {"mailpit-smtp", "nats", "postgres", "rabbitmq"},
	}
	for target, want := range cases {
		got, err := platform.Servers([]string{target})
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Servers(%s) = %v, %v; want %v", target, got, err, want)
		}
	}
	if _, err := platform.Servers([]string{"nope"}); err == nil {
		t.Error("Servers(nope): no error")
	}
}

// Under -deps.explicit a server without an explicit address is an error
// that names it; with every address given there is none.
func TestExplicitServersRefuseLocalhostDefaults(t *testing.T) {
	err := platform.CheckExplicitServers([]string{"gateway"}, map[string]bool{"amqp.url": true, "redis.url": true})
	if err == nil || !strings.Contains(err.Error(), "nats (-nats.url)") || strings.Contains(err.Error(), "redis") {
		t.Errorf("gateway without nats.url: %v", err)
	}
	if err := platform.CheckExplicitServers([]string{"gateway"}, map[string]bool{"amqp.url": true, "redis.url": true, "nats.url": true}); err != nil {
		t.Errorf("every address given: %v", err)
	}
}
