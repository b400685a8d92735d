#!/usr/bin/env bash
# SC2317: functions are called indirectly; SC2015: "a && b || die" is meant.
# shellcheck disable=SC2317,SC2015

# Build the real server images the integration tests run, from Debian bookworm's packages and
# Ory's Go modules, on this machine: no image registry is needed (or reachable).
#
#   scripts/prepare-images.sh         (scripts/test.sh runs it with the other prepare steps)
#
# Images (test names only: never an official name, never pushed):
#   iam-sandbox-test/debian:bookworm      debootstrap --variant=minbase bookworm (+ updates,
#                                         security, ca-certificates)
#   iam-sandbox-test/pg-ha:15-debian12    PostgreSQL 15, Patroni, etcd 3.4 (server and client)
#                                         from Debian's packages; one image for the database
#                                         nodes AND the etcd members (the engine runs `etcd`
#                                         with its own flags)
#   iam-sandbox-test/haproxy:2.6-debian12 Debian's HAProxy; entrypoint as the official image:
#                                         haproxy -W -db -f /usr/local/etc/haproxy/haproxy.cfg
#   iam-sandbox-test/{hydra,kratos,keto}:<version>-gomod
#                                         the binaries scripts/prepare-ory.sh builds, at
#                                         /usr/bin/<name>, as the official images' users
#   iam-sandbox-test/login-ui-standin:v<N>-standin
#                                         a login UI stand-in written for the tests
#                                         (tests/login_ui_standin), not Ory's
#                                         kratos-selfservice-ui-node; user ui 10000
# and ~/.cache/iam-sandbox/images.yaml, a settings fragment naming them (tests/support/images.py
# reads it).
#
# Caching: every image carries the label io.iam-sandbox.test.key, a hash of what it is built
# from (package lists, the shell functions that build it, the base's key, the Ory binary's
# hash). An image whose key matches is kept; otherwise it is rebuilt. The base rootfs tarball
# is kept under ~/.cache/iam-sandbox/images/ by the same key. SANDBOX_IMAGES_REBUILD=1 forces a
# rebuild of everything (e.g. to take newer Debian updates).
#
# Needs root (debootstrap, chroot), Docker and apt-get. Any failure prints why and exits 0: the
# tests that need these images then skip with that reason.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 0
say() { echo "    $*"; }
die() { say "skipped: $*; the tests that need these images will be skipped"; exit 0; }
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f s", e - s }'; }
t_start=$(now)

cache=${XDG_CACHE_HOME:-$HOME/.cache}/iam-sandbox
imgcache="$cache/images"
fragment="$cache/images.yaml"
repo=iam-sandbox-test
label=io.iam-sandbox.test

[ "$(id -u)" = 0 ] || die "not root (debootstrap and chroot need root)"
command -v docker >/dev/null 2>&1 || die "no docker CLI (scripts/prepare-docker.sh installs it)"
docker info >/dev/null 2>&1 || die "no Docker engine answers (scripts/prepare-docker.sh starts it)"
command -v apt-get >/dev/null 2>&1 || die "no apt-get: the images are built from Debian's packages"
if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap from Debian's packages"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; } \
    >/dev/null 2>&1 || die "apt-get install debootstrap failed"
fi
mkdir -p "$imgcache" || die "cannot create $imgcache"

# One build at a time (two test runs on one machine would share the cache and the tags).
exec 9>"$imgcache/.lock"
flock -w 1800 9 || die "another prepare-images.sh holds $imgcache/.lock"

