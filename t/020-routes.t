# The route table (DESIGN.md section 1): every device-facing path and its
# MDM endpoint aliases (with and without the services/ segment) reaches a
# handler, case-insensitively; a wrong method gets 405 with Allow; SOAP
# routes answer errors as SOAP faults with HTTP 500; SyncML routes answer
# with SyncML; and a virtual host with WinMDM Off serves none of them.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test;
use Apache::TestRequest qw(GET POST PUT);
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);

my $SOAP_CT   = 'application/soap+xml; charset=utf-8';
my $SYNCML_CT = 'application/vnd.syncml.dm+xml';
my $WBXML_CT  = 'application/vnd.syncml.dm+wbxml';

my %body = (
    discovery => discover_body(),
    xcep      => fixture('xcep_getpolicies_request_win10_19043_usernametoken.xml'),
    wstep     => fixture('wstep_rst_request_win10_19043_usernametoken.xml'),
    syncml    => fixture('syncml_s1_m1_client_init_win10_19043.xml'),
);

# [method, path, kind]: every path of DESIGN.md section 1.
my @routes = (
    # device-facing
    [GET  => '/EnrollmentServer/Discovery.svc',                      'page'],
    [POST => '/EnrollmentServer/Discovery.svc',                      'discovery'],
    [GET  => '/emm/enrollments/windows/login-agent',                 'page'],
    [POST => '/ENROLLMENTSERVER/PolicyEnrollmentWebservice.svc',     'xcep'],
    [POST => '/ENROLLMENTSERVER/DeviceEnrollmentWebservice.svc',     'wstep'],
    [POST => '/ENROLLMENTSERVER/Win10DeviceEnrollmentWebservice.svc', 'wstep'],
    [POST => '/syncml/initialquery',                                 'syncml'],
    [POST => '/devicemgt?mode=Maintenance&Platform=WoA',             'syncml'],
    # MDM endpoints
    [GET  => API . '/services/discovery/get',                        'page'],
    [GET  => API . '/discovery/get',                                 'page'],
    [POST => API . '/services/discovery/post',                       'discovery'],
    [POST => API . '/discovery/post',                                'discovery'],
    [GET  => '/windows-web-agent',                                   'page'],
    [GET  => '/windows-web-agent/enrollments/windows/login-agent',   'page'],
    [POST => API . '/services/certificatepolicy/xcep',               'xcep'],
    [POST => API . '/certificatepolicy/xcep',                        'xcep'],
    [POST => API . '/services/deviceenrolment/wstep',                'wstep'],
    [POST => API . '/deviceenrolment/wstep',                         'wstep'],
    [POST => API . '/services/deviceenrolment/enrollment',           'wstep'],
    [POST => API . '/deviceenrolment/enrollment',                    'wstep'],
    [POST => API . '/services/syncml/devicemanagement/request',      'syncml'],
    [POST => API . '/syncml/devicemanagement/request',               'syncml'],
    [POST => API . '/services/management/devicemgt/pending-operations', 'syncml'],
    [POST => API . '/management/devicemgt/pending-operations',       'syncml'],
);

# Spellings devices and WSO2 documents use for the same paths.
my @spellings = (
    [POST => '/enrollmentserver/policyenrollmentwebservice.svc',     'xcep'],
    [POST => '/EnrollmentServer/Win10DeviceEnrollmentWebservice.svc', 'wstep'],
    [POST => '/Syncml/initialquery',                                 'syncml'],
    [POST => '/DeviceMgt?mode=Maintenance&Platform=WoA',             'syncml'],
);

my @soap   = grep { $_->[2] =~ /^(?:xcep|wstep)$/ } @routes;
my @syncml = grep { $_->[2] eq 'syncml' } @routes;

# [method, path, methods Allow must name]
my @wrong_method = (
    [GET  => '/ENROLLMENTSERVER/PolicyEnrollmentWebservice.svc', ['POST']],
    [PUT  => '/EnrollmentServer/Discovery.svc',                  ['GET', 'POST']],
    [GET  => '/devicemgt',                                       ['POST']],
);

