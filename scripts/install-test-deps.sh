#!/usr/bin/env bash
# System packages for the SLURM, SSH, browser, hung-share (FUSE) and NATS JetStream tests, and the C
# compiler of the native stat helper (its comparison tests fail without it under CI=true) (Debian 12).
# Run as root; ~20 s.
#   scripts/install-test-deps.sh          install them
#   scripts/install-test-deps.sh --print  print the package names only (for .ci/run)
set -euo pipefail
PACKAGES=(slurm-wlm munge openssh-server openssh-client util-linux procps docker-compose chromium fuse3 python3-fusepy nats-server gcc libc6-dev)
if [ "${1:-}" = --print ]; then
  echo "${PACKAGES[*]}"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-test-deps.sh: run as root: apt-get install -y ${PACKAGES[*]}" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
echo "installed: ${PACKAGES[*]}"
