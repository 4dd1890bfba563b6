# PostgreSQL for a development cluster: one instance, data on a host volume.
# Every service creates its own database (oc_user, oc_product, ...) on
# start. Production uses a managed or replicated PostgreSQL instead.

variable "datacenters" {
  type    = list(string)
  default = ["dc1"]
}

job "postgres" {
  datacenters = var.datacenters
  type        = "service"

  group "postgres" {
    count = 1

    network {
      mode = "host"
      port "db" {
        static = 5432
      }
    }

    volume "data" {
      type      = "host"
      source    = "postgres-data"
      read_only = false
    }

    restart {
      attempts = 5
      interval = "5m"
      delay    = "10s"
      mode     = "delay"
    }

    service {
      provider = "consul"
      name     = "postgres"
      port     = "db"
      tags     = ["infra", "db"]

      check {
        name     = "postgres-tcp"
        type     = "tcp"
        port     = "db"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "postgres" {
      driver = "docker"

      config {
        image        = "postgres:17-alpine"
        network_mode = "host"
        args         = ["-c", "max_connections=300", "-c", "shared_buffers=256MB"]
      }

      env {
        # Development only: trust local connections, as on a developer machine.
        POSTGRES_HOST_AUTH_METHOD = "trust"
        PGDATA                    = "/var/lib/postgresql/data/pgdata"
      }

      volume_mount {
        volume      = "data"
        destination = "/var/lib/postgresql/data"
      }

      kill_timeout = "60s"

      resources {
        cpu    = 1000
        memory = 1024
      }
    }
  }
}
