# OMA-DM sessions authenticated by the MD5 digest (spec/syncml.md
# sections 2 to 7 and 9, DESIGN.md section 1) on the default (plain
# HTTP) server: the real package 1 capture of a Windows 10 device, the
# shape of every reply (SyncHdr, the Status of each device command,
# CmdIDs), the nonce chain from the provisioning document's APPSRV
# AAUTHDATA to each session's NextNonce, operations queued through the
# admin API going out with their ids as CmdIDs and coming back done,
# failed or with results, and every OMA-DM path of DESIGN.md section 1.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test;
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);
use WinMDMDevice qw(SYNCML_CT dm_status_for dm_command_list);

plan tests => 90, need_module('dbd');

my $dev = WinMDMDevice->new(server => 'default');
$dev->login;
my $enrolled = $dev->enroll->code;
ok t_cmp($enrolled, 200, 'the device enrolls');
my $ID = $dev->device_id;
my $Q = sql_quote($ID);
my $SERVER_URI = $dev->dm_server_uri;

sub inv {
    my $uri = shift;
    return db_value('default', 'SELECT value FROM inventory WHERE device_id = '
                    . "$Q AND uri = " . sql_quote($uri)) // 'no value';
}

sub op_row {
    my $id = shift;
    return (db_rows('default', 'SELECT state, status FROM operations '
                    . 'WHERE id = ' . sql_quote($id)))[0] // 'no row';
}

