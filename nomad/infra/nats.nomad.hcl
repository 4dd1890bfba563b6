# NATS with JetStream for a development cluster: real-time notifications
# (notify.user.<id>) and the event mirror for edge consumers.

variable "datacenters" {
  type    = list(string)
  default = ["dc1"]
}

job "nats" {
  datacenters = var.datacenters
  type        = "service"

  group "nats" {
    count = 1

    network {
      mode = "host"
      port "client" {
        static = 4222
      }
      port "monitor" {
        static = 8222
      }
    }

    volume "data" {
      type      = "host"
      source    = "nats-data"
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
      name     = "nats"
      port     = "client"
      tags     = ["infra", "nats"]

      check {
        name     = "nats-healthz"
        type     = "http"
        port     = "monitor"
        path     = "/healthz?js-enabled-only=true"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "nats" {
      driver = "docker"

      config {
        image        = "nats:2.11-alpine"
        network_mode = "host"
        args         = ["-js", "-sd", "/data", "-p", "${NOMAD_PORT_client}", "-m", "${NOMAD_PORT_monitor}"]
      }

      volume_mount {
        volume      = "data"
        destination = "/data"
      }

      kill_timeout = "30s"

      resources {
        cpu    = 500
        memory = 512
      }
    }
  }
}
