# Hostile OMA-DM messages (DESIGN.md sections 1 and 5, spec/syncml.md
# 7): another device's certificate or credentials, a replayed nonce, a
# wrong digest, no credentials, an unknown or unenrolled DeviceID,
# results injected for another device's operation, malformed XML, an
# oversized body, WBXML. Each is refused, and the server's tables are
# compared before and after: a refused message stores nothing and sends
# nothing (a queued operation stays pending), and an unknown DeviceID
# leaves no row of any kind, not even a nonce.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test;
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);
use WinMDMDevice qw(SYNCML_CT dm_command_list);

plan tests => 80, need_module('dbd', 'ssl');

sub queue_op {
    my($server, $id, $type) = @_;
    my $q = admin_request(POST => "/devices/$id/operations", server => $server,
                          body => {type => $type});
    return $q->{json} ? $q->{json}{id} // 'no id' : "HTTP $q->{code}";
}

# Five tests: the refusal code, no Chal or a Chal, only the SyncHdr
# Status and Final, no command, and the tables as they were.
sub refused_ok {
    my($label, $server, $before, $r, $code, $chal) = @_;
    ok t_cmp($r->{hdr_status} // "HTTP $r->{code}", $code,
             "$label: SyncHdr $code");
    ok t_cmp($r->{next_nonce} ? 'Chal' : 'no Chal', $chal ? 'Chal' : 'no Chal',
             "$label: " . ($chal ? 'a Chal with a NextNonce' : 'no Chal'));
    ok t_cmp(join(' ', @{ $r->{body_names} }), 'Status Final',
             "$label: only the SyncHdr Status and Final");
    ok t_cmp(dm_command_list($r), '', "$label: no operation sent");
    ok t_cmp(db_snapshot($server), $before, "$label: nothing stored");
}

# Rows about a DeviceID in any table.
sub rows_of {
    my($server, $id) = @_;
    my $q = sql_quote($id);
    return join ' ', map {
        "$_=" . db_value($server, "SELECT count(*) FROM $_ WHERE device_id = $q")
    } qw(devices operations inventory nonces partials);
}

# --- devices -------------------------------------------------------------------

my $A = WinMDMDevice->new(server => 'default');
$A->login;
my $B = WinMDMDevice->new(server => 'default');
$B->login;
my $C = WinMDMDevice->new(server => 'winmdm_tls');
my $D = WinMDMDevice->new(server => 'winmdm_tls');
ok t_cmp(join(' ', map { $_->enroll->code } $A, $B, $C, $D), '200 200 200 200',
         'four devices enroll (two per server)');
