#!/usr/bin/env bash
# t-deb.t — the Debian package: tools/mkdeb.sh (what `make deb` runs) builds
# ovl2fsck_<version>_<arch>.deb from debian/ with dpkg-buildpackage in a copy
# of the tree (here into a temp dir: DEB_OUT), lintian finds no error, the
# package holds what it should; dpkg -i, ovl2fsck --report on the demo store
# and `docker fsck` work; apt-get purge leaves none of its files behind.
# Needs root and tools/install-deps.sh deb; refuses to touch a machine where
# ovl2fsck is already installed as a package.
. "$(dirname "$0")/../lib/tap.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (dpkg -i)"
for c in dpkg-buildpackage dh lintian git; do
    command -v "$c" >/dev/null || skip_all "no $c (run: tools/install-deps.sh deb)"
done
st=$(dpkg-query -W -f='${db:Status-Abbrev}' ovl2fsck 2>/dev/null || true)
case "$st" in
    ''|un*|pn*) ;;
    *) skip_all "an ovl2fsck package is already installed here ($st): not replacing it" ;;
esac
tap_tmpdir
VERSION=$(cat "$TAP_TOP/VERSION")
ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
DEB=$TAP_TMP/deb/ovl2fsck_${VERSION}_$ARCH.deb

is "$(cd "$TAP_TOP" && dpkg-parsechangelog -S Version)" "$VERSION" "debian/changelog is at VERSION ($VERSION)"
ok "LICENSE is a standard licence" grep -q '^MIT License$' "$TAP_TOP/LICENSE"
ok "debian/copyright names it" grep -q '^License: MIT$' "$TAP_TOP/debian/copyright"

