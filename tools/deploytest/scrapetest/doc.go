// Package scrapetest holds the test that runs a real Prometheus against a
// running platform: Prometheus (Debian package "prometheus") scrapes every
// admin port of the platform started in process, with a file-based target
// list in place of Consul service discovery and the repository's recording
// rules, while the test drives traffic through the gateway; then every
// PromQL expression of the Grafana dashboards and of the recording rules
// must return data.
//
// It lives apart from package deploytest so that deploytest's file checks
// stay fast and need no servers; this test needs PostgreSQL, RabbitMQ,
// Redis and NATS (package testenv) and the prometheus binary. Without them
// it skips, except under CI=true where it fails.
package scrapetest
