# MS-MDE2 discovery (DESIGN.md section 1, spec/enrollment.md sections 1-2):
# the body-less GET that tells the device the server is up, and the
# Discover POST, fed with the real Windows 10 capture and Microsoft's
# documented example, on the Federated default server and the OnPremise
# TLS virtual host.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);

plan tests => 51, need_module('dbd', 'ssl');

my $SOAP_CT = 'application/soap+xml; charset=utf-8';
my $BASE    = 'https://enterpriseenrollment.example.test';
my $POLICY_URL = "$BASE/ENROLLMENTSERVER/PolicyEnrollmentWebservice.svc";
my $ENROLL10_URL = "$BASE/ENROLLMENTSERVER/Win10DeviceEnrollmentWebservice.svc";
my $ENROLL81_URL = "$BASE/ENROLLMENTSERVER/DeviceEnrollmentWebservice.svc";
my $AUTH_URL = "$BASE/emm/enrollments/windows/login-agent";
my $RESULT = '/s:Envelope/s:Body/d:DiscoverResponse/d:DiscoverResult';

# The capture's user is demo@fleetdm.ngrok.io, a domain this server does
# not enroll; the same bytes with the address in our WinMDMDomain.
my $capture = fixture('discovery_request_win10_19043_reqver4.xml');
(my $ours = $capture) =~ s/demo\@fleetdm\.ngrok\.io/demo\@example.test/;
die "fixture changed: no EmailAddress to replace" if $ours eq $capture;
my $CAPTURE_ID = 'urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478';

# Microsoft Learn's example request (federated enrollment page), as
# published but for the address: namespace with a trailing slash,
# RequestVersion 3.0, WindowsPhone, whitespace inside a:Action and a
# space inside the MessageID.
my $learn = <<'EOF';
<?xml version="1.0"?>
<s:Envelope xmlns:a="http://www.w3.org/2005/08/addressing"
    xmlns:s="http://www.w3.org/2003/05/soap-envelope">
  <s:Header>
    <a:Action s:mustUnderstand="1">
      http://schemas.microsoft.com/windows/management/2012/01/enrollment/IDiscoveryService/Discover
    </a:Action>
    <a:MessageID>urn:uuid: 748132ec-a575-4329-b01b-6171a9cf8478</a:MessageID>
    <a:ReplyTo>
      <a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address>
    </a:ReplyTo>
    <a:To s:mustUnderstand="1">https://ENROLLTEST.CONTOSO.COM/EnrollmentServer/Discovery.svc</a:To>
  </s:Header>
  <s:Body>
    <Discover xmlns="http://schemas.microsoft.com/windows/management/2012/01/enrollment/">
      <request xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
        <EmailAddress>user@example.test</EmailAddress>
        <OSEdition>3</OSEdition>
        <RequestVersion>3.0</RequestVersion>
        <DeviceType>WindowsPhone</DeviceType>
        <ApplicationVersion>10.0.0.0</ApplicationVersion>
        <AuthPolicies>
          <AuthPolicy>OnPremise</AuthPolicy>
          <AuthPolicy>Federated</AuthPolicy>
        </AuthPolicies>
      </request>
    </Discover>
  </s:Body>
</s:Envelope>
EOF

sub discover {
    my($path, $body) = @_;
    return POST $path, content => $body, 'Content-Type' => $SOAP_CT;
}

# An XPath context on a response body (an empty document when the body
# is not XML, so that every lookup fails instead of dying).
sub result_xpc {
    my $res = shift;
    my $doc = xml_doc($res->content) || XML::LibXML::Document->new;
    return xpc($doc);
}

use_server('default');

# --- GET: "the server is up" ----------------------------------------------

for my $path ('/EnrollmentServer/Discovery.svc',
              '/enrollmentserver/discovery.svc',
              API . '/services/discovery/get',
              API . '/discovery/get') {
    my $res = GET $path;
    ok t_cmp($res->code, 200, "GET $path: status");
    ok t_cmp($res->content, '', "GET $path: empty body");
    ok t_cmp($res->header('Content-Length'), '0',
             "GET $path: Content-Length 0");
}

# --- POST: the capture as sent, for a domain not served here ---------------

{
    my $res = discover('/EnrollmentServer/Discovery.svc', $capture);
    ok t_cmp($res->code, 500, 'foreign domain: SOAP fault status');
    ok t_cmp($res->header('Content-Type'), $SOAP_CT,
             'foreign domain: fault Content-Type');
    my $fault = soap_fault($res->content);
    ok t_cmp(defined $fault ? 1 : 0, 1, 'foreign domain: body is a SOAP fault');
    ok t_cmp($fault ? $fault->{subcode} : undef, 's:Authorization',
             'foreign domain: subcode');
}

# --- POST: the capture for our domain ---------------------------------------

