# The web console (console/console.html, DESIGN.md section 6) in a real
# browser: Debian's Chromium, driven by t/browser/console-test.js through
# playwright-core, as the administrator of t/state/admin.htpasswd. An
# emulated Windows device enrolls and checks in; the console shows it in
# the device list and on its page, where the Lock button queues a LOCK
# that the history shows pending; the device's next OMA-DM session
# receives it as an Exec whose CmdID is the operation id and answers 200;
# after a reload the console shows the LOCK done with status 200.
# Then groups and profiles (README "Profiles"), made in the console: a
# group holding the device, a profile assigned to it and changed; the
# device's next session (a device that keeps its node values) applies
# and verifies it; the console shows it verified on the device page and
# in the profile's compliance bar, who queued each operation, the audit
# logs, and the device list's summary, search and filters, with a second
# device that the filters must leave out.
# Screenshots of every page go to t/browser/screenshots/
# (scripts/apache-test.sh copies them back to the source tree).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Path qw(make_path);
use File::Spec::Functions qw(catfile catdir);
use JSON::PP ();

use Apache::Test;
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);
use WinMDMDevice qw(run_cmd);

plan tests => 23, need_module('dbd');

my $t_dir   = Apache::Test::vars('t_dir');
my $browser = catdir($t_dir, 'browser');
my $shots   = catdir($browser, 'screenshots');
my @SHOTS   = qw(01-device-list.png 02-device-page.png 03-lock-pending.png
                 04-device-page-phone.png 05-device-list-phone.png
                 06-lock-done.png 07-group.png 08-profile.png
                 09-device-profiles.png 10-profiles.png
                 11-device-list-filtered.png 12-device-list-filters-phone.png
                 13-profiles-phone.png 14-profile-phone.png 15-group-phone.png
                 16-profile-failed.png);
my $LOCK_URI = './Vendor/MSFT/RemoteLock/Lock';

# Screenshots of an earlier run would pass for this run's.
make_path($shots);
unlink glob(catfile($shots, '*.png'));

# Its name holds markup: the console must show it as text, never parse
# it (the page's script would run an onerror handler it let through).
my $NAME = q{PC-<img src=x onerror="window.injected=1">&amp;};
my $dev = WinMDMDevice->new(server => 'default', device_name => $NAME);
$dev->login;
ok t_cmp($dev->enroll->code, 200, 'the device enrolls');
my $ID = $dev->device_id;

# Package 1 right after enrollment, as Windows sends it: the device is
# seen and its DevInfo becomes inventory, for the console to show.
my @replies = $dev->dm_session(auth => 'digest');
ok t_cmp($replies[-1]{hdr_status} // 'none', 200,
         'the first OMA-DM session is accepted');

