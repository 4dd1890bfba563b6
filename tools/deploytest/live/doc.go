// Package live deploys the Nomad jobs of nomad/ for real: a Consul dev
// agent, a Nomad agent (server and client) with the Docker driver and a
// dockerd of its own, all on loopback ports of the test's own, with the
// machine's PostgreSQL, RabbitMQ, Redis and NATS registered in Consul under
// the test's own database prefix, vhost, key prefix and subject prefix.
//
// The test runs under `make test-deploy` (OC_DEPLOY_TEST=1), which builds
// or finds the tools with scripts/deploy-tools.sh and the static binary the
// release image (Dockerfile.release) is made of. Without OC_DEPLOY_TEST it
// skips; with it, a missing tool fails it.
package live
