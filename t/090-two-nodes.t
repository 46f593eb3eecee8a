# Two httpd nodes on one PostgreSQL database (DESIGN.md section 3:
# "DBDriver pgsql ... when several httpd nodes share one PostgreSQL"):
# behind a load balancer a device's requests land on any node, so
# nothing a session needs may live in one node's memory. Node 1 is the
# Apache::Test default server; node 2 is a second httpd that this file
# configures, starts and stops itself, with the same WinMDM directives
# and the same database. A device enrolled on node 1 runs its sessions
# on node 2, the digest nonce chain crosses from one node to the other,
# an operation queued on one node's admin API goes out from the other
# and its result reads back on the first, and last_seen and inventory
# written by one node are what the other one serves.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Spec::Functions qw(catfile);
use File::Temp qw(tempdir);
use IO::Socket::INET ();
use LWP::UserAgent ();
use Time::Local qw(timegm);

use Apache::Test qw(-withtestmore);
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);
use WinMDMDevice qw(dm_command_list);

# SQLite is one file on one machine: a second node could only share it
# by sharing the disk, which is not what the pgsql driver is for.
plan skip_all => 'needs PostgreSQL (the WM_TEST_DB=pgsql run of make test)'
    unless ($ENV{WM_TEST_DB} // '') eq 'pgsql';

plan tests => 40, need_module('dbd');

my $RFC3339 = qr/^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?Z$/;

# --- node 2 ------------------------------------------------------------------

my $httpd   = Apache::Test::vars('httpd');
my $state   = Apache::Test::vars('t_state');
my $modules = '/usr/lib/apache2/modules';
my $so      = catfile(Apache::Test::vars('top_dir'), '.libs', 'mod_winmdm.so');
# Under t/logs, kept after the run: on a failure scripts/apache-test.sh
# keeps the tree, and node 2's error log is what explains it.
my $dir  = tempdir('node2-XXXXXX', DIR => Apache::Test::vars('t_logs'));
my $conf = catfile($dir, 'httpd.conf');
my $pid_file  = catfile($dir, 'httpd.pid');
my $error_log = catfile($dir, 'error_log');

# A port nobody listens on, above 1024 so that an unprivileged httpd
# may bind it (this test runs as the unprivileged test user, and node 2
# has no User directive: it never was root to drop from).
sub free_port {
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                      Proto => 'tcp', Listen => 1) or next;
        my $port = $s->sockport;
        close $s;
        return $port if $port > 1024;
    }
    die "090-two-nodes.t: no free port above 1024\n";
}
my $port = free_port();
my $NODE2 = "http://127.0.0.1:$port";
my $NODE1 = server_url('default');

# The default server's WinMDM directives (t/conf/extra.conf.in), its
# password files, and its database: the same DBDParams as the
# PostgreSQL run gives the default server (dbname=wm).
open my $fh, '>', $conf or die "$conf: $!";
print $fh <<"CONF";
ServerRoot "$dir"
DefaultRuntimeDir "$dir"
DocumentRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$pid_file"
ErrorLog "$error_log"
LogLevel info winmdm:trace8
LoadModule mpm_event_module $modules/mod_mpm_event.so
LoadModule authz_core_module $modules/mod_authz_core.so
LoadModule authn_core_module $modules/mod_authn_core.so
LoadModule authn_file_module $modules/mod_authn_file.so
LoadModule auth_basic_module $modules/mod_auth_basic.so
LoadModule authz_user_module $modules/mod_authz_user.so
LoadModule mime_module $modules/mod_mime.so
LoadModule dbd_module $modules/mod_dbd.so
LoadModule winmdm_module "$so"
TypesConfig /etc/mime.types

DBDriver pgsql
DBDParams "host=$ENV{WM_TEST_PGHOST} port=$ENV{WM_TEST_PGPORT} dbname=wm"

WinMDM On
WinMDMDomain example.test
WinMDMPublicURL https://enterpriseenrollment.example.test
WinMDMCACertificateFile "$state/ca.crt"
WinMDMCAKeyFile "$state/ca.key"
WinMDMMaxMessageSize 65536
# Plain HTTP, as the default server: TLS ends in front of both nodes.
WinMDMTLSOffload On

<Location />
    AuthUserFile "$state/htpasswd"
</Location>

