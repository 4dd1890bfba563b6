# Service defaults for file (consul config write consul/config-entries/file.hcl).
# Its registered port is the admin port, which speaks HTTP (/healthz,
# /readyz, /metrics); RPC goes through RabbitMQ, not through Consul.
Kind     = "service-defaults"
Name     = "file"
Protocol = "http"

Meta = {
  owner     = "opencommerce"
  rpc_queue = "rpc.file"
}
