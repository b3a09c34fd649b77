# Debian's newer suites (sid, experimental) through a private apt configuration under the lab
# cache, never through /etc/apt (that would upgrade this machine). The mirror is the one this
# machine's own apt sources name, read at run time. Sourced by the lab scripts:
#   debian_apt_update            # once per day at most: the package lists of sid + experimental
#   debian_apt_newest REGEX      # newest package name matching REGEX (anchored) in those lists
#   debian_apt_version PKG       # its candidate version
#   debian_apt_download PKG      # the .deb, cached in $cache/apt/debs/; prints its path
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
debian_apt_opts() {
	local c=$cache/apt
	echo "-q -o Dir::Etc::sourcelist=$c/sources.list -o Dir::Etc::sourceparts=- -o Dir::State::Lists=$c/lists" \
		"-o Dir::Cache=$c/cache -o Dir::State::status=$c/status -o APT::Architectures::=amd64 -o APT::Architectures::=arm64"
}
debian_apt_update() {
	local c=$cache/apt mirror
	mirror=$(debian_mirror) || return 1
	mkdir -p "$c/lists/partial" "$c/cache/archives/partial" "$c/debs" || { echo "debian-apt: cannot create $c" >&2; return 1; }
	: >>"$c/status"
	printf 'deb [arch=amd64,arm64] %s sid main\ndeb [arch=amd64,arm64] %s experimental main\n' "$mirror" "$mirror" >"$c/sources.list.new"
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
	# shellcheck disable=SC2046
	apt-cache $(debian_apt_opts) policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '(none)' | grep . ||
		{ echo "debian-apt: no candidate version of $1" >&2; return 1; }
}
debian_apt_download() {
	local c=$cache/apt pkg=$1 ver f
	ver=$(debian_apt_version "$pkg") || return 1
	f=$(ls "$c/debs/${pkg%%:*}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n 1)
	if [ -z "$f" ]; then
		# shellcheck disable=SC2046
		(cd "$c/debs" && apt-get $(debian_apt_opts) download "$pkg=$ver" >"$c/download.log" 2>&1) ||
			{ echo "debian-apt: apt-get download $pkg=$ver failed, see $c/download.log" >&2; return 1; }
		f=$(ls "$c/debs/${pkg%%:*}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n 1)
	fi
	[ -n "$f" ] || { echo "debian-apt: $pkg downloaded but not found in $c/debs" >&2; return 1; }
	echo "$f"
}
