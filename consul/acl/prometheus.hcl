# ACL policy for Prometheus' consul_sd_configs: it must list every service
# to find the ones tagged "metrics", so it reads all services and nodes,
# and agent:read, which Prometheus' Consul discovery needs to ask the agent
# for its datacenter (without it, discovery finds 0 targets with ACLs on).
# Read only: it can change nothing.
#   consul acl policy create -name prometheus -rules @consul/acl/prometheus.hcl
service_prefix "" {
  policy = "read"
}

node_prefix "" {
  policy = "read"
}

agent_prefix "" {
  policy = "read"
}
