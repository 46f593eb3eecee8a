# Refused enrollments (DESIGN.md sections 1 and 5, spec/enrollment.md
# section 6): each request below is right but for one thing, and gets an
# HTTP 500 SOAP fault with the subcode that names that thing, which is
# what Windows turns into its error message. A refused request stores
# nothing: no device row appears, and an enrolled device's row does not
# change when another user tries to take its DeviceID.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);

use Apache::Test;
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);
use WinMDMDevice qw(ca_der);

plan tests => 91, need_module('dbd', 'ssl');

my $UNKNOWN_VT = 'http://example.test/enrollment/UnknownTokenType';

# Two tests: HTTP 500 and the fault subcode.
sub fault_ok {
    my($res, $subcode, $label) = @_;
    ok t_cmp($res->code, 500, "$label: status");
    my $fault = soap_fault($res->content);
    ok t_cmp($fault ? $fault->{subcode} // 'no subcode' : 'no SOAP fault',
             $subcode, "$label: subcode");
}

sub device_rows {
    my($server, $id) = @_;
    return db_value($server,
        'SELECT count(*) FROM devices WHERE device_id = ' . sql_quote($id));
}

# One test: the server holds no row for this device.
sub no_row_ok {
    my($dev, $label) = @_;
    ok t_cmp(device_rows($dev->server, $dev->device_id), 0,
             "$label: no device row");
}

# Looks like a token (43 characters of base64url) and was never issued.
sub unknown_token { substr(WinMDMDevice::random_hex(22), 0, 43) }

sub total { db_value(shift, 'SELECT count(*) FROM devices') }

sub fault_subcode {
    my $res = shift;
    my $fault = soap_fault($res->content);
    return $fault ? $fault->{subcode} // 'no subcode'
                  : 'HTTP ' . $res->code . ' without a SOAP fault';
}

my %before = map { $_ => total($_) } qw(default winmdm_tls winmdm_short);

# --- a token that expires (checked at the end, once it has) -----------------
# winmdm_short gives tokens 30 seconds; it works now, and no more then.

my $short = WinMDMDevice->new(server => 'winmdm_short');
my $short_token = $short->login;
my $short_at = time;
ok t_cmp($short_token // 'no token', qr/^[A-Za-z0-9_-]{43}$/,
         'short-lived token: sign-in');
ok t_cmp($short->get_policies->code, 200,
         'short-lived token: accepted while fresh');

# --- Federated: GetPolicies -------------------------------------------------

