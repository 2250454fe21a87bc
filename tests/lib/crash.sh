# shellcheck shell=bash
# tests/lib/crash.sh — dockerd of one of three Docker versions, killed with -9
# in the middle of an operation (tests/integration/t-crash.t).
#
#   cr_prereq_missing V         # why version V cannot run here (nothing when it can)
#   cr_start V DATA EXEC        # V's dockerd on DATA (20: the host's docker.io
#                               # 20.10, tests/lib/dockerd.sh; 26: trixie, 28: sid,
#                               # tests/lib/docker-versions.sh); CR_BIND dirs visible
#   cr_docker ARGS...           # V's docker CLI against it
#   cr_stop                     # clean stop (TERM), mounts gone
#   cr_kill9                    # kill -9 dockerd, at once its containerd, then the
#                               # shims and what runs in them; reaps them, unmounts
#                               # what the daemon left mounted; the daemon is gone
#   cr_build_base V DIR WORK    # DIR: a stopped store of V for the trials; WORK:
#                               # the build contexts and load archive of the ops
#   cr_op OP WORK [--repeat]    # operation OP (load, classic, buildkit, rmi, prune)
#
# Only paths below DATA, EXEC and WORK are written; every daemon started is
# stopped at exit (at_exit of tap.sh).

CR_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$CR_LIB_DIR/store.sh"
. "$CR_LIB_DIR/docker-versions.sh"
CR_V='' CR_DATA='' CR_EXEC=''
CR_BIND=()

cr_suite() { case "$1" in 26) echo trixie ;; 28) echo sid ;; *) echo "" ;; esac; }

cr_prereq_missing() {
    case "$1" in
        20) store_prereq_missing ;;
        26|28) dv_prereq_missing "$(cr_suite "$1")" ;;
        *) echo "unknown version $1" ;;
    esac
}

cr_start() {
    CR_V=$1 CR_DATA=$2 CR_EXEC=$3
    if [ "$CR_V" = 20 ]; then
        dockerd_start "$CR_DATA" "$CR_EXEC"
    else
        local DV_BIND=("${CR_BIND[@]}")
        dv_start "$(cr_suite "$CR_V")" "$CR_DATA" "$CR_EXEC"
    fi
}

cr_docker() {
    if [ "$CR_V" = 20 ]; then dockerd_docker "$@"; else dv_docker "$@"; fi
}

cr_log() { if [ "$CR_V" = 20 ]; then echo "$DOCKERD_LOG"; else echo "$DV_LOG"; fi; }

cr_stop() {
    if [ "$CR_V" = 20 ]; then dockerd_stop; else dv_stop; fi
}

# _cr_tree PID...: PID and all their descendants.
_cr_tree() {
    local CR_PARENTS="$*" all="$*" new
    while :; do
        new=$(awk -v want=" $CR_PARENTS " '{
                  s = $0; sub(/^.*\) /, "", s); split(s, f, " ")
                  if (index(want, " " f[2] " ")) { p = FILENAME; sub("/proc/", "", p); sub("/stat", "", p); print p }
              }' /proc/[0-9]*/stat 2>/dev/null | sort -u)
        # shellcheck disable=SC2086
        new=$(comm -13 <(tr ' ' '\n' <<<"$all" | sort -u) <(printf '%s\n' $new | sort -u) | tr '\n' ' ')
        [ -n "${new// /}" ] || break
        all="$all $new"
        CR_PARENTS=$new
    done
    # shellcheck disable=SC2086
    printf '%s\n' $all | sort -u
}

# The shims of this daemon: their -address names EXEC's containerd socket.
_cr_shims() {
    local p
    for p in /proc/[0-9]*; do
        tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -q -- "-address $CR_EXEC/containerd/containerd.sock" &&
            echo "${p#/proc/}"
    done
    return 0
}

