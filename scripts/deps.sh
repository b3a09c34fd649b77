#!/bin/sh
# Install the Debian packages privmem uses, idempotently.
# Without root, print the exact command and fail: nothing is half-installed.
set -eu
[ $# -gt 0 ] || { echo "usage: deps.sh PACKAGE..." >&2; exit 2; }
missing=""
for p in "$@"; do
	if [ "$p" = linux-source-6.12 ] && [ "${KERNEL_SRC_NEEDED:-1}" = 0 ]; then
		continue   # KDIR given: the kernel tree provides the kselftest framework
	fi
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
# NO_RECOMMENDS=1: without the packages' recommends (make deps-lava: lava-dispatcher's are a lab).
opts="-y -q"
[ "${NO_RECOMMENDS:-}" != 1 ] || opts="$opts --no-install-recommends"
if [ "$(id -u)" != 0 ]; then
	echo "privmem: missing packages; as root run: apt-get install $opts$missing" >&2
	exit 1
fi
echo "  DEPS    installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists; refresh once if the install cannot resolve.
# shellcheck disable=SC2086
apt-get install $opts $missing >/dev/null 2>&1 || {
	apt-get update -q >/dev/null
	apt-get install $opts $missing >/dev/null
}
