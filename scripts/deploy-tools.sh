#!/usr/bin/env bash
# Install the deployment tools `make test-deploy` uses, each cached by version:
#   Nomad v1.6.1 and Consul v1.16.3, built from their Go modules (MPL-2.0;
#   later releases are under the Business Source License and are refused),
#   Prometheus built from its Go module (Debian's build has no consul_sd_configs),
#   Docker from Debian's docker.io package.
#
#   scripts/deploy-tools.sh [nomad|consul|prometheus|docker|all|path NAME]...
#
# Binaries land in $OC_TOOLS_DIR/<name>-<version>/ (default
# /var/cache/opencommerce/tools), with the LICENSE they were built from; a
# second run finds them and returns at once. `path NAME` prints the binary's
# path (and builds it first if needed). A build that fails exits non-zero:
# there is no silent fallback to another version.
set -euo pipefail

NOMAD_VERSION=${NOMAD_VERSION:-1.6.1}
NOMAD_API_VERSION=${NOMAD_API_VERSION:-v0.0.0-20230721134942-515895c7690c} # the v1.6.1 commit
CONSUL_VERSION=${CONSUL_VERSION:-1.16.3}
PROMETHEUS_VERSION=${PROMETHEUS_VERSION:-2.53.3} # Go module v0.53.3
TOOLS_DIR=${OC_TOOLS_DIR:-/var/cache/opencommerce/tools}

log() { printf 'deploy-tools: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

GO=${GO:-go}
command -v "$GO" >/dev/null || die "go is not installed"

# check_license FILE KIND: KIND is mpl or apache. A Business Source License
# anywhere in the file is refused.
check_license() {
  local file=$1 kind=$2
  [ -f "$file" ] || die "no LICENSE file at $file"
  if grep -qi 'Business Source License' "$file"; then
    die "$file is under the Business Source License: refusing to build or use it"
  fi
  case $kind in
  mpl) grep -q 'Mozilla Public License, version 2.0' "$file" || die "$file is not MPL-2.0" ;;
  apache) grep -q 'Apache License' "$file" && grep -q 'Version 2.0' "$file" || die "$file is not Apache-2.0" ;;
  esac
}

# module_dir MODULE@VERSION: download through the module proxy, print its directory.
module_dir() {
  local dir
  dir=$(cd /tmp && GOFLAGS=-mod=mod "$GO" mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] && [ -d "$dir" ] || die "cannot download $1"
  printf '%s\n' "$dir"
}

# prepare NAME MODULE@VERSION: a writable copy of the module in a temp dir (printed).
prepare() {
  local name=$1 mod=$2 src work
  src=$(module_dir "$mod")
  work=$(mktemp -d "/tmp/oc-build-$name.XXXXXX")
  cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  printf '%s\n' "$work"
}

# installed NAME VERSION: 0 when the cached binary exists, runs and reports VERSION.
installed() {
  local name=$1 ver=$2 bin="$TOOLS_DIR/$1-$2/$1"
  [ -x "$bin" ] || return 1
  [ -f "$TOOLS_DIR/$name-$ver/LICENSE" ] || return 1
  # A cached binary is used only under the licence it was checked for.
  case $name in
  prometheus) check_license "$TOOLS_DIR/$name-$ver/LICENSE" apache ;;
  *) check_license "$TOOLS_DIR/$name-$ver/LICENSE" mpl ;;
  esac
  local out # (not a pipe into grep -q: under pipefail its early exit fails the pipe)
  out=$("$bin" version 2>/dev/null || "$bin" --version 2>&1 || true)
  case $out in *"$ver"*) return 0 ;; esac
  return 1
}

# finish NAME VERSION WORKDIR BUILT_BINARY LICENSE_KIND
finish() {
  local name=$1 ver=$2 work=$3 built=$4 kind=$5 dest="$TOOLS_DIR/$1-$2"
  check_license "$work/LICENSE" "$kind"
  mkdir -p "$dest.tmp"
  cp "$built" "$dest.tmp/$name"
  cp "$work/LICENSE" "$dest.tmp/LICENSE"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  rm -rf "$work"
  installed "$name" "$ver" || die "$dest/$name does not report version $ver"
  log "$name $ver ready: $dest/$name"
}

# Go 1.23+ refuses some old //go:linkname uses at link time; these releases
# predate that, so the check is turned off for their builds only.
LDFLAGS_COMMON="-s -w -checklinkname=0"

