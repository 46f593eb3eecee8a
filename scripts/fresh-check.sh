#!/bin/sh
# `make fresh-check`: a fresh clone on a fresh Debian 12, as a new user
# would try it. Makes a clean Debian 12 root with mmdebstrap (variant apt:
# the essential packages and apt, plus git), where libssl3 (with openssl
# and libssl-dev) is first put back to the oldest version Debian offers,
# older than the OpenSSL that the current apache2 package's mod_ssl is
# built against (the machine the AH01882 fault appeared on). Then, in a
# clone of this tree's HEAD:
#   make run     (in the background: it must install what running needs,
#                 upgrade libssl3, build, start, and answer discovery)
#   make test    (unless WM_FRESH_TEST=0: every suite, about half an hour)
# The root is thrown away afterwards. It shares this machine's network, so
# `make run` listens on free ports.
#
# Environment:
#   WM_FRESH_TEST    0 to stop after make run
#   WM_DEB_MIRROR    Debian mirror (default http://deb.debian.org)
set -e

if [ ! -f debian/control ] || [ ! -f Makefile ]; then
    echo "fresh-check: run me from the top of the tree" >&2
    exit 1
fi
[ "$(id -u)" = 0 ] || {
    echo "fresh-check: run me as root" >&2
    exit 1
}
top=$(pwd)
mirror=${WM_DEB_MIRROR:-http://deb.debian.org}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The clone's source: HEAD, as committed.
git -C "$top" bundle create "$work/tree.bundle" HEAD >/dev/null 2>&1
mkdir "$work/local-ca"
for f in /usr/local/share/ca-certificates/*.crt; do
    [ ! -f "$f" ] || cp "$f" "$work/local-ca/"
done

ports=$(perl -MIO::Socket::INET -e '
    for (my $p = 18643; $p < 19643; $p += 2) {
        my $a = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
            LocalPort => $p, Listen => 1, ReuseAddr => 1) or next;
        my $b = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
            LocalPort => $p + 1, Listen => 1, ReuseAddr => 1) or next;
        print "$p ", $p + 1;
        exit 0;
    }
    exit 1')

cat >"$work/inside.sh" <<'EOF'
#!/bin/sh
set -e
HTTPS_PORT=$1
HTTP_PORT=$2
RUN_TEST=$3
export DEBIAN_FRONTEND=noninteractive HOME=/root
say() {
    echo "fresh-check: --- $*"
}
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
# This machine's own CA certificates, if it has any (a network that
# inspects TLS): npm reaches its registry over HTTPS.
if ls /tmp/local-ca/*.crt >/dev/null 2>&1; then
    mkdir -p /usr/local/share/ca-certificates
    cp /tmp/local-ca/*.crt /usr/local/share/ca-certificates/
    update-ca-certificates >/dev/null
    export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi

apt-get update -q >/dev/null
old=$(apt-cache madison libssl3 | awk '{ print $3 }' | sort -V | head -n 1)
# With its development files, as on a machine that built something
# before: installing libssl-dev would otherwise bring libssl3 forward.
say "libssl3, openssl and libssl-dev $old, the oldest Debian 12 offers"
apt-get install -y -q --allow-downgrades --no-install-recommends \
    "libssl3=$old" "openssl=$old" "libssl-dev=$old" >/dev/null
dpkg-query -W libssl3 openssl libssl-dev

say "git clone"
git clone -q /tmp/tree.bundle /root/mod_winmdm
cd /root/mod_winmdm
git log --oneline -1

say "make run (WINMDM_HTTPS_PORT=$HTTPS_PORT WINMDM_HTTP_PORT=$HTTP_PORT)"
WINMDM_HTTPS_PORT=$HTTPS_PORT WINMDM_HTTP_PORT=$HTTP_PORT make run >/tmp/run.log 2>&1 &
pid=$!
n=0
until curl -sk -o /dev/null "https://127.0.0.1:$HTTPS_PORT/EnrollmentServer/Discovery.svc" 2>/dev/null; do
    n=$((n + 1))
    if [ $n -gt 900 ] || ! kill -0 $pid 2>/dev/null; then
        cat /tmp/run.log
        echo "fresh-check: FAILED: make run did not come up" >&2
        exit 1
    fi
    sleep 1
done
grep '^deps:' /tmp/run.log || true
dpkg-query -W libssl3 openssl apache2-bin
sh scripts/check-env.sh
for p in chromium nodejs postgresql check clang libapache2-mod-perl2; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        echo "fresh-check: FAILED: make run installed $p, a test tool" >&2
        exit 1
    fi
done
echo "make run installed none of the test tools"
code=$(sed 's/demo@fleetdm.ngrok.io/demo@example.test/' \
    t/fixtures/windows10/discovery_request_win10_19043_reqver4.xml |
    curl -sk -o /tmp/discovery.xml -w '%{http_code}' \
        "https://127.0.0.1:$HTTPS_PORT/EnrollmentServer/Discovery.svc" \
        -H 'Content-Type: application/soap+xml; charset=utf-8' --data-binary @-)
echo "discovery POST: $code"
grep -q DiscoverResponse /tmp/discovery.xml || {
    cat /tmp/discovery.xml
    echo "fresh-check: FAILED: no DiscoverResponse" >&2
    exit 1
}
kill -TERM $pid 2>/dev/null || true
# make runs httpd in the foreground: stop it through its pid file too.
[ -s run/run/httpd.pid ] && kill -TERM "$(cat run/run/httpd.pid)" 2>/dev/null || true
wait $pid 2>/dev/null || true
if grep -E '\[[a-z_]*:(emerg|alert|crit|error|warn)\]' run/logs/error_log; then
    echo "fresh-check: FAILED: make run's httpd logged the lines above" >&2
    exit 1
fi
echo "make run: no warning or error in run/logs/error_log"

if [ "$RUN_TEST" != 0 ]; then
    say "make test"
    rc=0
    make test >/tmp/test.log 2>&1 || rc=$?
    grep -E '^(deps:|apache-test:|fuzz corpus|100%|Files=|Result:|[0-9]+ passed, [0-9]+ failed$)' /tmp/test.log || true
    if [ "$rc" != 0 ] || [ "$(grep -c -E '^[0-9]+ passed, 0 failed$' /tmp/test.log)" != 2 ]; then
        sed -n '/^Test Summary Report/,/^Files=/p' /tmp/test.log
        # The files that did not pass, the suite's diagnostics, the end.
        grep -E '^(t/[^ ]+ \.+|# )' /tmp/test.log | grep -v -E ' ok$' | head -200
        echo "---- the last lines of make test ----"
        tail -n 80 /tmp/test.log
        echo "fresh-check: FAILED: make test (exit status $rc)" >&2
        exit 1
    fi
fi
rm -f /usr/sbin/policy-rc.d
echo "fresh-check: every check passed"
EOF

start=$(date +%s)
echo "fresh-check: a clean Debian 12 root (mmdebstrap --variant=apt bookworm, with git), HEAD $(git -C "$top" rev-parse --short HEAD)"
mmdebstrap --variant=apt --format=null --include=git,ca-certificates,curl,make \
    --customize-hook="copy-in $work/tree.bundle $work/inside.sh $work/local-ca /tmp" \
    --customize-hook="chroot \"\$1\" sh /tmp/inside.sh ${ports% *} ${ports#* } ${WM_FRESH_TEST:-1}" \
    bookworm /dev/null \
    "deb $mirror/debian bookworm main" \
    "deb $mirror/debian bookworm-updates main" \
    "deb $mirror/debian-security bookworm-security main"
echo "fresh-check: PASSED ($(($(date +%s) - start)) s)"
