# Unenrollment (spec/syncml.md 6, DESIGN.md sections 1 and 6): the
# user's disconnection (the real Windows 10 capture of package 1 with
# Alert 1226 com.microsoft:mdm.unenrollment.userrequest) marks the
# device unenrolled, the reply closes the session and sends nothing, and
# the device is refused from then on (403); the administrator's DELETE
# sends the DMClient Unenroll Exec; a 1226 alert of another type is the
# asynchronous result of the operation whose node it names and does not
# unenroll.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test;
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);
use WinMDMDevice qw(dm_command_list);

plan tests => 26, need_module('dbd');

sub state_of {
    my $dev = shift;
    return db_value('default', 'SELECT state FROM devices WHERE device_id = '
                    . sql_quote($dev->device_id)) // 'no row';
}

sub op_row {
    my $id = shift;
    return (db_rows('default', 'SELECT state, status FROM operations '
                    . 'WHERE id = ' . sql_quote($id)))[0] // 'no row';
}

sub queue_op {
    my($dev, $body) = @_;
    my $q = admin_request(POST => '/devices/' . $dev->device_id
                          . '/operations', body => $body);
    return $q->{json} ? $q->{json}{id} // 'no id' : "HTTP $q->{code}";
}

# --- the user disconnects: the real capture ------------------------------------

my $dev = WinMDMDevice->new(server => 'default');
$dev->login;
ok t_cmp($dev->enroll->code, 200, 'the device enrolls');
$dev->dm_begin(auth => 'digest');
$dev->dm_send(cmds => [$dev->dm_package1_cmds]);
my $waiting = queue_op($dev, {type => 'DEVICE_INFO'});

