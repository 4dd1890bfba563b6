# Consul agent configuration for development, on top of -dev (one server,
# in-memory state):
#
#   consul agent -dev -config-file=consul/agent/dev.hcl
#
# ACLs are off in development; consul/acl holds the least-privilege policies
# for a cluster that enables them (see consul/README.md).

datacenter  = "dc1"
node_name   = "opencommerce-dev"
client_addr = "0.0.0.0"
log_level   = "INFO"

ui_config {
  enabled = true
}

# Consul's own metrics at /v1/agent/metrics?format=prometheus.
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
