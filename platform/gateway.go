package platform

import (
	"context"
	"fmt"
	"sync"

	"github.com/opencommerce/opencommerce/edge"
	"github.com/opencommerce/opencommerce/edge/stream"
	"github.com/opencommerce/opencommerce/internal/discovery"
	"github.com/opencommerce/opencommerce/internal/svc"
)

// routedServices are the services the gateway routes to and watches.
var routedServices = []string{"user", "product", "order", "notification", "file"}

// gatewayModule runs the edge gateway with its discovery watches and the
// live config from Consul KV (or the static mode's defaults).
type gatewayModule struct {
	p      *Platform
	gw     *edge.Gateway
	hub    *stream.Hub
	purges *edge.PurgeSubscription
	disc   *discovery.Discovery
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (p *Platform) initGateway(context.Context) (svc.Service, error) {
	return &gatewayModule{p: p}, nil
}

func (m *gatewayModule) Start(ctx context.Context) error {
	p := m.p
	// OnConfig runs on the watch goroutine, which starts after m.gw is set.
	disc, err := discovery.Open(p.cfg.Consul, p.cfg.AMQP.URL, routedServices, discovery.WatchOptions{
		Log:      p.log,
		Metrics:  p.reg,
		OnConfig: func(c discovery.GatewayConfig) { m.gw.ApplyLive(edge.LiveFromDiscovery(c)) },
	})
	if err != nil {
		return err
	}
	m.disc = disc
	m.hub = stream.New(p.cfg.Services.Stream, p.js, p.log.With("module", "stream"), p.reg)
	gw, err := edge.New(p.cfg.Services.Gateway, edge.Deps{
		Stream:      m.hub,
		Log:         p.log.With("module", "gateway"),
		Metrics:     p.reg,
		RPC:         p.deps.RPC,
		Discovery:   disc.Instances,
		Files:       disc.Instances,
		Redis:       p.deps.Redis,
		RedisPrefix: p.deps.RedisPrefix,
		// The public /readyz reports what the admin port's /readyz does.
		Ready: func(ctx context.Context) (bool, map[string]string) {
			st := p.health.Evaluate(ctx)
			return st.Ready, st.Checks
		},
		Broker: p.deps.Bus,
	})
	if err != nil {
		_ = disc.Close()
		return err
	}
	m.gw = gw

	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		_ = disc.Run(bg)
	}()
	if err := disc.WaitSynced(ctx); err != nil {
		m.stopWatches()
		return fmt.Errorf("gateway discovery: %w", err)
	}
	gw.ApplyLive(edge.LiveFromDiscovery(disc.Config.Get()))
	if err := m.subscribePurges(); err != nil {
		m.stopWatches()
		return err
	}
	if err := gw.Start(ctx); err != nil {
		m.unsubscribe()
		m.stopWatches()
		return err
	}
	return nil
}

// subscribePurges starts the edge's cache purge on the platform's NATS
// connection (edge.Gateway.SubscribePurges): product and inventory events,
// copied from RabbitMQ to NATS by the mirror module (internal/eventmirror,
// which the gateway's module pulls in), reach every gateway instance.
func (m *gatewayModule) subscribePurges() error {
	ps, err := m.gw.SubscribePurges(m.p.nats, m.p.cfg.NATS.Scheme())
	if err != nil {
		return err
	}
	m.purges = ps
	return nil
}

func (m *gatewayModule) unsubscribe() {
	m.purges.Stop()
	m.purges = nil
}

func (m *gatewayModule) stopWatches() {
	m.cancel()
	m.wg.Wait()
	_ = m.disc.Close()
}

// Stop stops accepting connections, finishes the requests in flight, then
// stops the watches.
func (m *gatewayModule) Stop(ctx context.Context) error {
	err := m.gw.Shutdown(ctx)
	m.unsubscribe()
	m.stopWatches()
	return err
}

// Addr is the gateway's listen address (after Start).
func (m *gatewayModule) Addr() string { return m.gw.Addr() }
