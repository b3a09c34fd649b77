# shellcheck shell=bash disable=SC2154 # $cache: set by the caller
# Debian's newer suites (sid, experimental) through a private apt configuration under the lab
# cache, never through /etc/apt (that would upgrade this machine). The mirror is the one this
# machine's own apt sources name, read at run time. The lists are amd64 + arm64 for sid and
# experimental, and arm64 for this machine's own release (bookworm: the arm64 lab's busybox),
# all without `dpkg --add-architecture`. Sourced by the lab scripts:
#   debian_apt_update            # once per day at most: the package lists of those suites
#   debian_apt_newest REGEX      # newest package name matching REGEX (anchored) in those lists
#   debian_apt_version PKG [SUITE]   # its candidate version (PKG may be NAME:ARCH), or the
#                                # version SUITE has (e.g. bookworm)
#   debian_apt_download PKG [SUITE]  # the .deb, cached in $cache/apt/debs/; prints its path
#   debian_host_suite            # this machine's release codename (bookworm)
# Each returns non-zero with one line on stderr when it cannot.
# Needs: $cache (the lab cache directory).

# The main Debian mirror of this machine (deb822 .sources or one-line sources.list), not the
# security archive.
debian_mirror() {
	local m
	m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
		/^URIs:/ { u = $2 } /^Suites:/ { if ($0 !~ /security/ && u ~ /debian/) { print u; exit } }')
	[ -n "$m" ] || m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\/.*debian/) { print $i; exit } }')
	[ -n "$m" ] || { echo "debian-apt: no Debian mirror in this machine's apt sources" >&2; return 1; }
	echo "${m%/}"
}
debian_host_suite() {
	local VERSION_CODENAME=""
	# shellcheck disable=SC1091 # the machine's own file
	[ -r /etc/os-release ] && . /etc/os-release
	echo "${VERSION_CODENAME:-bookworm}"
}
# Dir::Cache::pkgcache: a kept binary cache of the lists (100 MB), whatever this machine's apt
# says (Debian's container images turn it off): each apt-cache call then takes 0.1 s, not 5 s.
debian_apt_opts() {
	local c=$cache/apt
	echo "-q -o Dir::Etc::sourcelist=$c/sources.list -o Dir::Etc::sourceparts=- -o Dir::State::Lists=$c/lists" \
		"-o Dir::Cache=$c/cache -o Dir::Cache::pkgcache=pkgcache.bin -o Dir::State::status=$c/status" \
		"-o APT::Architectures::=amd64 -o APT::Architectures::=arm64"
}
# Labs run side by side (scripts/lab-matrix.sh): updates and downloads take turns (flock).
debian_apt_locked() {
	mkdir -p "$cache/apt" || { echo "debian-apt: cannot create $cache/apt" >&2; return 1; }
	{ flock 9 && "$@"; } 9>"$cache/apt/privmem.lock"
}
debian_apt_update() { debian_apt_locked debian_apt_update_locked; }
debian_apt_download() { debian_apt_locked debian_apt_download_locked "$@"; }
debian_apt_update_locked() {
	local c=$cache/apt mirror
	mirror=$(debian_mirror) || return 1
	mkdir -p "$c/lists/partial" "$c/cache/archives/partial" "$c/debs" || { echo "debian-apt: cannot create $c" >&2; return 1; }
	: >>"$c/status"
	printf 'deb [arch=amd64,arm64] %s sid main\ndeb [arch=amd64,arm64] %s experimental main\ndeb [arch=arm64] %s %s main\n' \
		"$mirror" "$mirror" "$mirror" "$(debian_host_suite)" >"$c/sources.list.new"
	# Fresh enough: lists younger than a day from the same sources.
	if cmp -s "$c/sources.list.new" "$c/sources.list" && [ -n "$(find "$c/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n 1)" ]; then
		rm -f "$c/sources.list.new"
		return 0
	fi
	mv "$c/sources.list.new" "$c/sources.list"
	# shellcheck disable=SC2046 # options are words
	apt-get $(debian_apt_opts) update >"$c/update.log" 2>&1 ||
		{ echo "debian-apt: apt-get update of sid/experimental failed, see $c/update.log" >&2; return 1; }
}
debian_apt_newest() {
	# shellcheck disable=SC2046
	apt-cache $(debian_apt_opts) pkgnames 2>/dev/null | grep -E "^($1)\$" | sort -V | tail -n 1 | grep . ||
		{ echo "debian-apt: no package matching '$1' in sid/experimental" >&2; return 1; }
}
debian_apt_version() {
	if [ -n "${2:-}" ]; then
		# madison: "NAME | VERSION | MIRROR SUITE/main ARCH Packages", one line per suite
		# shellcheck disable=SC2046
		apt-cache $(debian_apt_opts) madison "$1" 2>/dev/null | awk -F' *[|] *' -v s=" $2/" 'index($3, s) { print $2; exit }' | grep . ||
			{ echo "debian-apt: $2 has no $1" >&2; return 1; }
		return 0
	fi
	# shellcheck disable=SC2046
	apt-cache $(debian_apt_opts) policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '(none)' | grep . ||
		{ echo "debian-apt: no candidate version of $1" >&2; return 1; }
}
debian_apt_download_locked() {
	local c=$cache/apt pkg=$1 ver f arch='*'
	ver=$(debian_apt_version "$pkg" "${2:-}") || return 1
	[[ $pkg != *:* ]] || arch=${pkg#*:}
	# shellcheck disable=SC2086 # $arch: a glob when the package names no architecture
	f=$(ls "$c/debs/${pkg%%:*}_${ver//:/%3a}_"$arch.deb 2>/dev/null | head -n 1)
	if [ -z "$f" ]; then
		# shellcheck disable=SC2046
		(cd "$c/debs" && apt-get $(debian_apt_opts) download "$pkg=$ver" >"$c/download.log" 2>&1) ||
			{ echo "debian-apt: apt-get download $pkg=$ver failed, see $c/download.log" >&2; return 1; }
		# shellcheck disable=SC2086
		f=$(ls "$c/debs/${pkg%%:*}_${ver//:/%3a}_"$arch.deb 2>/dev/null | head -n 1)
	fi
	[ -n "$f" ] || { echo "debian-apt: $pkg downloaded but not found in $c/debs" >&2; return 1; }
	echo "$f"
}