build_nomad() {
  installed nomad "$NOMAD_VERSION" && return 0
  log "building nomad $NOMAD_VERSION from its Go module (several minutes on 2 cores)"
  local work
  work=$(prepare nomad "github.com/hashicorp/nomad@v$NOMAD_VERSION")
  check_license "$work/LICENSE" mpl
  check_license "$(module_dir "github.com/hashicorp/nomad/api@$NOMAD_API_VERSION")/LICENSE" mpl
  (
    cd "$work"
    # The module's api/ is a module of its own, not in this zip: pin it to
    # the same commit instead of the local replace.
    "$GO" mod edit -dropreplace=github.com/hashicorp/nomad/api \
      -require="github.com/hashicorp/nomad/api@$NOMAD_API_VERSION"
    GOFLAGS=-mod=mod "$GO" mod download
    GOFLAGS=-mod=mod "$GO" build -trimpath \
      -ldflags "$LDFLAGS_COMMON" -o nomad.bin .
  ) >&2 || die "nomad build failed (work dir $work)"
  finish nomad "$NOMAD_VERSION" "$work" "$work/nomad.bin" mpl
}

build_consul() {
  installed consul "$CONSUL_VERSION" && return 0
  log "building consul $CONSUL_VERSION from its Go module (about ten minutes on 2 cores)"
  local work
  work=$(prepare consul "github.com/hashicorp/consul@v$CONSUL_VERSION")
  check_license "$work/LICENSE" mpl
  (
    cd "$work"
    # api, sdk, ... are modules of their own, absent from this zip: use the
    # versions the release requires instead of the local replaces.
    for m in api envoyextensions proto-public sdk troubleshoot; do
      "$GO" mod edit -dropreplace="github.com/hashicorp/consul/$m"
    done
    GOFLAGS=-mod=mod "$GO" mod download
    for m in api sdk; do
      v=$("$GO" list -m -f '{{.Version}}' "github.com/hashicorp/consul/$m")
      check_license "$(module_dir "github.com/hashicorp/consul/$m@$v")/LICENSE" mpl
    done
    GOFLAGS=-mod=mod CGO_ENABLED=0 "$GO" build -trimpath \
      -ldflags "$LDFLAGS_COMMON -X github.com/hashicorp/consul/version.GitCommit=v$CONSUL_VERSION" -o consul.bin .
  ) >&2 || die "consul build failed (work dir $work)"
  finish consul "$CONSUL_VERSION" "$work" "$work/consul.bin" mpl
}

build_prometheus() {
  installed prometheus "$PROMETHEUS_VERSION" && return 0
  log "building prometheus $PROMETHEUS_VERSION from its Go module"
  local work modver="v0.${PROMETHEUS_VERSION#2.}"
  work=$(prepare prometheus "github.com/prometheus/prometheus@$modver")
  check_license "$work/LICENSE" apache
  (
    cd "$work"
    GOFLAGS=-mod=mod "$GO" mod download
    GOFLAGS=-mod=mod CGO_ENABLED=0 "$GO" build -trimpath \
      -ldflags "$LDFLAGS_COMMON -X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION" \
      -o prometheus.bin ./cmd/prometheus
  ) >&2 || die "prometheus build failed (work dir $work)"
  finish prometheus "$PROMETHEUS_VERSION" "$work" "$work/prometheus.bin" apache
}

install_docker() {
  if command -v dockerd >/dev/null && command -v docker >/dev/null; then return 0; fi
  log "installing Docker from Debian's docker.io package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q docker.io >&2 || { apt-get update -q >&2 && apt-get install -y -q docker.io >&2; } ||
    die "apt-get install docker.io failed"
  command -v dockerd >/dev/null || die "dockerd missing after installing docker.io"
}

tool_path() {
  case $1 in
  nomad) build_nomad && echo "$TOOLS_DIR/nomad-$NOMAD_VERSION/nomad" ;;
  consul) build_consul && echo "$TOOLS_DIR/consul-$CONSUL_VERSION/consul" ;;
  prometheus) build_prometheus && echo "$TOOLS_DIR/prometheus-$PROMETHEUS_VERSION/prometheus" ;;
  docker) install_docker && command -v docker ;;
  *) die "unknown tool $1" ;;
  esac
}

mkdir -p "$TOOLS_DIR"
exec 9>"$TOOLS_DIR/.lock"
flock 9 # one build at a time: concurrent runs wait, then find the cache

[ $# -gt 0 ] || set -- all
while [ $# -gt 0 ]; do
  case $1 in
  nomad) build_nomad ;;
  consul) build_consul ;;
  prometheus) build_prometheus ;;
  docker) install_docker ;;
  all) install_docker; build_nomad; build_consul; build_prometheus ;;
  path) shift; tool_path "${1:?path NAME}" ;;
  *) die "unknown argument $1 (nomad|consul|prometheus|docker|all|path NAME)" ;;
  esac
  shift
done
