package discovery

import (
	"context"
	"sync"
)

// Discovery bundles what the gateway needs: the healthy instances of the
// services it calls and its live config, from Consul or in static mode.
type Discovery struct {
	// Instances is the healthy-instance view (see Watcher).
	Instances *Watcher
	// Config is the live gateway config (defaults in static mode).
	Config *KVWatcher[GatewayConfig]

	insp *AMQPInspector
}

// Open builds the Discovery cfg selects: Consul when cfg.Addr is set,
// otherwise static mode inspecting queues on the broker at amqpURL. opt
// carries the logger, registry and OnChange hook; its tuning fields and
// ServicePrefix, when zero, come from cfg. Call Run, then Close after Run
// returned.
func Open(cfg Config, amqpURL string, services []string, opt WatchOptions) (*Discovery, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	def := cfg.WatchOptions()
	if opt.WaitTime == 0 {
		opt.WaitTime = def.WaitTime
	}
	if opt.MinQueryInterval == 0 {
		opt.MinQueryInterval = def.MinQueryInterval
	}
	if opt.StaticPollInterval == 0 {
		opt.StaticPollInterval = def.StaticPollInterval
	}
	if opt.FileDataURL == "" {
		opt.FileDataURL = def.FileDataURL
	}
	if opt.ServicePrefix == "" {
		opt.ServicePrefix = def.ServicePrefix
	}
	kvOpt := KVOptions[GatewayConfig]{
		Log: opt.Log, Metrics: opt.Metrics,
		WaitTime: opt.WaitTime, MinQueryInterval: opt.MinQueryInterval,
		OnChange: opt.OnConfig,
	}
	if cfg.Static() {
		insp := NewAMQPInspector(amqpURL)
		return &Discovery{
			Instances: NewStaticWatcher(insp, services, opt),
			Config:    NewGatewayConfigWatcher(nil, cfg.ConfigKey, kvOpt),
			insp:      insp,
		}, nil
	}
	client, err := cfg.Client()
	if err != nil {
		return nil, err
	}
	return &Discovery{
		Instances: NewConsulWatcher(client, services, opt),
		Config:    NewGatewayConfigWatcher(client, cfg.ConfigKey, kvOpt),
	}, nil
}

// Run runs both watchers until ctx ends, then returns nil.
func (d *Discovery) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { _ = d.Instances.Run(ctx) })
	wg.Go(func() { _ = d.Config.Run(ctx) })
	wg.Wait()
	return nil
}

// WaitSynced waits for the first answer of every watch, or for ctx to end.
func (d *Discovery) WaitSynced(ctx context.Context) error {
	if err := d.Instances.WaitSynced(ctx); err != nil {
		return err
	}
	return d.Config.WaitSynced(ctx)
}

// Close releases the static mode's broker connection.
func (d *Discovery) Close() error {
	if d.insp != nil {
		return d.insp.Close()
	}
	return nil
}
