# ACL policy for the order service.
#   consul acl policy create -name opencommerce-order -rules @consul/acl/order.hcl
# Least privilege: write only its own service registration, read only the
# services it connects to and its own KV prefix. Nothing else.

service "order" {
  policy = "write"
}

# Instances it looks up (its Nomad templates, its own discovery).
service "postgres" {
  policy = "read"
}

service "rabbitmq" {
  policy = "read"
}

service "redis" {
  policy = "read"
}

# Its own configuration (opencommerce/order/...).
key_prefix "opencommerce/order/" {
  policy = "read"
}

# Health queries return the node of each instance.
node_prefix "" {
  policy = "read"
}
