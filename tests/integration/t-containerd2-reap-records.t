#!/usr/bin/env bash
# t-containerd2-reap-records.t — t-containerd-reap-records.t on containerd
# 2.1.9 (Debian sid's, in the chroot tests/lib/docker-versions.sh caches):
# the printed ctr commands for record garbage run against containerd 2.x,
# and quarantine on its root. Skips with the reason when the chroot cannot
# be had.
CTRD_V=2 exec bash "$(dirname "$0")/t-containerd-reap-records.t"
