# Hostile and broken request bodies (DESIGN.md section 5): the XML parser
# loads no DTD and no external entity, expands no entity, and limits depth
# and size. Every bad body gets an s:MessageFormat SOAP fault with HTTP
# 500; a body over WinMDMMaxMessageSize (65536 here) gets 413, with or
# without a Content-Length; a chunked body is read like any other.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);

plan tests => 29, need_module('dbd');

my $SOAP_CT = 'application/soap+xml; charset=utf-8';
my $PATH    = '/EnrollmentServer/Discovery.svc';
my $LIMIT   = 65536;
my $RESULT  = '/s:Envelope/s:Body/d:DiscoverResponse/d:DiscoverResult';

my $valid = discover_body(message_id => 'urn:uuid:5b0e3a4c-9d1f-4f7e-8a63-2f0c6d2b9e11');

# A Discover request with a document type declaration in front and
# $ref where the address goes (and in the MessageID, which the answer
# would echo in a:RelatesTo).
sub with_dtd {
    my($subset, $ref) = @_;
    my $body = discover_body(message_id => $ref, email => $ref);
    return qq{<?xml version="1.0"?>\n<!DOCTYPE s:Envelope [\n$subset\n]>\n$body};
}

my $deep = discover_body();
$deep =~ s{(<ApplicationVersion>)}{('<x>' x 1000) . ('</x>' x 1000) . $1}e;

(my $soap11 = $valid) =~
    s{http://www\.w3\.org/2003/05/soap-envelope}{http://schemas.xmlsoap.org/soap/envelope/};

(my $no_envelope = $valid) =~ s{.*<s:Body>\s*(.*?)\s*</s:Body>.*}{$1}s;

my @bad = (
    ['external entity (XXE)' =>
        with_dtd('<!ENTITY xxe SYSTEM "file:///etc/passwd">', '&xxe;')],
    ['billion laughs' => with_dtd(join("\n",
        '<!ENTITY lol0 "lol">',
        map({ my $p = $_ - 1;
              qq{<!ENTITY lol$_ "} . ("&lol$p;" x 10) . '">' } 1 .. 9)),
        '&lol9;')],
    ['1000 nested elements' => $deep],
    ['malformed XML' => substr($valid, 0, int(length($valid) / 2))],
    ['empty body' => ''],
    ['root not a SOAP Envelope' => $no_envelope],
    ['SOAP 1.1 envelope' => $soap11],
);

use_server('default');

# --- bad bodies: s:MessageFormat, and no file content ----------------------

for my $b (@bad) {
    my($name, $body) = @$b;
    my $res = POST $PATH, content => $body, 'Content-Type' => $SOAP_CT;
    ok t_cmp($res->code, 500, "$name: status");
    my $fault = soap_fault($res->content);
    ok t_cmp($fault ? $fault->{subcode} : 'no SOAP 1.2 fault',
             's:MessageFormat', "$name: fault subcode");
    ok t_cmp($res->content =~ /root:/ ? 'passwd content' : 'clean', 'clean',
             "$name: no /etc/passwd content in the answer");
}

# --- size limit -------------------------------------------------------------

# Well-formed and otherwise valid: only the size is wrong.
my $big = $valid;
$big =~ s{</s:Envelope>}{('<!-- padding -->' x (($LIMIT / 16) + 100)) . '</s:Envelope>'}e;
die "oversized body is not over the limit" unless length($big) > $LIMIT;

{
    my $res = POST $PATH, content => $big, 'Content-Type' => $SOAP_CT;
    ok t_cmp($res->code, 413, 'body over WinMDMMaxMessageSize: 413');
}

# --- chunked request bodies -------------------------------------------------
# A chunked body has no Content-Length (r->remaining is 0): the module
# must read it to the end all the same, and count it against the limit.

{
    my $res = chunked_request($PATH, $SOAP_CT, $valid, 100);
    ok t_cmp($res->{status}, 200, 'chunked request: status');
    my $doc = xml_doc($res->{body});
    my $x = xpc($doc || XML::LibXML::Document->new);
    ok t_cmp(xpath_text($x, '/s:Envelope/s:Header/a:RelatesTo'),
             'urn:uuid:5b0e3a4c-9d1f-4f7e-8a63-2f0c6d2b9e11',
             'chunked request: a:RelatesTo');
    ok t_cmp(xpath_text($x, "$RESULT/d:EnrollmentVersion"), '4.0',
             'chunked request: EnrollmentVersion');
    ok t_cmp($res->{chunked} ? 'chunked' : 'not chunked', 'not chunked',
             'chunked request: answer not chunked');
    ok t_cmp($res->{headers}{'content-length'}
                 ? $res->{headers}{'content-length'}[0] : 'none',
             length($res->{body}),
             'chunked request: Content-Length is the body length');
}

{
    my $res = chunked_request($PATH, $SOAP_CT, $big, 8000);
    ok t_cmp($res->{status}, 413, 'chunked body over WinMDMMaxMessageSize: 413');
}

# --- still alive -------------------------------------------------------------

{
    my $res = GET $PATH;
    ok t_cmp($res->code, 200, 'the server still answers after all of the above');
}
