// Package discovery finds healthy service instances and the gateway's live
// config: through Consul when -consul.addr is set, or in a static mode
// without Consul.
//
// # Registration
//
// With -consul.register a process registers each of its modules with the
// local agent (Register), with an HTTP check on the admin port's /readyz,
// tag "metrics" (Prometheus consul_sd keeps ".*,metrics,.*") and meta
// rpc_queue (and data_port for the file service). The check starts
// critical, so no traffic arrives before the first pass; an instance
// critical for DeregisterAfter (≥ 1m, Consul's minimum) is removed by the
// agent. Under Nomad with provider = "consul", Nomad registers the service:
// leave -consul.register off or every instance appears twice.
// RegisterIfEnabled applies that flag so callers need no branch.
// -consul.service-prefix puts a prefix before every service name registered
// and watched, so several environments (or test runs) share one Consul;
// queues, metric labels and Instance.Service keep the plain names.
//
// # Watching healthy instances
//
// A Watcher runs one loop per service of blocking queries on
// /v1/health/service/<name>?passing, following Consul's "Implementation
// Details" for blocking queries: an index that goes backwards resets to 0,
// restarting the loop with a plain read as on the first query; the index a
// response returns is used as at least 1 (a buggy 0 would never block);
// and each loop is rate limited by a token bucket (burst 2, one query per
// MinQueryInterval), so quick changes pass at once and churn degrades to
// polling. A failed query
// keeps the last good answer and retries with capped, jittered backoff.
// Queries allow stale reads (any server answers: load spreads, and reads
// survive a leader election); each is bounded by wait + wait/16 + 10s in
// case the connection died silently. Consul abandons queries in flight when
// a snapshot is restored; a query sent just after a restore with the old
// index waits out its wait time first (Consul's own behaviour), so
// -consul.wait bounds that delay.
//
// Reads are lock-free (one atomic.Pointer per service) and meant for the
// gateway's hot path:
//
//	w := discovery.NewConsulWatcher(client, []string{"user", "product", "order", "notification", "file"}, opts)
//	go w.Run(ctx)
//	_ = w.WaitSynced(startCtx)         // before /readyz turns ready
//	if !w.HasHealthy("product") { /* 503 at once */ }
//	inst, ok := w.Pick("file")         // round-robin; inst.DataURL is the upload target
//
// oc_discovery_healthy_instances{service} tracks the count;
// oc_discovery_errors_total{watch} counts failed queries.
//
// # Static mode
//
// Without Consul (empty -consul.addr) NewStaticWatcher decides health from
// the broker: a service is healthy while its queue rpc.<service> has
// consumers, inspected every -consul.static-poll-interval with a passive
// queue.declare on a dedicated connection (AMQPInspector, which redials by
// itself). Each inspection is bounded (WatchOptions.StaticInspectTimeout,
// 2s): a broker that does not answer in time aborts the inspector's
// connection, and like any failed inspection it keeps the service's last
// answer — a slow broker says nothing about consumers, and flipping every
// service to 503 on a broker stall would turn a hiccup into an outage. The file service's data URL comes from -file.data-url. Static
// instances have IDs "static-<service>" and no address: RPC goes through the
// broker anyway.
//
// # Live gateway config
//
// KVWatcher keeps a typed value from one KV key (watched with the same
// loop rules), validated before use: an invalid value is logged, counted in
// oc_discovery_kv_updates_total{key,result="refused"} and ignored, and the
// config in force stays. A missing key means the defaults. The gateway's
// config is GatewayConfig under "opencommerce/gateway/config":
//
//	cw := discovery.NewGatewayConfigWatcher(client, cfg.ConfigKey, discovery.KVOptions[discovery.GatewayConfig]{Log: log, Metrics: reg})
//	go cw.Run(ctx)
//	lim := cw.Get().Limit(discovery.ClassLogin)
//
// GatewayConfig holds overrides only: classes the value does not name keep
// the gateway's own limits (Limit falls back to DefaultRateLimit), and nil
// CORSOrigins keeps the gateway's list, which maps directly onto edge.Live.
// A rate limit converts to a limiter class of one request per
// RateLimit.Interval() with its Burst. With a nil client (static mode) Get
// returns DefaultGatewayConfig (no overrides).
//
// Tests use package consultest, a fake Consul HTTP API driven through the
// real consul/api client; the package's own tests and the platform's
// end-to-end Consul tests (platform/e2e) run against a real agent instead
// when CONSUL_HTTP_ADDR is set.
package discovery
