# ACL policy for the notification service.
#   consul acl policy create -name opencommerce-notification -rules @consul/acl/notification.hcl
# Least privilege: write only its own service registration, read only the
# services it connects to and its own KV prefix. Nothing else.

service "notification" {
  policy = "write"
}

# Instances it looks up (its Nomad templates, its own discovery).
service "postgres" {
  policy = "read"
}

service "rabbitmq" {
  policy = "read"
}

service "nats" {
  policy = "read"
}

service "mailpit-smtp" {
  policy = "read"
}

# Its own configuration (opencommerce/notification/...).
key_prefix "opencommerce/notification/" {
  policy = "read"
}

# Health queries return the node of each instance.
node_prefix "" {
  policy = "read"
}
