// Package svc is the runtime every OpenCommerce process shares: the module
// manager that starts modules in dependency order and stops them all when
// one fails or a signal arrives, the admin HTTP server (/healthz, /readyz,
// /metrics), the readiness registry, the Deps handed to every module, and
// the Kit that gives a service its database, RPC server, outbox relay and
// event consumer so a service adds only its own logic.
//
// Shutdown follows the lame-duck pattern: on SIGTERM/SIGINT /readyz turns
// 503 at once, the manager waits a short configurable delay so Consul (or a
// load balancer) drops the instance, then stops modules in reverse start
// order; each module stops taking work, finishes what is in flight, and
// closes.
package svc
