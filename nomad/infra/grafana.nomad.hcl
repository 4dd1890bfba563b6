# Grafana for a development cluster, provisioned from the files under
# observability/grafana (run `nomad job run` from the repository root).
# The Prometheus datasource URL is looked up in Consul. Dashboards are
# re-read by Grafana's file provider, so template changes need no restart.
#
# The templates use [[ ]] delimiters because dashboards contain Grafana's
# own {{ }} legend templates.

variable "datacenters" {
  type    = list(string)
  default = ["dc1"]
}

job "grafana" {
  datacenters = var.datacenters
  type        = "service"

  group "grafana" {
    count = 1

    network {
      mode = "host"
      port "http" {
        static = 3000
      }
    }

    restart {
      attempts = 5
      interval = "5m"
      delay    = "10s"
      mode     = "delay"
    }

    service {
      provider = "consul"
      name     = "grafana"
      port     = "http"
      tags     = ["infra", "ui"]

      check {
        name     = "grafana-health"
        type     = "http"
        port     = "http"
        path     = "/api/health"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "grafana" {
      driver = "docker"

      config {
        image        = "grafana/grafana:12.1.0"
        network_mode = "host"

        mount {
          type   = "bind"
          source = "local/provisioning"
          target = "/etc/grafana/provisioning"
        }

        mount {
          type   = "bind"
          source = "local/dashboards"
          target = "/var/lib/grafana/dashboards"
        }
      }

      env {
        GF_SERVER_HTTP_PORT        = "${NOMAD_PORT_http}"
        GF_AUTH_ANONYMOUS_ENABLED  = "true"
        GF_AUTH_ANONYMOUS_ORG_ROLE = "Viewer"
      }

      template {
        destination     = "local/provisioning/datasources/prometheus.yml"
        data            = replace(file("observability/grafana/provisioning/datasources/prometheus.yml"), "http://prometheus:9090", "[[ with service \"prometheus\" ]][[ with index . 0 ]]http://[[ .Address ]]:[[ .Port ]][[ end ]][[ end ]]")
        left_delimiter  = "[["
        right_delimiter = "]]"
        change_mode     = "restart"
      }

      template {
        destination     = "local/provisioning/dashboards/opencommerce.yml"
        data            = file("observability/grafana/provisioning/dashboards/opencommerce.yml")
        left_delimiter  = "[["
        right_delimiter = "]]"
        change_mode     = "noop"
      }

      template {
        destination     = "local/dashboards/gateway-red.json"
        data            = file("observability/grafana/dashboards/gateway-red.json")
        left_delimiter  = "[["
        right_delimiter = "]]"
        change_mode     = "noop"
      }

      template {
        destination     = "local/dashboards/rpc.json"
        data            = file("observability/grafana/dashboards/rpc.json")
        left_delimiter  = "[["
        right_delimiter = "]]"
        change_mode     = "noop"
      }

      template {
        destination     = "local/dashboards/orders.json"
        data            = file("observability/grafana/dashboards/orders.json")
        left_delimiter  = "[["
        right_delimiter = "]]"
        change_mode     = "noop"
      }

      template {
        destination     = "local/dashboards/broker-outbox.json"
        data            = file("observability/grafana/dashboards/broker-outbox.json")
        left_delimiter  = "[["
        right_delimiter = "]]"
        change_mode     = "noop"
      }

      template {
        destination     = "local/dashboards/saturation.json"
        data            = file("observability/grafana/dashboards/saturation.json")
        left_delimiter  = "[["
        right_delimiter = "]]"
        change_mode     = "noop"
      }

      resources {
        cpu    = 300
        memory = 256
      }
    }
  }
}
