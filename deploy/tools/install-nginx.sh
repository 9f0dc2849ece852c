#!/usr/bin/env bash
# Installs nginx from Debian's packages, for the local one-origin proxy on :8000 (`make up`)
# and the browser tests. Idempotent: does nothing when an nginx binary is already there.
# Needs root (apt-get); the stack runs nginx itself, so the package's system service is
# neither needed nor started.
#
#   deploy/tools/install-nginx.sh     # prints the nginx binary's path
set -euo pipefail

find_nginx() { command -v nginx 2>/dev/null || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; }; }

if found="$(find_nginx)"; then echo "$found"; exit 0; fi

if [[ "$(id -u)" != 0 ]]; then
  echo "install-nginx: nginx is missing; as root run: apt-get install -y nginx-light (or nginx)" >&2
  exit 1
fi
# Concurrent installs (parallel test sessions) wait for each other instead of racing dpkg.
exec 9>/tmp/rex-install-nginx.lock
flock -w 600 9 || { echo "install-nginx: timed out waiting for the install lock" >&2; exit 1; }
if found="$(find_nginx)"; then echo "$found"; exit 0; fi

export DEBIAN_FRONTEND=noninteractive
# policy-rc.d 101: the package's postinst must not start a system nginx on :80.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
fi
trap '[[ $created_policy == 1 ]] && rm -f "$policy"' EXIT
apt-get update -qq >&2 || true
apt-get install -y -qq --no-install-recommends nginx >&2
find_nginx
