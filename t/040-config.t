# Directives (DESIGN.md section 3): a bad value or a missing required
# directive on a WinMDM On server refuses startup, and `apache2 -t` (what
# apachectl -t runs) says which directive. Each case writes a small
# self-contained config next to the suite's state and runs the same httpd
# binary the suite runs.
use strict;
use warnings FATAL => 'all';

use File::Spec::Functions qw(catfile);
use File::Temp qw(tempdir);

use Apache::Test;
use Apache::TestUtil qw(t_cmp);

my @cases = (
    # [ name, extra directives, expected text (undef: Syntax OK) ]
    ['valid', '', undef],
    ['missing public URL', "-WinMDMPublicURL",
     qr/WinMDMPublicURL is required/],
    ['missing CA certificate', "-WinMDMCACertificateFile",
     qr/WinMDMCACertificateFile is required/],
    ['missing CA key', "-WinMDMCAKeyFile", qr/WinMDMCAKeyFile is required/],
    ['bad poll interval', "WinMDMPollInterval 0",
     qr/WinMDMPollInterval: '0' is not a whole number from 1 to 1440/],
    ['bad profile read-back interval', "WinMDMProfileVerifyInterval 0",
     qr/WinMDMProfileVerifyInterval: '0' is not a whole number from 1 to 525600/],
    ['bad profile re-apply limit', "WinMDMProfileReapplyLimit -1",
     qr/WinMDMProfileReapplyLimit: '-1' is not a whole number from 0 to 100/],
    ['bad auth policy', "WinMDMAuthPolicy Kerberos",
     qr/WinMDMAuthPolicy: must be Federated or OnPremise/],
    ['bad device auth', "WinMDMDeviceAuth password",
     qr/WinMDMDeviceAuth: must be cert, digest or any/],
    ['bad public URL', "WinMDMPublicURL ftp://example.test/",
     qr/WinMDMPublicURL: 'ftp:\/\/example.test\/' is not an absolute http/],
    ['bad API prefix', "WinMDMAPIPrefix api",
     qr/WinMDMAPIPrefix: 'api' is not a URL path/],
    ['bad domain', "WinMDMDomain exa_mple.test",
     qr/WinMDMDomain: 'exa_mple.test' is not a domain name/],
    ['bad size', "WinMDMMaxMessageSize 12",
     qr/WinMDMMaxMessageSize: must be a number of bytes from 4096/],
    ['bad provider id', "WinMDMProviderID a/b",
     qr/WinMDMProviderID: only letters/],
    ['renew period not shorter than validity',
     "WinMDMCertificateValidity 30\nWinMDMRenewPeriod 30",
     qr/WinMDMRenewPeriod must be shorter than WinMDMCertificateValidity/],
    ['unknown authn provider', "WinMDMAuthProvider nosuch",
     qr/WinMDMAuthProvider: unknown authn provider 'nosuch'/],
    ['CA certificate that is not a CA', "CA=server.crt\nKEY=server.key",
     qr/is not a CA certificate/],
    ['CA key that does not match', "KEY=server.key",
     qr/does not match the certificate/],
    # A vhost inherits WinMDM On from the main server and must be
    # complete too: here the vhost's own empty public URL is not possible,
    # so check that an explicit Off in a vhost is accepted.
    ['vhost Off under main On', "VHOST=WinMDM Off", undef],
);

plan tests => 38;
die "040-config.t: the plan must be twice the number of cases\n"
    unless @cases * 2 == 38;

my $httpd = Apache::Test::vars('httpd');
my $state = Apache::Test::vars('t_state');
my $modules = '/usr/lib/apache2/modules';
my $so = catfile(Apache::Test::vars('top_dir'), '.libs', 'mod_winmdm.so');
my $dir = tempdir(CLEANUP => 1);

for my $case (@cases) {
    my ($name, $extra, $want) = @$case;
    my %d = (
        WinMDMPublicURL => 'https://enterpriseenrollment.example.test',
        WinMDMCACertificateFile => "$state/ca.crt",
        WinMDMCAKeyFile => "$state/ca.key",
    );
    my $vhost = '';
    for my $line (split /\n/, $extra) {
        if ($line =~ /^-(\S+)/) { delete $d{$1}; next }
        if ($line =~ /^CA=(.*)/) { $d{WinMDMCACertificateFile} = "$state/$1"; next }
        if ($line =~ /^KEY=(.*)/) { $d{WinMDMCAKeyFile} = "$state/$1"; next }
        if ($line =~ /^VHOST=(.*)/) {
            $vhost = "<VirtualHost 127.0.0.1:1>\n$1\n</VirtualHost>\n";
            next;
        }
        my ($k, $v) = split / /, $line, 2;
        $d{$k} = $v;
    }
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
CONF
    print $fh "$_ $d{$_}\n" for sort keys %d;
    print $fh $vhost;
    close $fh;

    my $out = `"$httpd" -t -f "$conf" 2>&1`;
    my $status = $? >> 8;
    if (defined $want) {
        ok t_cmp($status != 0, 1, "$name: refused");
        ok t_cmp($out, $want, "$name: the message names the directive");
    }
    else {
        ok t_cmp($status, 0, "$name: accepted");
        ok t_cmp($out, qr/Syntax OK/, "$name: Syntax OK");
    }
}
