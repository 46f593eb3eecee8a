# Fault injection (DESIGN.md sections 1 and 4).
#
# (b) An httpd child killed with SIGKILL in the middle of a load of
# OMA-DM sessions loses nothing the server acknowledged: once a device
# has the server's reply to the message that carried its Status and
# Results, that operation is done and its results are stored, whatever
# happens to the process afterwards. The other sessions go on. The child
# killed is the one serving a check-in this test holds open (its answer
# to the server's Get, half sent): that session fails, with nothing of
# it stored, and the device's next session works.
#
# (a) The database goes away (SQLite: its folder and files become
# unwritable; PostgreSQL: the server stops). Enrollment answers a SOAP
# fault, an OMA-DM message a SyncHdr status of the 500 class, httpd
# stays up, nothing is half-written, and when the database is back
# everything works again without restarting httpd.
#
# The outage happens on winmdm_fault (t/conf/extra.conf.in), which has
# its own database and error log; the load runs on the default server,
# whose database connections are kept in mod_dbd's pool. (b) runs
# first: on PostgreSQL the outage of (a) stops the whole server.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Spec::Functions qw(catfile);
use File::Temp ();
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes qw(time sleep);

use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);
use WinMDMDevice ();

plan tests => 31, need_module('dbd');

my $PG = ($ENV{WM_TEST_DB} // '') eq 'pgsql';
my $state = Apache::Test::vars('t_state');
my $logs = Apache::Test::vars('t_logs');

# A session run to its end; when the first reply is a 401 with a fresh
# nonce (the device's nonce was spent by a message the server never
# finished), the device starts again with that nonce, as Windows does.
# Returns the replies.
sub session {
    my($dev, %o) = @_;
    my @r = $dev->dm_session(%o);
    if (($r[0]{hdr_status} // '') eq '401' && $r[0]{next_nonce}) {
        @r = $dev->dm_session(%o);
    }
    return @r;
}

sub session_ok {
    my @r = @_;
    return join(' ', map { $_->{hdr_status} // "HTTP $_->{code}" } @r);
}

sub queue_syncml {
    my($server, $id, $uri) = @_;
    my $q = admin_request(POST => "/devices/$id/operations", server => $server,
        body => {type => 'SYNCML', syncml => '<Get><CmdID>1</CmdID><Item>'
                 . "<Target><LocURI>$uri</LocURI></Target></Item></Get>"});
    return $q->{json} && $q->{json}{id} ? $q->{json}{id} : undef;
}

# The children of httpd's parent process, from /proc.
sub httpd_children {
    my $pidfile = catfile($logs, 'httpd.pid');
    open my $fh, '<', $pidfile or return ();
    my $parent = <$fh>;
    close $fh;
    chomp $parent;
    my @kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $s, '<', $stat or next;
        my $line = <$s> // '';
        close $s;
        # pid (comm) state ppid ...; comm may hold spaces.
        my($pid, $ppid) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/ or next;
        push @kids, $pid if $ppid == $parent;
    }
    return @kids;
}

# ------------------------------------------------------------------------
# (b) SIGKILL of a child under load
# ------------------------------------------------------------------------

my $WORKERS = 4;
my $RUN_FOR = 8;        # seconds of load
my $KILL_AT = 3;        # seconds into the load

my @load = map { WinMDMDevice->new(server => 'default') } 1 .. $WORKERS;
$_->login for @load;
my @first = map { $_->enroll->code . '/' . session_ok(session($_)) } @load;
ok t_cmp("@first", qr{^(?:200/200(?: 200)* ?){$WORKERS}$},
         'load: the devices enroll and hold a first session');

# The held check-in: the device gets the server's Get in package 1, then
# sends the headers and half the body of its answer, and waits.
my $held = WinMDMDevice->new(server => 'default');
$held->login;
$held->enroll;
session($held);
my $held_op = queue_syncml('default', $held->device_id, './DevDetail/SwV');
$held->dm_begin;
my $hr = $held->dm_send(cmds => [$held->dm_package1_cmds]);
my $held_got = WinMDMDevice::dm_command_list($hr);
$held->{dm_msg_id}++;
my $answer = $held->dm_message(first_cmd_id => 1,
                               cmds => [$held->dm_answer_cmds]);

my $tmp = File::Temp::tempdir(CLEANUP => 1);
my $start = time;
my @pids;
for my $w (0 .. $WORKERS - 1) {
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        # A device's loop: queue two Gets, run a session that answers
        # them, and write down every operation whose answer the server
        # acknowledged (the reply to the message carrying the Status and
        # Results came back with SyncHdr 200).
        my $dev = $load[$w];
        open my $out, '>', "$tmp/acked-$w" or POSIX::_exit(2);
        $out->autoflush(1);
        while (time - $start < $RUN_FOR) {
            queue_syncml('default', $dev->device_id, './DevDetail/SwV');
            queue_syncml('default', $dev->device_id, './DevInfo/Man');
            $dev->dm_begin;
            my $r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
            if (($r->{hdr_status} // '') eq '401' && $r->{next_nonce}) {
                $dev->dm_begin;
                $r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
            }
            my $ok = ($r->{hdr_status} // '') eq '200';
            my $n = 0;
            while ($ok && @{ $r->{commands} } && $n++ < 10) {
                my @ops = map { /^(\d+)/ ? $1 : () }
                          map { $_->{cmd_id} // '' } @{ $r->{commands} };
                $r = $dev->dm_answer;
                $ok = $r->{code} == 200 && ($r->{hdr_status} // '') eq '200';
                print $out "op $_\n" for $ok ? @ops : ();
            }
            printf $out "session %s %.3f\n", ($ok ? 'ok' : 'failed'), time;
        }
        close $out;
        POSIX::_exit(0);
    }
    push @pids, $pid;
}

# The httpd child whose connection has this client port: the server side
# of the TCP connection (/proc/net/tcp*) and the child holding its socket.
sub child_serving {
    my $client_port = shift;
    my($server_port) = (split /:/, Apache::TestRequest::hostport(
        Apache::Test::config()))[1];
    my $inode;
    for my $f ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $fh, '<', $f or next;
        while (<$fh>) {
            my @c = split ' ';
            next unless @c > 9 && $c[1] =~ /:([0-9A-F]{4})$/;
            my $lp = hex $1;
            my($rp) = $c[2] =~ /:([0-9A-F]{4})$/ or next;
            $inode = $c[9] if $lp == $server_port && hex($rp) == $client_port;
        }
        close $fh;
    }
    return undef unless $inode;
    for my $kid (httpd_children()) {
        for my $fd (glob "/proc/$kid/fd/*") {
            my $l = readlink $fd // '';
            return $kid if $l eq "socket:[$inode]";
        }
    }
    return undef;
}

sleep $KILL_AT;
use_server('default');
my($host, $port) = split /:/, Apache::TestRequest::hostport(Apache::Test::config());
my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                 Proto => 'tcp', Timeout => 30)
    or die "connect: $!";
print $sock "POST /devicemgt HTTP/1.1\r\nHost: $host:$port\r\n"
    . "Content-Type: application/vnd.syncml.dm+xml\r\n"
    . 'Content-Length: ' . length($answer) . "\r\n\r\n"
    . substr($answer, 0, int(length($answer) / 2));
$sock->flush;
my $victim;
for (1 .. 50) {
    last if $victim = child_serving($sock->sockport);
    sleep 0.1;
}
my @kids = httpd_children();
my $killed = $victim ? kill('KILL', $victim) : 0;
my $kill_time = time;
printf STDERR "# load started %s, child %s killed at %s\n",
    scalar(localtime $start), $victim // 'none', scalar(localtime $kill_time);
# The rest of the answer goes nowhere: the child reading it is gone.
my $held_reply = eval {
    local $SIG{ALRM} = sub { die "timeout\n" };
    local $SIG{PIPE} = 'IGNORE';
    alarm 30;
    print $sock substr($answer, int(length($answer) / 2));
    my $buf = '';
    1 while sysread $sock, $buf, 65536, length $buf;
    alarm 0;
    $buf;
} // '';
alarm 0;
close $sock;
waitpid $_, 0 for @pids;

ok t_cmp($killed ? "killed one of " . scalar(@kids) : 'no child found',
         qr/^killed one of [1-9]/,
         'the httpd child serving the held check-in was killed with SIGKILL');
ok t_cmp($held_got, "$held_op:Get", 'held session: the Get was sent');
ok t_cmp($held_reply =~ m{^HTTP/1\.1 200} ? 'a reply' : 'no reply', 'no reply',
         'held session: its answer got no reply (the session failed)');
ok t_cmp(db_value('default', "SELECT state || ':' || (SELECT COUNT(*) FROM "
                  . "results WHERE op_id = $held_op) FROM operations WHERE id = $held_op")
         // 'no row', 'sent:0',
         'held session: nothing of its answer was stored');
{
    my @r = session($held);
    ok t_cmp(session_ok(@r), qr/^200(?: 200)*$/,
             "held session: the device's next session works");
}

my(@acked, %after_kill, %sessions);
for my $w (0 .. $WORKERS - 1) {
    open my $in, '<', "$tmp/acked-$w" or next;
    while (<$in>) {
        push @acked, $1 if /^op (\d+)/;
        if (/^session (ok|failed) ([\d.]+)/) {
            $sessions{$1}++;
            $after_kill{$w}++ if $1 eq 'ok' && $2 > $kill_time + 0.5;
        }
    }
    close $in;
}
ok t_cmp(scalar(@acked), qr/^[1-9]/,
         'load: operations were acknowledged (' . scalar(@acked) . ', '
         . ($sessions{ok} // 0) . ' sessions, ' . ($sessions{failed} // 0)
         . ' failed)');
my @lost;
for my $op (@acked) {
    my $state = db_value('default',
        "SELECT state || ':' || COALESCE(status, 0) FROM operations WHERE id = $op")
        // 'no row';
    my $results = db_value('default',
        "SELECT count(*) FROM results WHERE op_id = $op") // 0;
    push @lost, "$op=$state/$results" unless $state eq 'done:200' && $results >= 1;
}
ok t_cmp("@lost", '',
         'every acknowledged operation is done with its results stored');
ok t_cmp(join(' ', map { $after_kill{$_} ? 'ok' : 'stuck' } 0 .. $WORKERS - 1),
         join(' ', ('ok') x $WORKERS),
         'every device completed sessions after the kill');
{
    my @now = httpd_children();
    ok t_cmp(scalar(grep { $_ == ($victim // 0) } @now), 0,
             'the killed child is gone');
    use_server('default');
    ok t_cmp(GET('/EnrollmentServer/Discovery.svc')->code, 200,
             'the server still answers after the kill');
}

# ------------------------------------------------------------------------
# (a) the database unavailable
# ------------------------------------------------------------------------

my $S = 'winmdm_fault';
my $fault_log = catfile($logs, 'fault_error_log');

# F0 is enrolled and has an operation waiting; F1 has signed in but not
# enrolled yet; both act during the outage.
my $F0 = WinMDMDevice->new(server => $S);
$F0->login;
my $F1 = WinMDMDevice->new(server => $S);
my $token = $F1->login;
ok t_cmp($F0->enroll->code . ' ' . session_ok(session($F0)) . ' '
         . (defined $token ? 'token' : 'no token'),
         qr/^200 200(?: 200)* token$/, 'fault server: enrollment, session and sign-in work');
my $op = queue_syncml($S, $F0->device_id, './DevDetail/SwV') // 'none';
my $before = db_snapshot($S);
my $tokens_before = db_value($S, 'SELECT count(*) FROM tokens');

my($pgbin, $pgdata, $pgsock, $pgport) =
    ($ENV{WM_TEST_PGBIN}, catfile($state, 'pgdata'), $ENV{WM_TEST_PGHOST},
     $ENV{WM_TEST_PGPORT});
my $dbdir = catfile($state, 'fault');
my @dbfiles = glob(catfile($dbdir, 'wm-fault.db*'));
my %modes = map { $_ => (stat $_)[2] & 07777 } $dbdir, @dbfiles;

sub outage_begin {
    if ($PG) {
        system("$pgbin/pg_ctl", '-D', $pgdata, '-m', 'fast', '-w', 'stop') == 0
            or return "pg_ctl stop: exit $?";
        return 'down';
    }
    chmod 0444, @dbfiles;
    chmod 0555, $dbdir;
    return 'down';
}

sub outage_end {
    if ($PG) {
        system("$pgbin/pg_ctl", '-D', $pgdata, '-l',
               catfile($logs, 'postgresql.log'), '-o',
               "-k $pgsock -p $pgport -c listen_addresses= -c fsync=off",
               '-w', 'start') == 0 or return "pg_ctl start: exit $?";
        return 'up';
    }
    chmod $modes{$_}, $_ for $dbdir, @dbfiles;
    return 'up';
}

# The outage's window, for t/999-error-log.t: the database errors it
# causes are excused between these two times only (seconds since 1970).
my $window = catfile($state, 'outage-window');
sub window_mark {
    open my $w, '>>', $window or die "$window: $!";
    printf $w "%s %.6f\n", shift, time;
    close $w;
}
window_mark('begin');

{
    local $SIG{ALRM} = sub { die "timeout\n" };
    ok t_cmp(outage_begin(), 'down', 'the database is made unavailable');

    # Enrollment during the outage.
    my $res = $F1->enroll;
    ok t_cmp($res->code, 500, 'outage: enrollment gets HTTP 500');
    my $fault = soap_fault($res->content);
    ok t_cmp($fault ? $fault->{subcode} // 'no subcode' : 'no SOAP fault: '
                 . substr($res->content, 0, 200),
             qr/^(?:s:EnrollmentServer|a:InternalServiceFault)$/,
             'outage: the enrollment fault is s:EnrollmentServer or '
             . 'a:InternalServiceFault');

    # An OMA-DM message during the outage.
    $F0->dm_begin;
    my $r = $F0->dm_send(cmds => [$F0->dm_package1_cmds], keep_nonce => 1);
    ok t_cmp($r->{code}, 200, 'outage: an OMA-DM message gets HTTP 200');
    ok t_cmp($r->{hdr_status} // 'no SyncHdr Status', qr/^5\d\d$/,
             'outage: its SyncHdr Status is of the 500 class');
    ok t_cmp(WinMDMDevice::dm_command_list($r), '',
             'outage: no operation is sent');

    # httpd itself is up: discovery needs no database.
    use_server($S);
    ok t_cmp(GET('/EnrollmentServer/Discovery.svc')->code, 200,
             'outage: discovery GET still answers 200');

    ok t_cmp(outage_end(), 'up', 'the database is back');
}

# Nothing half-written: the failed enrollment left no device and did not
# spend the token, the failed message left the operation pending.
ok t_cmp(db_value($S, 'SELECT count(*) FROM devices WHERE device_id = '
                      . sql_quote($F1->device_id)), 0,
         'after the outage: no device row for the failed enrollment');
ok t_cmp(db_snapshot($S), $before,
         'after the outage: devices, operations, results, nonces as before');
ok t_cmp(db_value($S, 'SELECT count(*) FROM tokens'), $tokens_before,
         'after the outage: the sign-in tokens as before');
ok t_cmp(db_value($S, "SELECT state FROM operations WHERE id = $op"),
         'pending', 'after the outage: the queued operation is still pending');

# Everything works again, with the same httpd processes.
ok t_cmp($F1->enroll->code, 200,
         'after the outage: the device enrolls with its unspent token');
ok t_cmp(session_ok(session($F1)), qr/^200(?: 200)*$/, 'after the outage: its session');
ok t_cmp(session_ok(session($F0)), qr/^200 200(?: 200)*$/,
         'after the outage: the waiting device gets its operation and answers');
ok t_cmp(db_value($S, "SELECT state FROM operations WHERE id = $op"), 'done',
         'after the outage: the operation is done');
{
    my $F2 = WinMDMDevice->new(server => $S);
    $F2->login;
    ok t_cmp($F2->enroll->code . ' ' . session_ok(session($F2)),
             qr/^200 200(?: 200)*$/,
             'after the outage: a new device signs in, enrolls and checks in');
}

# The default server keeps its connections in mod_dbd's pool; on
# PostgreSQL (one server holds every database) they met the outage too.
# Sign-in, enrollment and a session there must work again, several times
# over so that more than one pooled connection is used.
{
    my @got;
    for (1 .. 4) {
        my $dev = WinMDMDevice->new(server => 'default');
        my $t = $dev->login;
        push @got, (defined $t ? 'token' : 'no token') . '/' . $dev->enroll->code
            . '/' . session_ok(session($dev));
    }
    ok t_cmp("@got", qr{^(?:token/200/200(?: 200)* ?){4}$},
             'after the outage: the default server signs in, enrolls and '
             . 'checks in again');
}
# Everything works again: the window closes.
window_mark('end');

# The module said what happened: the request's own reports go to the
# fault server's error log, the store's connection set-up reports
# (WM00020) to the main one.
{
    my @lines;
    for my $f ($fault_log, catfile($logs, 'error_log')) {
        open my $fh, '<', $f or die "$f: $!";
        push @lines, grep { /\[winmdm:error\]/ && /WM000(?:11|14|20|32|35):/ } <$fh>;
        close $fh;
    }
    ok t_cmp(scalar(@lines), qr/^[1-9]/,
             'the module logged the database failure at error level');
}
