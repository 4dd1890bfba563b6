# Service defaults for product (consul config write consul/config-entries/product.hcl).
# Its registered port is the admin port, which speaks HTTP (/healthz,
# /readyz, /metrics); RPC goes through RabbitMQ, not through Consul.
Kind     = "service-defaults"
Name     = "product"
Protocol = "http"

Meta = {
  owner     = "opencommerce"
  rpc_queue = "rpc.product"
}
