#!/bin/sh
# Seeds a Consul agent for OpenCommerce: writes the config entries under
# consul/config-entries and puts every file under consul/kv at the key of
# its path without ".json" (kv/opencommerce/gateway/config.json is the key
# opencommerce/gateway/config). An existing key is kept, so an operator's
# change survives a re-seed; pass -force to overwrite.
#
# Needs the consul CLI; the agent address comes from CONSUL_HTTP_ADDR
# (default http://127.0.0.1:8500) and the token from CONSUL_HTTP_TOKEN.
set -eu

force=0
[ "${1:-}" = "-force" ] && force=1

dir=$(cd "$(dirname "$0")" && pwd)

for f in "$dir"/config-entries/*.hcl; do
	consul config write "$f"
done

cd "$dir/kv"
find . -type f -name '*.json' | sort | while read -r f; do
	key=${f#./}
	key=${key%.json}
	if [ "$force" -eq 0 ] && consul kv get "$key" >/dev/null 2>&1; then
		echo "seed: keeping existing $key"
		continue
	fi
	consul kv put "$key" @"$f"
done