my $fed = WinMDMDevice->new(server => 'default');
my $token = $fed->login;
ok t_cmp($token // 'no token', qr/^[A-Za-z0-9_-]{43}$/, 'Federated: sign-in');

fault_ok($fed->get_policies(security => undef), 's:Authentication',
         'Federated GetPolicies without a Security header');
fault_ok($fed->get_policies(token => unknown_token()),
         's:Authentication', 'Federated GetPolicies with an unknown token');
fault_ok($fed->get_policies(token => $short_token // ''), 's:Authentication',
         "Federated GetPolicies with another server's token");
fault_ok($fed->get_policies(auth => 'password'), 's:Authentication',
         'Federated GetPolicies with a UsernameToken (right password)');
fault_ok($fed->get_policies(value_type => $UNKNOWN_VT), 'a:InvalidSecurity',
         'Federated GetPolicies with a token of unknown ValueType');

# --- Federated: RequestSecurityToken ----------------------------------------
# Each case is a new device with the valid token, but for the one thing.

my @fed_cases = (
    ['without a Security header', {security => undef}, 's:Authentication'],
    ['with an unknown token', {token => unknown_token()},
     's:Authentication'],
    ['with a UsernameToken (right password)', {auth => 'password'},
     's:Authentication'],
    ['with a token of unknown ValueType', {value_type => $UNKNOWN_VT},
     'a:InvalidSecurity'],
    # A byte of the signature (the last bytes of the DER) flipped: the
    # request is well-formed and its signature does not verify.
    ['with a CSR whose signature is broken',
     {mangle_csr => sub {
          my $der = shift;
          substr($der, -100, 1) = chr(ord(substr($der, -100, 1)) ^ 0x01);
          return $der;
      }},
     's:CertificateRequest'],
    ['with a 1024-bit key', {bits => 1024}, 's:CertificateRequest'],
    ['with a CSR that is not base64', {csr_b64 => '!!not*base64@@'},
     's:CertificateRequest'],
    ['with a certificate instead of a CSR',
     {mangle_csr => sub { ca_der() }}, 's:CertificateRequest'],
);
for my $c (@fed_cases) {
    my($what, $opts, $subcode) = @$c;
    my $dev = WinMDMDevice->new(server => 'default');
    my $label = "Federated enrollment $what";
    fault_ok($dev->enroll(token => $token, %$opts), $subcode, $label);
    no_row_ok($dev, $label);
}

{
    my $label = 'Federated enrollment without DeviceID';
    my $n = total('default');
    my $dev = WinMDMDevice->new(server => 'default');
    fault_ok($dev->enroll(token => $token, context => {DeviceID => undef}),
             's:MessageFormat', $label);
    ok t_cmp(total('default'), $n, "$label: no device row");
}

# A user of a domain the server does not enroll: the sign-in page
# refuses. A token such a user holds anyway (issued before WinMDMDomain
# changed: written into the database here) gets no policy and no
# certificate: the domain is checked again when the token is used.
{
    my $label = 'Federated, user of another domain';
    my $dev = WinMDMDevice->new(server => 'default',
                                user => 'outsider@elsewhere.test',
                                password => 'outsider-password');
    ok t_cmp($dev->login // 'no token', 'no token',
             "$label: the sign-in page gives no token");
    my $t = unknown_token();
    db_rows('default', 'INSERT INTO tokens (token_hash, user_name, expires) '
            . 'VALUES (' . sql_quote(sha256_hex($t)) . ", "
            . "'outsider\@elsewhere.test', " . (time + 600) . ')');
    ok t_cmp(fault_subcode($dev->get_policies(token => $t)), 's:Authorization',
             "$label: GetPolicies with its token");
    ok t_cmp(fault_subcode($dev->enroll(token => $t)), 's:Authorization',
             "$label: enrollment with its token");
    ok t_cmp(db_value('default', 'SELECT COUNT(*) FROM tokens WHERE '
                      . 'token_hash = ' . sql_quote(sha256_hex($t))), 1,
             "$label: the refused enrollment did not spend the token");
    no_row_ok($dev, $label);
}

# --- re-enrollment of a DeviceID --------------------------------------------

my $owner = WinMDMDevice->new(server => 'default');
$owner->login;
ok t_cmp($owner->enroll->code, 200, 're-enrollment: first enrollment');
my $sql_row = 'SELECT * FROM devices WHERE device_id = '
            . sql_quote($owner->device_id);
my @row = db_rows('default', $sql_row);
my $first_sha1 = $owner->cert_sha1 // 'no certificate';

{
    my $label = 're-enrollment by another user';
    my $thief = WinMDMDevice->new(server => 'default',
                                  device_id => $owner->device_id,
                                  user => 'other@example.test',
                                  password => 'other-password');
    $thief->login;
    fault_ok($thief->enroll, 's:Authorization', $label);
    ok t_cmp(join("\n", db_rows('default', $sql_row)), join("\n", @row),
             "$label: the row is unchanged");
    my $sql = 'SELECT user_name, upper(cert_sha1) FROM devices '
            . 'WHERE device_id = ' . sql_quote($owner->device_id);
    ok t_cmp((db_rows('default', $sql))[0] // 'no row',
             "demo\@example.test|$first_sha1",
             "$label: the row keeps the first user and certificate");
    ok t_cmp($thief->cert_sha1 // 'no certificate', 'no certificate',
             "$label: no certificate issued");
}

# The owner signs in again, as a device does for every enrollment (the
# server may take a token for one enrollment only).
{
    my $label = 're-enrollment by the same user';
    $owner->login;
    my $res = $owner->enroll;
    ok t_cmp($res->code, 200, "$label: status");
    ok t_cmp(device_rows('default', $owner->device_id), 1,
             "$label: still one row");
    my $sql = 'SELECT user_name, upper(cert_sha1) FROM devices '
            . 'WHERE device_id = ' . sql_quote($owner->device_id);
    my $second_sha1 = $owner->cert_sha1 // 'no certificate';
    ok t_cmp((db_rows('default', $sql))[0] // 'no row',
             "demo\@example.test|$second_sha1",
             "$label: the row holds the new certificate");
    ok t_cmp($second_sha1 !~ /^[0-9A-F]{40}$/ ? $second_sha1
             : $second_sha1 ne $first_sha1 ? 'new' : 'the first one',
             'new', "$label: a new certificate");
    my($key_check) = grep { $_->[2] =~ /key is the CSR/ }
                     $owner->enrollment_checks($label);
    ok t_cmp($key_check->[0], $key_check->[1], $key_check->[2]);
}

# --- OnPremise: GetPolicies ---------------------------------------------------

my $onprem = WinMDMDevice->new(server => 'winmdm_tls');
fault_ok($onprem->get_policies(password => 'not-the-password'),
         's:Authentication', 'OnPremise GetPolicies with a wrong password');
fault_ok($onprem->get_policies(username => 'nobody@example.test'),
         's:Authentication', 'OnPremise GetPolicies for an unknown user');
fault_ok($onprem->get_policies(auth => 'token', token => $token),
         's:Authentication',
         'OnPremise GetPolicies with a sign-in token (BinarySecurityToken)');
fault_ok($onprem->get_policies(security => undef), 's:Authentication',
         'OnPremise GetPolicies without a Security header');
my $no_username = '<wsse:UsernameToken u:Id="'
    . WinMDMDevice::USERNAME_TOKEN_ID . '"><wsse:Password wsse:Type="'
    . WinMDMDevice::PASSWORD_TEXT . '">demo-password</wsse:Password>'
    . '</wsse:UsernameToken>';
fault_ok($onprem->get_policies(security => $no_username), 'a:InvalidSecurity',
         'OnPremise GetPolicies with a UsernameToken without Username');
fault_ok($onprem->get_policies(username => 'outsider@elsewhere.test',
                               password => 'outsider-password'),
         's:Authorization', 'OnPremise GetPolicies for another domain');

# --- OnPremise: RequestSecurityToken -----------------------------------------

my @onprem_cases = (
    ['with a wrong password', {password => 'not-the-password'},
     's:Authentication'],
    ['for an unknown user', {username => 'nobody@example.test'},
     's:Authentication'],
    ['with a sign-in token (BinarySecurityToken)',
     {auth => 'token', token => $token}, 's:Authentication'],
    ['with a UsernameToken without Username', {security => $no_username},
     'a:InvalidSecurity'],
    ['for another domain', {username => 'outsider@elsewhere.test',
                            password => 'outsider-password'},
     's:Authorization'],
);
for my $c (@onprem_cases) {
    my($what, $opts, $subcode) = @$c;
    my $dev = WinMDMDevice->new(server => 'winmdm_tls');
    my $label = "OnPremise enrollment $what";
    fault_ok($dev->enroll(%$opts), $subcode, $label);
    no_row_ok($dev, $label);
}

# --- the expired token --------------------------------------------------------

{
    my $wait = $short_at + 32 - time;
    if ($wait > 0) {
        print "# waiting $wait s for the short-lived token to expire\n";
        sleep $wait;
    }
    fault_ok($short->get_policies, 's:Authentication',
             'expired token: GetPolicies');
    fault_ok($short->enroll, 's:Authentication', 'expired token: enrollment');
    no_row_ok($short, 'expired token');
}

# --- nothing else stored ------------------------------------------------------

ok t_cmp(total('default'), $before{default} + 1,
         'Federated server: one device more (the re-enrolled one)');
ok t_cmp(total('winmdm_tls'), $before{winmdm_tls},
         'OnPremise server: no device more');
ok t_cmp(total('winmdm_short'), $before{winmdm_short},
         'short-lived server: no device more');
