# Security rules of DESIGN.md section 5 that are about the transport and
# the paths: the admin API answers only its exact, case-sensitive path
# (a broader <Location /api> block must not open it to other users); on a
# plain HTTP connection only the discovery GET is served unless
# WinMDMTLSOffload says TLS ends in front of httpd; TRACE is off;
# sign-in credentials come from a POST body only; a bare user name
# cannot slip past WinMDMDomain; and password guesses are checked and
# counted atomically, per user and address, so a burst of parallel
# guesses gets the free tries and no more while the user still signs in
# from another address.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Spec::Functions qw(catfile);
use HTTP::Request ();
use LWP::UserAgent ();
use POSIX ();

use Apache::Test;
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);
use WinMDMDevice ();

plan tests => 45, need_module('dbd', 'ssl');

my $ua = LWP::UserAgent->new(keep_alive => 0, timeout => 60,
                             max_redirect => 0);

sub req {
    my($method, $url, %o) = @_;
    my $r = HTTP::Request->new($method => $url);
    $r->authorization_basic(@{ $o{auth} }) if $o{auth};
    if (defined $o{body}) {
        $r->content($o{body});
        $r->header('Content-Type' => $o{type} // 'application/json');
    }
    return $ua->request($r);
}

# --- 1. the admin API by its exact path only ----------------------------------

my $broad = server_url('winmdm_broad');
my @admin = (auth => ['admin', 'admin-password']);
my @user  = (auth => ['demo@example.test', 'demo-password']);

ok t_cmp(req(GET => "$broad" . API . '/admin/devices', @admin)->code, 200,
         'broad block: the administrator reaches the admin API');
ok t_cmp(req(GET => "$broad" . API . '/admin/devices', @user)->code, 401,
         'broad block: an enrollment user does not (the admin block)');

# A device with a pending-free queue, to see that nothing gets locked.
my $dev = WinMDMDevice->new(server => 'default');
$dev->login;
$dev->enroll;
my $id = $dev->device_id;
my $ops = sub {
    db_value('default', 'SELECT COUNT(*) FROM operations WHERE device_id = '
                        . sql_quote($id));
};
my $ops_before = $ops->();

(my $api_upper = API) =~ s{^/api}{/API};
for my $path (API . '/ADMIN/devices', API . '/Admin/devices',
              "$api_upper/admin/devices",
              API . '/services/admin/devices') {
    my $res = req(GET => "$broad$path", @user);
    ok t_cmp($res->code, 404, "GET $path as an enrollment user: not served");
    ok t_cmp($res->decoded_content !~ /"devices"/ ? 'no list' : 'a device list',
             'no list', "GET $path: no device list");
}
for my $path (API . '/ADMIN/devices/lock-devices',
              "$api_upper/admin/devices/lock-devices") {
    my $res = req(POST => "$broad$path", @user, body => qq(["$id"]));
    ok t_cmp($res->code, 404, "POST $path as an enrollment user: not served");
}
ok t_cmp($ops->(), $ops_before, 'case variants queued no operation');
# The exact path still works for the administrator.
ok t_cmp(req(POST => "$broad" . API . '/admin/devices/lock-devices', @admin,
             body => qq(["$id"]))->code,
         qr/^20[01]$/, 'the administrator locks by the exact path');
ok t_cmp($ops->(), $ops_before + 1, 'that queued one operation');
# Device paths still match in any case.
ok t_cmp(req(GET => "$broad/enrollmentserver/discovery.svc")->code, 200,
         'device paths stay case-insensitive');

# --- 3. TLS only ------------------------------------------------------------------

my $plain = server_url('winmdm_plain');
ok t_cmp(req(GET => "$plain/EnrollmentServer/Discovery.svc")->code, 200,
         'plain HTTP: discovery GET served');
ok t_cmp(req(GET => "$plain" . API . '/services/discovery/get')->code, 200,
         'plain HTTP: discovery GET on the MDM path served');

my $soap = 'application/soap+xml; charset=utf-8';
my @refused = (
    [POST => '/EnrollmentServer/Discovery.svc', discover_body(), $soap],
    [GET  => '/emm/enrollments/windows/login-agent?appru=ms-app%3A%2F%2Fx'],
    [POST => '/emm/enrollments/windows/login-agent',
     'appru=ms-app%3A%2F%2Fx&username=demo%40example.test&password=demo-password',
     'application/x-www-form-urlencoded'],
    [POST => '/ENROLLMENTSERVER/PolicyEnrollmentWebservice.svc',
     fixture('xcep_getpolicies_request_win10_19043_usernametoken.xml'), $soap],
    [POST => '/ENROLLMENTSERVER/Win10DeviceEnrollmentWebservice.svc',
     fixture('wstep_rst_request_win10_19043_usernametoken.xml'), $soap],
    [POST => '/devicemgt', fixture('syncml_s1_m1_client_init_win10_19043.xml'),
     'application/vnd.syncml.dm+xml'],
);
for my $r (@refused) {
    my($m, $path, $body, $type) = @$r;
    my $res = req($m => "$plain$path", body => $body, type => $type);
    (my $short = $path) =~ s/\?.*//;
    ok t_cmp($res->code, 403, "plain HTTP: $m $short refused");
    ok t_cmp($res->decoded_content, qr/HTTPS only/,
             "plain HTTP: $m $short says why");
}
ok t_cmp(req(GET => "$plain" . API . '/admin/devices', @admin)->code, 403,
         'plain HTTP: the admin API refused to the administrator too');

# The refusals are logged.
my $log = catfile(Apache::Test::vars('t_logs'), 'error_log');
open my $fh, '<', $log or die "$log: $!";
my $n = grep { /WM00043: POST \/devicemgt refused: not a TLS connection/ } <$fh>;
close $fh;
ok t_cmp($n, qr/^[1-9]/, 'the refusal has a log line');

# --- 6. TRACE off, credentials from the POST body only, bare names -------------

my $base = server_url('default');
ok t_cmp(req(TRACE => "$base/EnrollmentServer/Discovery.svc")->code, 405,
         'TRACE is off in the test server');
for my $f ('conf/winmdm.conf', 'conf/run.conf.in') {
    my $file = catfile(Apache::Test::vars('top_dir'), $f);
    open my $c, '<', $file or die "$file: $!";
    my $on = grep { /^\s*TraceEnable\s+Off\b/i } <$c>;
    close $c;
    ok t_cmp($on, 1, "$f has TraceEnable Off");
}

# A sign-in whose user name and password are in the query string only.
my $login = "$base/emm/enrollments/windows/login-agent"
    . '?username=demo%40example.test&password=demo-password';
my $res = req(POST => $login, body => 'appru=ms-app%3A%2F%2Fx',
              type => 'application/x-www-form-urlencoded');
ok t_cmp($res->decoded_content !~ /name="wresult"/ ? 'no token' : 'a token',
         'no token', 'credentials in the query string are not used');
$res = req(POST => "$base/emm/enrollments/windows/login-agent",
           body => 'appru=ms-app%3A%2F%2Fx&username=demo%40example.test'
                 . '&password=demo-password',
           type => 'application/x-www-form-urlencoded');
ok t_cmp($res->decoded_content =~ /name="wresult"/ ? 'a token' : 'no token',
         'a token', 'the same credentials in the body sign in');

# A bare user name (no domain) while WinMDMDomain is set: refused even
# with the right password, on the sign-in page and in a UsernameToken.
my $bare = WinMDMDevice->new(server => 'default', user => 'demo',
                             password => 'demo-password');
ok t_cmp(defined $bare->login ? 'a token' : 'no token', 'no token',
         'sign-in page: a bare user name gets no token');
ok t_cmp($bare->login_response ? $bare->login_response->decoded_content : '',
         qr/cannot enroll devices here/, 'sign-in page: and is told why');
my $onprem = WinMDMDevice->new(server => 'winmdm_tls', user => 'demo',
                               password => 'demo-password');
my $fault = soap_fault($onprem->get_policies->content);
ok t_cmp($fault ? $fault->{subcode} : 'no fault', 's:Authorization',
         'OnPremise: a bare user name is refused with s:Authorization');

# --- 5. password throttling ---------------------------------------------------------

my $agent = "$base/emm/enrollments/windows/login-agent";
sub sign_in {
    my($user, $password, $from) = @_;
    my $u = LWP::UserAgent->new(keep_alive => 0, timeout => 60,
                                max_redirect => 0,
                                $from ? (local_address => $from) : ());
    my $res = $u->post($agent, {appru => 'ms-app://x', username => $user,
                                password => $password});
    my $body = $res->decoded_content // '';
    return $body =~ /name="wresult"/ ? 'token'
         : $body =~ /Too many failed attempts/ ? 'locked'
         : $body =~ /user name or password is incorrect/ ? 'checked'
         : 'HTTP ' . $res->code;
}

# 30 wrong guesses at once from 127.0.0.1, the user name in varying case.
my $N = 30;
pipe(my $rd, my $wr) or die "pipe: $!";
my @pids;
for my $i (1 .. $N) {
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        close $rd;
        my $user = $i % 2 ? 'victim@example.test' : 'Victim@Example.TEST';
        my $r = eval { sign_in($user, "wrong-$i") } // "died: $@";
        syswrite $wr, "$r\n";
        POSIX::_exit(0);
    }
    push @pids, $pid;
}
close $wr;
my @got = <$rd>;
close $rd;
waitpid $_, 0 for @pids;
chomp @got;
my %n;
$n{$_}++ for @got;
print STDERR "# parallel guesses: ", join(', ', map { "$_ $n{$_}" } sort keys %n), "\n";
ok t_cmp(scalar(@got), $N, 'every parallel guess was answered');
ok t_cmp($n{checked} // 0, 5, 'exactly the 5 free guesses were checked');
ok t_cmp($n{locked} // 0, $N - 5, 'the others were refused unchecked');
ok t_cmp(sign_in('VICTIM@example.test', 'victim-password'), 'locked',
         'from the guessing address, even the right password waits');
ok t_cmp(sign_in('victim@example.test', 'victim-password', '127.0.0.2'),
         'token', 'from their own address, the user signs in');