# The plan is a number, as in every test file (scripts/apache-test.sh adds
# them up to know how many tests must run); this keeps it honest.
my $count = @routes + @spellings + 3 * @soap + 4 * @syncml + 2
          + 2 * @wrong_method + @routes;
die "plan says 111 tests, the lists make $count\n" unless $count == 111;

plan tests => 111, need_module('dbd');

sub send_route {
    my($method, $path, $kind) = @_;
    return GET $path if $method eq 'GET';
    my $ct = $kind eq 'syncml' ? $SYNCML_CT : $SOAP_CT;
    return POST $path, content => $body{$kind}, 'Content-Type' => $ct;
}

use_server('default');

# --- every path reaches a handler ------------------------------------------

for my $r (@routes, @spellings) {
    my $res = send_route(@$r);
    ok t_cmp($res->code, qr/^(?!404$)\d{3}$/, "$r->[0] $r->[1]: served (not 404)");
}

# --- SOAP routes: an error is a SOAP fault with HTTP 500 --------------------
# The default server is Federated, so the captures' UsernameTokens are a
# credential it must refuse even once these routes are implemented.

for my $r (@soap) {
    my $res = send_route(@$r);
    ok t_cmp($res->code, 500, "$r->[1]: SOAP fault status");
    ok t_cmp($res->header('Content-Type'), $SOAP_CT, "$r->[1]: Content-Type");
    my $fault = soap_fault($res->content);
    ok t_cmp($fault && $fault->{subcode}
                 ? "$fault->{code} $fault->{subcode}" : 'no SOAP 1.2 fault',
             qr/^s:(?:Receiver|Sender) (?:s|a):\w+$/,
             "$r->[1]: s:Fault with s:Code and s:Subcode");
}

# --- SyncML routes: a SyncML answer ----------------------------------------
# The capture carries no credential and this server issued no certificate
# to its device, so the answer is a challenge; still HTTP 200 and SyncML.

for my $r (@syncml) {
    my $res = send_route(@$r);
    ok t_cmp($res->code, 200, "$r->[1]: status");
    ok t_cmp($res->header('Content-Type'), $SYNCML_CT, "$r->[1]: Content-Type");
    ok t_cmp($res->header('Content-Length'), length($res->content),
             "$r->[1]: Content-Length is the body length");
    my $doc = xml_doc($res->content);
    my $root = $doc ? $doc->documentElement : undef;
    ok t_cmp($root ? '{' . ($root->namespaceURI // '') . '}' . $root->localname
                   : 'not XML',
             '{' . NS_SYNCML . '}SyncML', "$r->[1]: SyncML body");
}

for my $path ('/devicemgt?mode=Maintenance&Platform=WoA', '/syncml/initialquery') {
    my $res = POST $path, content => "\x02\x00\x00\x6a\x00\x6d\x6c\x01\x01",
                          'Content-Type' => $WBXML_CT;
    ok t_cmp($res->code, 415, "$path: WBXML is refused");
}

# --- wrong method: 405 with Allow ------------------------------------------

for my $w (@wrong_method) {
    my($method, $path, $allow) = @$w;
    my $res = $method eq 'GET' ? GET($path)
            : PUT($path, content => $body{discovery}, 'Content-Type' => $SOAP_CT);
    ok t_cmp($res->code, 405, "$method $path: status");
    my %named = map { uc($_) => 1 }
                split /\s*,\s*/, $res->header('Allow') // '';
    ok t_cmp(join(',', grep { $named{$_} } @$allow), join(',', @$allow),
             "$method $path: Allow names @$allow");
}

# --- WinMDM Off: none of the paths exist ------------------------------------

use_server('winmdm_off');
for my $r (@routes) {
    my $res = send_route(@$r);
    ok t_cmp($res->code, 404, "WinMDM Off: $r->[0] $r->[1]");
}
