# Hostile requests (DESIGN.md section 5): each gets a clear error, or is
# stored exactly as sent, and changes nothing else. The tables that
# matter (db_snapshot's, and tokens) are compared before and after.
#
#   - XXE, billion laughs, 10,000 nested elements and invalid UTF-8 on
#     every XML endpoint: the SOAP ones answer HTTP 500 s:MessageFormat,
#     OMA-DM answers 200 with a SyncHdr Status 400;
#   - a 100 MB body, declared and chunked: 413 long before it is sent;
#   - a valid body sent slowly still gets its answer;
#   - SQL metacharacters in every stored field: an accepted value is
#     stored byte for byte, a refused one is refused for its stated
#     reason (not any fault), and the tables are still there;
#   - control characters in a DeviceID; path traversal in URLs;
#   - CSRs with odd subjects: the certificate's CN is the DeviceID;
#   - a sign-in token used by another user, or used twice.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Spec::Functions qw(catfile);
use IO::Select ();
use IO::Socket::INET ();
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(time sleep);
use URI::Escape qw(uri_escape);

use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);
use WinMDMDevice qw(SYNCML_CT SOAP_CT run_cmd openssl dm_command_list);

plan tests => 90, need_module('dbd', 'ssl');

my $LIMIT = 65536;
use_server('default');

# --- the XML endpoints and their hostile bodies ----------------------------

my %ep = (
    discovery => ['/EnrollmentServer/Discovery.svc', SOAP_CT,
                  fixture('discovery_request_win10_19043_reqver4.xml')],
    xcep      => ['/ENROLLMENTSERVER/PolicyEnrollmentWebservice.svc', SOAP_CT,
                  fixture('xcep_getpolicies_request_win10_19043_usernametoken.xml')],
    wstep     => ['/ENROLLMENTSERVER/Win10DeviceEnrollmentWebservice.svc',
                  SOAP_CT,
                  fixture('wstep_rst_request_win10_19043_usernametoken.xml')],
    omadm     => ['/devicemgt?mode=Maintenance&Platform=WoA', SYNCML_CT,
                  fixture('syncml_s1_m1_client_init_win10_19043.xml')],
);
my @EPS = qw(discovery xcep wstep omadm);

