#!/usr/bin/env bash
# Fetch the pinned Redoc standalone bundle (the renderer of /api/v1/docs)
# from the npm registry and store what the gateway embeds in edge/docs/:
# the bundle gzipped (deterministically: -n), its licence and the licences
# of what it bundles. The tarball is checked against the registry's
# integrity hash pinned here. Run it only to change the version; the result
# is committed, so builds never need the network.
#   scripts/fetch-redoc.sh
set -euo pipefail

VERSION=2.5.4
INTEGRITY='sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ=='

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/edge/docs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack "redoc@$VERSION" --silent >/dev/null)
tgz="$tmp/redoc-$VERSION.tgz"
got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [ "$got" != "$INTEGRITY" ]; then
  echo "fetch-redoc: integrity mismatch for redoc@$VERSION: $got" >&2
  exit 1
fi
tar -xzf "$tgz" -C "$tmp" package/LICENSE package/bundles/redoc.standalone.js package/bundles/redoc.standalone.js.LICENSE.txt
gzip -9 -n -c "$tmp/package/bundles/redoc.standalone.js" >"$out/redoc.standalone.js.gz"
cp "$tmp/package/LICENSE" "$out/LICENSE.redoc"
cp "$tmp/package/bundles/redoc.standalone.js.LICENSE.txt" "$out/redoc.standalone.js.LICENSE.txt"
printf '%s\n' "$VERSION" >"$out/REDOC_VERSION"
echo "fetch-redoc: redoc@$VERSION stored in edge/docs/"
