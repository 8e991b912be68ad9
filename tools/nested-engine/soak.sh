#!/usr/bin/env bash
# Soak test: several `lockstorm campaign --smoke` at once on one nested
# Debian Docker Engine 20.10 (docs/robustness.md, "Several runs on one
# engine"). Nothing of it runs on the host's engine but the nested engine's
# own container, which the script starts and removes.
#
#   tools/nested-engine/soak.sh BINARY [ROUNDS] [CONCURRENT]
#
# BINARY is a lockstorm binary (CGO_ENABLED=0) to soak; the node image must
# have been built on the host (`lockstorm image build`). Each round starts
# CONCURRENT smoke campaigns at once (each bounded to 15 minutes), waits for
# them, then checks that the nested engine still answers and that nothing
# labelled lockstorm.run is left. One line per campaign and per round goes
# to stdout; the campaigns' output goes to $OUT (default /tmp/lockstorm-soak).
set -uo pipefail
bin=$(readlink -f "${1:?usage: soak.sh BINARY [ROUNDS] [CONCURRENT]}")
rounds=${2:-3}
conc=${3:-3}
out=${OUT:-/tmp/lockstorm-soak}
name=lockstorm-soak-engine
here=$(dirname "$(readlink -f "$0")")
mkdir -p "$out"

node=$("$bin" image build 2>/dev/null | grep -o 'lockstorm-node:[0-9a-f]*' | head -1)
[ -n "$node" ] || { echo "soak: the node image is not built (run: $bin image build)" >&2; exit 4; }
docker build -q -t lockstorm-nested-engine:soak "$here" >/dev/null 2>&1 || exit 4
docker rm -f "$name" >/dev/null 2>&1
# Privileged containers are refused on hosts whose engine lacks
# CAP_SYS_RESOURCE; this set is enough for dockerd with overlay2 on a volume.
docker run -d --name "$name" --label lockstorm.soak=1 \
  --cap-add ALL --cap-drop SYS_RESOURCE \
  --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
  --device-cgroup-rule 'a *:* rwm' -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run \
  -v lockstorm-soak-data:/var/lib/docker -v "$bin":/soak/lockstorm:ro \
  lockstorm-nested-engine:soak dockerd --host=unix:///var/run/docker.sock \
  --storage-driver=overlay2 --cgroup-parent=/lockstorm-soak >/dev/null || exit 4
trap 'docker rm -f "$name" >/dev/null 2>&1' EXIT
for _ in $(seq 30); do docker exec "$name" docker info >/dev/null 2>&1 && break; sleep 1; done
if ! docker exec "$name" docker image inspect "$node" >/dev/null 2>&1; then
  docker save "$node" | docker exec -i "$name" docker load >/dev/null || exit 4
fi

wedged=0
for r in $(seq "$rounds"); do
  t0=$(date +%s)
  pids=()
  for c in $(seq "$conc"); do
    ( s=$(date +%s)
      timeout 900 docker exec -e LOCKSTORM_ENGINE_TRACE=/soak-trace.log "$name" \
        /soak/lockstorm campaign --smoke --quiet --store "/soak/store-$r-$c" \
        >"$out/round$r-campaign$c.out" 2>&1
      code=$?
      met=$(grep -o '[0-9]* of [0-9]* cells met their expectation' "$out/round$r-campaign$c.out")
      echo "round $r campaign $c: exit $code in $(( $(date +%s) - s ))s; $met" ) &
    pids+=($!)
  done
  wait "${pids[@]}"
  if timeout 20 docker exec "$name" docker network ls >/dev/null 2>&1; then
    answers=yes
  else
    answers=no; wedged=1
  fi
  left_c=$(timeout 20 docker exec "$name" docker ps -aq --filter label=lockstorm.run 2>/dev/null | wc -l)
  left_n=$(timeout 20 docker exec "$name" docker network ls -q --filter label=lockstorm.run 2>/dev/null | wc -l)
  echo "round $r: $(( $(date +%s) - t0 ))s; engine answers: $answers; left: $left_c containers, $left_n networks"
  [ "$wedged" = 1 ] && break
done
# Engine call latencies, from binaries that trace them (LOCKSTORM_ENGINE_TRACE).
if timeout 20 docker exec "$name" cat /soak-trace.log >"$out/trace.log" 2>/dev/null && [ -s "$out/trace.log" ]; then
  echo "engine calls: $(wc -l <"$out/trace.log"); slowest answers (ms, call):"
  sort -k3,3n "$out/trace.log" | tail -5 | awk '{print "  " $3, $2, $4}'
  awk '{print $3}' "$out/trace.log" | sort -n | awk '{a[NR]=$1} END {print "  median " a[int(NR/2)+1] " ms, p99 " a[int(NR*0.99)] " ms, max " a[NR] " ms"}'
fi
exit "$wedged"
