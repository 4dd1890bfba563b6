# ACL policy for the file service.
#   consul acl policy create -name opencommerce-file -rules @consul/acl/file.hcl
# Least privilege: write only its own service registration, read only the
# services it connects to and its own KV prefix. Nothing else.

service "file" {
  policy = "write"
}

service "file-data" {
  policy = "write"
}

# Instances it looks up (its Nomad templates, its own discovery).
service "postgres" {
  policy = "read"
}

service "rabbitmq" {
  policy = "read"
}

# Its own configuration (opencommerce/file/...).
key_prefix "opencommerce/file/" {
  policy = "read"
}

# Health queries return the node of each instance.
node_prefix "" {
  policy = "read"
}
