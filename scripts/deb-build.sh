#!/bin/sh
# `make deb`: builds the Debian package libapache2-mod-winmdm from this tree
# (debian/) with `dpkg-buildpackage -us -uc -b` and checks it with lintian,
# which must report no error.
#
# dpkg-buildpackage builds in place and writes its results into the
# parent folder; so the tree is copied into build/deb/src first (build
# products and generated test files left out), which leaves this tree's
# own build alone and puts the results in build/deb/:
#   build/deb/libapache2-mod-winmdm_VERSION_ARCH.deb (and its .changes,
#   .buildinfo, and the -dbgsym package)
# The path of the .deb is also written to build/deb/package.
set -e

if [ ! -f debian/control ] || [ ! -f Makefile ]; then
    echo "deb-build: run me from the top of the tree" >&2
    exit 1
fi
top=$(pwd)
out="$top/build/deb"
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
arch=$(dpkg --print-architecture)
name=libapache2-mod-winmdm

rm -rf "$out"
mkdir -p "$out/src"
tar -C "$top" \
    --exclude=./.git --exclude=./build --exclude=./run \
    --exclude=./t/logs --exclude=./t/state --exclude=./t/htdocs \
    --exclude=./t/TEST --exclude=./t/browser/screenshots \
    --exclude=./t/browser/node_modules \
    --exclude=./t/conf/apache_test_config.pm \
    --exclude='./t/conf/*.conf' --exclude='./t/conf/modperl_*' \
    --exclude='*.o' --exclude='*.lo' --exclude='*.slo' --exclude='*.la' \
    --exclude=.libs --exclude=./src/console_html.inc \
    --exclude=./t/unit/run_unit --exclude='./t/unit/*.tap' \
    --exclude='./t/fuzz/replay_*' --exclude=./t/fuzz/crashes \
    --exclude=./t/fuzz/fuzz_soap --exclude=./t/fuzz/fuzz_syncml \
    --exclude=./t/fuzz/fuzz_csr --exclude=./t/fuzz/fuzz_json \
    --exclude=./bench/loadgen \
    -cf - . | tar -C "$out/src" -xf -

echo "deb-build: dpkg-buildpackage -us -uc -b in $out/src"
(cd "$out/src" && dpkg-buildpackage -us -uc -b)

deb="$out/${name}_${version}_${arch}.deb"
changes="$out/${name}_${version}_${arch}.changes"
[ -f "$deb" ] || {
    echo "deb-build: $deb was not built" >&2
    exit 1
}
echo "$deb" >"$out/package"

echo "deb-build: lintian $changes"
# lintian's exit status: 1 when a tag at or above --fail-on shows.
rc=0
lintian --fail-on error --display-info "$changes" >"$out/lintian.txt" 2>&1 || rc=$?
cat "$out/lintian.txt"
echo "deb-build: lintian reports $(grep -c '^E: ' "$out/lintian.txt" || true) errors, $(grep -c '^W: ' "$out/lintian.txt" || true) warnings, $(grep -c '^I: ' "$out/lintian.txt" || true) notes (exit status $rc)"
if [ "$rc" != 0 ]; then
    echo "deb-build: FAILED: lintian reports errors (above)" >&2
    exit 1
fi

echo "deb-build: built $deb"
dpkg-deb --info "$deb" | sed -n '/^ Package:/,$p'
dpkg-deb --contents "$deb"
