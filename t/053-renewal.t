# Certificate renewal (ROBO; MS-MDE2 3.5, spec/enrollment.md 5.5,
# DESIGN.md section 5) on the TLS server: a RequestSecurityToken with
# RequestType Renew and a new CSR, proven by the device's current
# certificate in the TLS handshake or by a PKCS#7 SignedData that
# certificate signed. The answer holds the new certificate (same CN,
# new SHA-1) and no APPLICATION characteristic; the old certificate
# opens no OMA-DM session afterwards. Every other proof is refused with
# s:Authentication and changes nothing.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test;
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);
use WinMDMDevice qw(openssl);

plan tests => 46, need_module('dbd', 'ssl');

my $dev = WinMDMDevice->new(server => 'winmdm_tls');
my $other = WinMDMDevice->new(server => 'winmdm_tls');
ok t_cmp(join(' ', map { $_->enroll->code } $dev, $other), '200 200',
         'two devices enroll');
my $ID = $dev->device_id;
my $sql = 'SELECT cert_sha1, cert_serial, cert_not_after, state FROM devices '
        . 'WHERE device_id = ' . sql_quote($ID);

sub row { (db_rows('winmdm_tls', $sql))[0] // 'no row' }

sub fault_ok {
    my($res, $label) = @_;
    ok t_cmp($res->code, 500, "$label: status");
    my $f = soap_fault($res->content);
    ok t_cmp($f ? $f->{subcode} // 'no subcode' : 'no SOAP fault',
             's:Authentication', "$label: s:Authentication");
}

sub cn_of {
    my $file = shift;
    my $s = openssl('x509', '-in', $file, '-noout', '-subject', '-nameopt', 'RFC2253');
    my($cn) = $s =~ /CN=([^,\n]*)/;
    return $cn // "no CN in $s";
}

sub dm_with {
    my($cert) = @_;
    $dev->dm_begin(auth => 'none');
    my $r = $dev->dm_send(cert => $cert, cmds => [$dev->dm_package1_cmds]);
    return $r->{hdr_status} // "HTTP $r->{code}";
}

my $first = [$dev->cert_file, $dev->key_file];
my $first_sha1 = $dev->cert_sha1;
ok t_cmp(dm_with($first), 200, 'the enrolled certificate opens a session');

# --- refusals before any renewal ------------------------------------------------

my $row = row();
fault_ok($dev->renew(proof => 'none'), 'no proof at all');

# A certificate of another CA with the device's CN, signing the PKCS#7.
{
    my $tmp = $dev->tmp;
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
            '-subj', "/CN=$ID", '-keyout', "$tmp/rogue.key",
            '-out', "$tmp/rogue.crt");
    fault_ok($dev->renew(proof => 'pkcs7', signer => ["$tmp/rogue.crt", "$tmp/rogue.key"]),
             'a PKCS#7 signed by a certificate of another CA');
}

# Another enrolled device's certificate signs a renewal for this one.
fault_ok($dev->renew(proof => 'pkcs7',
                     signer => [$other->cert_file, $other->key_file]),
         "a PKCS#7 signed by another device's certificate");

# The current certificate only quoted in the Security header.
{
    my $b64 = MIME::Base64::encode_base64($dev->cert_der, '');
    fault_ok($dev->renew(proof => 'none', security =>
        '<wsse:BinarySecurityToken ValueType="http://docs.oasis-open.org/wss/'
        . '2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3" '
        . 'EncodingType="' . WinMDMDevice::ENC_BASE64 . '">' . $b64
        . '</wsse:BinarySecurityToken>'),
        'the current certificate merely quoted in the body');
}
ok t_cmp(row(), $row, 'after the refusals: the device row is unchanged');
ok t_cmp(dm_with($first), 200, 'and the certificate still works');

# --- renewal by the TLS handshake -----------------------------------------------------

my $res = $dev->renew(proof => 'tls');
ok t_cmp($res->code, 200, 'renewal with the TLS client certificate: 200');
ok t_cmp($dev->cert_sha1 // 'no certificate', qr/^[0-9A-F]{40}$/,
         'the answer holds a certificate');
