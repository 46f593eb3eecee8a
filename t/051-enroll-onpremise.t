# OnPremise enrollment on the TLS virtual host (spec/enrollment.md
# sections 4 and 5): the device sends the user's password in a
# wsse:UsernameToken with GetPolicies and RequestSecurityToken. Emulated
# devices enroll through the device-facing paths and the MDM endpoint
# paths; then the real Windows 10 captures are sent byte for byte, as
# the device sent them (their user demio has no domain part, which
# WinMDMDomain refuses), then with the user name qualified.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test;
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);
use WinMDMDevice ();

# [label, new() options]
my @DEVICES = (
    ['OnPremise Windows 10, device paths, Full',
     {os => '10', path_family => 'device'}],
    ['OnPremise Windows 10, MDM paths with services/, Device',
     {os => '10', path_family => 'api', services => 1,
      enrollment_type => 'Device',
      user => 'other@example.test', password => 'other-password'}],
    ['OnPremise Windows 8.1, MDM paths without services/, Full',
     {os => '8.1', path_family => 'api', services => 0}],
);

my $count = @DEVICES * (2 + WinMDMDevice::XCEP_CHECKS
                        + WinMDMDevice::ENROLL_CHECKS)
          + WinMDMDevice::XCEP_CHECKS + WinMDMDevice::ENROLL_CHECKS + 2;
die "plan says 188 tests, the lists make $count\n" unless $count == 188;

plan tests => 188, need_module('dbd', 'ssl');

for my $d (@DEVICES) {
    my($label, $opts) = @$d;
    my $dev = WinMDMDevice->new(server => 'winmdm_tls', %$opts);
    my $res = $dev->discover;
    if ($opts->{os} eq '8.1') {
        # MS-MDE 3.1.4.1.3.2: a Windows 8.1 client knows only AuthPolicy
        # Federated; an OnPremise server has nothing it can use and says
        # so (s:Authentication). The enrollment path itself still takes
        # what this vhost accepts.
        ok t_cmp($res->code, 500, "$label: discovery refused");
        my $f = soap_fault($res->content);
        ok t_cmp($f ? $f->{subcode} // 'no subcode' : 'no SOAP fault',
                 's:Authentication', "$label: discovery s:Authentication");
    }
    else {
        ok t_cmp($res->code, 200, "$label: discovery status");
        ok t_cmp($dev->auth_policy, 'OnPremise', "$label: AuthPolicy");
    }
    $dev->get_policies;
    ok t_cmp($_->[0], $_->[1], $_->[2]) for $dev->policy_checks("$label: GetPolicies");
    $dev->enroll;
    ok t_cmp($_->[0], $_->[1], $_->[2]) for $dev->enrollment_checks("$label: enrollment");
}

# --- the real captures -------------------------------------------------------
# The Windows 10 21H1 device's own requests: a UsernameToken for demio,
# a CSR signed with SHA-1 under the OIW OID whose CN holds '!' and a NUL
# byte, MAC six times, no RequestVersion. Sent as they are, to the paths
# discovery gives a Windows 10 device.

# As captured, the user name has no domain: with WinMDMDomain set, such a
# name is refused (it would escape the domain list), so the captures are
# sent once as they are (refused) and then with the name qualified.
my $XCEP_CAPTURE = fixture('xcep_getpolicies_request_win10_19043_usernametoken.xml');
my $WSTEP_CAPTURE = fixture('wstep_rst_request_win10_19043_usernametoken.xml');
my $bare = WinMDMDevice->new(server => 'winmdm_tls', os => '10',
                             path_family => 'device');
for my $c (['GetPolicies', sub { $bare->get_policies(body => $XCEP_CAPTURE) }],
           ['enrollment', sub { $bare->enroll(body => $WSTEP_CAPTURE) }]) {
    my $fault = soap_fault($c->[1]->()->content);
    ok t_cmp($fault ? $fault->{subcode} : 'no fault', 's:Authorization',
             "capture as sent (bare user name demio): $c->[0] refused");
}

s{<wsse:Username>demio</wsse:Username>}
 {<wsse:Username>demio\@example.test</wsse:Username>}
    for $XCEP_CAPTURE, $WSTEP_CAPTURE;

my $capture = WinMDMDevice->new(
    server          => 'winmdm_tls',
    os              => '10',
    path_family     => 'device',
    device_id       => 'B5B954E81FBCB94EB79BD08BE625F4EE',
    enrollment_type => 'Full',
    user            => 'demio@example.test',
    password        => 'demo',
);

$capture->get_policies(body => $XCEP_CAPTURE);
ok t_cmp($_->[0], $_->[1], $_->[2]) for $capture->policy_checks('capture: GetPolicies');

$capture->enroll(body => $WSTEP_CAPTURE);
ok t_cmp($_->[0], $_->[1], $_->[2]) for $capture->enrollment_checks('capture: enrollment');
