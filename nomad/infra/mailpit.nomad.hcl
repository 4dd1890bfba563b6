# Mailpit for a development cluster: an SMTP sink with a web UI, so the
# notification service's emails can be read without a real mail server.

variable "datacenters" {
  type    = list(string)
  default = ["dc1"]
}

job "mailpit" {
  datacenters = var.datacenters
  type        = "service"

  group "mailpit" {
    count = 1

    network {
      mode = "host"
      port "smtp" {
        static = 1025
      }
      port "http" {
        static = 8025
      }
    }

    service {
      provider = "consul"
      name     = "mailpit-smtp"
      port     = "smtp"
      tags     = ["infra", "smtp"]

      check {
        name     = "mailpit-smtp"
        type     = "tcp"
        port     = "smtp"
        interval = "10s"
        timeout  = "2s"
      }
    }

    service {
      provider = "consul"
      name     = "mailpit"
      port     = "http"
      tags     = ["infra", "ui"]

      check {
        name     = "mailpit-readyz"
        type     = "http"
        port     = "http"
        path     = "/readyz"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "mailpit" {
      driver = "docker"

      config {
        image        = "axllent/mailpit:v1.27"
        network_mode = "host"
        args         = ["--smtp", ":${NOMAD_PORT_smtp}", "--listen", ":${NOMAD_PORT_http}", "--smtp-auth-accept-any", "--smtp-auth-allow-insecure"]
      }

      resources {
        cpu    = 200
        memory = 128
      }
    }
  }
}
