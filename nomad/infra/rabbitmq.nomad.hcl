# RabbitMQ for a development cluster: one node with the management UI and
# the Prometheus plugin (port 15692, scraped through the metrics tag).

variable "datacenters" {
  type    = list(string)
  default = ["dc1"]
}

job "rabbitmq" {
  datacenters = var.datacenters
  type        = "service"

  group "rabbitmq" {
    count = 1

    network {
      mode = "host"
      port "amqp" {
        static = 5672
      }
      port "management" {
        static = 15672
      }
      port "prometheus" {
        static = 15692
      }
    }

    volume "data" {
      type      = "host"
      source    = "rabbitmq-data"
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
      name     = "rabbitmq"
      port     = "amqp"
      tags     = ["infra", "amqp"]

      check {
        name     = "rabbitmq-amqp"
        type     = "tcp"
        port     = "amqp"
        interval = "10s"
        timeout  = "2s"
      }
    }

    service {
      provider = "consul"
      name     = "rabbitmq-management"
      port     = "management"
      tags     = ["infra", "ui"]

      check {
        name     = "rabbitmq-management"
        type     = "tcp"
        port     = "management"
        interval = "10s"
        timeout  = "2s"
      }
    }

    service {
      provider = "consul"
      name     = "rabbitmq-metrics"
      port     = "prometheus"
      tags     = ["infra", "metrics"]

      check {
        name     = "rabbitmq-prometheus"
        type     = "http"
        port     = "prometheus"
        path     = "/metrics"
        interval = "15s"
        timeout  = "5s"
      }
    }

    task "rabbitmq" {
      driver = "docker"

      config {
        image        = "rabbitmq:4.1-management-alpine"
        network_mode = "host"
        hostname     = "rabbitmq"
      }

      env {
        RABBITMQ_NODENAME = "rabbit@localhost"
      }

      volume_mount {
        volume      = "data"
        destination = "/var/lib/rabbitmq"
      }

      kill_timeout = "60s"

      resources {
        cpu    = 1000
        memory = 1024
      }
    }
  }
}
