# Races (DESIGN.md sections 4 and 5), on SQLite and on PostgreSQL: httpd
# serves requests in many processes and threads at once, and a device
# (or several copies of one, or a retrying one) can send two requests
# before the first is answered. Every request of a race runs in its own
# process; all of them prepare everything slow first (keys, CSRs,
# sign-in), wait at a barrier, and leave at the same moment.
#
# (a) Concurrent enrollments of one DeviceID leave one device row, whose
#     certificate and digest credentials are those of one response; with
#     two users racing for a fresh DeviceID, one owns it and the other
#     is refused with s:Authorization. One sign-in token used by twenty
#     devices at once enrolls one of them.
# (b) Concurrent OMA-DM sessions of one device never send one operation
#     twice ("claiming them is one statement ... so two sessions never
#     send one operation twice"), with the TLS certificate and with the
#     digest (each session with its own unbound nonce).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::MD5 qw(md5_hex);
use Digest::SHA qw(sha1_hex);
use File::Spec::Functions qw(catfile);
use File::Temp qw(tempdir);
use HTTP::Response ();
use IO::Socket::INET ();
use URI ();
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use POSIX ();

use Apache::Test;
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);
use WinMDMDevice qw(random_hex);

plan tests => 59, need_module('dbd', 'ssl');

# Each race's processes write their results here, one JSON file each.
my $RESULTS = tempdir(CLEANUP => 1);
my $RACE = 0;
$| = 1;

