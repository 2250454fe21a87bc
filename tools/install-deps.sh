#!/usr/bin/env bash
# tools/install-deps.sh — install the Debian 12 packages that building ovl2fsck and
# running its tests need. Idempotent: when every package is already installed it
# does nothing (no apt-get at all). Run as root (make deps, make test).
set -euo pipefail

PKGS=(
    build-essential pkg-config
    libsqlite3-dev libcjson-dev libssl-dev zlib1g-dev libcmocka-dev
    sqlite3 python3
    docker.io busybox-static      # integration tests: a real dockerd, a static busybox base
    strace valgrind clang iproute2
    prometheus mandoc systemd man-db groff-base   # ops tests: promtool, man page lint, systemd-analyze
    time                                          # make bench: peak RSS via /usr/bin/time -v
)

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
    echo "install-deps: all ${#PKGS[@]} packages present"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to install packages (run: sudo $0)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
