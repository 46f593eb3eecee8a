# APP_INSTALL end to end (DESIGN.md section 6; EnterpriseDesktopAppManagement
# CSP): the admin queues an MSI install; the device gets an Add of the
# product's DownloadInstall node (its braces escaped, %7B...%7D, as in the
# CSP's install examples) and its Exec with an MsiInstallJob as markup in
# Data, CmdIDs "<id>.1" and "<id>.2"; its 2xx statuses only mean it
# accepted the job, so the operation stays sent (and is not sent again);
# the final result comes later in the CSP's "Alert example" (Alert 1224,
# Meta Type Reversed-Domain-Name:com.microsoft.mdm.win32csp_install, the
# product's braces raw; t/fixtures/published/edam_msi_alert_1224.xml),
# or as Alert 1226: Data 0 is installed (done), any other value failed.
# That alert is a result, never an unenrollment.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test;
use Apache::TestUtil qw(t_cmp);

use WinMDMTest qw(:all);
use WinMDMDevice qw(dm_status_for dm_command_list xml_escape);

plan tests => 16, need_module('dbd');

# The product of the CSP's Alert example.
my $GUID = '{AF9257BA-6BBD-4624-AA9B-0182D50292C3}';
(my $ESCAPED = $GUID) =~ s/\{/%7B/;
$ESCAPED =~ s/\}/%7D/;
my $NODE = "./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/$ESCAPED/DownloadInstall";
my $RAW_NODE = "./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/$GUID/DownloadInstall";
my $HASH = 'ab' x 32;

my $dev = WinMDMDevice->new(server => 'default');
$dev->login;
$dev->enroll;
my $ID = $dev->device_id;

sub queue_install {
    my $r = admin_request(POST => "/devices/$ID/operations", body => {
        type => 'APP_INSTALL', product_id => $GUID, version => '2.4.1',
        url => 'https://apps.example.test/tool.msi?a=1&b=2', sha256 => $HASH});
    return ($r->{code}, ($r->{json} || {})->{id});
}
sub op { admin_request(GET => "/operations/$_[0]")->{json} || {} }

my($code, $op) = queue_install();
ok t_cmp($code, 201, 'APP_INSTALL queued');

# The session: the Add and the Exec arrive as one operation.
$dev->dm_begin(auth => 'digest');
my $r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp(dm_command_list($r), "$op.1:Add $op.2:Exec",
         'the device gets the Add, then the Exec, CmdIDs <id>.1 and <id>.2');
my($add, $exec) = @{ $r->{commands} };
ok t_cmp(join(' ', map { $_->{target} // '-' } @{ $add->{items} },
                   @{ $exec->{items} }),
         "$NODE $NODE", 'both name the product\'s DownloadInstall node');
my $job = $exec->{items}[0]{data_xml} // '';
ok t_cmp($job, qr{^<MsiInstallJob id="\Q$GUID\E"><Product Version="2\.4\.1">},
         'the Exec carries the MsiInstallJob as markup in Data');
ok t_cmp($job, qr{<ContentURL>https://apps\.example\.test/tool\.msi\?a=1&amp;b=2</ContentURL>},
         'its URL, escaped inside the job');
ok t_cmp($job, qr{<FileHash>$HASH</FileHash>}, 'its SHA-256');
ok t_cmp($exec->{items}[0]{format} // '', 'xml', 'Format xml');

# The device accepts the job: 200 for the Add, 202 for the Exec.
$r = $dev->dm_answer(status => sub { $_[0]{name} eq 'Exec' ? 202 : 200 });
ok t_cmp(op($op)->{state} . ' ' . (op($op)->{status} // 'null'), 'sent 202',
         'accepted: still sent, status 202, waiting for the final result');

# A later session: the operation is not sent again while it waits.
db_rows('default', 'UPDATE operations SET sent = sent - 600 WHERE id = '
        . sql_quote($op));
$dev->dm_begin(auth => 'digest');
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp(dm_command_list($r), '', 'not sent again in a later session');

# The final result: the CSP's Alert example as published (Alert 1224,
# the braces raw, Data 0 = installed), numbered as this message's fifth
# command; later, Alert 1226 with the braces escaped.
my $example = fixture_published('edam_msi_alert_1224.xml');
$example =~ s{<CmdID>4</CmdID>}{<CmdID>*</CmdID>} or die 'fixture changed';
my $alert = sub {
    my $data = shift;
    return '<Alert><CmdID>*</CmdID><Data>1226</Data><Item><Source><LocURI>'
        . xml_escape($NODE) . '</LocURI></Source><Meta>'
        . '<Type xmlns="syncml:metinf">Reversed-Domain-Name:com.microsoft.mdm.win32csp_install</Type>'
        . '<Format xmlns="syncml:metinf">int</Format></Meta><Data>' . $data
        . '</Data></Item></Alert>';
};
$dev->dm_begin(auth => 'digest');
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds, $example]);
my $s = dm_status_for($r, '5');
ok t_cmp(($s->{cmd} // '-') . ' ' . ($s->{data} // '-'), 'Alert 200',
         'the 1224 alert is acknowledged');
my $j = op($op);
ok t_cmp("$j->{state} $j->{status}", 'done 200', 'Data 0: the install is done');
ok t_cmp(join(' ', map { "$_->{uri}=$_->{data}" } @{ $j->{results} || [] }),
         "$RAW_NODE=0", 'the final result is stored on the operation');
ok t_cmp(db_value('default', 'SELECT state FROM devices WHERE device_id = '
                  . sql_quote($ID)), 'enrolled', 'and never unenrolls');

# A failed install: any other value.
($code, my $op2) = queue_install();
$dev->dm_begin(auth => 'digest');
$r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
ok t_cmp(dm_command_list($r), "$op2.1:Add $op2.2:Exec", 'a second install is sent');
$dev->dm_answer(status => sub { $_[0]{name} eq 'Exec' ? 202 : 200 });
$dev->dm_begin(auth => 'digest');
$dev->dm_send(cmds => [$dev->dm_package1_cmds, $alert->('1603')]);
$j = op($op2);
ok t_cmp("$j->{state} $j->{status}", 'failed 500', 'Data 1603: the install failed');
ok t_cmp(op($op)->{state}, 'done', 'the first install stays done');
