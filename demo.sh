#!/usr/bin/env bash
# Overlay's main job. Builds the project the first time (and after a source change), then starts
# a network of 20 real nodes on 127.0.0.1 (TCP, TLS 1.3), publishes through it and reports what
# every subscriber got. Arguments are passed on: ./demo.sh --rate 50000 --duration 20
set -euo pipefail
cd "$(dirname "$0")"
jar=overlay-bench/target/overlay-bench.jar
if [ ! -f "$jar" ] || [ -n "$(find pom.xml overlay-*/pom.xml overlay-*/src -newer "$jar" -print -quit 2>/dev/null)" ]; then
  echo "Building Overlay (mvn -B -q -DskipTests install)..."
  mvn -B -q -DskipTests install
fi
exec java -jar "$jar" demo "$@"
