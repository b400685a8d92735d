#!/usr/bin/env bash
# Build a real CockroachDB for the tests, once per machine, and a local image around it.
#
# No image registry is reachable here, so the server comes from the Go module proxy: the
# newest version it serves is github.com/cockroachdb/cockroach v20.1.17+incompatible. The
# module zip lacks generated code and the C dependencies (git submodules), so the build:
#   - pins dependency versions the proxy serves (scripts/cockroach-build/go.mod);
#   - generates the parser, optimizer and vectorized-operator files (generate.sh);
#   - links a stand-in for libroach/RocksDB (stub_libroach.py) and makes Pebble the default
#     engine; jemalloc is left out with -tags stdmalloc.
# A fresh build (empty Go module and build caches; about 850 MB of modules downloaded) took
# 6 minutes on 2 cores, up to 13 while other builds shared the machine. The binary is cached
# at ${SANDBOX_COCKROACH_CACHE:-~/.cache/iam-sandbox/cockroach}/v20.1.17/ and reused; the image
# iam-sandbox-test/cockroach:v20.1.17-gomod is rebuilt when missing or when the binary changed.
# Whatever cannot be done is printed, and the script still exits 0: the tests then skip.
set -uo pipefail
cd "$(dirname "$0")/.."
say() { echo "    $*"; }