my $reference;    # the DiscoverResult of this answer, for the aliases
{
    my $res = discover('/EnrollmentServer/Discovery.svc', $ours);
    ok t_cmp($res->code, 200, 'capture: status');
    ok t_cmp($res->header('Content-Type'), $SOAP_CT, 'capture: Content-Type');
    ok t_cmp($res->header('Content-Length'), length($res->content),
             'capture: Content-Length is the body length');
    ok t_cmp(($res->header('Transfer-Encoding') // '') .
             ($res->header('Client-Transfer-Encoding') // ''), '',
             'capture: not chunked');
    my $x = result_xpc($res);
    ok t_cmp(xpath_text($x, '/s:Envelope/s:Header/a:Action'),
             'http://schemas.microsoft.com/windows/management/2012/01/'
             . 'enrollment/IDiscoveryService/DiscoverResponse',
             'capture: a:Action');
    ok t_cmp(xpath_text($x, '/s:Envelope/s:Header/a:RelatesTo'), $CAPTURE_ID,
             'capture: a:RelatesTo is the request MessageID');
    ok t_cmp(xpath_text($x, "$RESULT/d:AuthPolicy"), 'Federated',
             'capture: AuthPolicy');
    ok t_cmp(xpath_text($x, "$RESULT/d:EnrollmentVersion"), '4.0',
             'capture: EnrollmentVersion');
    ok t_cmp(xpath_text($x, "$RESULT/d:EnrollmentPolicyServiceUrl"),
             $POLICY_URL, 'capture: EnrollmentPolicyServiceUrl');
    ok t_cmp(xpath_text($x, "$RESULT/d:EnrollmentServiceUrl"), $ENROLL10_URL,
             'capture: EnrollmentServiceUrl (Windows 10)');
    ok t_cmp(xpath_text($x, "$RESULT/d:AuthenticationServiceUrl"), $AUTH_URL,
             'capture: AuthenticationServiceUrl');
    my($node) = $x->findnodes($RESULT);
    $reference = $node ? $node->toStringC14N : undef;
    ok t_cmp(defined $reference ? 1 : 0, 1, 'capture: DiscoverResult present');
}

# The Windows client rejects chunked answers, and mod_deflate (on for
# everything in this server) would compress, chunk and drop the
# Content-Length. Over a kept-alive HTTP/1.1 connection httpd chunks any
# answer that has no Content-Length.
{
    my $res = raw_post('/EnrollmentServer/Discovery.svc', $SOAP_CT, $ours,
                       'Accept-Encoding: gzip, deflate');
    ok t_cmp($res->{status}, 200, 'accepting gzip: status');
    ok t_cmp(exists $res->{headers}{'content-encoding'}
                 ? $res->{headers}{'content-encoding'}[0] : 'identity',
             'identity', 'accepting gzip: answer not compressed');
    ok t_cmp(
        ($res->{chunked} ? 'chunked' : '')
        . ($res->{headers}{'content-length'}
           ? $res->{headers}{'content-length'}[0] : 'no Content-Length'),
        length($res->{body}),
        'accepting gzip: not chunked, Content-Length is the body length');
}

# --- POST: Microsoft's example (RequestVersion 3.0) -------------------------

{
    my $res = discover('/EnrollmentServer/Discovery.svc', $learn);
    ok t_cmp($res->code, 200, 'Learn example: status');
    my $x = result_xpc($res);
    ok t_cmp(xpath_text($x, "$RESULT/d:EnrollmentVersion"), '3.0',
             'Learn example: EnrollmentVersion');
    ok t_cmp(xpath_text($x, "$RESULT/d:EnrollmentServiceUrl"), $ENROLL10_URL,
             'Learn example: EnrollmentServiceUrl (Windows 10)');
    ok t_cmp(xpath_text($x, '/s:Envelope/s:Header/a:RelatesTo'),
             'urn:uuid: 748132ec-a575-4329-b01b-6171a9cf8478',
             'Learn example: a:RelatesTo');
}

# --- POST: Windows 8.1 (RequestVersion below 3.0) ---------------------------

{
    my $res = discover('/EnrollmentServer/Discovery.svc',
                       discover_body(version => '2.0',
                                     device_type => 'WindowsPhone'));
    ok t_cmp($res->code, 200, 'RequestVersion 2.0: status');
    my $x = result_xpc($res);
    ok t_cmp(scalar(() = $x->findnodes("$RESULT/d:EnrollmentVersion")), 0,
             'RequestVersion 2.0: no EnrollmentVersion');
    ok t_cmp(xpath_text($x, "$RESULT/d:EnrollmentServiceUrl"), $ENROLL81_URL,
             'RequestVersion 2.0: EnrollmentServiceUrl (Windows 8.1)');
}

# --- POST: a newer client than the module knows ----------------------------

{
    my $res = discover('/EnrollmentServer/Discovery.svc',
                       discover_body(version => '9.0'));
    ok t_cmp($res->code, 200, 'RequestVersion 9.0: status');
    ok t_cmp(xpath_text(result_xpc($res), "$RESULT/d:EnrollmentVersion"),
             '4.0', 'RequestVersion 9.0: EnrollmentVersion capped at 4.0');
}

# --- POST: the other paths of the same handler -----------------------------

for my $path ('/enrollmentserver/discovery.svc',
              API . '/services/discovery/post',
              API . '/discovery/post') {
    my $res = discover($path, $ours);
    ok t_cmp($res->code, 200, "POST $path: status");
    my($node) = result_xpc($res)->findnodes($RESULT);
    ok t_cmp($node ? $node->toStringC14N : undef, $reference,
             "POST $path: same DiscoverResult");
}

# --- the OnPremise TLS virtual host ----------------------------------------

my $tls = use_server('winmdm_tls');
{
    my $res = GET "$tls/EnrollmentServer/Discovery.svc";
    ok t_cmp($res->code, 200, 'TLS: GET status');

    $res = discover("$tls/EnrollmentServer/Discovery.svc", $ours);
    ok t_cmp($res->code, 200, 'TLS: POST status');
    my $x = result_xpc($res);
    ok t_cmp(xpath_text($x, "$RESULT/d:AuthPolicy"), 'OnPremise',
             'TLS: AuthPolicy');
    ok t_cmp(scalar(() = $x->findnodes("$RESULT/d:AuthenticationServiceUrl")),
             0, 'TLS: no AuthenticationServiceUrl');
    ok t_cmp(xpath_text($x, "$RESULT/d:EnrollmentServiceUrl"), $ENROLL10_URL,
             'TLS: EnrollmentServiceUrl');
}