<Location /api/device-mgt/windows/v1.0/admin>
    AuthType Basic
    AuthName "mod_winmdm admin"
    AuthBasicProvider file
    AuthUserFile "$state/admin.htpasswd"
    Require valid-user
</Location>
CONF
close $fh or die "$conf: $!";

my $started_by = $$;
my $stopped = 0;

# Stops node 2 and waits until it is gone (its pid file removed): run at
# the end, and from END when the file dies half-way, so that no httpd
# is left listening after the suite.
sub stop_node2 {
    return if $stopped || !defined $started_by || $$ != $started_by;
    $stopped = 1;
    return unless -e $pid_file;
    system($httpd, '-f', $conf, '-k', 'stop');
    for (1 .. 150) {
        return 1 unless -e $pid_file;
        select undef, undef, undef, 0.1;
    }
    # Still there: the parent process named in the pid file, which this
    # file started, is ended by its id.
    if (open my $p, '<', $pid_file) {
        my $pid = <$p>;
        close $p;
        kill 'KILL', $1 if defined $pid && $pid =~ /^(\d+)/;
    }
    return 0;
}
# local $?: the system() in stop_node2 must not replace the exit status
# the test file ends with.
END { local $?; stop_node2() }

my $ua = LWP::UserAgent->new(timeout => 10, keep_alive => 0);
my $start_rc = system($httpd, '-f', $conf, '-k', 'start') >> 8;
my $up = 'not answering';
for (1 .. 300) {
    my $res = $ua->get("$NODE2/EnrollmentServer/Discovery.svc");
    if ($res->code == 200) { $up = 'up'; last }
    $up = $res->status_line;
    select undef, undef, undef, 0.1;
}
ok t_cmp("$start_rc $up", '0 up',
         'node 2 starts (apache2 -k start) and answers discovery');
ok t_cmp($port != Apache::Test::config()->{vars}{port} ? 'another port'
         : 'the same port', 'another port', 'node 2 is not node 1');

# --- helpers -------------------------------------------------------------------

sub epoch_of {
    my $t = shift // return undef;
    my @f = $t =~ $RFC3339 or return undef;
    return timegm($f[5], $f[4], $f[3], $f[2], $f[1] - 1, $f[0]);
}

sub device_via {
    my($base, $id) = @_;
    my $r = admin_request(GET => "/devices/$id", base => $base);
    return $r->{json} || {error => "HTTP $r->{code}"};
}