version=v20.1.17
module=github.com/cockroachdb/cockroach
image=iam-sandbox-test/cockroach:$version-gomod
cache=${SANDBOX_COCKROACH_CACHE:-$HOME/.cache/iam-sandbox/cockroach}/$version
binary=$cache/cockroach
recipe=$(pwd)/scripts/cockroach-build

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  need=()
  command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
  [ -e /usr/include/ncurses.h ] || need+=(libncurses-dev)
  [ -x /bin/busybox ] || need+=(busybox-static)
  [ -d /usr/share/zoneinfo ] || need+=(tzdata)
  if ((${#need[@]})); then
    say "installing ${need[*]} from Debian's packages"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null || say "install failed"
  fi
fi

build() {  # runs in a subshell with -e; everything under $work
  set -euo pipefail
  local work=$1
  export GOPATH=$work/gopath GOFLAGS="-mod=mod -buildvcs=false" GO111MODULE=on
  export GOMODCACHE=${GOMODCACHE:-$(env -u GOPATH go env GOMODCACHE)}
  local zip src
  say "go mod download $module@$version+incompatible"
  zip=$(module_dir "$module@$version+incompatible")
  # A start-up check wants the source at a GOPATH-style path.
  src=$GOPATH/src/$module
  mkdir -p "$(dirname "$src")"
  cp -r "$zip" "$src"
  chmod -R u+w "$src"
  cp "$recipe/go.mod" "$src/go.mod"
  [ -f "$recipe/go.sum" ] && cp "$recipe/go.sum" "$src/go.sum"

  # github.com/cockroachdb/errors v1.2.4 plus the one function v20.1 needs from its own branch.
  local errs
  errs=$(module_dir github.com/cockroachdb/errors@v1.2.4)
  cp -r "$errs" "$work/errors"
  chmod -R u+w "$work/errors"
  printf 'module github.com/cockroachdb/errors\n\ngo 1.13\n' >"$work/errors/go.mod"
  cp "$recipe/errors_hastype.go" "$work/errors/"
  (cd "$src" && go mod edit -replace "github.com/cockroachdb/errors=$work/errors")

  say "source patches: Pebble by default, Go split-key check, no RocksDB-era assertion"
  patch_line "$src/pkg/storage/engine.go" \
    '"COCKROACH_STORAGE_ENGINE", "default"' '"COCKROACH_STORAGE_ENGINE", "pebble"'
  patch_line "$src/pkg/cli/start.go" \
    'engineType = enginepb.EngineTypeRocksDB' 'engineType = enginepb.EngineTypePebble'
  patch_line "$src/pkg/storage/rocksdb.go" \
    'return bool(C.MVCCIsValidSplitKey(goToCSlice(key)))' \
    'return isValidSplitKey(key, keys.NoSplitSpans)'
  patch_line "$src/pkg/storage/rocksdb.go" \
    '"github.com/cockroachdb/cockroach/pkg/base"' \
    '"github.com/cockroachdb/cockroach/pkg/base"; "github.com/cockroachdb/cockroach/pkg/keys"'
  patch_line "$src/pkg/storage/pebble.go" \
    'var _ pebble.NeedCompacter = &pebbleDeleteRangeCollector{}' ''

  say "stand-in libroach (RocksDB C API answers 'not built'; file locks are real)"
  mkdir -p "$work/lib"
  python3 "$recipe/stub_libroach.py" "$src/c-deps/libroach/include/libroach.h" >"$work/lib/stub.c"
  gcc -O2 -c -I"$src/c-deps/libroach/include" "$work/lib/stub.c" -o "$work/lib/stub.o"
  ar rcs "$work/lib/libroach.a" "$work/lib/stub.o"
  for empty in protobuf rocksdb snappy; do ar rcs "$work/lib/lib$empty.a"; done

  nice -n 10 bash "$recipe/generate.sh" "$src" "$work/bin"

  say "go build ./pkg/cmd/cockroach-oss (-tags stdmalloc)"
  (cd "$src" && CGO_LDFLAGS="-L$work/lib" nice -n 10 go build -tags stdmalloc \
    -ldflags "-checklinkname=0 -X $module/pkg/build.tag=$version" \
    -o "$work/cockroach" ./pkg/cmd/cockroach-oss)
  "$work/cockroach" version >/dev/null
  cp "$src/go.sum" "$work/go.sum"
}

module_dir() {  # module@version: download it through the proxy, print its folder
  local json dir
  json=$(go mod download -json "$1") || true
  dir=$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' <<<"$json")
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    echo "cannot download $1: $(sed -n 's/^\t"Error": "\(.*\)"$/\1/p' <<<"$json")" >&2
    return 1
  fi
  echo "$dir"
}

patch_line() {  # file old new: replace one exact line fragment, fail when it is not there
  local file=$1 old=$2 new=$3
  grep -qF -- "$old" "$file" || { echo "patch target not found in $file: $old"; return 1; }
  OLD=$old NEW=$new perl -0pi -e 's/\Q$ENV{OLD}\E/$ENV{NEW}/' "$file"
}

if [ ! -x "$binary" ]; then
  if ! command -v go >/dev/null 2>&1; then
    say "no Go toolchain: $image not built (the real-CockroachDB tests will skip)"; exit 0
  fi
  if ! command -v gcc >/dev/null 2>&1; then
    say "no C compiler: $image not built (the real-CockroachDB tests will skip)"; exit 0
  fi
  mkdir -p "$cache"
  work=$(mktemp -d "$cache/build.XXXXXX")
  log=$cache/build.log
  start=$(date +%s)
  say "building CockroachDB $version from its Go module (log: $log)"
  (build "$work") >"$log" 2>&1  # not under `if`: that would switch off -e inside
  status=$?
  if [ "$status" = 0 ]; then
    mv "$work/cockroach" "$binary"
    cp "$work/go.sum" "$cache/go.sum"
    rm -rf "$work"
    say "built $binary in $(($(date +%s) - start)) s"
  else
    tail -n 15 "$log" | sed 's/^/      /'
    rm -rf "$work"
    say "the CockroachDB build failed (log: $log): the real-CockroachDB tests will skip"
    exit 0
  fi
else
  say "reusing $binary"
fi

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  say "no Docker engine answers: $image not built"; exit 0
fi
# The image carries the checksum of the binary inside: a rebuilt binary gets a new image.
sum=$(sha256sum "$binary" | cut -c1-64)
inside=$(docker image inspect -f '{{index .Config.Labels "io.iam-sandbox.cockroach-sha256"}}' \
  "$image" 2>/dev/null || true)
if [ "$inside" = "$sum" ]; then
  say "image $image is present and holds $binary"; exit 0
fi
if [ ! -x /bin/busybox ]; then say "busybox-static missing: $image not built"; exit 0; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{bin,cockroach,etc,tmp,usr/share}
cp "$binary" "$root/cockroach/cockroach"
cp /bin/busybox "$root/bin/busybox"
for app in sh cat echo ls sleep; do ln -s busybox "$root/bin/$app"; done
ldd "$binary" | grep -o '/[^ ]*' | sort -u | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
done
cp -a /usr/share/zoneinfo "$root/usr/share/zoneinfo"
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
chmod 1777 "$root/tmp"
tar -C "$root" -cf "$work/image.tar" .
if docker import --change 'ENTRYPOINT ["/cockroach/cockroach"]' --change 'WORKDIR /cockroach' \
  --change 'LABEL io.iam-sandbox.test-image=1' \
  --change "LABEL io.iam-sandbox.cockroach-sha256=$sum" \
  --change "LABEL org.opencontainers.image.title=\"CockroachDB $version built from its Go module\"" \
  "$work/image.tar" "$image" >/dev/null; then
  say "built $image (CockroachDB $version built from its Go module)"
else
  say "docker import of $image failed"
fi
