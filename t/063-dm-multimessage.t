# OMA-DM sessions of several messages (spec/syncml.md 5.5, OMA DM 1.2.1
# sections 6 and 7; DESIGN.md sections 1 and 4): a result too large for
# one message sent in chunks (MoreData, each chunk answered 213, the
# chunks joined into one result), a device package spread over two
# messages (no Final: the server asks for the next one with Alert 1222
# and sends no operation yet), the device's MaxMsgSize spreading the
# queued operations over several messages of one session, an operation
# never answered sent again in a later session (never twice in one),
# and the DMClient poll schedule sent when it changed.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test;
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);
use WinMDMDevice qw(dm_command_list);

plan tests => 41, need_module('dbd');

my $dev = WinMDMDevice->new(server => 'default');
$dev->login;
ok t_cmp($dev->enroll->code, 200, 'the device enrolls');
my $ID = $dev->device_id;
my $Q = sql_quote($ID);
$dev->dm_begin(auth => 'digest');
$dev->dm_send(cmds => [$dev->dm_package1_cmds]);

sub queue_op {
    my $body = shift;
    my $q = admin_request(POST => "/devices/$ID/operations", body => $body);
    return $q->{json} ? $q->{json}{id} // 'no id' : "HTTP $q->{code}";
}

sub op_row {
    my $id = shift;
    return (db_rows('default', 'SELECT state, status FROM operations '
                    . 'WHERE id = ' . sql_quote($id)))[0] // 'no row';
}

sub after_hdr {
    my $r = shift;
    my @s = @{ $r->{statuses} };
    shift @s;
    return join ' ', map { "$_->{cmd_ref}:$_->{cmd}:$_->{data}" } @s;
}

# --- a result in chunks ---------------------------------------------------------
# The device answers a Get with a Results whose Item carries MoreData,
# in a message without Final; the last chunk comes in the next message.

my $op = queue_op({type => 'SYNCML', syncml => '<Get><CmdID>1</CmdID><Item>'
    . '<Target><LocURI>./Vendor/MSFT/DiagnosticLog/Big</LocURI></Target>'
    . '</Item></Get>'});
$dev->dm_begin;
my $r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp(dm_command_list($r), "$op:Get", 'chunks: the Get is sent');
my $m = $r->{msg_id};
my @chunk = ('A' x 3000, 'B' x 3000, 'C' x 1234);
sub results_chunk {
    my($data, $more, $size) = @_;
    return "<Results><CmdID>*</CmdID><MsgRef>$m</MsgRef><CmdRef>$op</CmdRef>"
        . '<Cmd>Get</Cmd><Item><Source><LocURI>./Vendor/MSFT/DiagnosticLog/Big'
        . '</LocURI></Source><Meta><Format xmlns="syncml:metinf">chr</Format>'
        . (defined $size ? qq{<Size xmlns="syncml:metinf">$size</Size>} : '')
        . "</Meta><Data>$data</Data>" . ($more ? '<MoreData/>' : '')
        . '</Item></Results>';
}
$r = $dev->dm_send(final => 0, first_cmd_id => 1, cmds => [
    "<Status><CmdID>*</CmdID><MsgRef>$m</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status>",
    "<Status><CmdID>*</CmdID><MsgRef>$m</MsgRef><CmdRef>$op</CmdRef><Cmd>Get</Cmd><Data>200</Data></Status>",
    results_chunk($chunk[0], 1, length join '', @chunk)]);
