# syntax=docker/dockerfile:1
#
# The one opencommerce binary in a small image. Build:
#   docker build -t opencommerce:dev --build-arg VERSION=$(git describe --always --dirty) .
# Run one module per container with -target (see docker-compose.yml).

FROM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-mod=readonly
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/opencommerce ./cmd/opencommerce

# Alpine rather than distroless: its busybox wget lets docker-compose
# healthchecks call /readyz on the admin port. The process runs as an
# unprivileged user that owns only /data (the file service's blobs).
FROM alpine:3.22
RUN apk add --no-cache ca-certificates tzdata \
    && addgroup -S -g 10001 opencommerce \
    && adduser -S -D -H -u 10001 -G opencommerce opencommerce \
    && mkdir -p /data \
    && chown opencommerce:opencommerce /data
COPY --from=build /out/opencommerce /usr/local/bin/opencommerce
USER 10001:10001
WORKDIR /data
EXPOSE 8080 8090 9090
ENTRYPOINT ["/usr/local/bin/opencommerce"]
CMD ["-target=all"]