# The body of an endpoint with $text where its MessageID (SOAP) or
# SessionID (SyncML) is, and $prolog in front.
sub bent {
    my($name, $text, $prolog) = @_;
    my $b = $ep{$name}[2];
    if ($name eq 'omadm') {
        $b =~ s{<SessionID>[^<]*</SessionID>}{<SessionID>$text</SessionID>}
            or die "no SessionID in $name";
    }
    else {
        $b =~ s{<a:MessageID>[^<]*</a:MessageID>}{<a:MessageID>$text</a:MessageID>}
            or die "no MessageID in $name";
    }
    return ($prolog // '') . $b;
}

sub root_of {
    my $b = shift;
    my($root) = $b =~ /<([\w:]+)/;
    return $root;
}

my $laughs = join "\n", '<!ENTITY lol0 "lol">',
    map { my $p = $_ - 1; qq{<!ENTITY lol$_ "} . ("&lol$p;" x 10) . '">' } 1 .. 9;

my @hostile = (
    ['XXE' => sub {
        my $n = shift;
        bent($n, '&xxe;', '<!DOCTYPE ' . root_of($ep{$n}[2])
             . ' [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>')
    }],
    ['billion laughs' => sub {
        my $n = shift;
        bent($n, '&lol9;', '<!DOCTYPE ' . root_of($ep{$n}[2])
             . " [\n$laughs\n]>")
    }],
    # 10,000 levels take 70,000 bytes with their end tags, more than
    # WinMDMMaxMessageSize (65536) allows: the parser meets the 10,000
    # start tags, which it must refuse on depth before the missing end
    # tags matter; 8,000 complete levels fit under the limit.
    ['10,000 nested start tags' => sub {
        my $n = shift;
        my $b = $ep{$n}[2];
        my $deep = '<x>' x 10000;
        $b =~ s{(<SyncBody>|<s:Body[^>]*>)}{$1$deep} or die "no body in $n";
        $b
    }],
    ['8,000 nested elements' => sub {
        my $n = shift;
        my $b = $ep{$n}[2];
        my $deep = ('<x>' x 8000) . ('</x>' x 8000);
        $b =~ s{(<SyncBody>|<s:Body[^>]*>)}{$1$deep} or die "no body in $n";
        $b
    }],
    ['overlong UTF-8' => sub { bent(shift, "urn:uuid:\xC0\xAF\xE0\x80\xAF") }],
    ['UTF-8 lone surrogate' => sub { bent(shift, "urn:uuid:\xED\xA0\x80") }],
    ['0xFF bytes' => sub { bent(shift, "urn:uuid:\xFF\xFE\xFF") }],
);

# Everything the hostile bodies could touch.
sub state_of {
    my $server = shift // 'default';
    return db_snapshot($server) . "\ntokens: "
        . join(',', db_rows($server, 'SELECT * FROM tokens ORDER BY token_hash'));
}

my $before = state_of();
for my $h (@hostile) {
    my($what, $make) = @$h;
    for my $n (@EPS) {
        my($path, $ct) = @{ $ep{$n} };
        my $body = $make->($n);
        my $res = raw_post($path, $ct, $body);
        if ($n eq 'omadm') {
            my $doc = xml_doc($res->{body});
            my $x = xpc($doc || XML::LibXML::Document->new);
            ok t_cmp($res->{status} . ' ' . (xpath_text($x,
                '/m:SyncML/m:SyncBody/m:Status[m:Cmd="SyncHdr"]/m:Data')
                // 'no SyncHdr Status'),
                '200 400', "$what, $n: HTTP 200, SyncHdr Status 400");
        }
        else {
            my $fault = soap_fault($res->{body});
            ok t_cmp($res->{status} . ' '
                     . ($fault ? $fault->{subcode} // 'no subcode' : 'no fault'),
                     '500 s:MessageFormat', "$what, $n: HTTP 500 s:MessageFormat");
        }
    }
}
ok t_cmp(state_of(), $before, 'hostile bodies: nothing stored');

# --- a 100 MB body -----------------------------------------------------------

# Sends the head, then body bytes as long as the server neither answers
# nor closes; returns (status, bytes of body sent, seconds).
sub flood {
    my($path, $chunked) = @_;
    my($host, $port) =
        split /:/, Apache::TestRequest::hostport(Apache::Test::config());
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                     Proto => 'tcp', Timeout => 10)
        or die "connect: $!";
    binmode $sock;
    local $SIG{PIPE} = 'IGNORE';
    my $t0 = time;
    my $total = 104857600;
    print $sock "POST $path HTTP/1.1\r\nHost: $host:$port\r\n"
        . "Content-Type: " . SOAP_CT . "\r\n"
        . ($chunked ? "Transfer-Encoding: chunked\r\n"
                    : "Content-Length: $total\r\n") . "\r\n";
    my $block = '<!-- ' . ('x' x 65520) . ' -->';
    my $sel = IO::Select->new($sock);
    my($sent, $answer) = (0, '');
    while ($sent < $total && time - $t0 < 60) {
        if ($sel->can_read(0)) {
            last;
        }
        my $piece = $chunked
            ? sprintf("%x\r\n", length $block) . $block . "\r\n" : $block;
        my $w = syswrite $sock, $piece;
        last unless defined $w && $w > 0;
        $sent += length $block;
    }
    # The answer (or the end of the connection).
    if ($sel->can_read(10)) {
        sysread $sock, $answer, 4096;
    }
    close $sock;
    my($status) = $answer =~ m{^HTTP/\d\.\d (\d{3})};
    return ($status // 'no answer', $sent, time - $t0);
}

for my $chunked (0, 1) {
    my $how = $chunked ? 'chunked' : 'Content-Length 104857600';
    my($status, $sent, $secs) = flood($ep{discovery}[0], $chunked);
    ok t_cmp($status, 413, "100 MB body ($how): 413");
    ok t_cmp($sent < 10 * 1048576 ? 'early' : "after $sent bytes", 'early',
             "100 MB body ($how): answered before 10 MB were sent");
    ok t_cmp($secs < 15 ? 'quick' : "$secs s", 'quick',
             "100 MB body ($how): within seconds");
}

# --- a slow body -------------------------------------------------------------

{
    my $body = discover_body(message_id => 'urn:uuid:1d2b9c3e-5f60-4a7b-8c9d-0e1f2a3b4c5d');
    my($host, $port) =
        split /:/, Apache::TestRequest::hostport(Apache::Test::config());
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                     Proto => 'tcp', Timeout => 30)
        or die "connect: $!";
    binmode $sock;
    $sock->autoflush(1);
    print $sock "POST $ep{discovery}[0] HTTP/1.1\r\nHost: $host:$port\r\n"
        . "Content-Type: " . SOAP_CT . "\r\nConnection: close\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n";
    for (my $off = 0; $off < length $body; $off += 50) {
        print $sock substr($body, $off, 50);
        sleep 0.1;
    }
    local $/;
    my $answer = <$sock> // '';
    close $sock;
    my($status) = $answer =~ m{^HTTP/\d\.\d (\d{3})};
    my($content) = $answer =~ /\r\n\r\n(.*)\z/s;
    my $x = xpc(xml_doc($content) || XML::LibXML::Document->new);
    ok t_cmp($status // 'no answer', 200, 'slow body: 200');
    ok t_cmp(xpath_text($x, '/s:Envelope/s:Header/a:RelatesTo'),
             'urn:uuid:1d2b9c3e-5f60-4a7b-8c9d-0e1f2a3b4c5d',
             'slow body: the answer to that request');
}

# --- SQL metacharacters in every stored field ----------------------------------

my $EVIL = q{'; DROP TABLE devices; -- 100% _x_ \\ "q" 'q'};
my $EVIL_OPS = q{'; DROP TABLE operations; -- 50% _ \\ "a" 'b'};

sub tables_exist {
    my $server = shift;
    return join ' ', map {
        my $n = db_value($server, "SELECT count(*) FROM $_");
        defined $n && $n =~ /^\d+$/ ? "$_ ok" : "$_ missing"
    } qw(devices tokens operations results inventory nonces);
}
my $TABLES = 'devices ok tokens ok operations ok results ok inventory ok nonces ok';

# An accepted value: a 200, and the value stored byte for byte.
sub stored_ok {
    my($label, $res, $read_api, $read_db, $want) = @_;
    ok t_cmp($res->code == 200 ? $read_api->() : 'HTTP ' . $res->code, $want,
             "$label: accepted and stored as sent (admin API)");
    ok t_cmp($res->code == 200 ? $read_db->() : 'HTTP ' . $res->code, $want,
             "$label: accepted and stored as sent (database)");
}

# A refused value: a SOAP fault with the subcode and the reason that say
# why (never just any fault).
sub refused_ok {
    my($label, $res, $subcode, $reason) = @_;
    my $f = soap_fault($res->content);
    ok t_cmp($res->code . ' ' . ($f ? $f->{subcode} // 'no subcode' : 'no fault'),
             "500 $subcode", "$label: refused with $subcode");
    ok t_cmp($f ? $f->{reason} // '' : '', $reason, "$label: the reason says why");
}

sub api_device {
    my $id = shift;
    my $g = admin_request(GET => '/devices/' . uri_escape($id));
    return $g->{json} // {};
}

# WSTEP AdditionalContext: DeviceName, OSVersion, HWDevID.
my $S1 = WinMDMDevice->new(server => 'default');
$S1->login;
my $res = $S1->enroll(context => {DeviceName => $EVIL, OSVersion => $EVIL,
                                  HWDevID => $EVIL});
my $q1 = sql_quote($S1->device_id);
stored_ok('DeviceName', $res,
    sub { api_device($S1->device_id)->{device_name} // 'none' },
    sub { db_value('default', "SELECT device_name FROM devices WHERE device_id = $q1") // 'none' },
    $EVIL);
stored_ok('OSVersion', $res,
    sub { api_device($S1->device_id)->{os_version} // 'none' },
    sub { db_value('default', "SELECT os_version FROM devices WHERE device_id = $q1") // 'none' },
    $EVIL);
stored_ok('HWDevID', $res,
    sub { db_value('default', "SELECT hw_dev_id FROM devices WHERE device_id = $q1") // 'none' },
    sub { db_value('default', "SELECT hw_dev_id FROM devices WHERE device_id = $q1") // 'none' },
    $EVIL);

# The DeviceID itself: with spaces it is refused (a DeviceID holds none),
# and that is said; without them, its SQL metacharacters round-trip.
my $S2 = WinMDMDevice->new(server => 'default', device_id => $EVIL);
$S2->login;
$res = $S2->enroll;
refused_ok('DeviceID with spaces', $res, 's:MessageFormat',
           qr/DeviceID is empty, too long or holds spaces/);
my $EVIL_ID = q{x';DROP_TABLE_devices;--100%"q"\\};
my $S3 = WinMDMDevice->new(server => 'default', device_id => $EVIL_ID);
$S3->login;
$res = $S3->enroll;
stored_ok('DeviceID', $res,
    sub { api_device($EVIL_ID)->{device_id} // 'none' },
    sub { db_value('default', 'SELECT device_id FROM devices WHERE device_id = '
                   . sql_quote($EVIL_ID)) // 'none' },
    $EVIL_ID);
ok t_cmp(tables_exist('default'), $TABLES, 'WSTEP: the tables still exist');

# The user name at the sign-in page and in a UsernameToken.
{
    my $u = q{demo'; DROP TABLE tokens; --@example.test};
    my $dev = WinMDMDevice->new(server => 'default', user => $u,
                                password => q{x' OR '1'='1});
    my $token = $dev->login;
    ok t_cmp(defined $token ? 'token' : 'no token', 'no token',
             'sign-in with SQL in the user name: no token');
    ok t_cmp($dev->login_page->code, qr/^[2-4]\d\d$/,
             'sign-in with SQL in the user name: no server error');
    my $tls = WinMDMDevice->new(server => 'winmdm_tls', user => $u,
                                password => q{x' OR '1'='1});
    my $r = $tls->enroll;
    my $f = soap_fault($r->content);
    ok t_cmp($r->code . ' ' . ($f ? $f->{subcode} // '' : 'no fault'),
             qr/^500 s:Authentication$/,
             'UsernameToken with SQL in the user name: s:Authentication');
    ok t_cmp($f ? $f->{reason} // '' : '', qr/user name or password is incorrect/,
             'UsernameToken with SQL in the user name: refused as a wrong password');
    ok t_cmp(tables_exist('winmdm_tls'), $TABLES,
             'UsernameToken: the tables still exist');
}

# Inventory values and results data in SyncML, and SYNCML and POLICY
# operations of the admin API.
{
    my $dev = WinMDMDevice->new(server => 'default');
    $dev->login;
    $dev->enroll;
    my $syncml = '<Replace><CmdID>1</CmdID><Item><Target><LocURI>'
        . './Vendor/MSFT/Policy/Config/Test/Value</LocURI></Target><Data>'
        . WinMDMDevice::xml_escape($EVIL_OPS) . '</Data></Item></Replace>';
    my $q = admin_request(POST => '/devices/' . $dev->device_id . '/operations',
                          body => {type => 'SYNCML', syncml => $syncml});
    my $op_syncml = $q->{json} ? $q->{json}{id} : undef;
    ok t_cmp($q->{code}, 201, 'SYNCML with SQL: accepted');
    $q = admin_request(POST => '/devices/' . $dev->device_id . '/operations',
        body => {type => 'POLICY',
                 settings => {'DeviceLock/MinDevicePasswordLength' => $EVIL_OPS}});
    my $op_policy = $q->{json} ? $q->{json}{id} : undef;
    # Accepted, or refused for a stated reason (a setting's value may
    # have to fit its format).
    ok t_cmp($q->{code} == 201 ? 'accepted'
             : $q->{code} == 400 && $q->{json} && ($q->{json}{error} // '') =~ /\S{3}.*\S{3}/
               ? 'refused for a stated reason' : "HTTP $q->{code}",
             qr/^(?:accepted|refused for a stated reason)$/,
             'POLICY with SQL: accepted, or refused for a stated reason');
    $q = admin_request(POST => '/devices/' . $dev->device_id . '/operations',
        body => {type => 'SYNCML', syncml => '<Get><CmdID>1</CmdID><Item><Target>'
                 . '<LocURI>./DevDetail/SwV</LocURI></Target></Item></Get>'});
    my $op_get = $q->{json} ? $q->{json}{id} : 'none';

    my @replies = $dev->dm_session(
        devinfo => {Man => $EVIL, Mod => $EVIL_OPS},
        results => sub { $EVIL });
    my $sent = join '', map { $_->{body} // '' } @replies;
    # The Data the device was given, as it decodes it.
    my $walk;
    $walk = sub {
        map { ((map { $_->{data} // () } @{ $_->{items} }),
               $walk->(@{ $_->{children} })) } @_
    };
    my @data = map { $walk->(@{ $_->{commands} }) } @replies;
    ok t_cmp(scalar(grep { $_ eq $EVIL_OPS } @data),
             ($op_syncml ? 1 : 0) + ($op_policy ? 1 : 0),
             'SYNCML and POLICY with SQL: sent to the device byte for byte');
    my $inv = api_device($dev->device_id)->{inventory} // {};
    ok t_cmp($inv->{'./DevInfo/Man'} // 'none', $EVIL,
             'inventory with SQL: stored as sent (admin API)');
    ok t_cmp(db_value('default', 'SELECT value FROM inventory WHERE device_id = '
                      . sql_quote($dev->device_id) . " AND uri = './DevInfo/Mod'")
             // 'none', $EVIL_OPS, 'inventory with SQL: stored as sent (database)');
    my $o = admin_request(GET => "/operations/$op_get");
    my $rdata = $o->{json} && $o->{json}{results} && $o->{json}{results}[0]
        ? $o->{json}{results}[0]{data} : 'none';
    ok t_cmp($rdata, $EVIL, 'results with SQL: stored as sent (admin API)');
    ok t_cmp(db_value('default', "SELECT data FROM results WHERE op_id = $op_get")
             // 'none', $EVIL, 'results with SQL: stored as sent (database)');
    ok t_cmp(tables_exist('default'), $TABLES, 'SyncML: the tables still exist');
}

# --- control characters in a DeviceID ----------------------------------------

# The third is ESC written as a character reference; the emulator would
# escape its ampersand, so the request is sent with a raw U+0001 in its
# place (itself refused as malformed XML, which changes nothing) and the
# reference is then put in instead, as another client would write it.
for my $cc (["\t", 'tab'], ["\x7F", 'DEL'], ["\x01", 'escape as a reference']) {
    my($c, $what) = @$cc;
    my $before_cc = state_of();
    my $dev = WinMDMDevice->new(server => 'default');
    $dev->login;
    my $id = 'AB' . $c . 'CD' . WinMDMDevice::random_hex(8);
    my $r = $dev->enroll(context => {DeviceID => $id});
    my($code, $content) = ($r->code, $r->content);
    if ($c eq "\x01") {
        my $raw = $r->request->content;
        $raw =~ s/\x01/&#x1B;/g;
        my $rr = raw_post($ep{wstep}[0], SOAP_CT, $raw);
        ($code, $content) = ($rr->{status}, $rr->{body});
    }
    my $f = soap_fault($content);
    ok t_cmp($code . ' ' . ($f ? $f->{subcode} // '' : 'no fault'),
             '500 s:MessageFormat', "DeviceID with a $what at WSTEP: s:MessageFormat");
    $dev->dm_begin(auth => 'none');
    my $dm = $dev->dm_message(source => $id, cmds => [$dev->dm_package1_cmds]);
    $dm =~ s/\x01/&#x1B;/g;
    $r = $dev->dm_send(body => $dm);
    # A reference to a character XML 1.0 does not allow makes the
    # message malformed (400); a well-formed one names an unknown
    # device (403).
    my $want = $c eq "\x01" ? 400 : 403;
    ok t_cmp($r->{hdr_status} // "HTTP $r->{code}", $want,
             "DeviceID with a $what as OMA-DM Source: $want");
    my $after = state_of();
    # The sign-in token of the refused enrollment stays unspent; nothing
    # else may change.
    $after =~ s/\ntokens: .*//s;
    (my $b = $before_cc) =~ s/\ntokens: .*//s;
    ok t_cmp($after, $b, "DeviceID with a $what: nothing stored");
}

# --- path traversal ------------------------------------------------------------

# Paths that climb above the document root itself are refused by httpd's
# core before any module sees them, with a 400 and an error line of its
# own (AH10244); the ones here stay inside it, or hide the climb in
# encoded slashes, so that what is tested is the module's routing.
for my $path ('/EnrollmentServer/../etc/passwd',
              '/EnrollmentServer/%2e%2e/etc/passwd',
              '/EnrollmentServer/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
              '/devicemgt/../etc/passwd',
              '/devicemgt/..%2f..%2f..%2fetc%2fpasswd',
              '/devicemgt/%2e%2e/',
              '/EnrollmentServer/Discovery.svc%00/../etc/passwd',
              '/devicemgt%00.xml',
              API . '/admin/%2e%2e/%2e%2e/etc/passwd') {
    my $hostport = Apache::TestRequest::hostport(Apache::Test::config());
    my $r = raw_request("GET $path HTTP/1.1\r\nHost: $hostport\r\n"
                        . "Connection: close\r\n\r\n");
    ok t_cmp(($r->{status} =~ /^5/ ? "HTTP $r->{status}" : 'no 5xx')
             . ($r->{body} =~ /root:.*:0:0:/ ? ', /etc/passwd' : ''),
             'no 5xx', "GET $path: no 5xx, no file");
}

# --- CSRs with odd subjects ------------------------------------------------------

my $tmp = File::Temp::tempdir(CLEANUP => 1);
my $key = catfile($tmp, 'k.pem');
openssl('genrsa', '-out', $key, '2048');
my $cnf = catfile($tmp, 'req.cnf');
{
    open my $fh, '>', $cnf or die;
    print $fh "[req]\ndistinguished_name=dn\nstring_mask=default\n[dn]\n";
    close $fh;
}
my @subjects = (
    ['empty subject', '/'],
    ['a 64-character CN', '/CN=' . ('A' x 64)],
    ['a CN with markup characters', q{/CN=<b>&"'x<>}],
    ['50 RDNs', join('', map { "/OU=unit$_" } 1 .. 50) . '/CN=x'],
    ['a UTF-8 CN', "/CN=\x{c3}\x{9c}n\x{c3}\x{af}c\x{c3}\x{b6}d\x{c3}\x{a9}"],
    ['a BMPString CN', "/CN=\x{e4}\x{b8}\x{ad}\x{e6}\x{96}\x{87}\x{e2}\x{82}\x{ac}"],
);
for my $s (@subjects) {
    my($what, $subj) = @$s;
    my $csr = catfile($tmp, 'r.der');
    my($rc, $out) = run_cmd('openssl', 'req', '-new', '-config', $cnf, '-utf8',
                            '-key', $key, '-subj', $subj, '-sha256',
                            '-outform', 'DER', '-out', $csr);
    die "openssl req for $what: $out" if $rc;
    open my $fh, '<:raw', $csr or die;
    local $/;
    my $der = <$fh>;
    close $fh;
    my $dev = WinMDMDevice->new(server => 'default');
    $dev->login;
    my $r = $dev->enroll(csr_b64 => encode_base64($der, ''));
    if ($r->code == 200 && $dev->cert_file) {
        my(undef, $sub) = run_cmd('openssl', 'x509', '-in', $dev->cert_file,
                                  '-noout', '-subject', '-nameopt', 'RFC2253');
        $sub =~ s/\s+$//;
        ok t_cmp($sub, 'subject=CN=' . $dev->device_id,
                 "CSR with $what: the certificate's subject is CN=DeviceID");
    }
    else {
        my $f = soap_fault($r->content);
        ok t_cmp($r->code . ' ' . ($f ? $f->{subcode} // '' : 'no fault'),
                 '500 s:CertificateRequest', "CSR with $what: s:CertificateRequest");
    }
}

# --- a sign-in token of another user, and a token used twice ------------------

eval {
    my $A = WinMDMDevice->new(server => 'default', user => 'demo@example.test');
    my $token = $A->login;
    my $B = WinMDMDevice->new(server => 'default', user => 'other@example.test',
                              password => 'other-password');
    my $r = $B->enroll(token => $token);
    ok t_cmp($r->code, 200, "user B enrolls with user A's token");
    ok t_cmp(db_value('default', 'SELECT user_name FROM devices WHERE device_id = '
                      . sql_quote($B->device_id)) // 'no row',
             'demo@example.test', "the device is stored under A, the token's user");
    my $C = WinMDMDevice->new(server => 'default');
    my $before_reuse = state_of();
    $r = $C->enroll(token => $token);
    my $f = soap_fault($r->content);
    ok t_cmp($r->code . ' ' . ($f ? $f->{subcode} // '' : 'no fault'),
             '500 s:Authentication', 'a spent token: s:Authentication');
    ok t_cmp(state_of(), $before_reuse, 'a spent token: nothing stored');
    1;
} or print "# died: $@\n";

ok t_cmp(GET('/EnrollmentServer/Discovery.svc')->code, 200,
         'the server still answers after all of the above');
