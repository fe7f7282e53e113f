#!/usr/bin/env bash
# Overlay side by side with js-libp2p gossipsub and JGroups, on this machine, one system at a time.
#
#   overlay-bench/compare/run.sh [compare options]      e.g. --nodes 20 --rates 1000,5000 --duration 6
#
# Installs the pinned gossipsub packages (package.json) from the npm registry into
# overlay-bench/compare/node_modules (ignored by git), builds Overlay if needed, then runs
# `overlay-bench.jar compare`: the same job on each system (N nodes on 127.0.0.1, each linked to
# about 4 others, 100-byte messages with a send timestamp and a sequence number), at fixed rates
# and in a max-rate search. Results: bench-results/compare/*.json and table.md; charts: docs/img.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
command -v node >/dev/null || { echo "run.sh: node (18+) is needed for the gossipsub side" >&2; exit 1; }
if [ ! -d "$here/node_modules/@chainsafe/libp2p-gossipsub" ]; then
  echo "Installing js-libp2p gossipsub (pinned in $here/package.json)..."
  (cd "$here" && npm install --no-audit --no-fund --loglevel=error)
fi
jar=overlay-bench/target/overlay-bench.jar
if [ ! -f "$jar" ]; then
  echo "Building Overlay..."
  mvn -B -q -DskipTests install
fi
exec java -jar "$jar" compare --compare-dir "$here" "$@"
