# Nothing secret is logged (DESIGN.md section 5), at any LogLevel: the
# suite runs the module at trace8 (t/conf/extra.conf.in), its wire dumps
# included. After enrollments and sessions run here, neither the error
# logs nor the access log may hold a password, a sign-in token (the
# wresult value, as sent and as the base64 the device puts in its
# BinarySecurityToken), an APPSRV or CLIENT AAUTHSECRET, a digest nonce,
# the body of the CA private key, or a device private key.
#
# And the CA key's permissions are checked at startup: a key that other
# users can read makes the module warn (WM00041), one readable by its
# owner only does not.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Copy qw(copy);
use File::Spec::Functions qw(catfile);
use File::Temp qw(tempdir);
use MIME::Base64 qw(encode_base64);

use Apache::Test;
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);
use WinMDMDevice ();

plan tests => 13, need_module('dbd', 'ssl');

my $state = Apache::Test::vars('t_state');
my $logs = Apache::Test::vars('t_logs');

# The PEM body of a key file as one base64 string, and its lines: a log
# could hold either.
sub pem_body {
    my $file = shift;
    open my $fh, '<', $file or die "$file: $!";
    local $/;
    my $pem = <$fh>;
    close $fh;
    my($b64) = $pem =~ /-----BEGIN [^-]+-----\s*(.*?)-----END/s or die "$file";
    my @lines = grep { length >= 40 } split /\s+/, $b64;
    (my $joined = $b64) =~ s/\s+//g;
    return ($joined, @lines);
}

# --- enrollments and sessions -------------------------------------------------

my %secrets;    # what => [strings]
sub secret { my($what, @s) = @_; push @{ $secrets{$what} }, grep { defined && length } @s }

my @devices;
for my $server (qw(default winmdm_short)) {
    for my $os ('10', '8.1') {
        my $dev = WinMDMDevice->new(server => $server, os => $os,
                                    user => 'other@example.test',
                                    password => 'other-password');
        $dev->discover;
        my $token = $dev->login;
        secret(token => $token, defined $token ? encode_base64($token, '') : ());
        $dev->get_policies;
        $dev->enroll;
        push @devices, $dev;
    }
}
# OnPremise: the password travels in the UsernameToken.
for my $os ('10', '8.1') {
    my $dev = WinMDMDevice->new(server => 'winmdm_tls', os => $os,
                                user => 'other@example.test',
                                password => 'other-password');
    $dev->discover;
    $dev->get_policies;
    $dev->enroll;
    push @devices, $dev;
}
# A wrong password is a secret too: it is usually a real one mistyped.
{
    my $dev = WinMDMDevice->new(server => 'default', user => 'other@example.test',
                                password => 'other-passw0rd-mistyped');
    $dev->login;
    my $tls = WinMDMDevice->new(server => 'winmdm_tls', user => 'other@example.test',
                                password => 'other-passw0rd-mistyped');
    $tls->enroll;
}
secret(password => 'other-password', 'other-passw0rd-mistyped');

ok t_cmp(join(' ', map { $_->enroll_response->code } @devices),
         join(' ', ('200') x @devices), 'the devices enroll');

my @sessions;
for my $dev (@devices) {
    secret(appsrv => $dev->appsrv_secret);
    secret(client => $dev->appauth_parm('CLIENT', 'AAUTHSECRET'));
    secret(nonce => $dev->appsrv_nonce);
    secret(client_nonce => $dev->appauth_parm('CLIENT', 'AAUTHDATA'));
    secret(device_key => pem_body($dev->key_file));
    my $q = admin_request(POST => '/devices/' . $dev->device_id . '/operations',
                          server => $dev->server, body => {type => 'DEVICE_INFO'});
    $dev->dm_begin(auth => 'digest');
    my @r = $dev->dm_session;
    # The nonce of the next session, given in the last reply.
    secret(nonce => $dev->dm_nonce);
    # A second session, over the nonce the first one ended with.
    push @r, $dev->dm_session;
    secret(nonce => $dev->dm_nonce);
    push @sessions, join ' ', map { $_->{hdr_status} // "HTTP $_->{code}" } @r;
}
ok t_cmp(scalar(grep { /^200(?: 200)*$/ } @sessions), scalar(@devices),
         'every device holds two digest sessions');

secret(ca_key => pem_body(catfile($state, 'ca.key')));
secret(admin_password => 'admin-password');

# --- the logs ----------------------------------------------------------------------

my $log = '';
for my $f (glob(catfile($logs, '*_log'))) {
    open my $fh, '<:raw', $f or die "$f: $!";
    local $/;
    $log .= <$fh> // '';
    close $fh;
}
ok t_cmp(length($log) > 10000 && $log =~ /WM00033/ ? 'trace logs' : 'no logs',
         'trace logs', 'the logs of these enrollments are there to search');

for my $what (qw(password token appsrv client nonce ca_key device_key
                 admin_password)) {
    my @found = grep { index($log, $_) >= 0 } @{ $secrets{$what} || [] };
    ok t_cmp(scalar(@{ $secrets{$what} || [] }) ? join(' ', @found) : 'none collected',
             '', "no $what in the logs");
}

# --- CA key permissions ------------------------------------------------------------

# A small config as t/040-config.t writes, checked with `apache2 -t`,
# with a copy of the CA key at 0644 and then at 0600.
{
    my $httpd = Apache::Test::vars('httpd');
    my $modules = '/usr/lib/apache2/modules';
    my $so = catfile(Apache::Test::vars('top_dir'), '.libs', 'mod_winmdm.so');
    my $dir = tempdir(CLEANUP => 1);
    my $key = catfile($dir, 'ca.key');
    copy(catfile($state, 'ca.key'), $key) or die "copy: $!";
    my $conf = catfile($dir, 'httpd.conf');
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh <<"CONF";
ServerRoot "$dir"
ServerName localhost
ErrorLog "$dir/error_log"
PidFile "$dir/httpd.pid"
Listen 127.0.0.1:1
LoadModule mpm_event_module $modules/mod_mpm_event.so
LoadModule authz_core_module $modules/mod_authz_core.so
LoadModule authn_core_module $modules/mod_authn_core.so
LoadModule authn_file_module $modules/mod_authn_file.so
LoadModule dbd_module $modules/mod_dbd.so
LoadModule winmdm_module "$so"
DBDriver sqlite3
DBDParams "$dir/wm.db"
WinMDM On
WinMDMPublicURL https://enterpriseenrollment.example.test
WinMDMCACertificateFile "$state/ca.crt"
WinMDMCAKeyFile "$key"
CONF
    close $fh;
    my %out;
    for my $mode (0644, 0600) {
        chmod $mode, $key or die "chmod: $!";
        $out{$mode} = `"$httpd" -t -f "$conf" 2>&1`;
    }
    ok t_cmp($out{0644 + 0}, qr/WinMDMCAKeyFile \S+ is readable by other users/,
             'a CA key readable by others: a warning naming WinMDMCAKeyFile');
    ok t_cmp($out{0600 + 0} =~ /WinMDMCAKeyFile\b.*readable/ ? $out{0600 + 0} : 'no warning',
             'no warning', 'a CA key readable by its owner only: no warning');
}
