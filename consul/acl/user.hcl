# ACL policy for the user service.
#   consul acl policy create -name opencommerce-user -rules @consul/acl/user.hcl
# Least privilege: write only its own service registration, read only the
# services it connects to and its own KV prefix. Nothing else.

service "user" {
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

# Its own configuration (opencommerce/user/...).
key_prefix "opencommerce/user/" {
  policy = "read"
}

# Health queries return the node of each instance.
node_prefix "" {
  policy = "read"
}
