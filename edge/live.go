package edge

import (
	"github.com/opencommerce/opencommerce/edge/ratelimit"
	"github.com/opencommerce/opencommerce/internal/discovery"
)

// LiveFromDiscovery converts the live config watched in Consul KV
// (discovery.GatewayConfig, Rate in requests per second) into Live. Wire it
// as the watcher's OnChange:
//
//	discovery.NewGatewayConfigWatcher(client, key, discovery.KVOptions[discovery.GatewayConfig]{
//		OnChange: func(c discovery.GatewayConfig) { gw.ApplyLive(edge.LiveFromDiscovery(c)) },
//	})
func LiveFromDiscovery(c discovery.GatewayConfig) Live {
	l := Live{Maintenance: c.Maintenance, CORSOrigins: c.CORSOrigins}
	if len(c.RateLimits) > 0 {
		l.Classes = make(map[string]ratelimit.Class, len(c.RateLimits))
		for name, rl := range c.RateLimits {
			cl := ratelimit.Class{Name: name}
			if iv := rl.Interval(); iv > 0 {
				cl.Rate, cl.Period, cl.Burst = 1, iv, max(rl.Burst, 1)
			}
			l.Classes[name] = cl
		}
	}
	return l
}
