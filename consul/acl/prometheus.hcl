# ACL policy for Prometheus' consul_sd_configs: it must list every service
# to find the ones tagged "metrics", so it reads all services and nodes.
# Read only: it can change nothing.
#   consul acl policy create -name prometheus -rules @consul/acl/prometheus.hcl
service_prefix "" {
  policy = "read"
}

node_prefix "" {
  policy = "read"
}