ok t_cmp(($dev->cert_sha1 // '') ne $first_sha1 ? 'new' : 'the same', 'new',
         'a new SHA-1');
ok t_cmp($dev->cert_file ? cn_of($dev->cert_file) : 'none', $ID, 'the same CN');
# Learn, Certificate Renewal, its example response: the new certificate
# and the account's PROVIDER-ID, not the whole w7 account again.
{
    my($app) = $dev->prov_nodes('/wap-provisioningdoc/characteristic'
                                . '[@type="APPLICATION"]');
    ok t_cmp(($dev->application ? 'a w7 account' : 'no w7 account') . ', '
             . ($app ? WinMDMDevice::parm_of($app, 'PROVIDER-ID') // 'none'
                     : 'no APPLICATION'),
             'no w7 account, mod_winmdm',
             'the renewal document names the account by its PROVIDER-ID only');
}
ok t_cmp(uc((split /\|/, row())[0] // ''), $dev->cert_sha1 // 'none',
         'the device row holds the new SHA-1');
my $second = [$dev->cert_file, $dev->key_file];
ok t_cmp(dm_with($first), 401, 'the old certificate: 401');
ok t_cmp(dm_with($second), 200, 'the new certificate: 200');

# The old certificate proves no renewal either.
$row = row();
fault_ok($dev->renew(proof => 'tls', tls_cert => $first),
         'a renewal over TLS with the old certificate');
fault_ok($dev->renew(proof => 'pkcs7', signer => $first),
         'a PKCS#7 signed by the old certificate');
ok t_cmp(row(), $row, 'the row is unchanged');

# --- renewal by a PKCS#7, without a TLS client certificate ---------------------------

$res = $dev->renew(proof => 'pkcs7');
ok t_cmp($res->code, 200, 'renewal by a PKCS#7 the current certificate signed: 200');
my $third = [$dev->cert_file, $dev->key_file];
ok t_cmp(($dev->cert_sha1 // '') ne ($second && $row =~ /^([^|]*)/ ? uc $1 : '')
         ? 'new' : 'the same', 'new', 'PKCS#7: a new certificate');
ok t_cmp(uc((split /\|/, row())[0] // ''), $dev->cert_sha1 // 'none',
         'PKCS#7: the row holds it');
ok t_cmp(dm_with($second) . ' ' . dm_with($third), '401 200',
         'PKCS#7: the previous certificate 401, the new one 200');

# --- Windows' own form (MS-MDE2 3.5.4.1.1.1) -----------------------------------------
# Windows 10/11 renew with the BinarySecurityToken ValueType
# http://schemas.microsoft.com/windows/pki/2009/01/enrollment#PKCS7: a
# PKCS#7 its current certificate signed, sent over TLS with that
# certificate.

$row = row();
fault_ok($dev->renew(proof => 'windows',
                     signer => [$other->cert_file, $other->key_file]),
         "over TLS with the current certificate, a PKCS#7 another device's signed");
ok t_cmp(row(), $row, 'the row is unchanged');
$res = $dev->renew(proof => 'windows');
ok t_cmp($res->code, 200, "Windows' renewal: 200");
my $fourth = [$dev->cert_file, $dev->key_file];
ok t_cmp(dm_with($third) . ' ' . dm_with($fourth), '401 200',
         "Windows' renewal: the previous certificate 401, the new one 200");

# The WS-Security ValueType of the same PKCS#7 is accepted as well.
$res = $dev->renew(proof => 'pkcs7', pkcs7_vt => 'wsse');
ok t_cmp($res->code, 200, 'renewal with the secext #PKCS7 ValueType: 200');
my $fifth = [$dev->cert_file, $dev->key_file];
ok t_cmp(dm_with($fourth) . ' ' . dm_with($fifth), '401 200',
         'secext #PKCS7: the previous certificate 401, the new one 200');

# --- the policy request of a renewal --------------------------------------------------
# A renewal follows the enrollment's steps, the policy service included
# (Learn, CertificateStore CSP, WSTEP/Renew/ServerURL); the device shows
# its current certificate in the TLS handshake and has no other
# credential. An old certificate, or none, gets s:Authentication.

$res = $dev->get_policies(security => undef, tls_cert => $fifth);
ok t_cmp($res->code, 200, 'GetPolicies with the current certificate only: 200');
ok t_cmp($dev->{min_key_length} // 'none', 2048,
         'GetPolicies with the current certificate only: the policy');
fault_ok($dev->get_policies(security => undef, tls_cert => $fourth),
         'GetPolicies with an old certificate only');
fault_ok($dev->get_policies(security => undef),
         'GetPolicies without any credential');

# --- Learn's renewal request -------------------------------------------------------------
# Learn's "Certificate Renewal" example request as published (a
# UsernameToken with an empty password, the secext #PKCS7 ValueType), its
# token a PKCS#7 the current certificate signed; manual renewal base64s
# the PKCS#7 content, which is taken as well.
for my $manual (0, 1) {
    my($key, $csr, $der) = $dev->make_csr;
    my $tmp = $dev->tmp;
    my $in = "$tmp/learn-$manual.in";
    open my $fh, '>:raw', $in or die "$in: $!";
    print $fh $manual ? MIME::Base64::encode_base64($der, '') : $der;
    close $fh;
    openssl('cms', '-sign', '-nodetach', '-binary', '-outform', 'DER',
            '-signer', $dev->cert_file, '-inkey', $dev->key_file,
            '-in', $in, '-out', "$in.p7");
    open $fh, '<:raw', "$in.p7" or die "$in.p7: $!";
    my $p7 = do { local $/; <$fh> };
    close $fh;
    my $body = fixture_published('learn_renewal_request.xml');
    $body =~ s/BinarySecurityTokenInsertedHere/MIME::Base64::encode_base64($p7, '')/e
        or die 'fixture changed';
    my $before = $dev->cert_sha1;
    my $r = $dev->tls_ua(undef)->post(server_url('winmdm_tls')
        . '/ENROLLMENTSERVER/Win10DeviceEnrollmentWebservice.svc',
        'Content-Type' => 'application/soap+xml; charset=utf-8',
        Content => $body);
    ok t_cmp($r->code, 200, 'Learn example renewal, PKCS#7 content '
             . ($manual ? 'base64 (manual)' : 'DER (automatic)') . ': 200');
    ok t_cmp(uc((split /\|/, row())[0] // '') ne $before ? 'a new one' : 'unchanged',
             'a new one', 'the row holds a new certificate');
    # The emulator keeps the newest certificate for the next round.
    $dev->read_provisioning($r);
    $dev->{key_file} = $key;
}