# ---- build ------------------------------------------------------------------------
# the files dpkg-buildpackage and dh would leave in a tree they build in
junk() {
    local d
    for d in "$TAP_TOP"/debian/{ovl2fsck,.debhelper,tmp,files,debhelper-build-stamp,ovl2fsck.substvars} \
             "$TAP_TOP"/debian/*.debhelper.log "$(dirname "$TAP_TOP")"/ovl2fsck_*; do
        [ -e "$d" ] && echo "$d"
    done
}
junk_before=$(junk)
t0=$SECONDS
DEB_OUT=$TAP_TMP/deb "$TAP_TOP/tools/mkdeb.sh" >"$TAP_TMP/mkdeb.out" 2>&1
rc=$?
is "$rc" 0 "tools/mkdeb.sh (make deb) succeeds" || diag "$(tail -n 30 "$TAP_TMP/mkdeb.out")"
note "built and linted in $((SECONDS - t0))s"
ok "ovl2fsck_${VERSION}_$ARCH.deb is built where told" test -f "$DEB" || bail_out "no package"
ok "the .changes and .buildinfo are beside it" test -f "${DEB%.deb}.changes" -a -f "${DEB%.deb}.buildinfo"
ok "dpkg-buildpackage ran (its log is kept)" grep -q 'dpkg-buildpackage' "$TAP_TMP/deb/build.log"
is "$(grep -c '^E: ' "$TAP_TMP/deb/lintian.log")" 0 "lintian: no error"
note "lintian: $(grep -c '^W: ' "$TAP_TMP/deb/lintian.log") warnings"
is "$(junk)" "$junk_before" "no build leftovers in the source tree or its parent"
ok "the temporary build tree is gone" test ! -e "$TAP_TMP/deb/src"

# ---- contents -----------------------------------------------------------------------
contents=$(dpkg-deb -c "$DEB" | awk '{ print $1, $6 }')
for f in "-rwxr-xr-x ./usr/sbin/ovl2fsck" \
         "-rw-r--r-- ./usr/share/man/man8/ovl2fsck.8.gz" \
         "-rw-r--r-- ./lib/systemd/system/ovl2fsck.service" \
         "-rw-r--r-- ./lib/systemd/system/ovl2fsck.timer" \
         "-rwxr-xr-x ./usr/libexec/docker/cli-plugins/docker-fsck" \
         "-rw-r--r-- ./usr/share/doc/ovl2fsck/examples/ovl2fsck.conf.example" \
         "-rw-r--r-- ./usr/share/doc/ovl2fsck/examples/ovl2fsck.cron" \
         "-rw-r--r-- ./usr/share/doc/ovl2fsck/changelog.gz" \
         "-rw-r--r-- ./usr/share/doc/ovl2fsck/copyright"; do
    ok "the package holds ${f#* ./} (${f%% *})" grep -qxF -- "$f" <<<"$contents"
done
unlike "$contents" ' \./etc/' "nothing in /etc (no conffile: purge has nothing to keep)"
is "$(dpkg-deb -f "$DEB" Package)/$(dpkg-deb -f "$DEB" Version)/$(dpkg-deb -f "$DEB" Architecture)" \
    "ovl2fsck/$VERSION/$ARCH" "control: package, version, architecture"
like "$(dpkg-deb -f "$DEB" Depends)" 'libsqlite3-0.*libssl3|libssl3.*libsqlite3-0' "control: the shared libraries as dependencies"

# ---- install, run ---------------------------------------------------------------------
at_exit 'dpkg-query -W ovl2fsck >/dev/null 2>&1 && apt-get purge -y -qq ovl2fsck >/dev/null 2>&1'
DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB" >"$TAP_TMP/install.out" 2>&1
is "$?" 0 "dpkg -i succeeds" || diag "$(cat "$TAP_TMP/install.out")"
dpkg -L ovl2fsck >"$TAP_TMP/files" 2>/dev/null
ok "dpkg -L lists the binary" grep -qx /usr/sbin/ovl2fsck "$TAP_TMP/files"
is "$(/usr/sbin/ovl2fsck --version)" "ovl2fsck $VERSION" "/usr/sbin/ovl2fsck --version"
ok "the man page is installed" test -s /usr/share/man/man8/ovl2fsck.8.gz
for u in ovl2fsck.service ovl2fsck.timer; do
    is "$(find /etc/systemd/system -name "$u" 2>/dev/null)" "" "$u is installed, not enabled"
done
S=$TAP_TMP/demo
mkdir "$S" && tar --xattrs --xattrs-include='*' --numeric-owner -xzf "$TAP_TOP/fixtures/demo-store.tar.gz" -C "$S"
/usr/sbin/ovl2fsck --report --root "$S" >"$TAP_TMP/report" 2>&1
is "$?" 4 "installed ovl2fsck --report on the demo store: exit 4 (its four demo findings)"
like "$(cat "$TAP_TMP/report")" 'summary: 0 errors, 4 garbage' "installed ovl2fsck --report: the report"
if [ -x /usr/bin/docker ]; then
    # the system's plugin dir, the package's plugin, the package's binary
    got=$(env -u OVL2FSCK DOCKER_CONFIG="$TAP_TMP/docker-config" DOCKER_HOST="unix://$TAP_TMP/none.sock" \
        /usr/bin/docker fsck --report --root "$S" 2>&1)
    is "$?" 4 "docker fsck --report (the installed plugin, the installed binary): exit 4"
    like "$got" 'summary: 0 errors, 4 garbage' "docker fsck --report: the report"
else
    skip 2 "no /usr/bin/docker"
fi

# ---- purge --------------------------------------------------------------------------
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq -o DPkg::Lock::Timeout=120 ovl2fsck >"$TAP_TMP/purge.out" 2>&1
is "$?" 0 "apt-get purge ovl2fsck succeeds" || diag "$(cat "$TAP_TMP/purge.out")"
is "$(dpkg-query -W -f='${db:Status-Abbrev}' ovl2fsck 2>/dev/null)" "" "dpkg knows the package no more"
left=
while IFS= read -r f; do
    if [ -d "$f" ]; then
        # a dir other packages own (/usr, /lib/systemd/system) stays; so does
        # one holding files that are not ours (or /lib, a symlink to usr/lib
        # here); an empty one of ours must go
        dpkg -S "$f" >/dev/null 2>&1 && continue
        [ -n "$(find "$f/" -mindepth 1 -print -quit 2>/dev/null)" ] && continue
    fi
    { [ -e "$f" ] || [ -L "$f" ]; } && left="$left $f"
done <"$TAP_TMP/files"
is "$left" "" "after purge no file of dpkg -L is left ($(wc -l <"$TAP_TMP/files") paths checked)"
is "$(ls /var/lib/dpkg/info/ovl2fsck.* 2>/dev/null)" "" "no maintainer scripts or lists left in /var/lib/dpkg/info"
is "$(find /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked \
        -name 'ovl2fsck*' 2>/dev/null)" "" "no systemd helper state left"

done_testing