ok t_cmp($r->{hdr_status} // 'none', 200, 'chunk 1: SyncHdr 200');
ok t_cmp(after_hdr($r), '3:Results:213', 'chunk 1: Results answered 213');
# OMA-DM 1.2.1 section 6: "The 'Next Message' response contains Alert
# code 1222, status to the SyncHdr, no other commands, and no Final flag."
ok t_cmp(join(' ', @{ $r->{body_names} }), 'Status Status Alert',
         'chunk 1: no Final from the device: an Alert asks for more, no Final');
ok t_cmp(($r->{commands}[0] || {})->{data} // 'none', 1222,
         'chunk 1: Alert 1222 (NEXT MESSAGE)');
ok t_cmp(($r->{commands}[0] || {})->{cmd_id} // 'none', 's3',
         "chunk 1: the Alert's CmdID follows the server's Status CmdIDs");
ok t_cmp(db_value('default', 'SELECT count(*) FROM results WHERE op_id = '
                  . sql_quote($op)), 0, 'chunk 1: no result stored yet');
$r = $dev->dm_send(final => 0, first_cmd_id => 1, cmds => [
    "<Status><CmdID>*</CmdID><MsgRef>$r->{msg_id}</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status>",
    results_chunk($chunk[1], 1)]);
ok t_cmp(after_hdr($r), '2:Results:213', 'chunk 2: 213 again');
$r = $dev->dm_send(first_cmd_id => 1, cmds => [
    "<Status><CmdID>*</CmdID><MsgRef>$r->{msg_id}</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status>",
    results_chunk($chunk[2], 0)]);
ok t_cmp(after_hdr($r), '2:Results:200', 'last chunk: 200');
ok t_cmp(join(' ', @{ $r->{body_names} }), 'Status Status Final',
         'last chunk with Final: the session closes');
my @res = db_rows('default', 'SELECT uri, length(data), data FROM results '
                  . 'WHERE op_id = ' . sql_quote($op));
ok t_cmp(scalar(@res), 1, 'the chunks are stored as one result');
my($uri, $len, $data) = split /\|/, $res[0] // '||', 3;
ok t_cmp("$uri $len", './Vendor/MSFT/DiagnosticLog/Big 7234',
         'the result: its URI and the length of all chunks');
ok t_cmp($data eq join('', @chunk) ? 'joined in order' : 'not the chunks',
         'joined in order', 'the result is the chunks joined in order');
ok t_cmp(op_row($op), 'done|200', 'the operation is done');
ok t_cmp(db_value('default', "SELECT count(*) FROM partials WHERE device_id = $Q"),
         0, 'no partial chunk left');

# --- a device package of two messages --------------------------------------------

my $op_pkg = queue_op({type => 'REBOOT'});
$dev->dm_begin;
my @p1 = $dev->dm_package1_cmds(devinfo => {Lang => 'fr-FR'});
$r = $dev->dm_send(final => 0, cmds => [@p1[0, 1]]);
ok t_cmp(after_hdr($r), '2:Alert:200 3:Alert:200',
         'package 1, first half: the two Alerts answered');
ok t_cmp(join(' ', @{ $r->{body_names} }), 'Status Status Status Alert',
         'first half: statuses, Alert 1222, no Final (OMA-DM 1.2.1 section 6); '
         . 'no operation');
ok t_cmp(op_row($op_pkg), 'pending|', 'first half: the operation still waits');
$r = $dev->dm_send(cmds => [$p1[2]]);
ok t_cmp(after_hdr($r), '2:Replace:200', 'second half: the Replace answered');
ok t_cmp(dm_command_list($r), "$op_pkg:Exec",
         'second half (Final): now the operation is sent');
$r = $dev->dm_answer(status => 202);
ok t_cmp(op_row($op_pkg), 'done|202', 'and done');

# --- MaxMsgSize: operations spread over several messages ------------------------------
# Three operations of about 3000 bytes each; the device takes messages
# of 5000 bytes at most: one operation per message, in creation order,
# all in one session.

my @big = map {
    queue_op({type => 'SYNCML', syncml => '<Replace><CmdID>1</CmdID><Item>'
        . '<Target><LocURI>./Vendor/MSFT/Personalization/Note' . $_
        . '</LocURI></Target><Data>' . ($_ x 3000) . '</Data></Item></Replace>'})
} 1 .. 3;
$dev->dm_begin;
my @replies = $dev->dm_session(max_msg_size => 5000);
ok t_cmp(join(' ', grep { length } map { dm_command_list($_) } @replies),
         "$big[0]:Replace $big[1]:Replace $big[2]:Replace",
         'MaxMsgSize 5000: one operation per message, in order');
ok t_cmp(scalar(@replies), 4, 'four messages: three operations, then the close');
ok t_cmp(join(' ', map { length($_->{body}) <= 5000 ? 'fits' : length $_->{body} }
                   @replies), 'fits fits fits fits',
         'every reply fits MaxMsgSize');
ok t_cmp(join(' ', map { $_->{session_id} // '-' } @replies),
         join(' ', ($dev->dm_session_id) x 4), 'all in one session');
ok t_cmp(join(' ', map { op_row($_) } @big), 'done|200 done|200 done|200',
         'all three done');
ok t_cmp($replies[-1]{next_nonce} ? 'NextNonce' : 'none', 'NextNonce',
         'only the last reply closes the session, with a NextNonce');

# --- an operation never answered -------------------------------------------------------

my $lost = queue_op({type => 'DEVICE_INFO'});
$dev->dm_begin;
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp(dm_command_list($r), "$lost:Get", 'sent once; the device never answers');
$dev->dm_begin;
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp(dm_command_list($r), '',
         'the next session at once: not sent again (it waited < 120 s)');
ok t_cmp(op_row($lost), 'sent|', 'still sent, unanswered');
# The device answers it in this session, where it was not sent
# (DESIGN.md 1: a Status or Results is matched only against operations
# sent in the session).
$r = $dev->dm_answer(reply => {msg_id => 1, commands => [
    {name => 'Get', cmd_id => $lost, items => [{target => './DevInfo/Man'}],
     children => []}]});
ok t_cmp(after_hdr($r), '3:Results:403',
         'its Results in a session it was not sent in: 403');
ok t_cmp(op_row($lost), 'sent|', 'and its Status there changes nothing');
db_rows('default', "UPDATE operations SET sent = sent - 300 WHERE id = $lost");
$dev->dm_begin;
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp(dm_command_list($r), "$lost:Get",
         'a later session, 300 s after: sent again with the same CmdID');
my $resent = $r;
db_rows('default', "UPDATE operations SET sent = sent - 300 WHERE id = $lost");
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp(dm_command_list($r), '', 'never twice in the same session');
$r = $dev->dm_answer(reply => $resent);
ok t_cmp(op_row($lost), 'done|200', 'answered in the session it was resent in: done');

# --- the poll schedule --------------------------------------------------------------------
# devices.poll_interval differs from WinMDMPollInterval (15): the next
# session sends a DMClient Replace (POLL) and records the new value.

db_rows('default', "UPDATE devices SET poll_interval = 5 WHERE device_id = $Q");
$dev->dm_begin;
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
my $poll = db_value('default', "SELECT id FROM operations WHERE device_id = $Q "
                    . "AND type = 'POLL'") // 'none';
ok t_cmp(dm_command_list($r), "$poll:Replace", 'a POLL operation is sent');
my $base = './Vendor/MSFT/DMClient/Provider/mod_winmdm/Poll/';
ok t_cmp(join(' ', map { ($_->{target} // '-') . '=' . ($_->{data} // '-') }
                   @{ ($r->{commands}[0] || {items => []})->{items} }),
         join(' ', "${base}NumberOfFirstRetries=5",
                   "${base}IntervalForFirstSetOfRetries=3",
                   "${base}NumberOfSecondRetries=8",
                   "${base}IntervalForSecondSetOfRetries=15",
                   "${base}NumberOfRemainingScheduledRetries=0",
                   "${base}IntervalForRemainingScheduledRetries=15"),
         'POLL: the provisioning schedule, never NumberOfFirstRetries 0 '
         . '(MS-MDE2 2.2.9.3), then every 15 minutes for ever');
ok t_cmp(db_value('default', "SELECT poll_interval FROM devices WHERE device_id = $Q"),
         15, 'poll_interval is 15 again');
$r = $dev->dm_answer;
ok t_cmp(op_row($poll), 'done|200', 'POLL done');
$dev->dm_begin;
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp(dm_command_list($r), '', 'no POLL again');
