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

plan tests => 29, need_module('dbd', 'ssl');

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
ok t_cmp($dev->application ? 'APPLICATION' : 'none', 'none',
         'no APPLICATION characteristic in the renewal document');
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
