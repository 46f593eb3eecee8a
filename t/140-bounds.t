# Nothing a device sends grows the server without bound (DESIGN.md
# section 5; the limits are in include/wm_dm.h and the README): chunks
# of unfinished results (MoreData) pending per command and per device,
# result items per operation, and inventory nodes per device. A device
# over a bound gets a SyncML status that says so (413 or 420), the
# operation concerned fails with a result item saying why, a log line is
# written, and nothing else the device sent is lost. Also: a replayed
# message of an open digest session (same MsgID) is refused.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Spec::Functions qw(catfile);

use Apache::Test;
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);
use WinMDMDevice qw(dm_command_list);

# The bounds of include/wm_dm.h.
use constant {
    CMD_CHUNKS    => 128,
    DEVICE_CHUNKS => 256,
    OP_RESULTS    => 1024,
    INVENTORY     => 256,
    INV_VALUE     => 4096,
};

plan tests => 25, need_module('dbd');

my $dev = WinMDMDevice->new(server => 'default');
$dev->login;
ok t_cmp($dev->enroll->code, 200, 'the device enrolls');
my $ID = $dev->device_id;
my $Q = sql_quote($ID);

sub queue_op {
    my $q = admin_request(POST => "/devices/$ID/operations", body => shift);
    return $q->{json} ? $q->{json}{id} // 'no id' : "HTTP $q->{code}";
}

sub op_row {
    return (db_rows('default', 'SELECT state, status FROM operations '
                    . 'WHERE id = ' . sql_quote(shift)))[0] // 'no row';
}

sub hdr_ok {
    my $r = shift;
    return "<Status><CmdID>*</CmdID><MsgRef>$r->{msg_id}</MsgRef><CmdRef>0"
        . '</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status>';
}

sub results {
    my($m, $ref, $data, $more) = @_;
    return "<Results><CmdID>*</CmdID><MsgRef>$m</MsgRef><CmdRef>$ref</CmdRef>"
        . '<Cmd>Get</Cmd><Item><Source><LocURI>./Vendor/MSFT/Big/' . $ref
        . "</LocURI></Source><Data>$data</Data>" . ($more ? '<MoreData/>' : '')
        . '</Item></Results>';
}

# The statuses after the SyncHdr's, "cmd:code" each.
sub codes {
    my $r = shift;
    my @s = @{ $r->{statuses} || [] };
    shift @s;
    return join ' ', map { "$_->{cmd}:$_->{data}" } @s;
}

sub pending {
    my $where = shift // '';
    return db_value('default', "SELECT COUNT(*) FROM partials WHERE device_id = $Q$where");
}

# Ends the session with a message that has Final: its nonce is spent and
# the reply's NextNonce is the next session's.
sub close_session {
    my $r = shift;
    $dev->dm_send(first_cmd_id => 1, cmds => [hdr_ok($r)]);
}

# A SYNCML operation of n Gets: its commands are <op>.1 .. <op>.n.
sub gets_op {
    my $n = shift;
    return queue_op({type => 'SYNCML', syncml => join '', map {
        "<Get><CmdID>$_</CmdID><Item><Target><LocURI>./Vendor/MSFT/Big/$_"
        . '</LocURI></Target></Item></Get>' } 1 .. $n});
}

# --- pending chunks per command ----------------------------------------------

my $op = gets_op(3);
$dev->dm_begin(auth => 'digest');
my $r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp(dm_command_list($r), "$op.1:Get $op.2:Get $op.3:Get",
         'three Gets sent');
my $m = $r->{msg_id};
my @codes;
for my $i (1 .. CMD_CHUNKS) {
    $r = $dev->dm_send(final => 0, first_cmd_id => 1,
                       cmds => [hdr_ok($r), results($m, "$op.1", 'a', 1)]);
    push @codes, codes($r);
}
ok t_cmp(scalar(grep { $_ eq 'Results:213' } @codes), CMD_CHUNKS,
         'up to the bound, each chunk of command 1 answered 213');
ok t_cmp(pending(), CMD_CHUNKS, 'and kept');
# One more chunk of command 2 meanwhile: it is another command's.
$r = $dev->dm_send(final => 0, first_cmd_id => 1,
                   cmds => [hdr_ok($r), results($m, "$op.2", 'b', 1)]);
ok t_cmp(codes($r), 'Results:213', 'a chunk of command 2 is kept');
$r = $dev->dm_send(final => 0, first_cmd_id => 1,
                   cmds => [hdr_ok($r), results($m, "$op.1", 'a', 1)]);
