# ACL policy for the edge gateway: it watches the healthy instances of every service it routes to, and its live config.
#   consul acl policy create -name opencommerce-gateway -rules @consul/acl/gateway.hcl
# Least privilege: write only its own service registration, read only the
# services it connects to and its own KV prefix. Nothing else.

service "gateway" {
  policy = "write"
}

service "gateway-http" {
  policy = "write"
}

# Instances it looks up (its Nomad templates, its own discovery).
service "user" {
  policy = "read"
}

service "product" {
  policy = "read"
}

service "order" {
  policy = "read"
}

service "notification" {
  policy = "read"
}

service "file" {
  policy = "read"
}

service "file-data" {
  policy = "read"
}

service "rabbitmq" {
  policy = "read"
}

service "redis" {
  policy = "read"
}

service "nats" {
  policy = "read"
}

# Its own configuration (opencommerce/gateway/...).
key_prefix "opencommerce/gateway/" {
  policy = "read"
}

# Health queries return the node of each instance.
node_prefix "" {
  policy = "read"
}
