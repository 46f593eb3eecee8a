# The administrators' JSON API under {api}/admin (DESIGN.md sections 5
# and 6): httpd authentication in front of it, device listing with a
# cursor, one device with its inventory, operations of every type and
# the WSO2-style batch routes, and each refusal with its status and a
# JSON {"error"} body, after which no operation is queued.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test;
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);
use WinMDMDevice ();

plan tests => 76, need_module('dbd');

my $RFC3339 = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/;

sub ops_total { db_value('default', 'SELECT count(*) FROM operations') }

# Two tests: the status and a JSON {"error": "..."} body (the count of
# operations is compared once after all refusals).
sub refused_ok {
    my($label, $code, $r) = @_;
    ok t_cmp($r->{code}, $code, "$label: $code");
    ok t_cmp(ref $r->{json} eq 'HASH' && defined $r->{json}{error}
             && !ref $r->{json}{error} ? 'JSON error' : $r->{res}->decoded_content,
             'JSON error', "$label: a JSON {\"error\"} body");
}

# --- authentication -----------------------------------------------------------------

{
    my $r = admin_request(GET => '/devices', anonymous => 1);
    ok t_cmp($r->{code}, 401, 'no credentials: 401 from httpd');
    $r = admin_request(GET => '/devices', server => 'winmdm_short',
                       anonymous => 1);
    refused_ok('a server without httpd auth on the API', 403, $r);
}

# --- devices ------------------------------------------------------------------------

my @devs = map { WinMDMDevice->new(server => 'default') } 1 .. 3;
for (@devs) { $_->login; $_->enroll }
my %mine = map { $_->device_id => $_ } @devs;
ok t_cmp(join(' ', map { $_->enroll_response->code } @devs), '200 200 200',
         'three devices enroll');

