# Profiles end to end (README "Profiles"): groups and profiles made through
# the admin API, devices that keep the values of their nodes (the
# emulator's dm_device_session: Atomic all or nothing, Get reads back what
# was set). A new device gets its profiles in its first session and is
# verified; a changed profile reaches every assigned device once; a device
# that refuses one item fails that profile with the node and status and
# keeps the others; a drifted value is found on the scheduled read-back
# and applied again; unassigning a profile, or leaving the group, deletes
# its Policy CSP settings; sessions at once never send one version twice;
# every admin action is in the audit log with who did it.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use POSIX ();

use WinMDMTest qw(:all);
use WinMDMDevice ();

plan tests => 54, need_module('dbd');

my $POLICY = './Device/Vendor/MSFT/Policy/Config/';
my $IMAGE = './Device/Vendor/MSFT/Personalization/LockScreenImageUrl';

sub api { admin_request(@_) }
sub ok_code {
    my($r, $code, $label) = @_;
    ok t_cmp($r->{code}, $code, $label);
    return $r->{json} || {};
}

# The state of each of a device's profiles, "name:state" sorted by name.
sub states {
    my $dev = shift;
    my $j = api(GET => '/devices/' . $dev->device_id . '/profiles')->{json} || {};
    return join ' ', map { "$_->{name}:$_->{state}" }
                     sort { ($a->{name} // '') cmp ($b->{name} // '') }
                     @{ $j->{profiles} || [] };
}

sub ops_of {
    my($dev, $type) = @_;
    return db_value('default', 'SELECT COUNT(*) FROM operations WHERE device_id = '
                    . sql_quote($dev->device_id) . ' AND type = ' . sql_quote($type));
}

sub node { $_[0]{nodes}{ $_[1] } // 'none' }

# --- the fleet: a group, two profiles, two devices ------------------------------------

my $g = ok_code(api(POST => '/groups', body => {name => 'Finance'}), 201,
                'a group is created');
my $GID = $g->{id} // 0;
ok_code(api(POST => '/groups', body => {name => 'Finance'}), 409,
        'a second group of the same name: 409');

my $base = ok_code(api(POST => '/profiles', body => {
    name => 'Baseline',
    settings => {'DeviceLock/MinDevicePasswordLength' => '6',
                 'Update/Branch' => {value => '123', format => 'chr'}},
    syncml => "<Replace><CmdID>1</CmdID><Item><Target><LocURI>$IMAGE</LocURI>"
            . '</Target><Data>https://img.example.test/a.png</Data></Item>'
            . '</Replace>'}), 201, 'a profile of settings and a raw Replace');
my $BASE = $base->{id} // 0;
ok_code(api(POST => '/profiles', body => {name => 'Bad', syncml =>
    '<Exec><CmdID>1</CmdID><Item><Target><LocURI>./Device/Vendor/MSFT/Reboot/'
    . 'RebootNow</LocURI></Target></Item></Exec>'}), 400,
    'a profile with an Exec: 400');
my $fin = ok_code(api(POST => '/profiles', body => {name => 'Finance cameras',
    settings => {'Camera/AllowCamera' => 0}}), 201, 'a second profile');
my $FIN = $fin->{id} // 0;

ok_code(api(PUT => "/profiles/$BASE/targets/all", body => {}), 200,
        'Baseline assigned to all devices');
ok_code(api(PUT => "/profiles/$FIN/targets/$GID", body => {}), 200,
        'Finance cameras assigned to the group');

my $a = WinMDMDevice->new(server => 'default');
my $b = WinMDMDevice->new(server => 'default');
$_->login, $_->enroll for $a, $b;
my $add = ok_code(api(POST => "/groups/$GID/devices",
                      body => [$a->device_id, 'no-such-device']), 200,
                  'a device joins the group');
ok t_cmp(join(' ', @{ $add->{added} || [] }, '|', @{ $add->{unknown} || [] }),
         $a->device_id . ' | no-such-device', 'added, and the unknown one named');

# --- first session: delivered and verified -----------------------------------------

$a->dm_device_session(auth => 'digest');
$b->dm_device_session(auth => 'digest');
ok t_cmp(states($a), 'Baseline:verified Finance cameras:verified',
         'A: both profiles verified in its first session');
ok t_cmp(states($b), 'Baseline:verified', 'B: Baseline verified');
ok t_cmp(join(' ', node($a, "${POLICY}DeviceLock/MinDevicePasswordLength"),
                   node($a, "${POLICY}Update/Branch"), node($a, $IMAGE),
                   node($a, "${POLICY}Camera/AllowCamera")),
         '6 123 https://img.example.test/a.png 0', 'A holds every value');
ok t_cmp(node($b, "${POLICY}Camera/AllowCamera"), 'none',
         'B does not hold the group profile');
{
    my $j = api(GET => "/profiles/$BASE")->{json} || {};
    ok t_cmp(join(' ', map { "$_=" . (($j->{states} || {})->{$_} // '-') }
                       qw(pending verified failed total)),
             'pending=0 verified=2 failed=0 total=2', 'Baseline: its states counted');
}
my @again = $a->dm_device_session(auth => 'digest');
ok t_cmp(scalar(@{ $again[0]{commands} }), 0, 'a later check-in: nothing to send');

# --- a changed profile reaches every assigned device once ---------------------------

my $ch = ok_code(api(PUT => "/profiles/$BASE", body => {
    settings => {'DeviceLock/MinDevicePasswordLength' => '8',
                 'Update/Branch' => {value => '123', format => 'chr'}},
    syncml => "<Replace><CmdID>1</CmdID><Item><Target><LocURI>$IMAGE</LocURI>"
            . '</Target><Data>https://img.example.test/a.png</Data></Item>'
            . '</Replace>'}), 200, 'Baseline changed');
ok t_cmp($ch->{version} // 'none', 2, 'its version 2');
my $same = api(PUT => "/profiles/$BASE", body => {
    settings => {'Update/Branch' => {value => '123', format => 'chr'},
                 'DeviceLock/MinDevicePasswordLength' => '8'},
    syncml => "<Replace><CmdID>1</CmdID><Item><Target><LocURI>$IMAGE</LocURI>"
            . '</Target><Data>https://img.example.test/a.png</Data></Item>'
            . '</Replace>'})->{json} || {};
ok t_cmp(($same->{version} // 'none') . ' ' . ($same->{changed} ? 'changed' : 'same'),
         '2 same', 'the same definition again: no new version');
my($before_a, $before_b) = (ops_of($a, 'PROFILE'), ops_of($b, 'PROFILE'));
$_->dm_device_session(auth => 'digest') for $a, $b, $a, $b;
ok t_cmp(join(' ', ops_of($a, 'PROFILE') - $before_a, ops_of($b, 'PROFILE') - $before_b),
         '1 1', 'each device got version 2 once, over two check-ins each');
ok t_cmp(join(' ', node($a, "${POLICY}DeviceLock/MinDevicePasswordLength"),
                   node($b, "${POLICY}DeviceLock/MinDevicePasswordLength")),
         '8 8', 'both hold the new value');
ok t_cmp(states($a), 'Baseline:verified Finance cameras:verified',
         'A: verified again');

# --- a refused item fails its profile, the others stay ----------------------------

my $strict = ok_code(api(POST => '/profiles', body => {name => 'Strict',
    settings => {'Browser/AllowCookies' => 1, 'Bad/Node' => 1}}), 201,
    'a profile one of whose nodes the device refuses');
ok_code(api(PUT => "/profiles/$strict->{id}/targets/all", body => {}), 200,
        'assigned to all devices');
$b->dm_device_session(auth => 'digest',
                      refuse => sub { $_[0] =~ m{/Bad/Node$} ? 405 : undef });
ok t_cmp(states($b), 'Baseline:verified Strict:failed',
         'B: Strict failed, Baseline still verified');
{
    my($row) = grep { ($_->{name} // '') eq 'Strict' }
               @{ (api(GET => '/devices/' . $b->device_id . '/profiles')->{json}
                   || {})->{profiles} || [] };
    ok t_cmp($row ? $row->{error} // 'no error' : 'no row',
             "${POLICY}Bad/Node: status 405", 'the refused node and its status');
}
ok t_cmp(node($b, "${POLICY}Browser/AllowCookies"), 'none',
         'the Atomic was rolled back: nothing of Strict was set');
ok_code(api(DELETE => "/profiles/$strict->{id}", body => {}), 200,
        'Strict deleted');
$_->dm_device_session(auth => 'digest') for $a, $b;
ok t_cmp(states($b) . ' / ' . states($a), 'Baseline:verified / Baseline:verified Finance cameras:verified',
         'a deleted profile leaves every device');

# --- drift: found on the read-back, applied again -----------------------------------

$a->{nodes}{"${POLICY}DeviceLock/MinDevicePasswordLength"} = '4';
db_rows('default', 'UPDATE devices SET verify_at = 1 WHERE device_id = '
        . sql_quote($a->device_id));
my $verifies = ops_of($a, 'PROFILE_VERIFY');
my $applies = ops_of($a, 'PROFILE');
$a->dm_device_session(auth => 'digest');
ok t_cmp(join(' ', ops_of($a, 'PROFILE_VERIFY') - $verifies,
                   ops_of($a, 'PROFILE') - $applies),
         '2 1', 'both profiles read back; the drifted one applied again');
ok t_cmp(node($a, "${POLICY}DeviceLock/MinDevicePasswordLength"), 8,
         'the value is back');
ok t_cmp(states($a), 'Baseline:verified Finance cameras:verified',
         'verified after the re-application');
ok t_cmp(db_value('default', 'SELECT CASE WHEN verify_at > 1 THEN 1 ELSE 0 END '
                  . 'FROM devices WHERE device_id = ' . sql_quote($a->device_id)),
         1, 'the next read-back is scheduled');

# --- a device that enrolls again (reset) gets its profiles again ---------------------

$b->{nodes} = {};
$b->login;
$b->enroll;
$b->dm_device_session(auth => 'digest');
ok t_cmp(states($b) . ' ' . node($b, "${POLICY}DeviceLock/MinDevicePasswordLength"),
         'Baseline:verified 8', 'B enrolled again: Baseline sent again and verified');

# --- unassigning deletes the settings; so does leaving the group --------------------

ok_code(api(DELETE => "/profiles/$FIN/targets/$GID", body => {}), 200,
        'Finance cameras unassigned');
$a->dm_device_session(auth => 'digest');
ok t_cmp(states($a), 'Baseline:verified', 'A: the profile is gone');
ok t_cmp(node($a, "${POLICY}Camera/AllowCamera"), 'none',
         'its Policy CSP setting was deleted');
ok t_cmp(node($a, $IMAGE), 'https://img.example.test/a.png',
         'the other profile keeps its values');

ok_code(api(PUT => "/profiles/$FIN/targets/$GID", body => {}), 200,
        'assigned to the group again');
$a->dm_device_session(auth => 'digest');
ok t_cmp(node($a, "${POLICY}Camera/AllowCamera"), 0, 'A holds it again');
ok_code(api(DELETE => "/groups/$GID/devices/" . $a->device_id, body => {}), 200,
        'A leaves the group');
$a->dm_device_session(auth => 'digest');
ok t_cmp(states($a) . ' ' . node($a, "${POLICY}Camera/AllowCamera"),
         'Baseline:verified none', "A lost the group's profile and its setting");

# --- sessions at once never send one version twice ----------------------------------
# Four sessions of one device at once, each proven by the device's TLS
# client certificate (a digest nonce serves one session only), on the TLS
# server with its own database.

my $c = WinMDMDevice->new(server => 'winmdm_tls');
$c->enroll;
my $race = ok_code(api(POST => '/profiles', server => 'winmdm_tls', body => {
    name => 'Race', settings => {'DeviceLock/MinDevicePasswordLength' => '10'}}),
    201, 'a profile on the TLS server');
ok_code(api(PUT => "/profiles/$race->{id}/targets/all", server => 'winmdm_tls',
            body => {}), 200, 'assigned to all its devices');
my @pids;
for my $i (1 .. 4) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        $c->dm_begin(auth => 'cert', session_id => "RACE$i");
        my $r = $c->dm_send(cmds => [$c->dm_package1_cmds]);
        POSIX::_exit(($r->{hdr_status} // 0) != 200 ? 2
                     : @{ $r->{commands} || [] } ? 1 : 0);
    }
    push @pids, $pid;
}
my @got = map { waitpid($_, 0); $? >> 8 } @pids;
ok t_cmp(join(' ', sort @got), '0 0 0 1',
         'four sessions at once: each accepted, one of them sent the profile');
ok t_cmp(db_value('winmdm_tls', 'SELECT COUNT(*) FROM operations WHERE device_id = '
                  . sql_quote($c->device_id) . " AND type = 'PROFILE'"), 1,
         'one operation for that version');

# --- who did what ------------------------------------------------------------------

{
    my $j = api(GET => "/profiles/$BASE/audit")->{json} || {};
    my @acts = map { "$_->{actor}:$_->{action}" } reverse @{ $j->{audit} || [] };
    ok t_cmp(join(', ', @acts),
             'admin:profile created, admin:profile assigned, admin:profile changed',
             "Baseline's audit log, with who");
    my $d = api(GET => '/devices/' . $a->device_id . '/audit')->{json} || {};
    ok t_cmp(join(', ', map { $_->{action} } reverse @{ $d->{audit} || [] }),
             'group member added, group member removed', "A's audit log");
}

# --- the device list: search, filters, summary ---------------------------------------

{
    my $ids = sub {
        my $j = api(GET => '/devices?limit=500&' . shift)->{json} || {};
        return join ' ', map { $_->{device_id} } @{ $j->{devices} || [] };
    };
    my($ida, $idb) = ($a->device_id, $b->device_id);
    ok t_cmp($ids->('q=' . substr($ida, 0, 12)), $ida,
             'search by a DeviceID prefix');
    ok t_cmp($ids->("profile=$BASE&profile_state=verified") =~ /\Q$ida\E/
             && $ids->("profile=$BASE&profile_state=verified") =~ /\Q$idb\E/
             ? 'both' : $ids->("profile=$BASE&profile_state=verified"),
             'both', "filter: Baseline's verified devices");
    api(POST => "/groups/$GID/devices", body => [$idb]);
    ok t_cmp($ids->("group=$GID&state=enrolled"), $idb, 'filter: a group');
    ok t_cmp(api(GET => '/devices?group=x')->{code}, 400, 'a bad group id: 400');
    my $sum = api(GET => '/summary')->{json} || {};
    ok t_cmp(($sum->{states}{enrolled} // 0) >= 2
             && ($sum->{last_seen}{hour} // 0) >= 2 ? 'counted' : 'not counted',
             'counted', 'the summary counts devices by state and last seen');
}

# The profiles and the group leave the servers, so that no device or
# test file later meets them: each profile is deleted, and its devices
# remove its settings.
ok t_cmp(join(' ', (map { api(DELETE => "/profiles/$_", body => {})->{code} }
                    $BASE, $FIN), api(DELETE => "/groups/$GID", body => {})->{code}),
         '200 200 200', 'the profiles and the group are deleted');
ok t_cmp(api(DELETE => "/profiles/$race->{id}", server => 'winmdm_tls',
             body => {})->{code}, 200, 'and the one of the TLS server');
