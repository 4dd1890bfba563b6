# Service defaults for order (consul config write consul/config-entries/order.hcl).
# Its registered port is the admin port, which speaks HTTP (/healthz,
# /readyz, /metrics); RPC goes through RabbitMQ, not through Consul.
Kind     = "service-defaults"
Name     = "order"
Protocol = "http"

Meta = {
  owner     = "opencommerce"
  rpc_queue = "rpc.order"
}
