# OMA-DM sessions authenticated by the TLS client certificate issued at
# enrollment (DESIGN.md sections 1 and 5, spec/syncml.md 7: the
# baseline authentication of Windows MDM) on the TLS server, which asks
# for client certificates at virtual-host level (SSLVerifyClient
# optional). A message is accepted when the certificate's CN is the
# SyncHdr Source LocURI and its SHA-1 the device's current one, with
# SyncHdr Status 200 (never 212) and no Cred needed; the same message
# without a certificate or Cred is missing credentials (407).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test;
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);
use WinMDMDevice qw(dm_command_list);

plan tests => 29, need_module('dbd', 'ssl');

my $dev = WinMDMDevice->new(server => 'winmdm_tls');
ok t_cmp($dev->enroll->code, 200, 'the device enrolls (OnPremise)');
my $ID = $dev->device_id;
my $Q = sql_quote($ID);

sub op_row {
    my $id = shift;
    return (db_rows('winmdm_tls', 'SELECT state, status FROM operations '
                    . 'WHERE id = ' . sql_quote($id)))[0] // 'no row';
}

sub statuses {
    my $r = shift;
    return join ' ', map {
        ($_->{cmd_id} // '-') . '/' . ($_->{cmd_ref} // '-') . ':'
        . ($_->{cmd} // '-') . ':' . ($_->{data} // '-')
    } @{ $r->{statuses} };
}

# --- package 1 with the certificate, no Cred ------------------------------

$dev->dm_begin(auth => 'cert');
my $r = $dev->dm_send(cmds => [$dev->dm_package1_cmds(
    devinfo => {Man => 'Certified Hardware'})]);
ok t_cmp($r->{code}, 200, 'certificate: HTTP status');
ok t_cmp($r->{sent} =~ /<Cred>/ ? 'Cred sent' : 'no Cred', 'no Cred',
         'certificate: the message carries no Cred');
ok t_cmp(statuses($r),
         's1/0:SyncHdr:200 s2/2:Alert:200 s3/3:Alert:200 s4/4:Replace:200',
         'certificate: SyncHdr 200 (not 212) and a Status per command');
ok t_cmp($r->{target} // 'none', $ID, 'certificate: Target is the DeviceID');
ok t_cmp($r->{source} // 'none', $dev->dm_server_uri,
         'certificate: Source is the server URL');
ok t_cmp(join(' ', @{ $r->{body_names} }),
         'Status Status Status Status Final',
         'certificate: nothing pending, the session closes');
ok t_cmp(db_value('winmdm_tls', 'SELECT value FROM inventory WHERE '
                  . "device_id = $Q AND uri = './DevInfo/Man'") // 'none',
         'Certified Hardware', 'certificate: inventory stored');
ok t_cmp(db_value('winmdm_tls', "SELECT CASE WHEN last_seen > 0 THEN 1 ELSE 0 END FROM devices WHERE device_id = $Q"),
         1, 'certificate: last_seen set');

# --- operations over a certificate session ---------------------------------------

my @ids;
for my $type (qw(DEVICE_INFO WIPE)) {
    my $q = admin_request(POST => "/devices/$ID/operations",
                          server => 'winmdm_tls', body => {type => $type});
    push @ids, $q->{json} ? $q->{json}{id} // 'no id' : "HTTP $q->{code}";
}
ok t_cmp(join(' ', map { /^\d+$/ ? 'id' : $_ } @ids), 'id id',
         'two operations queued on the TLS server');
my @replies = $dev->dm_session(status => sub {
    $_[0]{name} eq 'Exec' ? 202 : 200 });
ok t_cmp(scalar(@replies), 2, 'the session has two messages');
ok t_cmp(dm_command_list($replies[0]), "$ids[0]:Get $ids[1]:Exec",
         'the Get and the Exec, CmdIDs their ids');
ok t_cmp(($replies[0]{commands}[1] || {items => [{}]})->{items}[0]{target}
         // 'none', './Device/Vendor/MSFT/RemoteWipe/doWipe', 'WIPE target');
ok t_cmp(join(' ', map { $_->{hdr_status} // '-' } @replies), '200 200',
         'every message of the session: SyncHdr 200');
ok t_cmp(join(' ', map { op_row($_) } @ids), 'done|200 done|202',
         'DEVICE_INFO done, WIPE done with 202');
ok t_cmp(db_value('winmdm_tls', 'SELECT count(*) FROM results WHERE op_id = '
                  . sql_quote($ids[0])), 14, 'DEVICE_INFO results stored');

# --- each message needs its certificate ------------------------------------------
# The certificate authenticates the request it came with, not the
# session: a message over TLS without it (and without Cred) is missing
# credentials, and is not processed.

my $man = db_value('winmdm_tls', 'SELECT value FROM inventory WHERE '
                   . "device_id = $Q AND uri = './DevInfo/Man'") // 'none';
$dev->dm_begin(auth => 'cert');
$r = $dev->dm_send(auth => 'none', cmds => [$dev->dm_package1_cmds(
    devinfo => {Man => 'Unproven'})]);
ok t_cmp($r->{hdr_status} // 'none', 407,
         'TLS without a client certificate or Cred: 407');
ok t_cmp(join(' ', @{ $r->{body_names} }), 'Status Final',
         '407: only the SyncHdr Status and Final');
ok t_cmp($r->{next_nonce} ? 'Chal with NextNonce' : 'none', 'Chal with NextNonce',
         '407: a Chal (digest is allowed on this server too)');
ok t_cmp(db_value('winmdm_tls', 'SELECT value FROM inventory WHERE '
                  . "device_id = $Q AND uri = './DevInfo/Man'") // 'none',
         $man, '407: inventory unchanged');

# --- the digest works here too (WinMDMDeviceAuth any) ----------------------------

$dev->dm_begin(auth => 'digest');
$dev->set_dm_nonce($dev->appsrv_nonce);
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp($r->{hdr_status} // 'none', 200,
         'digest over the APPSRV nonce on the TLS server: 200');
ok t_cmp($r->{next_nonce} ? 'NextNonce' : 'none', 'NextNonce',
         'the closing reply of a digest session has a NextNonce');

# --- a certificate and a wrong Cred ----------------------------------------------
# The certificate proves the device; a Cred beside it is not what
# decides (DESIGN.md section 1: either method).

$dev->dm_begin(auth => 'cert');
$r = $dev->dm_send(cred_data => 'AAAAAAAAAAAAAAAAAAAAAA==',
                   cmds => [$dev->dm_package1_cmds]);
ok t_cmp($r->{hdr_status} // 'none', 200,
         'the current certificate with a wrong Cred beside it: 200');

# --- the Windows 8.1 path with a certificate -------------------------------------

my $old = WinMDMDevice->new(server => 'winmdm_tls', os => '8.1');
ok t_cmp($old->enroll->code, 200, 'a Windows 8.1 device enrolls');
$old->dm_begin(auth => 'cert');
$r = $old->dm_send(cmds => [$old->dm_package1_cmds]);
ok t_cmp($r->{hdr_status} // 'none', 200,
         'Windows 8.1: certificate session on /syncml/initialquery');
ok t_cmp($r->{source} // 'none',
         WinMDMDevice::PUBLIC_URL . '/syncml/initialquery',
         'Windows 8.1: Source');

# --- a Device-context certificate (Device enrollment) ----------------------------

my $sys = WinMDMDevice->new(server => 'winmdm_tls', enrollment_type => 'Device',
                            path_family => 'api');
ok t_cmp($sys->enroll->code, 200, 'a device-context enrollment');
$sys->dm_begin(auth => 'cert');
$r = $sys->dm_send(cmds => [$sys->dm_package1_cmds]);
ok t_cmp($r->{hdr_status} // 'none', 200,
         'device context: certificate session on the MDM endpoint path');
ok t_cmp($r->{source} // 'none', $sys->dm_server_uri,
         'device context: Source is the MDM endpoint URL');
