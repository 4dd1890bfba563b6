# Service defaults for gateway (consul config write consul/config-entries/gateway.hcl).
# Its registered port is the admin port, which speaks HTTP (/healthz,
# /readyz, /metrics); RPC goes through RabbitMQ, not through Consul.
Kind     = "service-defaults"
Name     = "gateway"
Protocol = "http"

Meta = {
  owner = "opencommerce"
  role  = "edge"
}
