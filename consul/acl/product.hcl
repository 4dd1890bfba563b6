# ACL policy for the product service.
#   consul acl policy create -name opencommerce-product -rules @consul/acl/product.hcl
# Least privilege: write only its own service registration, read only the
# services it connects to and its own KV prefix. Nothing else.

service "product" {
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

# Its own configuration (opencommerce/product/...).
key_prefix "opencommerce/product/" {
  policy = "read"
}

# Health queries return the node of each instance.
node_prefix "" {
  policy = "read"
}