cr_kill9() {
    local pid cpid rest i
    if [ "$CR_V" = 20 ]; then pid=$DOCKERD_PID; else pid=$DV_PID; fi
    [ -n "$pid" ] || return 0
    # containerd: dockerd's child (looked up first: after dockerd dies it is re-parented)
    cpid=$(awk '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " ")
                  if (f[2] == '"$pid"') { p = FILENAME; sub("/proc/", "", p); sub("/stat", "", p); print p } }' \
           /proc/[0-9]*/stat 2>/dev/null)
    kill -KILL "$pid" 2>/dev/null
    # shellcheck disable=SC2086
    [ -z "$cpid" ] || kill -KILL $cpid 2>/dev/null
    wait "$pid" 2>/dev/null
    # the shims and what runs in them (a RUN step of a build), then anything left
    # of the tree (nothing in practice)
    # shellcheck disable=SC2046,SC2086
    rest=$(_cr_tree $(_cr_shims) $cpid)
    # shellcheck disable=SC2086
    [ -z "$rest" ] || kill -KILL $rest 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        local alive=
        for p in $rest; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ -z "$alive" ] && break
        sleep 0.05
    done
    # the client of the interrupted operation (CR_OP_PID) sees the daemon die
    if [ -n "${CR_OP_PID:-}" ]; then
        for ((i = 0; i < 200; i++)); do
            kill -0 "$CR_OP_PID" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$CR_OP_PID" 2>/dev/null
        wait "$CR_OP_PID" 2>/dev/null
        CR_OP_PID=
    fi
    if [ "$CR_V" = 20 ]; then
        DOCKERD_PID=
        daemon_umount_under "$CR_EXEC" "$CR_DATA"
    else
        DV_PID=
        dv_stop     # whatever else is left in its namespace (the namespace goes with it)
    fi
    return 0
}

# ---- the base store and the operations --------------------------------------

_cr_files() {   # DIR N: N small files in DIR
    local d=$1 n=$2 i
    mkdir -p "$d" || return 1
    for ((i = 0; i < n; i++)); do echo "$d $i" >"$d/f$i"; done
}

