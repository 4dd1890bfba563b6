# Prometheus for a development cluster. The configuration and rules are the
# files under observability/prometheus, read by `nomad job run` (run it from
# the repository root: file() paths are relative to the working directory).
# Targets come from Consul (services tagged "metrics"). A change to the
# files is applied with `nomad job run` again: the templates re-render and
# Prometheus reloads on SIGHUP, without a restart.
#
# The templates use [[ ]] delimiters because the rule annotations contain
# Prometheus' own {{ }} templates.

variable "datacenters" {
  type    = list(string)
  default = ["dc1"]
}

job "prometheus" {
  datacenters = var.datacenters
  type        = "service"

  group "prometheus" {
    count = 1

    network {
      mode = "host"
      port "http" {
        static = 9090
      }
    }

    volume "data" {
      type      = "host"
      source    = "prometheus-data"
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
      name     = "prometheus"
      port     = "http"
      tags     = ["infra", "metrics", "ui"]

      check {
        name     = "prometheus-ready"
        type     = "http"
        port     = "http"
        path     = "/-/ready"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "prometheus" {
      driver = "docker"

      config {
        image        = "prom/prometheus:v3.5.0"
        network_mode = "host"
        args = [
          "--config.file=/local/prometheus.yml",
          "--storage.tsdb.path=/prometheus",
          "--storage.tsdb.retention.time=15d",
          "--web.listen-address=:${NOMAD_PORT_http}",
          "--web.enable-lifecycle",
        ]
      }

      # The Consul agent of each client listens on 127.0.0.1:8500 (host network).
      template {
        destination     = "local/prometheus.yml"
        data            = replace(file("observability/prometheus/prometheus.yml"), "consul:8500", "127.0.0.1:8500")
        left_delimiter  = "[["
        right_delimiter = "]]"
        change_mode     = "signal"
        change_signal   = "SIGHUP"
      }

      template {
        destination     = "local/rules/recording.yml"
        data            = file("observability/prometheus/rules/recording.yml")
        left_delimiter  = "[["
        right_delimiter = "]]"
        change_mode     = "signal"
        change_signal   = "SIGHUP"
      }

      template {
        destination     = "local/rules/slo.yml"
        data            = file("observability/prometheus/rules/slo.yml")
        left_delimiter  = "[["
        right_delimiter = "]]"
        change_mode     = "signal"
        change_signal   = "SIGHUP"
      }

      template {
        destination     = "local/rules/alerts.yml"
        data            = file("observability/prometheus/rules/alerts.yml")
        left_delimiter  = "[["
        right_delimiter = "]]"
        change_mode     = "signal"
        change_signal   = "SIGHUP"
      }

      volume_mount {
        volume      = "data"
        destination = "/prometheus"
      }

      kill_timeout = "60s"

      resources {
        cpu    = 500
        memory = 1024
      }
    }
  }
}
