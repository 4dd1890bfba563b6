# Redis for a development cluster: carts, caches and rate-limit state.
# Append-only file on, so carts survive a restart.

variable "datacenters" {
  type    = list(string)
  default = ["dc1"]
}

job "redis" {
  datacenters = var.datacenters
  type        = "service"

  group "redis" {
    count = 1

    network {
      mode = "host"
      port "redis" {
        static = 6379
      }
    }

    volume "data" {
      type      = "host"
      source    = "redis-data"
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
      name     = "redis"
      port     = "redis"
      tags     = ["infra", "cache"]

      check {
        name     = "redis-tcp"
        type     = "tcp"
        port     = "redis"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "redis" {
      driver = "docker"

      config {
        image        = "redis:7.4-alpine"
        network_mode = "host"
        args         = ["redis-server", "--appendonly", "yes", "--maxmemory", "384mb", "--maxmemory-policy", "noeviction"]
      }

      volume_mount {
        volume      = "data"
        destination = "/data"
      }

      resources {
        cpu    = 500
        memory = 512
      }
    }
  }
}
