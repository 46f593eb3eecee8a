# Windows 8.1 as MS-MDE (version 1) defines it (DESIGN.md section 1),
# from the messages MS-MDE publishes (t/fixtures/published/README.md):
# the Discover request of MS-MDE 4.1.1 (RequestVersion empty, no
# AuthPolicies) answered with AuthPolicy Federated in the v1 sequence
# and no EnrollmentVersion; the same request with RequestVersion i:nil
# and without it; the refusal of an OnPremise server; then the
# RequestSecurityToken of MS-MDE 4.3.1, which carries no DeviceID: the
# server names the device with a GUID, and MS-MDE 3.6's provisioning
# document (no DMClient, the Registry settings) tells the client that
# name; an OMA-DM session under it works.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test;
use Apache::TestRequest qw(POST);
use Apache::TestUtil qw(t_cmp);
use MIME::Base64 qw(encode_base64);

use WinMDMTest qw(:all);
use WinMDMDevice qw(openssl);

plan tests => 46, need_module('dbd');

my $SOAP_CT = 'application/soap+xml; charset=utf-8';
my $BASE    = 'https://enterpriseenrollment.example.test';
my $RESULT  = '/s:Envelope/s:Body/d:DiscoverResponse/d:DiscoverResult';

my $published = fixture_published('ms-mde_discover_request.xml');
(my $ours = $published) =~ s/johndoe\@contoso\.com/demo\@example.test/
    or die 'fixture changed: no EmailAddress to replace';

sub discover {
    my($server, $body) = @_;
    my $url = use_server($server);
    return POST "$url/EnrollmentServer/Discovery.svc", content => $body,
        'Content-Type' => $SOAP_CT;
}

sub result_names {
    my $res = shift;
    my $doc = xml_doc($res->content) or return 'not XML';
    my($r) = xpc($doc)->findnodes($RESULT);
    return 'no DiscoverResult' unless $r;
    return join ' ', map { $_->localname }
                     grep { $_->nodeType == 1 } $r->childNodes;
}

# --- discovery ------------------------------------------------------------------

{
    my $res = discover('default', $ours);
    ok t_cmp($res->code, 200, 'MS-MDE 4.1.1 Discover: 200');
    ok t_cmp(result_names($res),
             'AuthPolicy AuthenticationServiceUrl EnrollmentPolicyServiceUrl '
             . 'EnrollmentServiceUrl',
             'the v1 sequence, no EnrollmentVersion (MS-MDE 3.1.4.1.3.2)');
    my $x = xpc(xml_doc($res->content));
    ok t_cmp(xpath_text($x, "$RESULT/d:AuthPolicy"), 'Federated',
             'AuthPolicy Federated, the only one MS-MDE has');
    ok t_cmp(xpath_text($x, "$RESULT/d:EnrollmentServiceUrl"),
             "$BASE/ENROLLMENTSERVER/DeviceEnrollmentWebservice.svc",
             'the Windows 8.1 enrollment service');
    ok t_cmp(xpath_text($x, "$RESULT/d:AuthenticationServiceUrl"),
             "$BASE/emm/enrollments/windows/login-agent",
             'the sign-in page');
}

for my $form (['i:nil', '<RequestVersion i:nil="true"/>'],
              ['absent', '']) {
    (my $body = $ours) =~ s{<RequestVersion></RequestVersion>}{$form->[1]}
        or die 'fixture changed: no RequestVersion';
    ok t_cmp(result_names(discover('default', $body)),
             'AuthPolicy AuthenticationServiceUrl EnrollmentPolicyServiceUrl '
             . 'EnrollmentServiceUrl',
             "RequestVersion $form->[0]: answered as Windows 8.1");
}

{
    my $res = discover('winmdm_tls', $ours);
    ok t_cmp($res->code, 500, 'an OnPremise server: SOAP fault');
    my $f = soap_fault($res->content);
    ok t_cmp($f ? $f->{subcode} // 'no subcode' : 'no SOAP fault',
             's:Authentication', 'an OnPremise server: s:Authentication');
}

# --- enrollment: MS-MDE 4.3.1, no DeviceID ---------------------------------------

my $dev = WinMDMDevice->new(server => 'default', os => '8.1',
                            device_id => 'not-known-yet');
my $token = $dev->login;
my($key, $csr, $der) = $dev->make_csr;
my $rst = fixture_published('ms-mde_rst_request.xml');
$rst =~ s/\@TOKEN\@/encode_base64($token, '')/e or die 'fixture changed';
$rst =~ s/\@CSR\@/encode_base64($der, '')/e or die 'fixture changed';
my $res = $dev->enroll(body => $rst);
ok t_cmp($res->code, 200, 'MS-MDE 4.3.1 RequestSecurityToken: 200');
my $cn = 'no certificate';
if ($dev->cert_file) {
    my $s = openssl('x509', '-in', $dev->cert_file, '-noout', '-subject',
                    '-nameopt', 'RFC2253');
    ($cn) = $s =~ /CN=([^,\n]*)/;
}
ok t_cmp($cn, qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
         'the server names the device with a GUID');
$dev->{device_id} = $cn;
$dev->{key_file} = $key;
ok t_cmp($_->[0], $_->[1], $_->[2])
    for $dev->enrollment_checks('MS-MDE 4.3.1: enrollment');

# The device, by the name the document gave it, opens a session.
$dev->dm_begin(auth => 'digest');
my $r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp($r->{hdr_status} // "HTTP $r->{code}", 200,
         'an OMA-DM session under that name: SyncHdr 200');
