# tests/integration/ops-lib.bash — helpers shared by the t-ops-*.t tests
# (config, own checks, metrics, install, man page, human output).
# Source after tests/lib/tap.sh; needs no dockerd: the stores are made by hand.

# ops_store DIR: a minimal store whose only finding is one orphaned overlay2
# dir (garbage, 3 days old) holding a 10000-byte file.
OPS_ORPHAN=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
ops_store() {
    local d=$1
    mkdir -p "$d/image/overlay2/imagedb/content/sha256" "$d/image/overlay2/layerdb/sha256" \
        "$d/containers" "$d/overlay2/l" "$d/overlay2/$OPS_ORPHAN/diff"
    head -c 10000 /dev/zero > "$d/overlay2/$OPS_ORPHAN/diff/file"
    touch -d '3 days ago' "$d/overlay2/$OPS_ORPHAN/diff/file" "$d/overlay2/$OPS_ORPHAN/diff" \
        "$d/overlay2/$OPS_ORPHAN"
}

# ops_clean_store DIR: a store with nothing to report.
ops_clean_store() {
    mkdir -p "$1/image/overlay2/imagedb/content/sha256" "$1/image/overlay2/layerdb/sha256" \
        "$1/containers" "$1/overlay2/l"
}

# ops_run OUT ERR [ARGS...]: run the binary, stdout to OUT, stderr to ERR;
# sets RC. The config and checks dir default to empty ones (hermetic tests)
# unless the arguments name others (or OPS_CONFIG_DIR=1: the checks dir is
# left to the config file).
ops_run() {
    local out=$1 err=$2
    shift 2
    local extra=()
    [[ " $* " == *" --config "* ]] || extra+=(--config "$OPS_EMPTY_CONF")
    [[ " $* " == *" --checks-dir "* || ${OPS_CONFIG_DIR:-0} = 1 ]] || extra+=(--checks-dir "$OPS_EMPTY_DIR")
    RC=0
    "$OVL2FSCK" "${extra[@]}" "$@" >"$out" 2>"$err" || RC=$?
}

# ops_setup: TAP_TMP, an empty config and checks dir; bail out without a binary.
ops_setup() {
    [ -x "$OVL2FSCK" ] || bail_out "no binary at $OVL2FSCK (run make)"
    tap_tmpdir
    OPS_EMPTY_CONF=$TAP_TMP/empty.conf
    OPS_EMPTY_DIR=$TAP_TMP/empty.d
    : > "$OPS_EMPTY_CONF"
    mkdir -p "$OPS_EMPTY_DIR"
}

# prom_value FILE SERIES: the value of the sample whose name+labels is SERIES.
prom_value() {
    awk -v s="$2" 'substr($0, 1, length(s) + 1) == s " " { print $2 }' "$1"
}