my $body = fixture('syncml_s2_m1_unenroll_alert1226_win10_19043.xml');
my $ID = $dev->device_id;
$body =~ s/B5B954E81FBCB94EB79BD08BE625F4EE/$ID/g;
my $cred = $dev->dm_cred($dev->dm_digest($dev->dm_nonce));
$body =~ s{</Source></SyncHdr>}{</Source>$cred</SyncHdr>};
$dev->dm_begin(session_id => '2');
my $r = $dev->dm_send(body => $body);
ok t_cmp($r->{hdr_status} // 'none', 200, 'Alert 1226 userrequest: SyncHdr 200');
ok t_cmp(join(' ', map { ($_->{cmd_ref} // '-') . ':' . ($_->{data} // '-') }
                   @{ $r->{statuses} }), '0:200 2:200 3:200 4:200 5:200',
         'every command answered 200');
ok t_cmp(join(' ', @{ $r->{body_names} }),
         'Status Status Status Status Status Final',
         'the reply closes the session: statuses and Final only');
ok t_cmp(op_row($waiting), 'pending|', 'the waiting operation is not sent');
ok t_cmp(state_of($dev), 'unenrolled', 'the device is unenrolled');

# From then on the device is refused, whatever it proves.
$r = $dev->dm_send(body => $body);
ok t_cmp($r->{hdr_status} // 'none', 403, 'the same message again: 403');
ok t_cmp($r->{next_nonce} ? 'Chal' : 'no Chal', 'no Chal', '403: no Chal');
ok t_cmp(join(' ', @{ $r->{body_names} }), 'Status Final', '403: nothing else');
{
    my $g = admin_request(GET => "/devices/$ID");
    ok t_cmp(($g->{json} || {})->{state} // "HTTP $g->{code}", 'unenrolled',
             'the admin API shows it unenrolled');
    my $p = admin_request(POST => "/devices/$ID/operations",
                          body => {type => 'LOCK'});
    ok t_cmp($p->{code}, 409, 'no operation for an unenrolled device: 409');
}

# --- the administrator unenrolls a device --------------------------------------------

my $two = WinMDMDevice->new(server => 'default');
$two->login;
$two->enroll;
my $ID2 = $two->device_id;
my $del = admin_request(DELETE => "/devices/$ID2", body => '{}');
ok t_cmp($del->{code}, 202, 'DELETE devices/{id}: 202');
my $dis = ($del->{json} || {})->{id} // 'no id';
ok t_cmp(($del->{json} || {})->{state} // 'none', 'pending',
         'DELETE: the DISENROLL operation is pending');
ok t_cmp(db_value('default', 'SELECT type FROM operations WHERE id = '
                  . sql_quote($dis)) // 'none', 'DISENROLL', 'a DISENROLL row');
$two->dm_begin(auth => 'digest');
$r = $two->dm_send(cmds => [$two->dm_package1_cmds]);
ok t_cmp(dm_command_list($r), "$dis:Exec", 'DISENROLL is an Exec');
my $item = ($r->{commands}[0] || {items => [{}]})->{items}[0];
ok t_cmp(join(' ', map { $_ // '-' } @$item{qw(target format data)}),
         './Vendor/MSFT/DMClient/Provider/mod_winmdm/Unenroll chr mod_winmdm',
         'DMClient Provider Unenroll with the ProviderID as data');
$r = $two->dm_answer(status => 200);
ok t_cmp(op_row($dis), 'done|200', 'the device acknowledges: done');
# DESIGN.md 6: the device becomes unenrolled when it acknowledges or
# sends Alert 1226.
ok t_cmp(state_of($two), 'unenrolled',
         'the acknowledged DISENROLL unenrolls the device');
# Windows then reports the finished unenrollment with the same alert.
$two->dm_begin;
$r = $two->dm_send(cmds => [
    '<Alert><CmdID>*</CmdID><Data>1226</Data><Item><Meta><Type xmlns="'
    . 'syncml:metinf">com.microsoft:mdm.unenrollment.userrequest</Type>'
    . '<Format xmlns="syncml:metinf">int</Format></Meta><Data>1</Data>'
    . '</Item></Alert>']);
ok t_cmp(state_of($two), 'unenrolled', 'after the alert: unenrolled');

# --- a 1226 alert that is a result ------------------------------------------------------
# An MSI install's final result (DESIGN.md 1): its LocURI names the node
# of a sent operation; stored as that operation's result, and the
# device stays enrolled.

my $three = WinMDMDevice->new(server => 'default');
$three->login;
$three->enroll;
my $node = './Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/'
         . '%7B11111111-2222-3333-4444-555555555555%7D/DownloadInstall';
my $msi = queue_op($three, {type => 'SYNCML', syncml =>
    "<Exec><CmdID>1</CmdID><Item><Target><LocURI>$node</LocURI></Target>"
    . '<Data>&lt;MsiInstallJob/&gt;</Data></Item></Exec>'});
$three->dm_begin(auth => 'digest');
$r = $three->dm_send(cmds => [$three->dm_package1_cmds]);
ok t_cmp(dm_command_list($r), "$msi:Exec", 'the install Exec is sent');
$r = $three->dm_answer(status => 202);
ok t_cmp(op_row($msi), 'done|202', 'accepted (202)');
$three->dm_begin;
$r = $three->dm_send(cmds => [
    '<Alert><CmdID>*</CmdID><Data>1226</Data><Item><Source><LocURI>' . $node
    . '</LocURI></Source><Meta><Type xmlns="syncml:metinf">'
    . 'Reversed-Domain-Name:com.microsoft.mdm.win32csp_install</Type>'
    . '<Format xmlns="syncml:metinf">int</Format></Meta><Data>0</Data>'
    . '</Item></Alert>']);
ok t_cmp(($r->{hdr_status} // '-') . ' ' . (($r->{statuses}[1] || {})->{data} // '-'),
         '200 200', 'the result alert: 200');
ok t_cmp(state_of($three), 'enrolled', 'the device stays enrolled');
my $o = admin_request(GET => "/operations/$msi");
ok t_cmp(join(' ', map { "$_->{uri}=$_->{data}" }
                  @{ ($o->{json} || {})->{results} || [] }),
         "$node=0", 'stored as the result of the install operation');
$r = $three->dm_send(cmds => [$three->dm_package1_cmds]);
ok t_cmp($r->{hdr_status} // 'none', 200, 'the device goes on');
# A 1226 naming nothing sent is acknowledged and stored nowhere.
$r = $three->dm_send(cmds => [
    '<Alert><CmdID>*</CmdID><Data>1226</Data><Item><Source><LocURI>'
    . './Vendor/MSFT/Nothing/Sent</LocURI></Source><Meta><Type xmlns="'
    . 'syncml:metinf">com.example.other</Type></Meta><Data>1</Data></Item>'
    . '</Alert>']);
ok t_cmp(($r->{hdr_status} // '-') . ' ' . state_of($three), '200 enrolled',
         'an unrelated 1226: 200, still enrolled');