# A second device, in no group: the search and filters tell them apart.
my $OTHER_NAME = 'LAPTOP-' . substr($dev->device_id, 0, 6);
my $other = WinMDMDevice->new(server => 'default', device_name => $OTHER_NAME);
$other->login;
my $enrolled = $other->enroll->code;
my @other = $other->dm_session(auth => 'digest');
ok t_cmp($enrolled . ' ' . ($other[-1]{hdr_status} // 'none'), '200 200',
         'a second device enrolls and checks in');

# Runs one step of the browser test; returns 'ok' and what it printed
# after RESULT, or its failure with everything it said.
sub console_step {
    my($step, %extra) = @_;
    local %ENV = (
        %ENV,
        WINMDM_CONSOLE_URL    => server_url('default') . API . '/admin/console',
        WINMDM_ADMIN_USER     => 'admin',
        WINMDM_ADMIN_PASSWORD => 'admin-password',
        WINMDM_DEVICE_ID      => $ID,
        WINMDM_DEVICE_NAME    => $NAME,
        WINMDM_DEVICE_USER    => $dev->user,
        WINMDM_SCREENSHOTS    => $shots,
        %extra,
    );
    my $node = -x '/usr/bin/node' ? '/usr/bin/node' : 'node';
    my($rc, $out) = eval {
        run_cmd($node, catfile($browser, 'console-test.js'), $step);
    };
    ($rc, $out) = (127, "cannot run node: $@") unless defined $rc;
    print STDERR map { "# $step: $_\n" } split /\n/, $out if $rc;
    my($result) = $out =~ /^RESULT (.*)$/m;
    my $json = $result ? eval { JSON::PP->new->decode($result) } : undef;
    my($why) = $out =~ /^(FAIL: .*)$/m;
    return ($rc == 0 && $json ? 'ok'
            : $why // "exit $rc without a result: $out", $json || {});
}

# --- step 1: list, device page, LOCK queued ----------------------------------

my($step1, $out1) = console_step('step1');
ok t_cmp($step1, 'ok', 'console step 1: device list, device page, Lock button');
my $lock = $out1->{lock} // 'none';
ok t_cmp($lock, qr/^\d+$/, 'console step 1 queued a LOCK');

my $op = admin_request(GET => "/operations/$lock");
ok t_cmp(join(' ', map { $op->{json} ? $op->{json}{$_} // '-' : '-' }
                   qw(type state device)),
         "LOCK pending $ID", 'the API has the LOCK pending for the device');

# --- the device's next session -----------------------------------------------

$dev->dm_begin;
my $r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp($r->{hdr_status} // 'none', 200, 'the next OMA-DM session is accepted');
ok t_cmp(join(' ', map {
             ($_->{cmd_id} // '-') . ':' . $_->{name} . ':'
             . join(',', map { $_->{target} // '-' } @{ $_->{items} })
         } @{ $r->{commands} }),
         "$lock:Exec:$LOCK_URI",
         'the server sends the LOCK as an Exec of RemoteLock/Lock, CmdID its id');
$r = $dev->dm_answer(status => 200);
ok t_cmp(($r->{hdr_status} // 'none') . ' ' . scalar(@{ $r->{commands} }),
         '200 0', 'the device answers 200: the session closes');

$op = admin_request(GET => "/operations/$lock");
ok t_cmp(join(' ', map { $op->{json} ? $op->{json}{$_} // '-' : '-' }
                   qw(state status)),
         'done 200', 'the API has the LOCK done with status 200');

# --- step 2: the LOCK done ---------------------------------------------------

my($step2) = console_step('step2', WINMDM_LOCK_ID => $lock);
ok t_cmp($step2, 'ok', 'console step 2: the LOCK shows done with 200');

# --- step 3: a group and a profile made in the console ------------------------

my($step3, $out3) = console_step('step3', WINMDM_OTHER_ID => $other->device_id);
ok t_cmp($step3, 'ok', 'console step 3: a group and a profile, assigned and changed');
my $GID = $out3->{group} // 'none';
my $PID = $out3->{profile} // 'none';
my $CAM = $out3->{cameras} // 'none';
my $members = admin_request(GET => "/groups/$GID/devices");
ok t_cmp(join(' ', @{ ($members->{json} || {})->{devices} || [] }), $ID,
         'the API has the device, and only it, in the group');
my $prof = admin_request(GET => "/profiles/$PID")->{json} || {};
ok t_cmp(join(' ', $prof->{name} // '-', $prof->{version} // '-',
              map { $_->{id} } @{ $prof->{targets} || [] }),
         "Baseline 2 $GID", 'the API has the profile at version 2, assigned to the group');
my $cam = admin_request(GET => "/profiles/$CAM")->{json} || {};
ok t_cmp(join(' ', $cam->{name} // '-', JSON::PP->new->canonical->encode($cam->{definition} || {}),
              map { $_->{id} } @{ $cam->{targets} || [] }),
         'Cameras {"settings":{"Camera/AllowCamera":{"format":"int","value":"0"}}} all',
         'the API has the second profile, assigned to all devices');
ok t_cmp(JSON::PP->new->canonical->encode($prof->{definition} || {}),
         JSON::PP->new->canonical->encode({
             settings => {'DeviceLock/MinDevicePasswordLength' => '8',
                          'Update/Branch' => {value => '123', format => 'chr'}},
             syncml => '<Replace><CmdID>1</CmdID><Item><Target><LocURI>'
                     . './Device/Vendor/MSFT/Personalization/LockScreenImageUrl'
                     . '</LocURI></Target><Data>https://img.example.test/a.png'
                     . '</Data></Item></Replace>'}),
         'the console sent the definition as typed');

# --- the device's session: the profile applied and verified -------------------

# The second device refuses the camera setting: it fails Cameras.
$dev->dm_device_session(auth => 'digest');
$other->dm_device_session(auth => 'digest',
                          refuse => sub { $_[0] =~ m{/Camera/AllowCamera$} ? 405 : undef });
sub profile_states {
    my $j = admin_request(GET => "/devices/$_[0]/profiles")->{json} || {};
    return join ' ', map { "$_->{name}:$_->{version}:$_->{state}" }
                     sort { $a->{name} cmp $b->{name} } @{ $j->{profiles} || [] };
}
ok t_cmp(profile_states($ID), 'Baseline:2:verified Cameras:1:verified',
         'the device applied Baseline version 2 and Cameras, both verified');
ok t_cmp($dev->{nodes}{'./Device/Vendor/MSFT/Policy/Config/DeviceLock/MinDevicePasswordLength'} // 'none',
         '8', 'the device holds the changed value');
ok t_cmp(profile_states($other->device_id), 'Cameras:1:failed',
         'the device removed from the group: no Baseline, Cameras failed');

# --- step 4: verified, in the console -----------------------------------------

# The default server's database holds the devices of every test file run
# before this one: what the device list must show comes from the API.
my $ids_of = sub {
    my $j = admin_request(GET => '/devices?limit=50&' . shift)->{json} || {};
    return [map { $_->{device_id} } @{ $j->{devices} || [] }];
};
my $sum = admin_request(GET => '/summary')->{json} || {};
my $expect = JSON::PP->new->canonical->encode({
    enrolled      => ($sum->{states} || {})->{enrolled} // 0,
    hour          => ($sum->{last_seen} || {})->{hour} // 0,
    enrolled_page => $ids_of->('state=enrolled'),
    any_failed    => $ids_of->('profile_state=failed'),
    unenrolled    => $ids_of->('state=unenrolled'),
});
my($step4, $out4) = console_step('step4', WINMDM_GROUP_ID => $GID, WINMDM_PROFILE_ID => $PID,
                          WINMDM_CAMERAS_ID => $CAM,
                          WINMDM_OTHER_ID => $other->device_id,
                          WINMDM_OTHER_NAME => $OTHER_NAME,
                          WINMDM_EXPECT => $expect);
ok t_cmp($step4, 'ok', 'console step 4: verified on the device page and in the compliance bar; '
                      . 'summary, search and filters');

ok t_cmp(join(' ', admin_request(GET => "/profiles/$CAM")->{code},
              admin_request(GET => '/groups/' . ($out4->{temp} // 'none'))->{code},
              admin_request(GET => "/groups/$GID")->{code}),
         '404 404 200', 'the profile and the group deleted in the console are gone, the other group stays');

my @missing = grep {
    my $f = catfile($shots, $_);
    my $sig = '';
    if (open my $fh, '<:raw', $f) { read $fh, $sig, 8; close $fh }
    $sig ne "\x89PNG\r\n\x1a\n";
} @SHOTS;
ok t_cmp(join(' ', @missing), '', 'a PNG screenshot of every page');

# What the console made leaves the server, so that no later test file's
# device gets a profile it does not expect.
ok t_cmp(join(' ', admin_request(DELETE => "/profiles/$PID", body => {})->{code},
              admin_request(DELETE => "/groups/$GID", body => {})->{code}),
         '200 200', "the console's profile and group are deleted");