{
    my(@seen, $after, $pages, $bad);
    while (1) {
        my $r = admin_request(GET => '/devices?limit=2'
                              . (defined $after ? "&after=$after" : ''));
        last unless $r->{code} == 200 && $r->{json};
        $pages++;
        my $list = $r->{json}{devices} || [];
        $bad++ if @$list > 2;
        push @seen, map { $_->{device_id} } @$list;
        $after = $r->{json}{next};
        last unless defined $after && $pages < 100;
    }
    my $total = db_value('default', 'SELECT count(*) FROM devices');
    ok t_cmp(scalar(@seen), $total, 'paging with limit=2 lists every device once');
    ok t_cmp($bad // 0, 0, 'no page holds more than the limit');
    ok t_cmp(join(',', @seen), join(',', sort @seen), 'in DeviceID order');
    ok t_cmp(scalar(grep { $mine{$_} } @seen), 3, 'the three new devices are listed');
}

my $dev = $devs[0];
my $ID = $dev->device_id;
{
    my $r = admin_request(GET => "/devices/$ID");
    my $j = $r->{json} || {};
    ok t_cmp($r->{code}, 200, 'GET devices/{id}: 200');
    ok t_cmp(join('|', map { $j->{$_} // 'null' }
                       qw(device_id state user enrollment_type)),
             "$ID|enrolled|demo\@example.test|Full", 'GET devices/{id}: fields');
    ok t_cmp($j->{os_version} // 'null', '10.0.22631.4460', 'os_version');
    ok t_cmp($j->{device_name} // 'null', qr/^DESKTOP-/, 'device_name');
    ok t_cmp($j->{enrolled_at} // 'null', $RFC3339, 'enrolled_at in RFC 3339');
    ok t_cmp($j->{certificate_expires} // 'null', $RFC3339,
             'certificate_expires in RFC 3339');
    ok t_cmp(exists $j->{last_seen} && !defined $j->{last_seen} ? 'null'
             : $j->{last_seen} // 'absent', 'null', 'never seen: last_seen null');
    ok t_cmp(ref $j->{inventory} eq 'HASH' ? scalar(keys %{ $j->{inventory} })
             : 'no inventory object', 0, 'no inventory yet');
}
$dev->dm_begin(auth => 'digest');
$dev->dm_send(cmds => [$dev->dm_package1_cmds(devinfo => {Mod => 'Model API'})]);
{
    my $j = admin_request(GET => "/devices/$ID")->{json} || {};
    ok t_cmp($j->{last_seen} // 'null', $RFC3339, 'after a session: last_seen');
    ok t_cmp(($j->{inventory} || {})->{'./DevInfo/Mod'} // 'none', 'Model API',
             'after a session: the inventory');
}

# --- operations -------------------------------------------------------------------

my %ids;
for my $body ({type => 'DEVICE_INFO'}, {type => 'LOCK'}, {type => 'LOCK_RESET'},
              {type => 'WIPE'}, {type => 'REBOOT'}, {type => 'RING'},
              {type => 'LOCATION'},
              {type => 'POLICY', settings => {'DeviceLock/DevicePasswordEnabled' => '0'}},
              {type => 'SYNCML', syncml => '<Get><CmdID>1</CmdID><Item><Target>'
               . '<LocURI>./DevDetail/SwV</LocURI></Target></Item></Get>'}) {
    my $r = admin_request(POST => "/devices/$ID/operations", body => $body);
    my $j = $r->{json} || {};
    $ids{ $body->{type} } = $j->{id};
    ok t_cmp($r->{code} . ' ' . ($j->{state} // '-') . ' '
             . (($j->{id} // '') =~ /^\d+$/ ? 'id' : 'no id'),
             '201 pending id', "POST $body->{type}: 201 with an id");
}
ok t_cmp(join(' ', map { db_value('default', 'SELECT type FROM operations WHERE id = '
                                  . sql_quote($ids{$_} // 0)) // 'none' }
                   sort keys %ids),
         join(' ', sort keys %ids), 'each stored with its type');
{
    my $r = admin_request(GET => "/devices/$ID/operations");
    my @list = @{ ($r->{json} || {})->{operations} || [] };
    ok t_cmp(join(' ', map { $_->{id} } @list),
             join(' ', sort { $b <=> $a } values %ids), 'listed newest first');
    ok t_cmp(exists(($r->{json} || {})->{next}) ? 'next' : 'no next', 'next',
             'the list has a next cursor (or null)');
}
# DISENROLL goes to another device: this one must stay enrolled for the
# rest of the file, and an acknowledged DISENROLL unenrolls (064-dm-unenroll.t).
{
    my $r = admin_request(POST => '/devices/' . $devs[2]->device_id . '/operations',
                          body => {type => 'DISENROLL'});
    ok t_cmp($r->{code} . ' ' . (($r->{json} || {})->{state} // '-'), '201 pending',
             'POST DISENROLL: 201 pending');
}
my @replies = $dev->dm_session(results => sub { '10.0.22631.9999' });
{
    my $j = admin_request(GET => "/operations/$ids{SYNCML}")->{json} || {};
    ok t_cmp(join('|', map { $j->{$_} // 'null' } qw(id device type state status)),
             "$ids{SYNCML}|$ID|SYNCML|done|200", 'GET operations/{id}: fields');
    ok t_cmp(join(' ', map { $j->{$_} // 'null' } qw(created sent completed)),
             qr/^\S+Z \S+Z \S+Z$/, 'created, sent, completed in RFC 3339');
    ok t_cmp(join(' ', map { "$_->{uri}=$_->{data}" } @{ $j->{results} || [] }),
             './DevDetail/SwV=10.0.22631.9999', 'its results');
    my $p = admin_request(GET => "/operations/$ids{LOCK}")->{json} || {};
    ok t_cmp(exists $p->{results} && ref $p->{results} eq 'ARRAY'
             ? scalar @{ $p->{results} } : 'no results array', 0,
             'an operation without results: an empty list');
}

# --- batches ---------------------------------------------------------------------

my $ghost = WinMDMDevice::random_hex(16);
for my $route (qw(lock-devices wipe-devices ring-devices lock-reset-devices
                  disenroll-devices location reboot)) {
    my $r = admin_request(POST => "/devices/$route",
                          body => [$devs[1]->device_id, $devs[2]->device_id, $ghost]);
    my $j = $r->{json} || {};
    ok t_cmp($r->{code} . ' '
             . join(',', map { ($_->{device} // '-') . (($_->{id} // '') =~ /^\d+$/ ? '' : '!') }
                         @{ $j->{operations} || [] })
             . ' ' . join(',', @{ $j->{unknown} || [] }),
             "201 " . $devs[1]->device_id . ',' . $devs[2]->device_id . " $ghost",
             "POST devices/$route: two queued, one unknown");
}

# --- refusals ---------------------------------------------------------------------
# DESIGN.md 5 and 6: none of them queues anything.

my $n = ops_total();
my $path = "/devices/$ID/operations";
refused_ok('no Content-Type', 415,
           admin_request(POST => $path, body => '{"type":"LOCK"}', content_type => undef));
refused_ok('Content-Type text/plain', 415,
           admin_request(POST => $path, body => '{"type":"LOCK"}', content_type => 'text/plain'));
refused_ok('a form post', 415,
           admin_request(POST => $path, body => 'type=LOCK',
                         content_type => 'application/x-www-form-urlencoded'));
refused_ok('another Origin', 403,
           admin_request(POST => $path, body => {type => 'LOCK'},
                         headers => [Origin => 'https://evil.example']));
refused_ok('DELETE from another Origin', 403,
           admin_request(DELETE => "/devices/$ID", body => '{}',
                         headers => [Origin => 'https://evil.example']));
refused_ok('malformed JSON', 400, admin_request(POST => $path, body => '{"type": LOCK'));
refused_ok('an unknown type', 400, admin_request(POST => $path, body => {type => 'FORMAT_C'}));
refused_ok('SYNCML with a Status', 400, admin_request(POST => $path, body => {
    type => 'SYNCML', syncml => '<Status><CmdID>1</CmdID><MsgRef>1</MsgRef>'
    . '<CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status>'}));
refused_ok('SYNCML Get without Item', 400, admin_request(POST => $path, body => {
    type => 'SYNCML', syncml => '<Get><CmdID>1</CmdID></Get>'}));
refused_ok('SYNCML malformed XML', 400, admin_request(POST => $path, body => {
    type => 'SYNCML', syncml => '<Get><CmdID>1</CmdID><Item>'}));
refused_ok('an unknown device', 404, admin_request(
    POST => "/devices/$ghost/operations", body => {type => 'LOCK'}));
refused_ok('a body over WinMDMMaxMessageSize', 413, admin_request(POST => $path,
    body => {type => 'SYNCML', syncml => '<Get><CmdID>1</CmdID><Item><Target><LocURI>'
             . ('x' x 70000) . '</LocURI></Target></Item></Get>'}));
# Within WinMDMMaxMessageSize, but too large for one reply to a device
# (which states no MaxMsgSize): refused when queued, not sent and failed.
refused_ok('an operation larger than one reply', 413, admin_request(POST => $path,
    body => {type => 'SYNCML', syncml => '<Replace><CmdID>1</CmdID><Item><Target>'
             . '<LocURI>./Vendor/MSFT/X</LocURI></Target><Data>'
             . ('x' x 64800) . '</Data></Item></Replace>'}));
# A POLICY setting that names its format gets a value of that format.
refused_ok('POLICY bool that is not true or false', 400, admin_request(
    POST => $path, body => {type => 'POLICY', settings => {
        'Experience/AllowCortana' => {value => 'yes', format => 'bool'}}}));
refused_ok('POLICY with an unknown format', 400, admin_request(
    POST => $path, body => {type => 'POLICY', settings => {
        'Experience/AllowCortana' => {value => '1', format => 'dword'}}}));
ok t_cmp(ops_total(), $n, 'after every refusal: no operation queued');
{
    my $r = admin_request(POST => $path, body => {type => 'LOCK'},
                          headers => [Origin => server_url('default')]);
    ok t_cmp($r->{code}, 201, "this server's own Origin: 201");
}

# A text policy whose value is a number, sent as chr because the setting
# says so (the plain form would send it as int).
{
    my $r = admin_request(POST => $path, body => {type => 'POLICY', settings => {
        'Update/Branch' => {value => '123', format => 'chr'}}});
    ok t_cmp($r->{code}, 201, 'POLICY with a named format: 201');
    my $body = db_value('default', 'SELECT body FROM operations WHERE id = '
                        . sql_quote(($r->{json} || {})->{id} // 0)) // '';
    ok t_cmp($body, qr{<Format xmlns="syncml:metinf">chr</Format></Meta><Data>123</Data>},
             'POLICY with a named format: Meta Format chr, Data 123');
}
