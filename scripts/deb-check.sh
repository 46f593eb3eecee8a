#!/bin/sh
# `make deb-check`: proof that the Debian package works on a clean system.
#
# Builds the package (scripts/deb-build.sh: dpkg-buildpackage, lintian),
# makes a clean Debian 12 root with mmdebstrap (variant apt: only the
# essential packages and apt; bookworm, bookworm-updates and
# bookworm-security, as a fresh machine has them) and runs
# scripts/deb-check-inside.sh in it: install the package's dependencies and
# the package, `a2enmod winmdm`, `winmdm-setup`, `a2ensite`,
# `apache2ctl -t`, start httpd, send the real Windows discovery capture
# (t/fixtures/windows10) over HTTPS and check the answer, check the admin
# API with the administrator the setup made, purge the package and check
# that only what the administrator made is left. The root is thrown away
# afterwards (mmdebstrap --format=null).
#
# The root shares this machine's network, so the site listens on a free
# port here rather than 443, and Debian's own Listen 80 and 443 move out
# of the way.
#
# Where mmdebstrap cannot run (not root, or not installed), or with
# WM_DEB_CHECK_MODE=host, the same checks run on this machine itself: its
# apache2 configuration is then changed (modules and a site enabled, ports
# moved) and the package is purged at the end.
#
# Environment:
#   WM_DEB_CHECK_MODE    chroot (default) or host
#   WM_DEB               an already built .deb (default: build one)
#   WM_DEB_MIRROR        Debian mirror (default http://deb.debian.org)
set -e

if [ ! -f debian/control ] || [ ! -f Makefile ]; then
    echo "deb-check: run me from the top of the tree" >&2
    exit 1
fi
top=$(pwd)
mode=${WM_DEB_CHECK_MODE:-chroot}
mirror=${WM_DEB_MIRROR:-http://deb.debian.org}
fixture="$top/t/fixtures/windows10/discovery_request_win10_19043_reqver4.xml"
inside="$top/scripts/deb-check-inside.sh"

[ "$(id -u)" = 0 ] || {
    echo "deb-check: run me as root (the package is installed into a root file system)" >&2
    exit 1
}

if [ -n "${WM_DEB:-}" ]; then
    deb=$(readlink -f "$WM_DEB")
else
    sh "$top/scripts/deb-build.sh"
    deb=$(cat "$top/build/deb/package")
fi
[ -f "$deb" ] || {
    echo "deb-check: $deb: no such file" >&2
    exit 1
}

# Two free ports, found here: the root shares this machine's network.
ports=$(perl -MIO::Socket::INET -e '
    for (my $p = 18443; $p < 19443; $p += 2) {
        my $a = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
            LocalPort => $p, Listen => 1, ReuseAddr => 1) or next;
        my $b = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
            LocalPort => $p + 1, Listen => 1, ReuseAddr => 1) or next;
        print "$p ", $p + 1;
        exit 0;
    }
    exit 1')
https_port=${ports% *}
http_port=${ports#* }

# mmdebstrap's root mode mounts /proc, /sys and /dev in the new root: a
# container without that right cannot make one.
can_mount() {
    unshare --mount --propagation private sh -c '
        d=$(mktemp -d) || exit 1
        mount -t proc proc "$d" 2>/dev/null && umount "$d"
        r=$?
        rmdir "$d"
        exit $r' 2>/dev/null
}
if [ "$mode" = chroot ]; then
    if ! command -v mmdebstrap >/dev/null 2>&1; then
        echo "deb-check: mmdebstrap is not installed (sh scripts/deps.sh deb-check); checking on this machine instead"
        mode=host
    elif ! can_mount; then
        echo "deb-check: this machine cannot mount file systems for a new root (a container without the right?); checking on this machine instead"
        mode=host
    fi
fi

start=$(date +%s)
case $mode in
chroot)
    echo "deb-check: a clean Debian 12 root (mmdebstrap --variant=apt bookworm), the package $(basename "$deb"), HTTPS on port $https_port"
    mmdebstrap --variant=apt --format=null \
        --customize-hook="copy-in $deb $fixture $inside /tmp" \
        --customize-hook="chroot \"\$1\" sh /tmp/$(basename "$inside") /tmp/$(basename "$deb") /tmp/$(basename "$fixture") $https_port $http_port" \
        bookworm /dev/null \
        "deb $mirror/debian bookworm main" \
        "deb $mirror/debian bookworm-updates main" \
        "deb $mirror/debian-security bookworm-security main"
    ;;
host)
    echo "deb-check: on this machine, the package $(basename "$deb"), HTTPS on port $https_port"
    if dpkg-query -W -f='${Status}' libapache2-mod-winmdm 2>/dev/null | grep -q "ok installed"; then
        echo "deb-check: libapache2-mod-winmdm is already installed here; purge it first" >&2
        exit 1
    fi
    sh "$inside" "$deb" "$fixture" "$https_port" "$http_port"
    ;;
*)
    echo "deb-check: WM_DEB_CHECK_MODE is chroot or host, not '$mode'" >&2
    exit 2
    ;;
esac
echo "deb-check: PASSED ($mode, $(($(date +%s) - start)) s)"
