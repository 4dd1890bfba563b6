# Consul agent configuration for development, on top of -dev (one server,
# in-memory state):
#
#   consul agent -dev -config-file=consul/agent/dev.hcl
#
# Loopback only: a dev agent without ACLs must not listen on other
# interfaces. ACLs stay off here so a laptop needs no token bootstrap;
# consul/acl holds the least-privilege policies for a cluster that enables
# them (see consul/README.md).

datacenter  = "dc1"
node_name   = "opencommerce-dev"
client_addr = "127.0.0.1"

disable_update_check = true
log_level   = "INFO"

ui_config {
  enabled = true
}

# Consul's own metrics at /v1/agent/metrics?format=prometheus, scraped by
# the "consul" job of observability/prometheus/prometheus.yml.
telemetry {
  prometheus_retention_time = "60s"
  disable_hostname          = true
}

# The gateway holds one blocking query per service plus one on its config key.
limits {
  http_max_conns_per_client = 400
}

acl {
  enabled        = false
  default_policy = "allow"
}
