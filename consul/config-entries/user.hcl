# Service defaults for user (consul config write consul/config-entries/user.hcl).
# Its registered port is the admin port, which speaks HTTP (/healthz,
# /readyz, /metrics); RPC goes through RabbitMQ, not through Consul.
Kind     = "service-defaults"
Name     = "user"
Protocol = "http"

Meta = {
  owner     = "opencommerce"
  rpc_queue = "rpc.user"
}
