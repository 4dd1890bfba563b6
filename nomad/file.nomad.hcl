# Nomad job for the file service: blob storage (content-addressed, on a host volume), thumbnails.
# It runs the one binary `opencommerce` with -target=file. Nomad registers
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
  default     = 1
  description = "Instances of the file group."
}

job "file" {
  datacenters = var.datacenters
  type        = "service"

  meta {
    target = "file"
  }

  # Rolling update through a canary: one new instance must pass its checks
  # for min_healthy_time, then the deployment promotes itself; a deployment
  # that fails its health deadline rolls back to the last stable version.
  update {
    max_parallel      = 1
    canary            = 1
    auto_promote      = true
    auto_revert       = true
    health_check      = "checks"
    min_healthy_time  = "15s"
    healthy_deadline  = "3m"
    progress_deadline = "10m"
    stagger           = "30s"
  }

  group "file" {
    count = var.count

    # Host networking: no CNI plugins needed on the clients.
    network {
      mode = "host"
      port "admin" {}
      port "data" {}
    }

    restart {
      attempts = 3
      interval = "5m"
      delay    = "15s"
      mode     = "delay"
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

    # Blobs live on disk. A host volume is node-local: run more than one
    # instance only when the volume is shared storage (NFS, CSI).
    volume "blobs" {
      type      = "host"
      source    = "opencommerce-files"
      read_only = false
    }

    service {
      provider = "consul"
      name     = "file"
      port     = "admin"
      tags     = ["opencommerce", "rpc", "metrics"]

      meta {
        target    = "file"
        rpc_queue = "rpc.file"
        data_port = "${NOMAD_PORT_data}"
        alloc_id  = "${NOMAD_ALLOC_ID}"
      }

      check {
        name     = "file-ready"
        type     = "http"
        port     = "admin"
        path     = "/readyz"
        interval = "5s"
        timeout  = "2s"

        # Unready for a minute after the grace period (a dependency moved
        # and the old address is dead, or the process is wedged): restart
        # this task alone; the restart picks up the re-rendered addresses.
        check_restart {
          limit = 12
          grace = "60s"
        }
      }

      check {
        name     = "file-live"
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

    # The data port that the gateway streams uploads and downloads to
    # (blobs never travel through RabbitMQ).
    service {
      provider = "consul"
      name     = "file-data"
      port     = "data"
      tags     = ["opencommerce", "data"]
      meta {
        target = "file"
      }

      check {
        name     = "file-data-ready"
        type     = "http"
        port     = "admin"
        path     = "/readyz"
        interval = "5s"
        timeout  = "2s"

        # Unready for a minute after the grace period (a dependency moved
        # and the old address is dead, or the process is wedged): restart
        # this task alone; the restart picks up the re-rendered addresses.
        check_restart {
          limit = 12
          grace = "60s"
        }
      }

      check {
        name     = "file-data-live"
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

    task "file" {
      driver = "docker"

      config {
        image        = var.image
        network_mode = "host"
        args = [
          "-target=file",
          "-consul.register=false",
          "-admin.addr=${NOMAD_ADDR_admin}",
        ]
      }

      kill_signal  = "SIGTERM"
      kill_timeout = "30s"

      env {
        OC_CONSUL_ADDR    = "127.0.0.1:8500"
        OC_FILE_DIR       = "/data"
        OC_FILE_DATA_ADDR = "${NOMAD_ADDR_data}"
      }

      # Addresses of the infrastructure, looked up in Consul, and tunables
      # from KV (opencommerce/file/env/<VAR>). change_mode = "noop": a
      # change must not restart every instance at once (PITFALLS: Nomad
      # #6392, #19171). New values apply at the next start of each task,
      # which happens by itself when an old address stops working (the
      # readiness check fails and check_restart restarts that task alone).
      # The gateway's live config (rate limits, CORS, maintenance) is not
      # templated: the gateway watches opencommerce/gateway/config itself.
      template {
        destination = "secrets/deps.env"
        env         = true
        change_mode = "noop"
        splay       = "30s"
        data        = <<-EOT
        {{- with service "postgres" }}{{ with index . 0 }}
        OC_PG_URL=postgres://{{ keyOrDefault "opencommerce/file/pg_userinfo" "postgres" }}@{{ .Address }}:{{ .Port }}/?sslmode=disable
        {{- end }}{{ end }}
        {{- with service "rabbitmq" }}{{ with index . 0 }}
        OC_AMQP_URL=amqp://{{ keyOrDefault "opencommerce/file/amqp_userinfo" "guest:guest" }}@{{ .Address }}:{{ .Port }}/
        {{- end }}{{ end }}
        {{- range ls "opencommerce/file/env" }}
        {{ .Key }}={{ .Value }}
        {{- end }}
        EOT
      }

      volume_mount {
        volume      = "blobs"
        destination = "/data"
      }

      resources {
        cpu    = 500
        memory = 512
      }
    }
  }
}