# ---- where Debian's packages come from: the host's own apt sources -------------------------
# first_uri SUITE: the first URI of a deb822 stanza (or a one-line `deb` entry) serving SUITE.
first_uri() {
  local suite=$1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk -v want="$suite" 'BEGIN { RS = "" }
      {
        uri = ""; ok = 0; deb = 0; off = 0; n = split($0, line, "\n")
        for (i = 1; i <= n; i++) {
          if (line[i] ~ /^Types:/ && line[i] ~ /[[:space:]]deb([[:space:]]|$)/) deb = 1
          if (line[i] ~ /^Enabled:[[:space:]]*no/) off = 1
          if (line[i] ~ /^URIs:/ && uri == "") { split(line[i], u, /[[:space:]]+/); uri = u[2] }
          if (line[i] ~ /^Suites:/) {
            m = split(line[i], s, /[[:space:]]+/)
            for (j = 2; j <= m; j++) if (s[j] == want) ok = 1
          }
        }
        if (ok && deb && !off && uri != "") { print uri; exit }
      }' "$f"
  done | head -1
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk -v want="$suite" '$1 == "deb" {
        i = 2; if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == want) { print $i; exit }
      }' "$f"
  done | head -1
}
mirror=$(first_uri bookworm | head -1)
security=$(first_uri bookworm-security | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
security=${security:-http://deb.debian.org/debian-security}

# ---- helpers -----------------------------------------------------------------------------
work=""
mounts=()
cleanup() {
  local m
  for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null; done
  [ -n "$work" ] && rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
# Work folders of an interrupted run (the lock says none is in use): unmount, then delete.
for stale in "$imgcache"/work-*; do
  [ -d "$stale" ] || continue
  for m in "$stale"/*/proc; do mountpoint -q "$m" && umount -l "$m"; done
  rm -rf "$stale"
done
work=$(mktemp -d "$imgcache/work-XXXXXX") || die "cannot create a work folder in $imgcache"

hash_of() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }
image_key() { docker image inspect -f "{{ index .Config.Labels \"$label.key\" }}" "$1" 2>/dev/null; }
image_label() { docker image inspect -f "{{ index .Config.Labels \"$label.$2\" }}" "$1" 2>/dev/null; }
image_size() { docker image inspect -f '{{ .Size }}' "$1" 2>/dev/null | awk '{ printf "%d MB", $1 / 1e6 }'; }
fresh() { [ -z "${SANDBOX_IMAGES_REBUILD:-}" ] && [ "$(image_key "$1")" = "$2" ]; }
# forget_old ID NAME: drop the image NAME pointed at before a rebuild, when nothing uses it.
forget_old() {
  [ -n "$1" ] && [ "$1" != "$(docker image inspect -f '{{ .Id }}' "$2" 2>/dev/null)" ] &&
    docker image rm "$1" >/dev/null 2>&1
  return 0
}

# in_root ROOTFS CMD...: run CMD in a chroot of ROOTFS with /proc and a resolver, services off.
in_root() {
  local root=$1; shift
  mountpoint -q "$root/proc" || { mount -t proc proc "$root/proc" && mounts+=("$root/proc"); } ||
    return 1
  cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null
  LANG=C.UTF-8 LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin chroot "$root" "$@"
}
leave_root() {
  local root=$1
  rm -f "$root/etc/dpkg/dpkg.cfg.d/zz-build-unsafe-io"
  umount "$root/proc" 2>/dev/null || umount -l "$root/proc" 2>/dev/null
  : >"$root/etc/resolv.conf"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/var/log/apt/* "$root"/tmp/* "$root"/root/.bash_history
}

# debian_version ROOTFS PACKAGE: the upstream part of PACKAGE's installed version (15.13),
# read from the rootfs's dpkg database without entering it.
debian_version() {
  dpkg-query --admindir="$1/var/lib/dpkg" -W -f '${Version}' "$2" 2>/dev/null |
    sed 's/^[0-9]*://; s/[-+~].*//'
}

# ---- the base: Debian bookworm minbase -----------------------------------------------------
base_packages="ca-certificates"
make_base() {  # ROOTFS
  local root=$1
  debootstrap --variant=minbase --include="${base_packages// /,}" bookworm "$root" "$mirror" \
    >"$work/debootstrap.log" 2>&1 || { tail -5 "$work/debootstrap.log"; return 1; }
  rm -f "$root/etc/apt/sources.list"
  echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/zz-build-unsafe-io"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  # Take the point releases' and security updates now, so every image starts from them.
  in_root "$root" apt-get update -qq >"$work/apt.log" 2>&1 &&
    in_root "$root" apt-get -y -qq -o Dpkg::Options::=--force-confold upgrade >>"$work/apt.log" 2>&1 &&
    in_root "$root" apt-get clean || { tail -5 "$work/apt.log"; return 1; }
  : >"$root/etc/hostname"
  leave_root "$root"
}
base_key=$(hash_of "base recipe 1" "$base_packages" "$(declare -f make_base leave_root)")
base_tar="$imgcache/debian-bookworm-$base_key.tar"
base_image="$repo/debian:bookworm"

# ensure_base_tar: the base rootfs tarball, made once per key (only when an image needs it).
base_tar_done=""
ensure_base_tar() {
  [ -n "$base_tar_done" ] && return 0
  local t
  t=$(now)
  if [ ! -s "$base_tar" ] || [ -n "${SANDBOX_IMAGES_REBUILD:-}" ]; then
    say "base: debootstrap --variant=minbase bookworm from $mirror (one to three minutes)"
    mkdir "$work/base" && make_base "$work/base" || die "debootstrap of Debian bookworm failed"
    tar --numeric-owner -C "$work/base" -cf "$base_tar.tmp" . && mv "$base_tar.tmp" "$base_tar" ||
      die "cannot write $base_tar"
    rm -rf "$work/base"
    # Tarballs of older recipes are of no further use.
    find "$imgcache" -maxdepth 1 -name 'debian-bookworm-*.tar' ! -name "${base_tar##*/}" -delete
    say "base: rootfs cached at $base_tar ($(since "$t"))"
  fi
  base_tar_done=1
}

t=$(now)
if ! fresh "$base_image" "$base_key"; then
  ensure_base_tar
  old=$(docker image inspect -f '{{ .Id }}' "$base_image" 2>/dev/null)
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["bash"]' \
    --change "LABEL $label.key=$base_key $label.debian=bookworm" \
    "$base_tar" "$base_image" >/dev/null || die "docker import of $base_image failed"
  forget_old "$old" "$base_image"
  say "base: imported $base_image ($(since "$t"))"
else
  say "base: $base_image is up to date"
fi

# ---- images made by installing Debian packages in a copy of the base rootfs ---------------
# make_derived ROOTFS PACKAGES...: install PACKAGES with no service started and no cluster made.
make_derived() {
  local root=$1; shift
  # No fsync per file while building (the official Debian images do the same); removed after.
  echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/zz-build-unsafe-io"
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod 755 "$root/usr/sbin/policy-rc.d"
  # Patroni owns initdb: postgresql-common must not create a "main" cluster.
  case " $* " in
    *" postgresql-"*)
      mkdir -p "$root/etc/postgresql-common/createcluster.d" &&
        echo 'create_main_cluster = false' \
          >"$root/etc/postgresql-common/createcluster.d/00-no-main-cluster.conf"
      ;;
  esac
  in_root "$root" apt-get update -qq >"$work/apt.log" 2>&1 &&
    in_root "$root" apt-get install -y -qq --no-install-recommends "$@" >>"$work/apt.log" 2>&1 ||
    { tail -5 "$work/apt.log"; return 1; }
  in_root "$root" apt-get clean
  rm -f "$root/usr/sbin/policy-rc.d"
  # The database image: Patroni from PyPI, pinned, in a venv of its own, exactly as the
  # Dockerfile the sandbox renders for users installs it (Debian ships Patroni 3.0.2, which
  # stays stuck demoting after its leader is cut off from etcd and reconnected).
  case " $* " in
    *" python3-venv "*)
      # Wheels are fetched by the host's pip (its own trust store and index settings), then
      # installed offline in the chroot.
      local wheels="$root/tmp/wheels"
      python3 -m pip wheel -q -w "$wheels" "patroni[etcd3,psycopg3]==$patroni_version" \
        >>"$work/apt.log" 2>&1 &&
        in_root "$root" sh -c "python3 -m venv /opt/patroni && /opt/patroni/bin/pip install -q \
          --no-index --find-links /tmp/wheels 'patroni[etcd3,psycopg3]==$patroni_version'" \
          >>"$work/apt.log" 2>&1 || { tail -5 "$work/apt.log"; return 1; }
      rm -rf "$wheels"
      ;;
  esac
  leave_root "$root"
}
# derived NAME IMAGE "PACKAGES" SETUP-FUNCTION CHANGES...: build IMAGE unless its key matches.
# SETUP-FUNCTION runs after the install with the rootfs and prints extra --change arguments
# (labels of the versions inside), one a line.
derived() {
  local name=$1 image=$2 packages=$3 setup=$4; shift 4
  local key t root old extra=() line
  key=$(hash_of "$base_key" "$packages" "$(declare -f make_derived "$setup")" "$@")
  if fresh "$image" "$key"; then
    say "$name: $image is up to date"
    return 0
  fi
  t=$(now)
  say "$name: installing $packages"
  ensure_base_tar
  root="$work/$name"
  mkdir "$root" && tar -C "$root" -xf "$base_tar" || return 1
  # shellcheck disable=SC2086 # the package list is words
  make_derived "$root" $packages || return 1
  while IFS= read -r line; do [ -n "$line" ] && extra+=(--change "$line"); done < <("$setup" "$root")
  ((${#extra[@]})) || { say "$name: the installed versions could not be read"; return 1; }
  mountpoint -q "$root/proc" && return 1  # never pack the host's /proc into an image
  old=$(docker image inspect -f '{{ .Id }}' "$image" 2>/dev/null)
  local changes=() c
  for c in "$@"; do changes+=(--change "$c"); done
  tar --numeric-owner -C "$root" -c . |
    docker import "${changes[@]}" "${extra[@]}" --change "LABEL $label.key=$key" - "$image" \
      >/dev/null || return 1
  forget_old "$old" "$image"
  rm -rf "$root"
  say "$name: built $image ($(since "$t"))"
}

pg_setup() {  # ROOTFS: the versions inside and the postgres user's ids, as LABEL lines
  local root=$1 pg patroni etcd uid gid
  pg=$(debian_version "$root" postgresql-15)
  patroni=$(sed -n 's/^Version: //p' "$root"/opt/patroni/lib/python3*/site-packages/patroni-*.dist-info/METADATA 2>/dev/null | head -1)
  etcd=$(debian_version "$root" etcd-server)
  read -r uid gid < <(awk -F: '$1 == "postgres" { print $3, $4 }' "$root/etc/passwd")
  [ -n "${uid:-}" ] && [ -n "${gid:-}" ] || return 1
  [ -x "$root/usr/lib/postgresql/15/bin/postgres" ] && [ -n "$pg" ] && [ -n "$patroni" ] &&
    [ -n "$etcd" ] && [ ! -d "$root/etc/postgresql/15/main" ] || return 1
  echo "LABEL $label.postgresql=$pg $label.patroni=$patroni $label.etcd=$etcd"
  echo "LABEL $label.postgres-uid=$uid $label.postgres-gid=$gid"
}
haproxy_setup() {
  local root=$1 v
  v=$(debian_version "$root" haproxy)
  [ -n "$v" ] && mkdir -p "$root/usr/local/etc/haproxy" || return 1
  echo "LABEL $label.haproxy=$v"
}

patroni_version=${PATRONI_VERSION:-4.1.5}  # the sandbox's versions.patroni default
pg_image="$repo/pg-ha:15-debian12"
haproxy_image="$repo/haproxy:2.6-debian12"
derived postgres "$pg_image" \
  "postgresql-15 python3-venv etcd-server etcd-client util-linux ca-certificates curl" \
  pg_setup \
  'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  'ENV LANG=C.UTF-8' 'CMD ["bash"]' "LABEL $label.patroni-pin=$patroni_version" ||
  die "the build of $pg_image failed (see above)"
derived haproxy "$haproxy_image" "haproxy" haproxy_setup \
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' 'ENV LANG=C.UTF-8' \
  'ENTRYPOINT ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]' ||
  die "the build of $haproxy_image failed (see above)"

# ---- Ory: the binaries from their Go modules on the base image ------------------------------
t=$(now)
say "ory: scripts/prepare-ory.sh (cached after its first run)"
bash scripts/prepare-ory.sh | sed 's/^/  /'
say "ory: binaries ready ($(since "$t"))"
ory_cache=${SANDBOX_ORY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iam-sandbox/ory}
declare -A ory_version=(
  [hydra]=${ORY_HYDRA_VERSION:-v2.3.0}
  [kratos]=${ORY_KRATOS_VERSION:-v1.3.1}
  [keto]=${ORY_KETO_VERSION:-v0.13.0-alpha.0}
)
# The users of Ory's own images (.docker/Dockerfile-alpine of each module, the images
# published as oryd/<name>:<tag>): hydra "nonroot" 65532 (distroless's nonroot), kratos "ory"
# 10000 with WORKDIR /home/ory. Keto's alpine image makes "ory" with a dynamic system uid
# (100 on Alpine); here it is 65532, the uid of its distroless variant.
declare -A ory_user=([hydra]="nonroot 65532 /home/nonroot" [kratos]="ory 10000 /home/ory"
  [keto]="ory 65532 /home/ory")
declare -A ory_cmd=([hydra]='["serve", "all"]' [kratos]='["serve"]' [keto]='["serve"]')
declare -A ory_workdir=([hydra]=/ [kratos]=/home/ory [keto]=/)
# Kratos's image declares two VOLUMEs (its .docker/Dockerfile-alpine); Hydra's and Keto's none.
declare -A ory_volumes=([hydra]="" [kratos]='["/var/lib/sqlite", "/home/ory"]' [keto]="")

make_ory() {  # NAME BINARY IMAGE KEY VERSION USER UID HOME
  local name=$1 bin=$2 image=$3 key=$4 version=$5 user=$6 uid=$7 home=$8 cid old extra=()
  [ -n "${ory_volumes[$name]}" ] && extra=(--change "VOLUME ${ory_volumes[$name]}")
  cid=$(docker create --entrypoint /bin/sh "$base_image" -c "set -e
    groupadd --system --gid $uid $user
    useradd --system --uid $uid --gid $uid --home-dir $home --create-home \
      --shell /usr/sbin/nologin $user 2>/dev/null
    chown root:root /usr/bin/$name && chmod 0755 /usr/bin/$name
    rm -rf /tmp/* /var/log/*.log") || return 1
  docker cp "$bin" "$cid:/usr/bin/$name" >/dev/null && docker start -a "$cid" >/dev/null &&
    old=$(docker image inspect -f '{{ .Id }}' "$image" 2>/dev/null || true) &&
    docker commit \
      --change "ENTRYPOINT [\"$name\"]" --change "CMD ${ory_cmd[$name]}" \
      --change "USER $uid:$uid" --change "WORKDIR ${ory_workdir[$name]}" "${extra[@]}" \
      --change "LABEL $label.key=$key $label.$name=$version $label.built-from=go-module" \
      "$cid" "$image" >/dev/null
  local code=$?
  docker rm -f "$cid" >/dev/null 2>&1
  ((code == 0)) && forget_old "$old" "$image"
  return $code
}

declare -A built=()
for name in hydra kratos keto; do
  version=${ory_version[$name]}
  bin="$ory_cache/$name-$version/$name"
  image="$repo/$name:$version-gomod"
  reported=$("$bin" version 2>/dev/null | sed -n 's/^[[:space:]]*Version:[[:space:]]*//p' | head -1)
  if [ "$reported" != "$version" ]; then
    say "$name: $bin does not report $version (${reported:-missing}): no $image"
    continue
  fi
  read -r user uid home <<<"${ory_user[$name]}"
  key=$(hash_of "$base_key" "$(sha256sum <"$bin")" "${ory_user[$name]}" "${ory_cmd[$name]}" \
    "${ory_workdir[$name]}" "${ory_volumes[$name]}" "$(declare -f make_ory)")
  if fresh "$image" "$key"; then
    say "$name: $image is up to date"
  else
    t=$(now)
    make_ory "$name" "$bin" "$image" "$key" "$version" "$user" "$uid" "$home" ||
      { say "$name: building $image failed"; continue; }
    # The binary is linked on the host: check it runs on the image's libraries, as its user.
    inside=$(docker run --rm --network none "$image" version 2>&1)
    if ! grep -q "Version:[[:space:]]*$version\$" <<<"$inside"; then
      say "$name: $image does not run its binary: $(head -3 <<<"$inside" | tr '\n' ' ')"
      docker image rm "$image" >/dev/null 2>&1
      continue
    fi
    say "$name: built $image ($(since "$t"))"
  fi
  built[$name]=$image
done

# ---- the login UI: a stand-in written for the tests, not Ory's UI ---------------------------
# Ory's oryd/kratos-selfservice-ui-node cannot be pulled here (nor built: it is a Node app from
# npm). tests/login_ui_standin is a small Go program written for the tests that answers to the
# same environment and routes; it is built here and put on the base image, under a tag that
# says it is the stand-in (never Ory's version numbers).
ui_src=tests/login_ui_standin
ui_version=$(sed -n 's/^const version = "\(v[0-9][0-9.]*\)".*/\1/p' "$ui_src/main.go" 2>/dev/null)
ui_image="$repo/login-ui-standin:${ui_version:-v0}-standin"
ui_built=""
make_ui() {  # BINARY IMAGE KEY
  local bin=$1 image=$2 key=$3 cid old
  cid=$(docker create --entrypoint /bin/sh "$base_image" -c "set -e
    groupadd --system --gid 10000 ui
    useradd --system --uid 10000 --gid 10000 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin ui 2>/dev/null
    chown root:root /usr/bin/login-ui-standin && chmod 0755 /usr/bin/login-ui-standin
    rm -rf /tmp/* /var/log/*.log") || return 1
  docker cp "$bin" "$cid:/usr/bin/login-ui-standin" >/dev/null && docker start -a "$cid" >/dev/null &&
    old=$(docker image inspect -f '{{ .Id }}' "$image" 2>/dev/null || true) &&
    docker commit \
      --change 'ENTRYPOINT ["login-ui-standin"]' --change 'CMD []' --change 'USER 10000:10000' \
      --change 'WORKDIR /' --change "LABEL $label.key=$key $label.built-from=$ui_src" \
      --change "LABEL $label.standin=login-ui $label.login-ui-standin=$ui_version" \
      "$cid" "$image" >/dev/null
  local code=$?
  docker rm -f "$cid" >/dev/null 2>&1
  ((code == 0)) && forget_old "$old" "$image"
  return $code
}
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
t=$(now)
if [ -z "$ui_version" ]; then
  say "ui: no version in $ui_src/main.go: no $ui_image"
elif ! [ -x "$go" ]; then
  say "ui: Go is not installed (no $go): no $ui_image"
elif ! (cd "$ui_src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false "$go" build -trimpath -ldflags='-s -w' \
  -o "$work/login-ui-standin" .) >"$work/go-build.log" 2>&1; then
  say "ui: go build of $ui_src failed: $(tail -3 "$work/go-build.log" | tr '\n' ' ')"
else
  key=$(hash_of "$base_key" "$(sha256sum <"$work/login-ui-standin")" "$(declare -f make_ui)")
  if fresh "$ui_image" "$key"; then
    say "ui: $ui_image is up to date"
    ui_built=$ui_image
  elif make_ui "$work/login-ui-standin" "$ui_image" "$key"; then
    # It runs on the image as its user: without KRATOS_PUBLIC_URL it says so and exits 2.
    inside=$(docker run --rm --network none "$ui_image" 2>&1)
    code=$?
    if ((code == 2)) && [ "$inside" = "login-ui-standin: KRATOS_PUBLIC_URL is not set" ]; then
      say "ui: built $ui_image ($(since "$t"))"
      ui_built=$ui_image
    else
      say "ui: $ui_image does not run its binary (exit $code): $(head -3 <<<"$inside" | tr '\n' ' ')"
      docker image rm "$ui_image" >/dev/null 2>&1
    fi
  else
    say "ui: building $ui_image failed"
  fi
fi

# ---- the settings fragment -----------------------------------------------------------------
pg_v=$(image_label "$pg_image" postgresql)
patroni_v=$(image_label "$pg_image" patroni)
etcd_v=$(image_label "$pg_image" etcd)
haproxy_v=$(image_label "$haproxy_image" haproxy)
{
  echo "# Written by scripts/prepare-images.sh: test images built on this machine from Debian"
  echo "# bookworm's packages and Ory's Go modules (no registry). Test names only, never pushed."
  echo "#   postgres: PostgreSQL $pg_v from Debian's packages + Patroni $patroni_v from PyPI (postgres uid"
  echo "#             $(image_label "$pg_image" postgres-uid), gid $(image_label "$pg_image" postgres-gid)); etcd-server/-client $etcd_v and python3-etcd too"
  echo "#   etcd:     the same image: run \`etcd\` ($etcd_v, Debian's etcd-server) with its own flags"
  echo "#   haproxy:  HAProxy $haproxy_v from Debian's package; runs as root; entrypoint"
  echo "#             haproxy -W -db -f /usr/local/etc/haproxy/haproxy.cfg"
  for name in hydra kratos keto; do
    if [ -z "${built[$name]:-}" ]; then continue; fi
    read -r user uid home <<<"${ory_user[$name]}"
    printf '#   %-9s %s %s built from its Go module (release link flags), user %s %s\n' \
      "$name:" "$name" "${ory_version[$name]}" "$user" "$uid"
  done
  if [ -n "$ui_built" ]; then
    echo "#   ui:       a login UI stand-in written for the tests ($ui_src), not Ory's"
    echo "#             kratos-selfservice-ui-node; user ui 10000"
  fi
  echo "images:"
  echo "  postgres: $pg_image"
  echo "  etcd: $pg_image"
  echo "  haproxy: $haproxy_image"
  for name in hydra kratos keto; do
    if [ -n "${built[$name]:-}" ]; then echo "  $name: ${built[$name]}"; fi
  done
  if [ -n "$ui_built" ]; then echo "  ui: $ui_built"; fi
} >"$fragment.tmp" && mv "$fragment.tmp" "$fragment" || die "cannot write $fragment"

say "images (versions inside):"
say "  $base_image  $(image_size "$base_image")"
say "  $pg_image  $(image_size "$pg_image")  PostgreSQL $pg_v, Patroni $patroni_v, etcd $etcd_v"
say "  $haproxy_image  $(image_size "$haproxy_image")  HAProxy $haproxy_v"
for name in hydra kratos keto; do
  if [ -n "${built[$name]:-}" ]; then
    say "  ${built[$name]}  $(image_size "${built[$name]}")  $name ${ory_version[$name]}"
  fi
done
if [ -n "$ui_built" ]; then
  say "  $ui_built  $(image_size "$ui_built")  login UI stand-in $ui_version (tests only)"
fi
say "wrote $fragment; total $(since "$t_start")"
exit 0
