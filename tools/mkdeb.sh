#!/usr/bin/env bash
# tools/mkdeb.sh — what `make deb` runs (after tools/install-deps.sh deb):
# builds ovl2fsck_<version>_<arch>.deb with the Debian tooling in debian/
# (dpkg-buildpackage -us -uc -b, dh over the Makefile's make install), then
# lints it with lintian (errors fail the build; warnings are shown).
#
# dpkg-buildpackage writes its results to the parent dir and dh leaves
# debian/ovl2fsck, debian/.debhelper, ... behind: the build runs in a copy of
# the tree (the files git knows, modified or new, or the whole tree outside a
# git checkout) under build/deb/src, and the .deb, .changes and .buildinfo
# (and the -dbgsym package) land in build/deb/ (DEB_OUT overrides). Nothing is written to the source tree
# outside build/.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
out=${DEB_OUT:-$top/build/deb}
version=$(dpkg-parsechangelog -S Version)
if [ "$version" != "$(cat VERSION)" ]; then
    echo "mkdeb: debian/changelog is at $version, VERSION at $(cat VERSION): add a changelog entry (dch -v $(cat VERSION))" >&2
    exit 1
fi
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
src=$out/src/ovl2fsck-$version

rm -rf --one-file-system "$out/src"
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z -co --exclude-standard |
        while IFS= read -r -d '' f; do [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"; done |
        tar --null -T - -cf - | tar -xf - -C "$src"
else
    tar --exclude=./build --exclude=./ovl2fsck -cf - . | tar -xf - -C "$src"
fi
# a build of the tree itself must not be packaged
rm -rf "$src/build" "$src/ovl2fsck"

echo "mkdeb: dpkg-buildpackage -us -uc -b in $src"
(cd "$src" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$out/build.log" 2>&1 || {
    tail -n 40 "$out/build.log" >&2
    echo "mkdeb: dpkg-buildpackage failed (log: $out/build.log)" >&2
    exit 1
}
base=ovl2fsck_${version}_$arch
# the package, its -dbgsym companion, the .changes and .buildinfo
for f in "$out/src/"ovl2fsck*_"${version}"_*; do
    mv -f "$f" "$out/"
done
rm -rf --one-file-system "$out/src"

echo "mkdeb: lintian $base.changes (the packages it lists)"
lint_rc=0
lintian --fail-on error --info --display-info "$out/$base.changes" >"$out/lintian.log" 2>&1 || lint_rc=$?
sed 's/^/  /' "$out/lintian.log"
if [ "$lint_rc" != 0 ]; then
    echo "mkdeb: lintian found errors (exit $lint_rc)" >&2
    exit 1
fi
echo "mkdeb: $out/$base.deb"
