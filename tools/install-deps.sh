#!/usr/bin/env bash
# tools/install-deps.sh [SET...] — install the Debian 12 packages a make target
# needs. Idempotent: when every package of the sets is already installed it does
# nothing (no apt-get at all). Run as root.
#
#   build   compiler, pkg-config and the four -dev libraries: all that `make`
#           and `make demo` need. Starts no daemon. (the default)
#   test    build + what `make test` needs: cmocka, a real dockerd (docker.io;
#           on a systemd machine installing it starts the system docker.service),
#           busybox-static, strace, valgrind, promtool, man-page lint, ...
#   bench   build + what `make bench` needs
#   fuzz    build + clang (libFuzzer) for `make fuzz`
#   deb     build + what `make deb` needs: debhelper, dpkg-dev, lintian
#   versions build + debootstrap, zstd: `make test-versions` and `make test-crash`
#           run Docker 26/28 from Debian chroots they build
#
# Several sets may be given at once (tools/install-deps.sh test deb).
set -euo pipefail

BUILD_PKGS=(build-essential pkg-config libsqlite3-dev libcjson-dev libssl-dev zlib1g-dev)
TEST_PKGS=(
    libcmocka-dev sqlite3 python3
    docker.io busybox-static      # integration tests: a real dockerd, a static busybox base
    containerd                    # t-containerd: a private containerd 1.6 (ctr)
    strace valgrind iproute2
    xfsprogs                      # t-diskfull-real: a full xfs as well as a full ext4
    prometheus mandoc systemd man-db groff-base   # ops tests: promtool, man page lint, systemd-analyze
)
BENCH_PKGS=(time python3)        # peak RSS via /usr/bin/time -v
FUZZ_PKGS=(clang)
DEB_PKGS=(debhelper dpkg-dev fakeroot lintian)
VERSIONS_PKGS=(debootstrap zstd faketime)   # make test-versions, test-crash: Docker 26/28 in Debian chroots; faketime: t-containerd-crash.t

usage() {
    echo "usage: $0 [build|test|bench|fuzz|deb|versions]..." >&2
    exit 2
}

[ $# -gt 0 ] || set -- build
PKGS=("${BUILD_PKGS[@]}")
for set in "$@"; do
    case "$set" in
        build) ;;
        test)  PKGS+=("${TEST_PKGS[@]}") ;;
        bench) PKGS+=("${BENCH_PKGS[@]}") ;;
        fuzz)  PKGS+=("${FUZZ_PKGS[@]}") ;;
        deb)   PKGS+=("${DEB_PKGS[@]}") ;;
        versions) PKGS+=("${VERSIONS_PKGS[@]}") ;;
        -h|--help) usage ;;
        *) echo "install-deps: unknown set '$set'" >&2; usage ;;
    esac
done
# each package once, in order
mapfile -t PKGS < <(printf '%s\n' "${PKGS[@]}" | awk '!seen[$0]++')

missing=()
for p in "${PKGS[@]}"; do
    # dpkg -s alone also succeeds for removed-but-configured packages: check the state.
    st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    case "$st" in
        ii*) ;;
        *) missing+=("$p") ;;
    esac
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps ($*): all ${#PKGS[@]} packages present"
    exit 0
fi

echo "install-deps ($*): installing ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to install packages (run: sudo $0 $*)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