sub queue_via {
    my($base, $id, $body) = @_;
    my $r = admin_request(POST => "/devices/$id/operations", base => $base,
                          body => $body);
    return $r->{code} == 201 && $r->{json} && ($r->{json}{id} // '') =~ /^\d+$/
        ? $r->{json}{id} : 'HTTP ' . $r->{code} . ' ' . $r->{res}->decoded_content;
}

# --- enrollment on node 1, sessions on node 2 ------------------------------------

my $dev = WinMDMDevice->new(server => 'default');
$dev->login;
ok t_cmp($dev->enroll->code, 200, 'the device enrolls through node 1');
my $ID = $dev->device_id;
my $Q = sql_quote($ID);

{
    my $j = device_via($NODE2, $ID);
    ok t_cmp(join('|', map { $j->{$_} // 'null' } qw(device_id state user)),
             "$ID|enrolled|demo\@example.test",
             'node 2 lists the device node 1 enrolled');
}

# First session on node 2 with the provisioning document's nonce, which
# node 1 stored at enrollment.
$dev->set_base($NODE2);
$dev->dm_begin(auth => 'digest');
my $t0 = time;
my $r = $dev->dm_send(cmds => [$dev->dm_package1_cmds(
    devinfo => {Man => 'Node Two Inc.'})]);
ok t_cmp($r->{code}, 200, 'session on node 2 (AAUTHDATA nonce of node 1): HTTP 200');
ok t_cmp($r->{hdr_status} // 'none', 200, 'session on node 2: SyncHdr 200');
ok t_cmp($r->{source} // 'none', $dev->dm_server_uri,
         'session on node 2: Source is the public URL');
my $nonce_from_2 = $r->{next_nonce};
ok t_cmp($nonce_from_2 ? 'NextNonce' : 'none', 'NextNonce',
         'node 2 closes the session with a NextNonce');

# What node 2 wrote, read through node 1's API.
{
    my $j = device_via($NODE1, $ID);
    ok t_cmp(($j->{inventory} || {})->{'./DevInfo/Man'} // 'none',
             'Node Two Inc.', "node 1's API: the inventory node 2 wrote");
    my $seen = epoch_of($j->{last_seen});
    ok t_cmp(defined $seen && $seen >= $t0 - 2 && $seen <= time + 2
             ? 'the session time' : $j->{last_seen} // 'null',
             'the session time', "node 1's API: the last_seen node 2 wrote");
}

# The nonce node 2 gave opens the next session on node 1.
$dev->set_base($NODE1);
$dev->dm_begin;
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds(
    devinfo => {Man => 'Node One Ltd.'})]);
ok t_cmp($r->{hdr_status} // "HTTP $r->{code}", 200,
         "node 1 accepts the NextNonce node 2 gave: SyncHdr 200");
my $nonce_from_1 = $r->{next_nonce};
ok t_cmp($nonce_from_1 && $nonce_from_1 ne ($nonce_from_2 // '') ? 'new' : 'none',
         'new', 'node 1 closes with a new NextNonce');

# A nonce spent on one node is spent for the other too: node 2's old
# nonce, replayed there in a new session, is refused.
$dev->set_base($NODE2);
$dev->dm_begin;
$r = $dev->dm_send(nonce => $nonce_from_2, keep_nonce => 1,
                   cmds => [$dev->dm_package1_cmds]);
ok t_cmp($r->{hdr_status} // "HTTP $r->{code}", 401,
         'the nonce a session on node 1 used, replayed in a new session '
         . 'on node 2: 401');
# Restores the nonce chain: the refusal's challenge nonce is the next one.
$dev->set_dm_nonce($r->{next_nonce}) if $r->{next_nonce};

{
    my $j = device_via($NODE2, $ID);
    ok t_cmp(($j->{inventory} || {})->{'./DevInfo/Man'} // 'none',
             'Node One Ltd.', "node 2's API: the inventory node 1 wrote");
}

# last_seen written by exactly one node: cleared in the database, then
# one session on node 1, then read on node 2.
db_rows('default', "UPDATE devices SET last_seen = 0 WHERE device_id = $Q");
{
    my $j = device_via($NODE2, $ID);
    ok t_cmp(exists $j->{last_seen} && !defined $j->{last_seen} ? 'null'
             : $j->{last_seen} // 'absent', 'null',
             "node 2's API after last_seen was cleared: null");
}
$dev->set_base($NODE1);
$dev->dm_begin;
my $t1 = time;
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp($r->{hdr_status} // "HTTP $r->{code}", 200,
         'a session on node 1 with the challenge nonce of node 2: 200');
{
    my $j = device_via($NODE2, $ID);
    my $seen = epoch_of($j->{last_seen});
    ok t_cmp(defined $seen && $seen >= $t1 - 2 && $seen <= time + 2
             ? 'the session time' : $j->{last_seen} // 'null',
             'the session time', "node 2's API: the last_seen node 1 wrote");
}

# --- an operation queued on node 2, delivered on node 1 --------------------------

my $op = queue_via($NODE2, $ID, {type => 'SYNCML', syncml =>
    '<Get><CmdID>1</CmdID><Item><Target><LocURI>./DevDetail/SwV</LocURI>'
    . '</Target></Item></Get>'});
ok t_cmp($op, qr/^\d+$/, "node 2's admin API queues an operation: 201");
{
    my $row = db_value('default', 'SELECT state FROM operations WHERE id = '
                       . sql_quote($op)) // 'no row';
    ok t_cmp($row, 'pending', 'it is in the shared database, pending');
}
$dev->set_base($NODE1);
my @replies = $dev->dm_session(results => sub { '10.0.26100.2' });
ok t_cmp(dm_command_list($replies[0]), "$op:Get",
         'the next session on node 1 sends it, its id the CmdID');
ok t_cmp(join(' ', map { $_->{hdr_status} // "HTTP $_->{code}" } @replies),
         '200 200', 'node 1: both messages SyncHdr 200');
{
    my $j = admin_request(GET => "/operations/$op", base => $NODE2)->{json} || {};
    ok t_cmp(join('|', map { $j->{$_} // 'null' } qw(id device state status)),
             "$op|$ID|done|200", "node 2's API: done with the device's status");
    ok t_cmp(join(' ', map { "$_->{uri}=$_->{data}" } @{ $j->{results} || [] }),
             './DevDetail/SwV=10.0.26100.2', "node 2's API: the result node 1 took");
    ok t_cmp(join(' ', map { $j->{$_} // 'null' } qw(created sent completed)),
             qr/^\S+Z \S+Z \S+Z$/, "node 2's API: created, sent, completed");
    my $inv = device_via($NODE2, $ID)->{inventory} || {};
    ok t_cmp($inv->{'./DevDetail/SwV'} // 'none', '10.0.26100.2',
             "node 2's API: the DevDetail result node 1 kept as inventory");
}

# --- and the other way round: queued on node 1, delivered on node 2 --------------

my $op2 = queue_via($NODE1, $ID, {type => 'REBOOT'});
ok t_cmp($op2, qr/^\d+$/, "node 1's admin API queues an operation");
$dev->set_base($NODE2);
@replies = $dev->dm_session(status => sub { $_[0]{name} eq 'Exec' ? 202 : 200 });
ok t_cmp(dm_command_list($replies[0]), "$op2:Exec",
         'the next session on node 2 sends it');
ok t_cmp(join(' ', map { $_->{hdr_status} // "HTTP $_->{code}" } @replies),
         '200 200', 'node 2: both messages SyncHdr 200');
{
    my $j = admin_request(GET => "/operations/$op2", base => $NODE1)->{json} || {};
    ok t_cmp(join('|', map { $j->{$_} // 'null' } qw(state status)), 'done|202',
             "node 1's API: done with 202");
}

# --- one session whose messages go to different nodes -----------------------------
# A multi-message session is not pinned to a node: message 1 on node 1,
# its answer on node 2, with the one nonce of the session.

my $op3 = queue_via($NODE2, $ID, {type => 'DEVICE_INFO'});
ok t_cmp($op3, qr/^\d+$/, 'a DEVICE_INFO queued on node 2');
$dev->set_base($NODE1);
$dev->dm_begin;
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp(dm_command_list($r), "$op3:Get", 'message 1 on node 1 sends it');
$dev->set_base($NODE2);
$r = $dev->dm_answer;
ok t_cmp($r->{hdr_status} // "HTTP $r->{code}", 200,
         'message 2 of the same session on node 2: SyncHdr 200');
ok t_cmp($r->{final} && $r->{next_nonce} ? 'closed with NextNonce' : 'not',
         'closed with NextNonce', 'node 2 closes the session node 1 began');
{
    my $j = admin_request(GET => "/operations/$op3", base => $NODE1)->{json} || {};
    ok t_cmp(($j->{state} // 'null') . ' ' . scalar(@{ $j->{results} || [] }),
             'done 14', "node 1's API: done, with node 2's 14 results");
}
$dev->set_base($NODE1);
$dev->dm_begin;
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp($r->{hdr_status} // "HTTP $r->{code}", 200,
         'the NextNonce node 2 gave opens the next session on node 1');

# --- a device enrolled on node 2 -------------------------------------------------

my $dev2 = WinMDMDevice->new(server => 'default', base => $NODE2,
                             user => 'other@example.test',
                             password => 'other-password');
$dev2->login;
ok t_cmp($dev2->enroll->code, 200, 'another device signs in and enrolls on node 2');
$dev2->set_base($NODE1);
$dev2->dm_begin(auth => 'digest');
$r = $dev2->dm_send(cmds => [$dev2->dm_package1_cmds]);
ok t_cmp($r->{hdr_status} // "HTTP $r->{code}", 200,
         'its first session on node 1 (the AAUTHDATA nonce node 2 stored): 200');

# --- node 2's error log ------------------------------------------------------------

ok t_cmp(stop_node2() ? 'stopped' : 'still running', 'stopped',
         'node 2 stops (apache2 -k stop)');
my @lines;
if (open my $log, '<', $error_log) {
    @lines = <$log>;
    close $log;
}
ok t_cmp(scalar(grep { /resuming normal operations/ } @lines), qr/^[1-9]/,
         "node 2's error log holds its start");
my @bad = grep {
    /^\[[^\]]*\]\s+\[(?:[\w.-]*:)?(?:emerg|alert|crit|error|warn|warning)\]/
} @lines;
print STDERR "# node 2: $_" for @bad;
ok t_cmp(join('', @bad), '', "no [error] or [warn] lines in node 2's error log");