for my $dev ($A, $B) {
    $dev->dm_begin(auth => 'digest');
    $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
}
$C->dm_begin(auth => 'cert');
$C->dm_send(cmds => [$C->dm_package1_cmds]);
ok t_cmp(join(' ', map { $_->dm_reply->{hdr_status} // '-' } $A, $B, $C),
         '200 200 200', 'each has a first session');
my $op_a = queue_op('default', $A->device_id, 'REBOOT');
my $op_d = queue_op('winmdm_tls', $D->device_id, 'WIPE');
ok t_cmp("$op_a $op_d", qr/^\d+ \d+$/, 'an operation waits for A and for D');

# --- another device's certificate --------------------------------------------------
# C's certificate with D's DeviceID as Source (DESIGN.md 5: a
# certificate issued to device A never opens device B's session).

my $before = db_snapshot('winmdm_tls');
$C->dm_begin(auth => 'cert');
my $r = $C->dm_send(source => $D->device_id, cmds => [$D->dm_package1_cmds(
    devinfo => {Man => 'Impostor'})]);
refused_ok("C's certificate for D", 'winmdm_tls', $before, $r, 401, 1);

# C's certificate for D, with D's valid digest beside it: the
# certificate of another DeviceID is a wrong credential, not a reason
# to look for another one.
$D->dm_begin(auth => 'digest');
$r = $D->dm_send(cert => [$C->cert_file, $C->key_file],
                 cmds => [$D->dm_package1_cmds(devinfo => {Man => 'Impostor'})]);
ok t_cmp($r->{hdr_status} // 'none', 401,
         "C's certificate with D's own digest: 401");
ok t_cmp(db_snapshot('winmdm_tls'), $before,
         "C's certificate with D's own digest: nothing stored");

# --- another device's digest -------------------------------------------------------
# B's secret and nonce with A's DeviceID.

$before = db_snapshot('default');
$B->dm_begin;
$r = $B->dm_send(source => $A->device_id, keep_nonce => 1,
                 cmds => [$A->dm_package1_cmds(devinfo => {Man => 'Impostor'})]);
refused_ok("B's digest for A", 'default', $before, $r, 401, 1);

# --- a replayed nonce ----------------------------------------------------------------
# A's previous session bound its nonce; a new session with it is a
# replay (DESIGN.md 1: a nonce is good for the one session that uses it).

my $spent = $A->appsrv_nonce;
$A->dm_begin;
$r = $A->dm_send(nonce => $spent, keep_nonce => 1,
                 cmds => [$A->dm_package1_cmds(devinfo => {Man => 'Replayed'})]);
refused_ok('a nonce of an earlier session', 'default', $before, $r, 401, 1);

# The very message of the first session, sent again in a new session.
{
    my $old = $A->dm_message(session_id => 'FFFF', msg_id => 1, nonce => $spent,
                             cmds => [$A->dm_package1_cmds]);
    $r = $A->dm_send(body => $old, keep_nonce => 1);
    refused_ok('an earlier digest under a new SessionID', 'default', $before,
               $r, 401, 1);
}

# --- a wrong digest, no credentials ------------------------------------------------------

$A->dm_begin;
$r = $A->dm_send(cred_data => 'q1Lh7u2bqkWmEDwFd8Zx2Q==', keep_nonce => 1,
                 cmds => [$A->dm_package1_cmds(devinfo => {Man => 'Wrong'})]);
refused_ok('a wrong digest', 'default', $before, $r, 401, 1);

$r = $A->dm_send(cred_data => '', keep_nonce => 1,
                 cmds => [$A->dm_package1_cmds(devinfo => {Man => 'Wrong'})]);
refused_ok('an empty digest', 'default', $before, $r, 401, 1);

$r = $A->dm_send(auth => 'none', keep_nonce => 1,
                 cmds => [$A->dm_package1_cmds(devinfo => {Man => 'Anonymous'})]);
refused_ok('no credentials', 'default', $before, $r, 407, 1);

# --- an unknown DeviceID -------------------------------------------------------------------
# 403 without a challenge, and no row of any kind for it.

my $ghost = WinMDMDevice->new(server => 'default');
$ghost->{appsrv_secret} = 'guessed-secret';
$ghost->set_dm_nonce('AAAAAAAAAAAAAAAAAAAAAA==');
$ghost->dm_begin(auth => 'digest');
$r = $ghost->dm_send(cmds => [$ghost->dm_package1_cmds]);
refused_ok('an unknown DeviceID with a Cred', 'default', $before, $r, 403, 0);
$r = $ghost->dm_send(auth => 'none', cmds => [$ghost->dm_package1_cmds]);
refused_ok('an unknown DeviceID without a Cred', 'default', $before, $r, 403, 0);
ok t_cmp(rows_of('default', $ghost->device_id),
         'devices=0 operations=0 inventory=0 nonces=0 partials=0',
         'an unknown DeviceID: no row in any table');

# An unknown DeviceID over TLS with an enrolled device's certificate.
$before = db_snapshot('winmdm_tls');
{
    my $g = WinMDMDevice->new(server => 'winmdm_tls');
    $g->dm_begin(auth => 'none');
    $r = $g->dm_send(cert => [$C->cert_file, $C->key_file],
                     cmds => [$g->dm_package1_cmds]);
    refused_ok("an unknown DeviceID with C's certificate", 'winmdm_tls',
               $before, $r, 403, 0);
    ok t_cmp(rows_of('winmdm_tls', $g->device_id),
             'devices=0 operations=0 inventory=0 nonces=0 partials=0',
             'no row for it on the TLS server either');
}

# --- an unenrolled device ------------------------------------------------------------------
# The user disconnected E (Alert 1226, spec/syncml.md 6); its valid
# digest in the very session that unenrolled it now gets 403.

my $E = WinMDMDevice->new(server => 'default');
$E->login;
$E->enroll;
$E->dm_begin(auth => 'digest');
$r = $E->dm_send(cmds => [$E->dm_package1_cmds,
    '<Alert><CmdID>*</CmdID><Data>1226</Data><Item><Meta><Type xmlns="'
    . 'syncml:metinf">com.microsoft:mdm.unenrollment.userrequest</Type>'
    . '<Format xmlns="syncml:metinf">int</Format></Meta><Data>1</Data>'
    . '</Item></Alert>']);
ok t_cmp(($r->{hdr_status} // '-') . ' '
         . db_value('default', 'SELECT state FROM devices WHERE device_id = '
                    . sql_quote($E->device_id)),
         '200 unenrolled', 'E unenrolls');
$before = db_snapshot('default');
$r = $E->dm_send(cmds => [$E->dm_package1_cmds(devinfo => {Man => 'Zombie'})]);
refused_ok('an unenrolled device, same session and nonce', 'default', $before,
           $r, 403, 0);

# --- results and statuses for another device's operation --------------------------------
# A has a REBOOT sent and unanswered; B, authenticated, answers it.

$A->dm_begin;
$r = $A->dm_send(cmds => [$A->dm_package1_cmds]);
ok t_cmp(dm_command_list($r), "$op_a:Exec", "A's REBOOT is sent");
my $a_rows = db_snapshot('default', $A->device_id);
$B->dm_begin;
$r = $B->dm_send(cmds => [
    "<Status><CmdID>*</CmdID><MsgRef>1</MsgRef><CmdRef>$op_a</CmdRef>"
    . '<Cmd>Exec</Cmd><Data>200</Data></Status>',
    "<Results><CmdID>*</CmdID><MsgRef>1</MsgRef><CmdRef>$op_a</CmdRef>"
    . '<Item><Source><LocURI>./DevDetail/SwV</LocURI></Source>'
    . '<Data>forged</Data></Item></Results>']);
ok t_cmp(($r->{hdr_status} // '-') . ' '
         . join(' ', map { "$_->{cmd_ref}:$_->{cmd}:$_->{data}" }
                     @{ $r->{statuses} }[1 .. $#{ $r->{statuses} }]),
         "200 3:Results:403",
         "B's Results for A's operation: 403 (the Status gets none)");
ok t_cmp(db_snapshot('default', $A->device_id), $a_rows,
         "A's operation, results and inventory unchanged");

# --- malformed messages -------------------------------------------------------------------
# HTTP 200 and a SyncHdr Status 400 (DESIGN.md 1 and 5: a bad body gets
# a SyncML status, never a crash); nothing stored.

my $good = $A->dm_message(msg_id => 2, cmds => [$A->dm_package1_cmds(
    devinfo => {Man => 'Malformed'})]);
my @BAD = (
    ['truncated XML', substr($good, 0, length($good) - 30)],
    ['not SyncML', '<html><body>hello</body></html>'],
    ['a SyncHdr without SessionID', do {
        (my $b = $good) =~ s{<SessionID>[^<]*</SessionID>}{}; $b }],
    ['an entity expansion', '<?xml version="1.0"?><!DOCTYPE SyncML ['
     . '<!ENTITY a "aaaaaaaaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
     . '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
     . ($good =~ s{<Data>Malformed</Data>}{<Data>&c;</Data>}r)],
    ['an empty body', ''],
);
$before = db_snapshot('default');
for my $bad (@BAD) {
    my($label, $body) = @$bad;
    $r = $A->dm_send(body => $body, keep_nonce => 1);
    ok t_cmp($r->{code}, 200, "$label: HTTP 200");
    ok t_cmp($r->{hdr_status} // 'none', 400, "$label: SyncHdr Status 400");
}
ok t_cmp(db_snapshot('default'), $before, 'malformed messages: nothing stored');

# --- oversized, WBXML -------------------------------------------------------------------
# WinMDMMaxMessageSize is 65536 here: 413. WBXML is not spoken: 415
# (the provisioning document asks for XML).

{
    my $big = $A->dm_message(msg_id => 2, cmds => [$A->dm_package1_cmds(
        devinfo => {Man => 'x' x 70000})]);
    $r = $A->dm_send(body => $big, keep_nonce => 1);
    ok t_cmp($r->{code}, 413, 'a body over WinMDMMaxMessageSize: 413');
    $r = $A->dm_send(body => $good, content_type => 'application/vnd.syncml.dm+wbxml',
                     keep_nonce => 1);
    ok t_cmp($r->{code}, 415, 'WBXML: 415');
    ok t_cmp(db_snapshot('default'), $before, '413 and 415: nothing stored');
}
