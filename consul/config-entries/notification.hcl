# Service defaults for notification (consul config write consul/config-entries/notification.hcl).
# Its registered port is the admin port, which speaks HTTP (/healthz,
# /readyz, /metrics); RPC goes through RabbitMQ, not through Consul.
Kind     = "service-defaults"
Name     = "notification"
Protocol = "http"

Meta = {
  owner     = "opencommerce"
  rpc_queue = "rpc.notification"
}