# POSTs an operation through the admin API; its id, or a description of
# what came back instead.
sub queue_op {
    my($body, $id) = @_;
    my $r = admin_request(POST => '/devices/' . ($id // $ID) . '/operations',
                          body => $body);
    return $r->{code} == 201 && $r->{json} ? $r->{json}{id}
         : 'HTTP ' . $r->{code} . ' ' . $r->{res}->decoded_content;
}

# "code cmd_ref:cmd:data ..." of the Status elements after the SyncHdr's.
sub statuses {
    my $r = shift;
    my @s = @{ $r->{statuses} };
    shift @s;
    return join ' ', map {
        ($_->{cmd_id} // '-') . '/' . ($_->{cmd_ref} // '-') . ':'
        . ($_->{cmd} // '-') . ':' . ($_->{data} // '-')
    } @s;
}

# --- package 1: the real capture ---------------------------------------------
# spec/syncml.md 9 A, with this device's DeviceID and a Cred over the
# APPSRV AAUTHDATA nonce (the first session's nonce, spec/syncml.md 7).

my $first_nonce = $dev->appsrv_nonce // 'no AAUTHDATA';
ok t_cmp($first_nonce, qr/^[A-Za-z0-9+\/]+=*$/,
         'the provisioning document gives an APPSRV AAUTHDATA nonce');
my $capture = fixture('syncml_s1_m1_client_init_win10_19043.xml');
$capture =~ s/B5B954E81FBCB94EB79BD08BE625F4EE/$ID/g;
my $cred = $dev->dm_cred($dev->dm_digest($first_nonce));
$capture =~ s{</Source></SyncHdr>}{</Source>$cred</SyncHdr>};
ok t_cmp(db_value('default', "SELECT last_seen FROM devices WHERE device_id = $Q"),
         0, 'before any session: last_seen 0');

$dev->dm_begin(session_id => '1', auth => 'digest');
my $r = $dev->dm_send(body => $capture);
my $before_close = time;
ok t_cmp($r->{code}, 200, 'package 1: HTTP status');
ok t_cmp($r->{res}->header('Content-Type') // '', qr/^\Q${\SYNCML_CT}\E(?:;|$)/,
         'package 1: Content-Type');
ok t_cmp(WinMDMDevice::content_length_check($r->{res}), 'ok',
         'package 1: Content-Length, not chunked or compressed');
ok t_cmp($r->{session_id} // 'none', '1', 'package 1: SessionID echoed');
ok t_cmp($r->{msg_id} // 'none', '1', "package 1: MsgID is the device's");
ok t_cmp($r->{target} // 'none', $ID, 'package 1: Target is the DeviceID');
ok t_cmp($r->{source} // 'none', $SERVER_URI,
         'package 1: Source is the server URL');
my $h = $r->{statuses}[0] || {};
ok t_cmp(join('|', map { $_ // '-' } @$h{qw(cmd_id msg_ref cmd_ref cmd data)}),
         's1|1|0|SyncHdr|200', 'package 1: first Status is the SyncHdr 200');
ok t_cmp(statuses($r), 's2/2:Alert:200 s3/3:Alert:200 s4/4:Replace:200',
         'package 1: one Status per command, in order');
ok t_cmp(join(' ', @{ $r->{body_names} }),
         'Status Status Status Status Final',
         'package 1: nothing pending: statuses and Final only');
ok t_cmp(join('|', map { $_ // '-' } @$h{qw(chal_format chal_type)}),
         'b64|syncml:auth-md5',
         'package 1: the closing reply challenges for the next session');
my $nonce2 = $h->{next_nonce} // 'no NextNonce';
ok t_cmp($nonce2, qr/^[A-Za-z0-9+\/]{16,}=*$/, 'package 1: NextNonce');
ok t_cmp($nonce2 ne $first_nonce ? 'new' : 'the same', 'new',
         'package 1: NextNonce is a new nonce');
ok t_cmp(join('|', map { inv("./DevInfo/$_") } qw(DevId Man Mod DmV Lang)),
         "$ID|VMware, Inc.|VMware7,1|1.3|en-US",
         'package 1: DevInfo stored as inventory');
ok t_cmp(inv('com.microsoft/MDM/LoginStatus'), 'user',
         'package 1: LoginStatus stored');
my $seen = db_value('default', "SELECT last_seen FROM devices WHERE device_id = $Q");
ok t_cmp(($seen // 0) >= $before_close - 5 && ($seen // 0) <= time + 1
         ? 'now' : $seen, 'now', 'package 1: last_seen set');

# --- the next session: the NextNonce, operations -----------------------------

my $op_info = queue_op({type => 'DEVICE_INFO'});
my $op_reboot = queue_op({type => 'REBOOT'});
my $op_policy = queue_op({type => 'POLICY', settings => {
    'DeviceLock/MinDevicePasswordLength' => '6',
    'Experience/AllowCortana' => 0}});
my $op_syncml = queue_op({type => 'SYNCML', syncml =>
    '<Get><CmdID>1</CmdID><Item><Target><LocURI>./DevDetail/SwV</LocURI>'
    . '</Target></Item></Get><Add><CmdID>2</CmdID><Item><Target><LocURI>'
    . './Vendor/MSFT/Personalization/LockScreenImageUrl</LocURI></Target>'
    . '<Data>https://example.test/a.jpg</Data></Item></Add>'});
ok t_cmp(join(' ', map { /^\d+$/ ? 'id' : $_ }
                   $op_info, $op_reboot, $op_policy, $op_syncml),
         'id id id id', 'four operations queued');

$dev->dm_begin;
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds(
    devinfo => {Man => 'Second Session Inc.'})]);
ok t_cmp($r->{hdr_status} // 'none', 200,
         'session 2 with the NextNonce: SyncHdr 200');
ok t_cmp($r->{statuses}[0]{chal} ? 'Chal' : 'no Chal', 'no Chal',
         'session 2 goes on: no challenge yet');
ok t_cmp(dm_command_list($r),
         "$op_info:Get $op_reboot:Exec $op_policy.1:Atomic"
         . "[$op_policy.2:Replace $op_policy.3:Replace] $op_syncml.1:Get "
         . "$op_syncml.2:Add",
         'session 2: the operations in creation order, CmdIDs their ids');
ok t_cmp(join(' ', @{ $r->{body_names} }),
         'Status Status Status Status Get Exec Atomic Get Add Final',
         'session 2: statuses, then the commands, then Final');
ok t_cmp(inv('./DevInfo/Man'), 'Second Session Inc.',
         'session 2: inventory updated');
{
    my($get) = grep { $_->{name} eq 'Get' } @{ $r->{commands} };
    ok t_cmp(join(' ', map { $_->{target} // '-' } @{ $get->{items} || [] }),
             qr{^\./DevInfo/DevId .*\./DevDetail/SwV},
             'DEVICE_INFO is a Get of DevInfo and DevDetail nodes');
    my($exec) = grep { $_->{name} eq 'Exec' } @{ $r->{commands} };
    ok t_cmp($exec ? $exec->{items}[0]{target} // '-' : 'no Exec',
             './Device/Vendor/MSFT/Reboot/RebootNow', 'REBOOT target');
    my($atomic) = grep { $_->{name} eq 'Atomic' } @{ $r->{commands} };
    ok t_cmp(join(' ', map { ($_->{items}[0]{target} // '-') . '='
                             . ($_->{items}[0]{data} // '-') . '/'
                             . ($_->{items}[0]{format} // '-') }
                       @{ $atomic ? $atomic->{children} : [] }),
             './Device/Vendor/MSFT/Policy/Config/DeviceLock/MinDevicePasswordLength=6/int '
             . './Device/Vendor/MSFT/Policy/Config/Experience/AllowCortana=0/int',
             'POLICY: an Atomic of Replaces of the Policy CSP');
}
ok t_cmp(join(' ', map { op_row($_) } $op_info, $op_reboot, $op_policy),
         'sent| sent| sent|', 'session 2: the operations are sent');
my $sent_nonce = $dev->dm_nonce;

# Message 2: the device's statuses and results (spec/syncml.md 9 C):
# 200 for the Get, 202 for the reboot, the Atomic applied, the raw Get
# answered and its Add refused with 405.
my $m = $r->{msg_id};
$r = $dev->dm_answer(nested => 1, status => sub {
    my $c = shift;
    return $c->{name} eq 'Exec' ? 202
         : $c->{cmd_id} eq "$op_syncml.2" ? 405 : 200;
}, results => sub {
    my($c, $item) = @_;
    return $item->{target} eq './DevDetail/SwV' ? '10.0.22631.4460'
         : 'value of ' . $item->{target};
});
ok t_cmp($r->{hdr_status} // 'none', 200,
         'message 2 of session 2 (same nonce): SyncHdr 200');
ok t_cmp($r->{msg_id} // 'none', '2', 'message 2: MsgID 2');
ok t_cmp(statuses($r), "s2/9:Results:200 s3/10:Results:200",
         'message 2: a 200 Status for each Results (not for the Status elements)');
ok t_cmp(join(' ', @{ $r->{body_names} }), 'Status Status Status Final',
         'message 2: nothing left: the session closes');
my $nonce3 = $r->{statuses}[0]{next_nonce} // 'no NextNonce';
ok t_cmp($nonce3 ne $nonce2 && $nonce3 ne $first_nonce ? 'new' : $nonce3,
         'new', 'message 2 closes the session with a new NextNonce');
ok t_cmp(op_row($op_info), 'done|200', 'DEVICE_INFO done with 200');
ok t_cmp(op_row($op_reboot), 'done|202', 'REBOOT done, 202 kept');
ok t_cmp(op_row($op_policy), 'done|200', 'POLICY done by its Atomic status');
ok t_cmp(op_row($op_syncml), 'failed|405', 'SYNCML failed by its Add: 405');
ok t_cmp(inv('./DevDetail/SwV'), '10.0.22631.4460',
         'a DevDetail result is kept as inventory');
{
    my $g = admin_request(GET => "/operations/$op_info");
    my $res = $g->{json} ? $g->{json}{results} : [];
    ok t_cmp(scalar(@{ $res || [] }), 14, 'DEVICE_INFO: one result per item');
    ok t_cmp(join(' ', map { "$_->{uri}=$_->{data}" } @{ $res || [] }[0, 5]),
             "./DevInfo/DevId=value of ./DevInfo/DevId "
             . "./DevDetail/SwV=10.0.22631.4460",
             'DEVICE_INFO results: uri and data');
    my $s = admin_request(GET => "/operations/$op_syncml");
    ok t_cmp(join(' ', map { "$_->{uri}=$_->{data}" }
                      @{ ($s->{json} || {})->{results} || [] }),
             './DevDetail/SwV=10.0.22631.4460',
             'SYNCML: the result of its Get is kept although it failed');
}

# --- session 3: the nonce of session 3 only ------------------------------------

$dev->dm_begin;
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp($r->{hdr_status} // 'none', 200, 'session 3 with its NextNonce: 200');
ok t_cmp($r->{statuses}[0]{next_nonce} ? 'NextNonce' : 'none', 'NextNonce',
         'session 3 closes at once, with a NextNonce');

# --- missing and wrong credentials -------------------------------------------
# 407 and 401 come with a Chal whose nonce the device retries with
# (spec/syncml.md 7, DESIGN.md section 1); a refused message is not
# processed: no Status for its commands.

$dev->dm_begin;
$r = $dev->dm_send(auth => 'none', cmds => [$dev->dm_package1_cmds]);
ok t_cmp($r->{hdr_status} // 'none', 407, 'no Cred: SyncHdr 407');
ok t_cmp(join(' ', @{ $r->{body_names} }), 'Status Final',
         'no Cred: only the SyncHdr Status and Final');
my $retry_nonce = $r->{next_nonce};
ok t_cmp($retry_nonce ? 'Chal with NextNonce' : 'no NextNonce',
         'Chal with NextNonce', 'no Cred: a Chal with a NextNonce');
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp($r->{hdr_status} // 'none', 200,
         'the same session again with the challenge nonce: 200');
ok t_cmp(statuses($r), 's2/2:Alert:200 s3/3:Alert:200 s4/4:Replace:200',
         'the retried message is processed');

$dev->dm_begin;
$r = $dev->dm_send(cred_data => $dev->dm_digest($dev->dm_nonce,
                                                secret => 'not-the-secret'),
                   cmds => [$dev->dm_package1_cmds]);
ok t_cmp($r->{hdr_status} // 'none', 401, 'wrong secret: SyncHdr 401');
ok t_cmp(join(' ', @{ $r->{body_names} }), 'Status Final',
         'wrong secret: only the SyncHdr Status and Final');
ok t_cmp($r->{statuses}[0]{next_nonce} ? 'NextNonce' : 'none', 'NextNonce',
         'wrong secret: a Chal with a NextNonce');
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp($r->{hdr_status} // 'none', 200, 'retry with the right digest: 200');

# A Cred of another kind than syncml:auth-md5 (spec/syncml.md 7).
$dev->dm_begin;
$r = $dev->dm_send(cred_type => 'syncml:auth-basic',
                   cmds => [$dev->dm_package1_cmds]);
ok t_cmp($r->{hdr_status} // 'none', 401, 'auth-basic Cred: SyncHdr 401');

# --- statuses for every kind of device command --------------------------------
# spec/syncml.md 2 to 4: a command without CmdID gets 400 with an empty
# CmdRef; a Results naming no operation of this session 403; commands
# the server does not take (Get, Add, Exec from a device) 406.

$dev->dm_begin;
$r = $dev->dm_send(cmds => [
    '<Alert><CmdID>*</CmdID><Data>1201</Data></Alert>',
    '<Get><CmdID>*</CmdID><Item><Target><LocURI>./DevInfo/Man</LocURI>'
    . '</Target></Item></Get>',
    '<Alert><Data>1224</Data></Alert>',
    '<Results><CmdID>*</CmdID><MsgRef>1</MsgRef><CmdRef>999999</CmdRef>'
    . '<Item><Source><LocURI>./DevDetail/SwV</LocURI></Source><Data>x</Data>'
    . '</Item></Results>',
    "<Results><CmdID>*</CmdID><MsgRef>2</MsgRef><CmdRef>$op_info</CmdRef>"
    . '<Item><Source><LocURI>./DevDetail/SwV</LocURI></Source>'
    . '<Data>injected</Data></Item></Results>',
    '<Add><CmdID>*</CmdID><Item><Target><LocURI>./DevInfo/X</LocURI></Target>'
    . '<Data>1</Data></Item></Add>',
    "<Status><CmdID>*</CmdID><MsgRef>1</MsgRef><CmdRef>$op_reboot</CmdRef>"
    . '<Cmd>Exec</Cmd><Data>500</Data></Status>',
    '<Replace><CmdID>*</CmdID><Item><Source><LocURI>./DevInfo/Lang</LocURI>'
    . '</Source><Data>de-DE</Data></Item></Replace>',
]);
ok t_cmp($r->{hdr_status} // 'none', 200, 'mixed commands: SyncHdr 200');
ok t_cmp(statuses($r),
         's2/2:Alert:200 s3/3:Get:406 s4/:Alert:400 s5/4:Results:403 '
         . 's6/5:Results:403 s7/6:Add:406 s8/8:Replace:200',
         'mixed commands: a Status for each command but the Status, in order');
ok t_cmp(op_row($op_reboot), 'done|202',
         'a Status for an operation of an earlier session changes nothing');
ok t_cmp(scalar(() = db_rows('default', 'SELECT 1 FROM results WHERE op_id = '
                             . sql_quote($op_info) . " AND data = 'injected'")),
         0, 'a Results for an operation of an earlier session is not stored');
ok t_cmp(inv('./DevInfo/Lang'), 'de-DE', 'the Replace is stored');

# --- every OMA-DM path --------------------------------------------------------
# DESIGN.md section 1: the device-facing paths and the MDM endpoint
# paths, with and without services/, for Windows 10/11 and 8.1. Each
# reply names the path it answers as its Source.

my @PATHS = (
    '/devicemgt?mode=Maintenance&Platform=WoA',
    '/syncml/initialquery',
    API . '/management/devicemgt/pending-operations',
    API . '/services/management/devicemgt/pending-operations',
    API . '/syncml/devicemanagement/request',
    API . '/services/syncml/devicemanagement/request',
);
for my $path (@PATHS) {
    $dev->dm_begin;
    $r = $dev->dm_send(path => $path, cmds => [$dev->dm_package1_cmds]);
    ok t_cmp($r->{hdr_status} // "HTTP $r->{code}", 200, "$path: SyncHdr 200");
    ok t_cmp($r->{source} // 'none', $dev->dm_server_uri($path),
             "$path: Source is the server URL");
    ok t_cmp($r->{final} && $r->{next_nonce} ? 'closed with NextNonce' : 'not',
             'closed with NextNonce', "$path: session closed with a NextNonce");
}

# --- a Windows 8.1 device ------------------------------------------------------

my $old = WinMDMDevice->new(server => 'default', os => '8.1');
$old->login;
ok t_cmp($old->enroll->code, 200, 'Windows 8.1 device enrolls');
my $op81 = queue_op({type => 'LOCK'}, $old->device_id);
my @replies = $old->dm_session(auth => 'digest',
                               status => sub { $_[0]{name} eq 'Exec' ? 405 : 200 });
ok t_cmp(scalar(@replies), 2, 'Windows 8.1: two messages');
ok t_cmp(dm_command_list($replies[0]), "$op81:Exec",
         'Windows 8.1: the LOCK Exec on /syncml/initialquery');
ok t_cmp(($replies[0]{commands}[0] || {items => [{}]})->{items}[0]{target}
         // 'none', './Vendor/MSFT/RemoteLock/Lock', 'LOCK target');
ok t_cmp(op_row($op81), 'failed|405',
         'LOCK refused by a desktop (405): failed with its code');
ok t_cmp($replies[-1]{source} // 'none', PUBLIC_URL_81(),
         'Windows 8.1: Source is /syncml/initialquery');

sub PUBLIC_URL_81 { WinMDMDevice::PUBLIC_URL . '/syncml/initialquery' }

# --- the digest in every message of a session ------------------------------------
# DESIGN.md section 1: each message is authenticated on its own; a
# second message without Cred is refused although the first passed.

my $op_more = queue_op({type => 'RING'});
$dev->dm_begin;
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp(dm_command_list($r), "$op_more:Exec", 'RING sent');
my $ring = $r;
$r = $dev->dm_answer(auth => 'none', reply => $ring);
ok t_cmp($r->{hdr_status} // 'none', 407,
         'the second message without Cred: 407');
ok t_cmp(op_row($op_more), 'sent|', 'its Status is not taken');
$r = $dev->dm_answer(reply => $ring, status => 200);
ok t_cmp($r->{hdr_status} // 'none', 200,
         'the answer again with the Cred: 200');
ok t_cmp(op_row($op_more), 'done|200', 'now RING is done');
ok t_cmp($r->{next_nonce} ? 'NextNonce' : 'none', 'NextNonce',
         'the closing reply has a NextNonce');
ok t_cmp(dm_status_for($r, '2') ? 'Status for CmdRef 2' : 'none', 'none',
         'the device Status elements get no Status');