# Runs the jobs at once, each in its own process. A job is a sub given
# a wait sub, which it calls when it is ready to send (it returns when
# every job is ready); what the job returns (a hash ref) comes back, in
# the order of the jobs. A job that dies returns {error => why}.
sub race {
    my @jobs = @_;
    my $race = ++$RACE;
    pipe(my $go_r, my $go_w) or die "pipe: $!";
    pipe(my $ready_r, my $ready_w) or die "pipe: $!";
    my @pids;
    for my $i (0 .. $#jobs) {
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if (!$pid) {
            close $go_w;
            close $ready_r;
            my $waited = 0;
            my $wait = sub {
                return if $waited++;
                syswrite $ready_w, 'r';
                close $ready_w;
                # Returns at the end of the pipe: when the parent closes
                # its end, every job leaves at once.
                sysread $go_r, my $buf, 1;
            };
            my $result = eval { $jobs[$i]->($wait) };
            $result = {error => "$@"} unless ref $result eq 'HASH';
            $wait->();
            my $file = catfile($RESULTS, "$race-$i.json");
            if (open my $fh, '>', $file) {
                print $fh JSON::PP->new->canonical->encode($result);
                close $fh;
            }
            # No END blocks, no temporary directory clean-up, no test
            # output: those belong to the parent.
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    close $ready_w;
    close $go_r;
    my $ready = 0;
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 120;
        while ($ready < @jobs) {
            my $n = sysread $ready_r, my $buf, 64;
            last unless $n;
            $ready += $n;
        }
        alarm 0;
    };
    alarm 0;
    close $ready_r;
    close $go_w;
    waitpid $_, 0 for @pids;
    my @results;
    for my $i (0 .. $#jobs) {
        my $file = catfile($RESULTS, "$race-$i.json");
        my $r = {error => 'no result'};
        if (open my $fh, '<', $file) {
            local $/;
            $r = eval { JSON::PP->new->decode(<$fh>) } || {error => 'bad result'};
            close $fh;
        }
        push @results, $r;
    }
    return @results;
}

# The results of enroll_job, with every field the checks read defined
# (a job that died has only its error).
sub enroll_race {
    my @r = race(map { enroll_job($_) } @_);
    for (@r) {
        $_->{outcome} //= 'no answer: ' . ($_->{error} // '?');
        $_->{user} //= '';
        $_->{code} //= 0;
    }
    return @r;
}

# --- (a) enrollments --------------------------------------------------------------

# A job: the device's enrollment (its key and CSR made before the
# barrier). The result: HTTP status, outcome ('provisioned', 'fault
# <subcode>' for a SOAP 1.2 fault sent with 500, else what came),
# certificate SHA-1 and the provisioning document's OMA-DM secret.
sub enroll_job {
    my $dev = shift;
    return sub {
        my $wait = shift;
        my $res = $dev->enroll(before_send => $wait);
        my $body = $res->content;
        my $outcome;
        if ($res->code == 200 && $dev->cert_der && $dev->prov_doc) {
            $outcome = 'provisioned';
        }
        elsif ($res->code == 500 and my $f = soap_fault($body)) {
            $outcome = 'fault ' . ($f->{subcode} // $f->{code} // '?');
        }
        else {
            (my $b = substr $body // '', 0, 300) =~ s/\s+/ /g;
            $outcome = 'HTTP ' . $res->code . ': ' . $b;
        }
        return {
            code      => $res->code,
            outcome   => $outcome,
            user      => $dev->user,
            body      => $body,
            cert_sha1 => $dev->cert_der ? uc sha1_hex($dev->cert_der) : undef,
            secret    => $dev->appsrv_secret,
        };
    };
}

# Outcomes that are neither a provisioning document nor a clean SOAP
# fault, with the request's number; '' when there is none.
sub unclean {
    my @r = @_;
    return join '; ', map { "#$_ $r[$_]{outcome}" }
        grep { ($r[$_]{outcome} // '') !~ /^(?:provisioned|fault \S+)$/ }
        0 .. $#r;
}

sub device_row {
    my($server, $id) = @_;
    my @rows = db_rows($server, 'SELECT user_name, cert_sha1, digest_ha1, state '
                       . 'FROM devices WHERE device_id = ' . sql_quote($id));
    my %row;
    @row{qw(user cert_sha1 digest_ha1 state)} = split /\|/, $rows[0] // '', -1;
    $row{count} = db_value($server, 'SELECT COUNT(*) FROM devices WHERE '
                           . 'device_id = ' . sql_quote($id));
    return \%row;
}

# The same user, the same DeviceID, 8 processes; three times.
my $N = 8;
for my $round (1 .. 3) {
    my $id = random_hex(16);
    my @devs = map { WinMDMDevice->new(server => 'default', device_id => $id) }
               1 .. $N;
    $_->login for @devs;
    my @r = enroll_race(@devs);
    my $label = "same user, $N enrollments of one DeviceID at once ($round)";
    print STDERR "# $label: ", join(', ', map { $_->{outcome} } @r), "\n";
    ok t_cmp(unclean(@r), '',
             "$label: each a provisioning document or a clean SOAP fault");
    my @won = grep { $r[$_]{outcome} eq 'provisioned' } 0 .. $#r;
    ok t_cmp(scalar(@won) > 0 ? 'some' : 'none', 'some',
             "$label: at least one provisioning document");
    my $row = device_row('default', $id);
    ok t_cmp($row->{count}, 1, "$label: one device row");
    my($w) = grep { uc($row->{cert_sha1} // '') eq ($r[$_]{cert_sha1} // '-') } @won;
    ok t_cmp(defined $w ? 'a certificate sent' : $row->{cert_sha1} // 'none',
             'a certificate sent',
             "$label: the row's certificate is one a response carried");
    ok t_cmp(defined $w ? lc($row->{digest_ha1} // '') eq
                          md5_hex("$id:" . ($r[$w]{secret} // ''))
                          ? 'the same response' : 'another response'
                        : 'no response',
             'the same response',
             "$label: its digest credentials come from the same response");
    # The device that got the row's certificate opens a session with the
    # credentials and nonce of its document; the others' are gone.
    my @hdr;
    for my $i (defined $w ? ($w, grep { $_ != $w } @won) : ()) {
        my $dev = $devs[$i];
        $dev->read_provisioning(HTTP::Response->new(200, 'OK', undef,
                                                    $r[$i]{body}));
        $dev->dm_begin(auth => 'digest');
        my $s = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
        push @hdr, $s->{hdr_status} // "HTTP $s->{code}";
    }
    ok t_cmp(join(' ', @hdr),
             join(' ', defined $w ? (200, (401) x (@won - 1)) : ()),
             "$label: the winner's digest session 200, every other "
             . "document's credentials 401");
}

# Two users, one fresh DeviceID, two processes each, OnPremise
# UsernameTokens on the TLS server; three times.
my @USERS = (['demo@example.test', 'demo-password'],
             ['other@example.test', 'other-password']);
for my $round (1 .. 3) {
    my $id = random_hex(16);
    my @devs = map {
        my $u = $USERS[$_ % 2];
        WinMDMDevice->new(server => 'winmdm_tls', device_id => $id,
                          user => $u->[0], password => $u->[1]);
    } 0 .. 3;
    my @r = enroll_race(@devs);
    my $label = "two users racing for one fresh DeviceID ($round)";
    print STDERR "# $label: ", join(', ', map {
        "$_->{user} $_->{outcome}" } @r), "\n";
    ok t_cmp(unclean(@r), '',
             "$label: each a provisioning document or a clean SOAP fault");
    my $row = device_row('winmdm_tls', $id);
    ok t_cmp($row->{count}, 1, "$label: one device row");
    my $owner = $row->{user} // 'no owner';
    ok t_cmp(join(' ', map { $_->{outcome} } grep { $_->{user} ne $owner } @r),
             'fault s:Authorization fault s:Authorization',
             "$label: the user who does not own the row got s:Authorization");
    my @won = grep { $_->{user} eq $owner && $_->{outcome} eq 'provisioned' } @r;
    my($w) = grep { ($_->{cert_sha1} // '-') eq uc($row->{cert_sha1} // '') } @won;
    ok t_cmp($w ? 'the owner got it' : 'no response of the owner has it',
             'the owner got it',
             "$label: the row's certificate is one its owner was sent");
    ok t_cmp($w && lc($row->{digest_ha1} // '') eq
             md5_hex("$id:" . ($w->{secret} // '')) ? 'the same response'
             : 'another response', 'the same response',
             "$label: its digest credentials come from the same response");
}

# One sign-in token, twenty devices (twenty DeviceIDs) enrolling with it at
# once: the token is spent inside the enrollment's transaction, so one
# device is enrolled and every other request is refused; on SQLite and
# on PostgreSQL alike.
# Each request is sent whole but for its last byte before the barrier,
# and that byte after it: the requests reach the server at one moment.
sub held_enroll_job {
    my $dev = shift;
    my $job = enroll_job($dev);
    return sub {
        my $wait = shift;
        no warnings 'redefine';
        local *WinMDMDevice::post_soap = sub {
            my($self, $url, $body) = @_;
            my $u = URI->new($url);
            my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                             PeerPort => $u->port,
                                             Proto => 'tcp', Timeout => 60)
                or die "connect: $!";
            binmode $sock;
            print $sock 'POST ' . $u->path_query . " HTTP/1.1\r\n"
                . 'Host: ' . $u->host_port . "\r\n"
                . "Content-Type: application/soap+xml; charset=utf-8\r\n"
                . 'Content-Length: ' . length($body) . "\r\n"
                . "Connection: close\r\n\r\n" . substr($body, 0, -1);
            $sock->flush;
            $wait->();
            print $sock substr($body, -1);
            $sock->flush;
            my $raw = '';
            1 while sysread $sock, $raw, 65536, length $raw;
            close $sock;
            return HTTP::Response->parse($raw);
        };
        return $job->(sub { });
    };
}

{
    my $first = WinMDMDevice->new(server => 'default');
    my $token = $first->login;
    my @devs = map { WinMDMDevice->new(server => 'default') } 1 .. 20;
    $_->{token} = $token for @devs;
    my @r = race(map { held_enroll_job($_) } @devs);
    for (@r) {
        $_->{outcome} //= 'no answer: ' . ($_->{error} // '?');
    }
    my $label = 'one token, 20 enrollments of 20 DeviceIDs at once';
    print STDERR "# $label: ", join(', ', map { $_->{outcome} } @r), "\n";
    ok t_cmp(unclean(@r), '',
             "$label: each a provisioning document or a clean SOAP fault");
    ok t_cmp(scalar(grep { $_->{outcome} eq 'provisioned' } @r), 1,
             "$label: one provisioning document");
    ok t_cmp(join(' ', sort map { $_->{outcome} }
                  grep { $_->{outcome} ne 'provisioned' } @r),
             join(' ', ('fault s:Authentication') x 19),
             "$label: the others get s:Authentication");
    ok t_cmp(db_value('default', 'SELECT COUNT(*) FROM devices WHERE '
                      . 'device_id IN (' . join(', ', map { sql_quote($_->device_id) } @devs)
                      . ')'), 1, "$label: one device row");
}

# --- (b) sessions --------------------------------------------------------------------

my $tls = WinMDMDevice->new(server => 'winmdm_tls');
ok t_cmp($tls->enroll->code, 200, 'a device enrolls on the TLS server');
my $dig = WinMDMDevice->new(server => 'default');
$dig->login;
ok t_cmp($dig->enroll->code, 200, 'a device enrolls on the default server');

# The operations of one round: every kind of command layout (one Get,
# an Exec, an Atomic with nested Replaces, two commands of one SYNCML).
my @OPS = (
    {type => 'DEVICE_INFO'},
    {type => 'REBOOT'},
    {type => 'POLICY', settings => {'DeviceLock/MinDevicePasswordLength' => '6'}},
    {type => 'SYNCML', syncml => '<Get><CmdID>1</CmdID><Item><Target><LocURI>'
     . './DevDetail/SwV</LocURI></Target></Item></Get><Replace><CmdID>2</CmdID>'
     . '<Item><Target><LocURI>./Vendor/MSFT/Personalization/LockScreenImageUrl'
     . '</LocURI></Target><Data>https://example.test/a.jpg</Data></Item>'
     . '</Replace>'},
);

# Every CmdID of a reply's commands, nested ones included.
sub cmd_ids {
    my @out;
    for my $c (@_) {
        push @out, $c->{cmd_id} // '-', cmd_ids(@{ $c->{children} || [] });
    }
    return @out;
}

my $K = 6;
my $OPN = 20;
my $SID = 0xC000;
for my $round (1 .. 4) {
    my($dev, $server, $auth) = $round % 2
        ? ($tls, 'winmdm_tls', 'cert') : ($dig, 'default', 'digest');
    my $id = $dev->device_id;
    my $label = "$K concurrent $auth sessions, $OPN operations ($round)";

    my @ids = map {
        my $q = admin_request(POST => "/devices/$id/operations", server => $server,
                              body => $OPS[$_ % @OPS]);
        $q->{code} == 201 && $q->{json} ? $q->{json}{id} // 'no id'
                                        : "HTTP $q->{code}";
    } 0 .. $OPN - 1;
    ok t_cmp(scalar(grep { /^\d+$/ } @ids), $OPN, "$label: queued");

    # A digest nonce is bound to the first session that uses it: each
    # session gets one of its own, unbound, as the server stores them.
    my @nonces;
    if ($auth eq 'digest') {
        @nonces = map { encode_base64(pack('H*', random_hex(16)), '') } 1 .. $K;
        my $exp = time + 600;
        db_rows($server, 'INSERT INTO nonces (nonce, device_id, expires) VALUES '
                . join(', ', map { '(' . sql_quote($_) . ', ' . sql_quote($id)
                                   . ", $exp)" } @nonces));
    }

    my @r = race(map {
        my $i = $_;
        my $sid = sprintf '%X', ++$SID;
        sub {
            my $wait = shift;
            $dev->set_dm_nonce($nonces[$i]) if @nonces;
            $wait->();
            my @replies = $dev->dm_session(auth => $auth, session_id => $sid);
            return {session => $sid, replies => [map { {
                code => $_->{code},
                hdr  => $_->{hdr_status},
                ids  => [cmd_ids(@{ $_->{commands} })],
            } } @replies]};
        };
    } 0 .. $K - 1);

    # Per session the operations it was sent; per operation how many
    # messages carried it (an operation's commands all go in one).
    my(%sessions_of, %sent, @bad);
    for my $s (@r) {
        push @bad, "error $s->{error}" if $s->{error};
        for my $m (@{ $s->{replies} || [] }) {
            push @bad, "$s->{session}: HTTP $m->{code} SyncHdr "
                . ($m->{hdr} // 'none')
                unless $m->{code} == 200 && ($m->{hdr} // '') eq '200';
            my %in_msg = map { /^(\d+)(?:\.\d+)*$/ ? ($1 => 1) : () }
                         @{ $m->{ids} };
            $sent{$_}++ for keys %in_msg;
            $sessions_of{$_}{ $s->{session} } = 1 for keys %in_msg;
        }
    }
    my $spread = join ' ', map { scalar(@{ $_->{replies} || [] }) . 'm/'
        . scalar(map { @{ $_->{ids} } } @{ $_->{replies} || [] }) . 'c' } @r;
    print STDERR "# $label: messages/commands per session: $spread\n";
    ok t_cmp(join('; ', @bad), '', "$label: every message HTTP 200, SyncHdr 200");
    ok t_cmp(join(' ', map { "$_ in " . join(',', sort keys %{ $sessions_of{$_} }) }
                       grep { keys %{ $sessions_of{$_} } > 1 }
                       sort { $a <=> $b } keys %sessions_of),
             '', "$label: no operation sent in two sessions");
    my %mine = map { $_ => 1 } @ids;
    ok t_cmp(join(' ', (map { "$_ sent " . ($sent{$_} // 0) . ' times' }
                        grep { ($sent{$_} // 0) != 1 } @ids),
                       (map { "$_ is not of this round" }
                        grep { !$mine{$_} } sort keys %sent)),
             '', "$label: each operation sent exactly once in all");
    my @states = db_rows($server, 'SELECT state, count(*) FROM operations WHERE id IN ('
                         . join(',', map { /^\d+$/ ? $_ : 0 } @ids)
                         . ') GROUP BY state ORDER BY state');
    ok t_cmp(join(' ', @states), "done|$OPN", "$label: every operation done");
}
