# Nomad job for the order service: carts, checkout saga, payments, shipments.
# Generated from tools/nomadgen/job.nomad.hcl.tmpl by `opencommerce gen-nomad`
# (make docs): edit the template, not this file.
# It runs the one binary `opencommerce` with -target=order. Nomad registers
# the services in Consul (provider = "consul"), so the binary runs with
# -consul.register=false. Deploy, scale and roll back: see nomad/README.md.

variable "image" {
  type        = string
  default     = "opencommerce:dev"
  description = "Container image that holds the opencommerce binary (see Dockerfile)."
}

variable "datacenters" {
  type    = list(string)
  default = ["dc1"]
}

variable "count" {
  type        = number
  default     = 2
  description = "Instances of the order group."
}

variable "cpu" {
  type        = number
  default     = 200
  description = "CPU MHz reserved per order instance. The defaults of the six jobs fit one 2-core dev node with room for a canary; size for production from the process's own CPU use (see nomad/README.md)."
}

variable "memory" {
  type        = number
  default     = 256
  description = "Memory MiB per order instance (a hard limit: the task is killed above it)."
}

variable "consul_addr" {
  type        = string
  default     = "127.0.0.1:8500"
  description = "The Consul agent's HTTP address as the task sees it (host networking: the node's agent)."
}

variable "network_mode" {
  type        = string
  default     = "host"
  description = "Docker network mode of the task. Host networking needs no CNI plugins and works with dockerd --bridge=none."
}

variable "min_healthy_time" {
  type    = string
  default = "15s"
}

variable "healthy_deadline" {
  type    = string
  default = "3m"
}

variable "progress_deadline" {
  type        = string
  default     = "10m"
  description = "A deployment that has not made progress by then fails (and auto_revert rolls it back). Must exceed healthy_deadline."
}

variable "restart_delay" {
  type        = string
  default     = "15s"
  description = "Wait between the restarts of a failed task (3 in 5 minutes, then the allocation fails and is rescheduled)."
}

job "order" {
  datacenters = var.datacenters
  type        = "service"

  meta {
    target = "order"
  }

  # Rolling update through a canary: one new instance must pass its checks
  # for min_healthy_time, then the deployment promotes itself. A canary
  # that never becomes healthy fails the deployment at progress_deadline
  # (not at healthy_deadline: that only marks the allocation unhealthy),
  # or sooner when its task fails (restart mode "fail"); auto_revert then
  # brings back the last stable version. No stagger: deployments ignore it.
  update {
    max_parallel      = 1
    canary            = 1
    auto_promote      = true
    auto_revert       = true
    health_check      = "checks"
    min_healthy_time  = var.min_healthy_time
    healthy_deadline  = var.healthy_deadline
    progress_deadline = var.progress_deadline
  }

  group "order" {
    count = var.count

    # Host networking: no CNI plugins needed on the clients.
    network {
      mode = "host"
      port "admin" {}
    }

    # mode "fail": a task that keeps crashing fails its allocation, so
    # reschedule moves it (with "delay" it would crash-loop in place forever).
    restart {
      attempts = 3
      interval = "5m"
      delay    = var.restart_delay
      mode     = "fail"
    }

    reschedule {
      delay          = "30s"
      delay_function = "exponential"
      max_delay      = "10m"
      unlimited      = true
    }

    # On stop Nomad first deregisters the services, waits shutdown_delay so
    # the gateways' blocking queries drop this instance, and only then sends
    # kill_signal; the process drains in-flight work within kill_timeout.
    shutdown_delay = "10s"

    service {
      provider = "consul"
      name     = "order"
      port     = "admin"
      tags     = ["opencommerce", "rpc", "metrics"]

      meta {
        target    = "order"
        rpc_queue = "rpc.order"
        alloc_id  = "${NOMAD_ALLOC_ID}"
      }

      check {
        name     = "order-ready"
        type     = "http"
        port     = "admin"
        path     = "/readyz"
        interval = "5s"
        timeout  = "2s"
      }

      check {
        name     = "order-live"
        type     = "http"
        port     = "admin"
        path     = "/healthz"
        interval = "10s"
        timeout  = "2s"

        check_restart {
          limit = 3
          grace = "30s"
        }
      }
    }

    task "order" {
      driver = "docker"

      config {
        image        = var.image
        network_mode = var.network_mode
        args = [
          "-target=order",
          "-consul.register=false",
          "-admin.addr=${NOMAD_ADDR_admin}",
        ]
      }

      kill_signal  = "SIGTERM"
      kill_timeout = "30s"

      env {
        OC_CONSUL_ADDR   = var.consul_addr
        OC_DEPS_EXPLICIT = "true"
        # A name per replica that survives restarts and reschedules: a
        # restarted order service resumes at once the charges it held.
        OC_ORDER_INSTANCE = "${NOMAD_ALLOC_NAME}"
      }

      # Addresses of the infrastructure, looked up in Consul, and tunables
      # from KV (opencommerce/order/env/<VAR>). When one changes (a dependency
      # moved, a tunable was set), the template re-renders and restarts the
      # task: Nomad re-renders a template only on a change, not when a task
      # restarts for another reason, so "noop" would leave a restarted task
      # on the old values. splay spreads the restarts of the instances over
      # 30s, so they do not all stop at once (PITFALLS: Nomad #6392, #19171).
      # OC_DEPS_EXPLICIT: a server missing from Consul is an error at start
      # (the task fails and retries), never a localhost default.
      # The gateway's live config (rate limits, CORS, maintenance) is not
      # templated: the gateway watches opencommerce/gateway/config itself.
      template {
        destination = "secrets/deps.env"
        env         = true
        change_mode = "restart"
        splay       = "30s"
        data        = <<-EOT
        {{- with service "postgres" }}{{ with index . 0 }}
        OC_PG_URL=postgres://{{ keyOrDefault "opencommerce/order/pg_userinfo" "postgres" }}@{{ .Address }}:{{ .Port }}/?sslmode=disable
        {{- end }}{{ end }}
        {{- with service "rabbitmq" }}{{ with index . 0 }}
        OC_AMQP_URL=amqp://{{ keyOrDefault "opencommerce/order/amqp_userinfo" "guest:guest" }}@{{ .Address }}:{{ .Port }}/{{ keyOrDefault "opencommerce/order/amqp_vhost" "" }}
        {{- end }}{{ end }}
        {{- with service "redis" }}{{ with index . 0 }}
        OC_REDIS_URL=redis://{{ .Address }}:{{ .Port }}/0
        {{- end }}{{ end }}
        {{- range ls "opencommerce/order/env" }}
        {{ .Key }}={{ .Value }}
        {{- end }}
        EOT
      }

      resources {
        cpu    = var.cpu
        memory = var.memory
      }
    }
  }
}
