// Package deploytest checks the deployment and observability files of the
// repository: the Nomad jobs (nomad/), the Consul configuration (consul/),
// the Prometheus rules and Grafana dashboards (observability/), the
// Dockerfile and docker-compose.yml.
//
// Each Check function takes a file's path (for messages) and content and
// returns the rules it breaks, one readable line each, such as
// "nomad/order.nomad.hcl: group order: service order: no check_restart".
// An empty result means the file follows every rule. The tests of this
// package run the checks on the real files and on broken copies of them,
// so a rule that stops being enforced fails a test too.
//
// The checks read files only; nothing is deployed. Running Nomad, Consul or
// Docker is not needed. When promtool is installed (Debian package
// "prometheus"), the tests also run `promtool check` and `promtool test
// rules`; under CI=true a missing promtool fails the test.
package deploytest