# cr_build_base V DIR WORK
cr_build_base() {
    local v=$1 store=$2 w=$3 ex rc=1 bb a
    mkdir -p "$w" || return 1
    ex=$(mktemp -d /tmp/o2c.XXXXXX) || return 1
    bb=$BUSYBOX_BIN
    [ -x "$bb" ] && ! [ -L "$bb" ] || bb=$DV_ROOTFS/bin/busybox
    # the busybox rootfs
    mkdir -p "$w/rootfs/bin" "$w/rootfs/etc" "$w/rootfs/tmp" "$w/rootfs/root" &&
        cp "$bb" "$w/rootfs/bin/busybox" || return 1
    for a in sh ls cat echo mkdir rm touch sleep true false test cp mv ln chmod head tail seq dd sync; do
        ln -sf busybox "$w/rootfs/bin/$a"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$w/rootfs/etc/passwd"
    printf 'root:x:0:\n' >"$w/rootfs/etc/group"
    tar --numeric-owner -C "$w/rootfs" -cf "$w/busybox.tar" . || return 1
    # contexts: the operations' builds (classic, buildkit) and the big images
    # shellcheck disable=SC2016
    local gen='i=0; while [ $i -lt 1500 ]; do echo $i > /gen/f$i; i=$((i+1)); done'
    _cr_files "$w/classic/ctx" 300 && head -c 16M /dev/urandom >"$w/classic/ctx/blob" || return 1
    printf '%s\n' 'FROM o2t/busybox:latest' 'COPY ctx /ctx' "RUN mkdir /gen && $gen" \
        'RUN rm -f /gen/f1* && echo two > /two' 'ENV STEP=3' 'RUN echo three > /three' \
        >"$w/classic/Dockerfile"
    _cr_files "$w/buildkit/ctx" 300 && head -c 16M /dev/urandom >"$w/buildkit/ctx/blob" || return 1
    printf '%s\n' 'FROM o2t/busybox:latest' 'COPY ctx /ctx' "RUN mkdir /gen && $gen" \
        'RUN rm -f /gen/f1* && echo two > /two' 'COPY ctx/f1 /f1' >"$w/buildkit/Dockerfile"
    _cr_files "$w/bigrm/data" 3000 && head -c 32M /dev/urandom >"$w/bigrm/data/blob" || return 1
    printf '%s\n' 'FROM o2t/busybox:latest' 'COPY data /data' 'RUN echo rm > /rm' >"$w/bigrm/Dockerfile"
    _cr_files "$w/bigload/d1" 3000 && head -c 48M /dev/urandom >"$w/bigload/d1/blob" &&
        _cr_files "$w/bigload/d2" 3000 && head -c 48M /dev/urandom >"$w/bigload/d2/blob" || return 1
    printf '%s\n' 'FROM o2t/busybox:latest' 'COPY d1 /d1' 'COPY d2 /d2' >"$w/bigload/Dockerfile"
    printf '%s\n' 'FROM o2t/busybox:latest' 'RUN mkdir /bk && echo one > /bk/one' 'COPY f /bk/f' >"$w/bkbase.Dockerfile"
    mkdir -p "$w/bkbase" && echo f >"$w/bkbase/f" && mv "$w/bkbase.Dockerfile" "$w/bkbase/Dockerfile" || return 1

    local CR_BIND=("$w")
    if cr_start "$v" "$store" "$ex/e"; then
        local d=cr_docker
        _store_run $d import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' "$w/busybox.tar" o2t/busybox:latest &&
            DOCKER_BUILDKIT=0 _store_run $d build --network none -t o2t/bigrm:latest "$w/bigrm" &&
            DOCKER_BUILDKIT=1 _store_run $d build --network none -t o2t/bk:latest "$w/bkbase" &&
            DOCKER_BUILDKIT=0 _store_run $d build --network none -t o2t/bigload:latest "$w/bigload" &&
            _store_run $d save -o "$w/bigload.tar" o2t/bigload:latest &&
            _store_run $d rmi o2t/bigload:latest &&
            _store_run $d tag o2t/busybox:latest o2t/busybox:other &&
            _store_run $d run --network none --name c-exited o2t/busybox:other true &&
            _store_run $d create --network none --name c-created o2t/busybox:latest true &&
            rc=0
        cr_stop
    fi
    if [ "$rc" != 0 ] && [ -f "$ex/e.log" ]; then
        tail -n 20 "$ex/e.log" | sed 's/^/# [crash]   /' >&2
    fi
    rm -rf --one-file-system "$ex"
    return "$rc"
}

# cr_op OP WORK [--repeat]: run operation OP with cr_docker (its output on
# stdout/stderr, its status). --repeat: the same operation once more after a
# restart; for rmi only the refs the daemon still lists.
cr_op() {
    local op=$1 w=$2 r refs=()
    case "$op" in
        load) cr_docker load -i "$w/bigload.tar" ;;
        classic) DOCKER_BUILDKIT=0 cr_docker build --network none -t o2t/crash-classic:latest "$w/classic" ;;
        buildkit) DOCKER_BUILDKIT=1 cr_docker build --network none -t o2t/crash-bk:latest "$w/buildkit" ;;
        rmi)
            if [ "${3:-}" = --repeat ]; then
                for r in o2t/bigrm:latest o2t/bk:latest; do
                    cr_docker image inspect "$r" >/dev/null 2>&1 && refs+=("$r")
                done
                [ ${#refs[@]} -gt 0 ] || return 0
                cr_docker rmi "${refs[@]}"
            else
                cr_docker rmi o2t/bigrm:latest o2t/bk:latest
            fi ;;
        prune) cr_docker system prune -af ;;
        *) echo "cr_op: unknown operation $op" >&2; return 2 ;;
    esac
}
