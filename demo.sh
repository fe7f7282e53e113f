#!/usr/bin/env bash
# Overlay's main job. Builds the project the first time (and after a source change), then runs
# a 1,000-node simulation of the real protocol core and prints what happened.
# Arguments are passed on: ./demo.sh --nodes 5000 --latency geo
set -euo pipefail
cd "$(dirname "$0")"
jar=overlay-bench/target/overlay-bench.jar
if [ ! -f "$jar" ] || [ -n "$(find pom.xml overlay-*/pom.xml overlay-*/src -newer "$jar" -print -quit 2>/dev/null)" ]; then
  echo "Building Overlay (mvn -B -q -DskipTests install)..."
  mvn -B -q -DskipTests install
fi
exec java -jar "$jar" sim --nodes 1000 --messages 1000 --rate 100 --latency geo "$@"
