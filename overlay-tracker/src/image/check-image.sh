#!/usr/bin/env bash
# Builds the tracker's image (Maven profile "image") and runs it, checking what docs/operations.md
# promises: it runs as uid 65532, takes flags and OVERLAY_TRACKER_* variables, keeps its key (so
# its id) in the volume across containers, answers /health and /metrics, HealthProbe exits 0
# while it runs and 1 once nothing answers, and it stops on SIGTERM.
#
# Needs root, podman and runc (Debian: apt-get install podman runc). Without Docker Hub, give a
# base image archive (docker-archive format, any Java 17+ image) as $1; with no argument and no
# registry, one is made from Debian bookworm with debootstrap (apt-get install debootstrap).
# Run from the repository's root: bash overlay-tracker/src/image/check-image.sh [base.tar]
set -euo pipefail
cd "$(dirname "$0")/../../.."

work=$(mktemp -d /tmp/overlay-image.XXXXXX)
conf="$work/containers.conf"
# This machine's kernel refuses the default rlimits and crun's cgroup handling: runc, cgroupfs, no ulimits.
printf '[containers]\ndefault_ulimits = []\n' > "$conf"
export CONTAINERS_CONF="$conf"
P=(podman --runtime runc --cgroup-manager=cgroupfs)
name="overlay-tracker-check-$$"
volume="$name"
cleanup() {
  "${P[@]}" rm -f "$name" "$name-2" >/dev/null 2>&1 || true
  "${P[@]}" volume rm -f "$volume" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

base="${1:-}"
if [[ -z "$base" ]]; then
  echo "== making a base image (Debian bookworm, openjdk-17-jre-headless) with debootstrap"
  debootstrap --variant=minbase --include=openjdk-17-jre-headless bookworm "$work/rootfs" http://deb.debian.org/debian >/dev/null
  rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb
  tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
  "${P[@]}" import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "$work/rootfs.tar" \
    localhost/overlay-check-base:latest >/dev/null
  base="$work/base.tar"
  "${P[@]}" save --format docker-archive -o "$base" localhost/overlay-check-base:latest >/dev/null
fi

echo "== building the image on $base"
mvn -B -q -Pimage -pl overlay-tracker -am package -DskipTests -Djib.from.image="tar://$(realpath "$base")"
"${P[@]}" load -i overlay-tracker/target/overlay-tracker-image.tar >/dev/null 2>&1
# The first <version> of the tracker's pom is its parent's: the project's.
image=localhost/overlay-tracker:$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' overlay-tracker/pom.xml | head -1)

run() { # name, extra flags...
  local n=$1; shift
  "${P[@]}" run -d --name "$n" --ulimit host --network host -v "$volume:/var/lib/overlay-tracker" \
    -e OVERLAY_TRACKER_PORT=31300 -e OVERLAY_TRACKER_HTTP_PORT=31380 -e OVERLAY_TRACKER_STUN_PORT=31478 \
    -e OVERLAY_TRACKER_STUN_ALT_PORT=-1 "$image" "$@" >/dev/null
  for _ in $(seq 1 60); do curl -sf http://127.0.0.1:31380/health >/dev/null && return 0; sleep 0.5; done
  "${P[@]}" logs "$n"; echo "FAIL: no /health"; exit 1
}
probe() { "${P[@]}" exec "$1" java -Xmx16m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp @/app/jib-classpath-file dev.overlay.tracker.HealthProbe "${@:2}"; }
fail() { echo "FAIL: $*"; exit 1; }

run "$name"
[[ $("${P[@]}" exec "$name" id -u) == 65532 ]] || fail "not uid 65532"
curl -sf http://127.0.0.1:31380/metrics | grep -q '^jvm_threads_live_threads ' || fail "no JVM figures on /metrics"
probe "$name" >/dev/null 2>&1 || fail "HealthProbe says unhealthy"
probe "$name" http://127.0.0.1:31999/health >/dev/null 2>&1 && fail "HealthProbe says healthy with nothing listening"
id1=$("${P[@]}" logs "$name" 2>&1 | grep -o 'overlay-tracker [0-9a-f]*' | head -1)
"${P[@]}" stop -t 20 "$name" >/dev/null
"${P[@]}" logs "$name" 2>&1 | grep -q 'stopped' || fail "no clean stop on SIGTERM"

run "$name-2" --rate-limit 30
id2=$("${P[@]}" logs "$name-2" 2>&1 | grep -o 'overlay-tracker [0-9a-f]*' | head -1)
[[ -n "$id1" && "$id1" == "$id2" ]] || fail "the id changed across containers: $id1, $id2"
"${P[@]}" exec "$name-2" sh -c 'tr "\0" " " < /proc/1/cmdline' | grep -q -- '--rate-limit 30' || fail "flags not passed"
echo "OK: uid 65532, /health and /metrics, HealthProbe 0 and 1, SIGTERM, same id ($id1) across containers, flags passed"