ok t_cmp(codes($r), 'Results:413', 'one chunk too many: 413');
ok t_cmp($r->{hdr_status} // 'none', 200, 'the message itself is accepted');
ok t_cmp(pending(" AND cmd_ref = '$op.1'"), 0,
         "command 1's chunks are dropped");
ok t_cmp(pending(" AND cmd_ref = '$op.2'"), 1,
         "command 2's chunk is not lost");
ok t_cmp(op_row($op), 'failed|413', 'the operation fails with 413');
ok t_cmp(db_value('default', "SELECT data FROM results WHERE op_id = $op AND uri IS NULL"),
         qr/larger than 128 chunks/, 'a result item says why');
close_session($r);

# --- pending chunks per device -----------------------------------------------------

my $op2 = gets_op(3);
$dev->dm_begin;
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp(dm_command_list($r), "$op2.1:Get $op2.2:Get $op2.3:Get",
         'three more Gets sent');
$m = $r->{msg_id};
# The device has 1 chunk pending (command 2 above); fill up to the bound
# with two commands of this operation, each under its own bound.
my $left = DEVICE_CHUNKS - pending();
my @refs = (("$op2.1") x CMD_CHUNKS, ("$op2.2") x ($left - CMD_CHUNKS));
@codes = ();
while (my @batch = splice @refs, 0, 16) {
    $r = $dev->dm_send(final => 0, first_cmd_id => 1, cmds => [hdr_ok($r),
        map { results($m, $_, 'c', 1) } @batch]);
    push @codes, split / /, codes($r);
}
ok t_cmp(scalar(grep { $_ eq 'Results:213' } @codes), $left,
         'chunks up to the device bound: 213');
ok t_cmp(pending(), DEVICE_CHUNKS, 'the device has the most pending');
$r = $dev->dm_send(final => 0, first_cmd_id => 1,
                   cmds => [hdr_ok($r), results($m, "$op2.3", 'd', 1)]);
ok t_cmp(codes($r), 'Results:420', 'one chunk more on the device: 420');
ok t_cmp(pending(), DEVICE_CHUNKS, 'nothing else pending was dropped');
ok t_cmp(op_row($op2), 'failed|413', 'the operation of that chunk fails');

# The last chunk of command 1 completes its result: still possible.
$r = $dev->dm_send(first_cmd_id => 1,
                   cmds => [hdr_ok($r), results($m, "$op2.1", 'end', 0)]);
ok t_cmp(codes($r), 'Results:200', 'a pending result can still complete');
ok t_cmp(db_value('default', "SELECT length(data) FROM results WHERE op_id = $op2 AND uri LIKE '%/$op2.1'"),
         CMD_CHUNKS + 3, 'its chunks are joined into one result');

# --- results per operation ----------------------------------------------------------

my $op3 = gets_op(1);
$dev->dm_begin;
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
$m = $r->{msg_id};
# OP_RESULTS items in Results commands of 100 items, then one more.
my $item = '<Item><Source><LocURI>./Vendor/MSFT/Big/x</LocURI></Source><Data>r</Data></Item>';
for my $n ((100) x (OP_RESULTS / 100), OP_RESULTS % 100, 1) {
    next unless $n;
    $r = $dev->dm_send(final => 0, first_cmd_id => 1, cmds => [hdr_ok($r),
        "<Results><CmdID>*</CmdID><MsgRef>$m</MsgRef><CmdRef>$op3</CmdRef>"
        . '<Cmd>Get</Cmd>' . ($item x $n) . '</Results>']);
}
ok t_cmp(codes($r), 'Results:413', 'one result item over the bound: 413');
ok t_cmp(db_value('default', "SELECT COUNT(*) FROM results WHERE op_id = $op3 AND uri IS NOT NULL"),
         OP_RESULTS, 'the items up to the bound are kept');
ok t_cmp(op_row($op3), 'failed|413', 'the operation fails with 413');
close_session($r);

# --- inventory nodes per device --------------------------------------------------

my $before = db_value('default', "SELECT COUNT(*) FROM inventory WHERE device_id = $Q");
$dev->dm_begin;
my $replace = '<Replace><CmdID>*</CmdID>' . join('', map {
    "<Item><Source><LocURI>./DevDetail/Ext/N$_</LocURI></Source><Data>v</Data></Item>"
} 1 .. INVENTORY) . '</Replace>';
$r = $dev->dm_send(cmds => ['<Alert><CmdID>*</CmdID><Data>1201</Data></Alert>',
                            $replace]);
ok t_cmp(codes($r), 'Alert:200 Replace:420',
         'more inventory nodes than the bound: 420');
ok t_cmp(db_value('default', "SELECT COUNT(*) FROM inventory WHERE device_id = $Q"),
         INVENTORY, 'the nodes up to the bound are kept');

# --- a replayed message of an open digest session ----------------------------------

$dev->dm_begin;
$r = $dev->dm_send(final => 0, cmds => ['<Alert><CmdID>*</CmdID><Data>1201</Data></Alert>']);
my $sent = $r->{sent};
$r = $dev->dm_send(body => $sent);
ok t_cmp($r->{hdr_status} // 'none', 401,
         'the same message (same MsgID) again: refused');
