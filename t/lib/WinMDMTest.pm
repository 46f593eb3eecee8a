# Helpers shared by the Apache::Test files (t/*.t): the real Windows
# request captures in t/fixtures/windows10/, Discover requests built to
# measure, namespace-aware reading of SOAP and SyncML answers, switching
# between the test servers of t/conf/extra.conf.in, raw HTTP over a
# socket for what LWP cannot send (chunked request bodies), and reading a
# test server's SQLite database with the sqlite3 command-line shell.
package WinMDMTest;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use File::Spec::Functions qw(catfile);
use IO::Socket::INET ();
use HTTP::Request ();
use IPC::Open3 qw(open3);
use JSON::PP ();
use LWP::UserAgent ();
use Symbol qw(gensym);
use XML::LibXML ();

use Apache::Test ();
use Apache::TestRequest ();

our @EXPORT_OK = qw(
    API fixture fixture_published discover_body xml_doc html_doc xpc xpath_text soap_fault
    use_server server_url raw_request raw_post chunked_request
    db_file db_rows db_value sql_quote db_snapshot admin_request
    NS_SOAP NS_ADDR NS_DISCOVERY NS_SYNCML
);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

use constant API          => '/api/device-mgt/windows/v1.0';
use constant NS_SOAP      => 'http://www.w3.org/2003/05/soap-envelope';
use constant NS_ADDR      => 'http://www.w3.org/2005/08/addressing';
use constant NS_DISCOVERY =>
    'http://schemas.microsoft.com/windows/management/2012/01/enrollment';
use constant NS_SYNCML    => 'SYNCML:SYNCML1.2';

# The bytes of a fixture, unchanged: a real Windows 10 capture
# (t/fixtures/windows10: minified, with no trailing newline, its length
# the Content-Length the device sent) or, with fixture_published, a
# message Microsoft published (t/fixtures/published, sources in its
# README).
sub fixture { fixture_in('windows10', @_) }
sub fixture_published { fixture_in('published', @_) }

sub fixture_in {
    my($dir, $name) = @_;
    my $file = catfile(Apache::Test::vars('t_dir'), 'fixtures', $dir,
                       $name);
    open my $fh, '<:raw', $file or die "cannot open $file: $!";
    local $/;
    my $bytes = <$fh>;
    close $fh;
    return $bytes;
}

# A Discover request (MS-MDE2 3.1.4.1). Options: email, version
# (RequestVersion), device_type, message_id, ns (the Discover namespace;
# Microsoft's examples end it with a slash, devices do not), policies
# (array ref of AuthPolicy values).
sub discover_body {
    my %o = (
        email       => 'demo@example.test',
        version     => '4.0',
        device_type => 'CIMClient_Windows',
        app_version => '10.0.19043.2364',
        os_edition  => '72',
        message_id  => 'urn:uuid:0c6fa0e5-0a44-4cf6-9a3c-1a3b1e0f7d21',
        ns          => NS_DISCOVERY,
        policies    => [qw(OnPremise Federated)],
        @_,
    );
    my $policies = join '',
        map { "<AuthPolicy>$_</AuthPolicy>" } @{ $o{policies} };
    return <<"EOF";
<s:Envelope xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:s="http://www.w3.org/2003/05/soap-envelope">
  <s:Header>
    <a:Action s:mustUnderstand="1">http://schemas.microsoft.com/windows/management/2012/01/enrollment/IDiscoveryService/Discover</a:Action>
    <a:MessageID>$o{message_id}</a:MessageID>
    <a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>
    <a:To s:mustUnderstand="1">https://EnterpriseEnrollment.example.test:443/EnrollmentServer/Discovery.svc</a:To>
  </s:Header>
  <s:Body>
    <Discover xmlns="$o{ns}">
      <request xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
        <EmailAddress>$o{email}</EmailAddress>
        <RequestVersion>$o{version}</RequestVersion>
        <DeviceType>$o{device_type}</DeviceType>
        <ApplicationVersion>$o{app_version}</ApplicationVersion>
        <OSEdition>$o{os_edition}</OSEdition>
        <AuthPolicies>$policies</AuthPolicies>
      </request>
    </Discover>
  </s:Body>
</s:Envelope>
EOF
}

# Parses an answer; undef when it is not well-formed XML. The parser
# reads nothing from the network or the disk and expands no entity: the
# answers are as untrusted here as requests are in the module.
sub xml_doc {
    my $bytes = shift;
    return undef unless defined $bytes && length $bytes;
    my $parser = XML::LibXML->new(
        no_network      => 1,
        load_ext_dtd    => 0,
        expand_entities => 0,
        expand_xinclude => 0,
    );
    my $doc = eval { $parser->parse_string($bytes) };
    return $doc;
}

# Parses an HTML page (the sign-in page) the way a browser would, broken
# markup and all; undef when there is nothing to parse. No network, no
# entity loading, as for xml_doc.
sub html_doc {
    my $bytes = shift;
    return undef unless defined $bytes && length $bytes;
    my $doc = eval {
        XML::LibXML->load_html(
            string            => $bytes,
            encoding          => 'UTF-8',
            recover           => 2,
            suppress_errors   => 1,
            suppress_warnings => 1,
            no_network        => 1,
        );
    };
    return $doc;
}

# An XPath context with the prefixes the tests use: s (SOAP 1.2), a
# (WS-Addressing), d (discovery), m (SyncML).
sub xpc {
    my $doc = shift;
    my $xpc = XML::LibXML::XPathContext->new($doc);
    $xpc->registerNs(s => NS_SOAP);
    $xpc->registerNs(a => NS_ADDR);
    $xpc->registerNs(d => NS_DISCOVERY);
    $xpc->registerNs(m => NS_SYNCML);
    return $xpc;
}

# The text of the first node an XPath selects, whitespace-trimmed; undef
# when nothing matches.
sub xpath_text {
    my($xpc, $path) = @_;
    my($node) = $xpc->findnodes($path);
    return undef unless $node;
    my $text = $node->textContent;
    $text =~ s/^\s+|\s+$//g;
    return $text;
}

# A SOAP 1.2 fault answer: returns a hash ref {code, subcode, reason}
# (QName strings as written, e.g. "s:Receiver", "s:MessageFormat"), or
# undef when the body is not a SOAP 1.2 Envelope/Body/Fault.
sub soap_fault {
    my $bytes = shift;
    my $doc = xml_doc($bytes) or return undef;
    my $xpc = xpc($doc);
    return undef unless $xpc->findnodes('/s:Envelope/s:Body/s:Fault');
    return {
        code    => xpath_text($xpc,
            '/s:Envelope/s:Body/s:Fault/s:Code/s:Value'),
        subcode => xpath_text($xpc,
            '/s:Envelope/s:Body/s:Fault/s:Code/s:Subcode/s:Value'),
        reason  => xpath_text($xpc,
            '/s:Envelope/s:Body/s:Fault/s:Reason/s:Text'),
    };
}

# Points Apache::TestRequest at one of the servers of extra.conf.in:
# 'default' (plain HTTP), 'winmdm_tls' (HTTPS, its certificate checked
# against the test CA) or 'winmdm_off' (plain HTTP). Returns the server's
# base URL ("https://localhost:8530"). A path alone reaches a plain HTTP
# server; the TLS one needs the full URL, because Apache::TestRequest's
# https scheme looks for Apache::Test's own mod_ssl virtual host, which
# this suite does not use.
sub use_server {
    my $name = shift;
    Apache::TestRequest::scheme('http');
    Apache::TestRequest::module($name);
    my $hostport = Apache::TestRequest::hostport(Apache::Test::config());
    if ($name eq 'winmdm_tls') {
        Apache::TestRequest::user_agent(
            reset    => 1,
            ssl_opts => {
                SSL_ca_file     => catfile(Apache::Test::vars('t_state'),
                                           'ca.crt'),
                verify_hostname => 1,
            },
        );
        return "https://$hostport";
    }
    Apache::TestRequest::user_agent(reset => 1);
    return "http://$hostport";
}

# The base URL of one of the servers of extra.conf.in, without making it
# the one Apache::TestRequest points at: the device emulator
# (WinMDMDevice) keeps its own user agent, so that devices on different
# servers can take turns in one test file.
sub server_url {
    my $name = shift;
    my $config = Apache::Test::config();
    my $vars = $config->{vars};
    my $hostport = $name eq 'default'
        ? join(':', $vars->{servername}, $vars->{port})
        : $config->{vhosts}{$name}{hostport};
    die "no test server named $name\n" unless $hostport;
    return ($name eq 'winmdm_tls' ? 'https' : 'http') . "://$hostport";
}

# The SQLite database of a test server (its DBDParams in extra.conf.in).
my %DB_FILE = (
    default      => 'wm.db',
    winmdm_tls   => 'wm-tls.db',
    winmdm_short => 'wm-short.db',
    winmdm_fault => 'fault/wm-fault.db',
    # these two share the default server's database
    winmdm_plain => 'wm.db',
    winmdm_broad => 'wm.db',
);
sub db_file {
    my $name = shift;
    my $file = $DB_FILE{$name} or die "no database for server $name\n";
    return catfile(Apache::Test::vars('t_state'), $file);
}

# An SQL string literal.
sub sql_quote {
    my $s = shift;
    return 'NULL' unless defined $s;
    $s =~ s/'/''/g;
    return "'$s'";
}

# Runs one SQL statement on a test server's database with the sqlite3
# shell, or psql on the PostgreSQL run (no Perl DBI in the dependencies),
# and returns its rows, each the
# columns joined by '|'. The shell waits for a lock the server holds
# instead of failing. An SQL error comes back as one row "SQL ERROR: ..."
# (and a diagnostic), so a schema mismatch fails the comparison that
# reads it instead of reading as "no row", and the rest of the file
# still runs.
sub db_rows {
    my($name, $sql) = @_;
    my $file = db_file($name);
    my @cmd;
    if (($ENV{WM_TEST_DB} // '') eq 'pgsql') {
        # The same statements on the PostgreSQL run (scripts/apache-test.sh
        # WM_TEST_DB=pgsql): one database per server, named as the file.
        # (the file name without its folder and .db).
        (my $db = $DB_FILE{$name}) =~ s{^.*/|\.db$}{}g;
        my @conn = ('-h', $ENV{WM_TEST_PGHOST}, '-p', $ENV{WM_TEST_PGPORT});
        @cmd = $sql eq '.dump'
            ? ('pg_dump', @conn, '--data-only', $db)
            : ('psql', '-X', '-q', '-A', '-t', '-F', '|',
               '-v', 'ON_ERROR_STOP=1', @conn, '-d', $db, '-c', $sql);
    }
    else {
        @cmd = ('sqlite3', '-batch', '-noheader', '-separator', '|',
                '-cmd', '.timeout 10000', $file, $sql);
    }
    my $pid = open3(my $in, my $out, my $err = gensym, @cmd);
    close $in;
    my @rows = <$out>;
    my $errors = join '', <$err>;
    waitpid $pid, 0;
    if ($? || $errors =~ /\S/) {
        $errors =~ s/\s+$//;
        print STDERR "# $cmd[0] $name: $sql: exit ", $? >> 8, ": $errors\n";
        return ("SQL ERROR: $errors");
    }
    chomp @rows;
    return @rows;
}

# The first column of the first row, or undef when there is no row.
sub db_value {
    my @rows = db_rows(@_);
    return undef unless @rows;
    return (split /\|/, $rows[0], -1)[0];
}

# Sends bytes as they are to the server Apache::TestRequest points at
# (plain HTTP only) and reads one answer, framed as HTTP/1.1 frames it:
# by Content-Length, by chunks, or by the end of the connection. So the
# request may keep the connection alive, which is when httpd would chunk
# an answer that has no Content-Length. Returns a hash ref {status,
# headers (lower-case names, a list of values each), body (de-chunked),
# chunked (true when the answer came chunked)}.
sub raw_request {
    my $request = shift;
    my($host, $port) =
        split /:/, Apache::TestRequest::hostport(Apache::Test::config());
    $host = '127.0.0.1' if $host eq 'localhost';
    my $sock = IO::Socket::INET->new(
        PeerAddr => $host,
        PeerPort => $port,
        Proto    => 'tcp',
        Timeout  => 30,
    ) or die "cannot connect to $host:$port: $!";
    binmode $sock;
    print $sock $request;

    my $buf = '';
    my $eof = 0;
    # Reads more bytes into $buf; false at the end of the connection.
    my $more = sub {
        return 0 if $eof;
        my $n = eval {
            local $SIG{ALRM} = sub { die "timeout\n" };
            alarm 30;
            my $r = sysread $sock, my $chunk, 65536;
            alarm 0;
            $buf .= $chunk if $r;
            $r;
        };
        alarm 0;
        $eof = 1 unless $n;
        return $n ? 1 : 0;
    };

    while (index($buf, "\r\n\r\n") < 0) {
        last unless $more->();
    }
    my $at = index $buf, "\r\n\r\n";
    my $head = $at < 0 ? $buf : substr($buf, 0, $at);
    $buf = $at < 0 ? '' : substr($buf, $at + 4);

    my @lines = split /\r\n/, $head;
    my $status_line = shift(@lines) // '';
    my($status) = $status_line =~ m{^HTTP/\d\.\d\s+(\d{3})};
    my %headers;
    for (@lines) {
        my($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        push @{ $headers{ lc $k } }, $v;
    }

    my $te = join ',', @{ $headers{'transfer-encoding'} || [] };
    my $chunked = $te =~ /chunked/i ? 1 : 0;
    my $cl = $headers{'content-length'} ? $headers{'content-length'}[0] : undef;
    my $body = '';
    if ($chunked) {
        while (1) {
            while ($buf !~ /\r\n/) { last unless $more->() }
            $buf =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n// or last;
            my $size = hex $1;
            if ($size == 0) {
                last;
            }
            while (length($buf) < $size + 2) { last unless $more->() }
            $body .= substr($buf, 0, $size, '');
            $buf =~ s/^\r\n//;
        }
    }
    elsif (defined $cl) {
        while (length($buf) < $cl) { last unless $more->() }
        $body = substr $buf, 0, $cl;
    }
    else {
        1 while $more->();
        $body = $buf;
    }
    close $sock;

    return {
        status  => $status // 0,
        headers => \%headers,
        body    => $body,
        chunked => $chunked,
    };
}

# POSTs a body with Transfer-Encoding: chunked (no Content-Length), cut
# into chunks of $size bytes, over a raw socket, on a connection kept
# alive (HTTP/1.1). Returns what raw_request returns.
sub chunked_request {
    my($path, $content_type, $body, $size) = @_;
    $size ||= 100;
    my $hostport = Apache::TestRequest::hostport(Apache::Test::config());
    my $req = "POST $path HTTP/1.1\r\n"
            . "Host: $hostport\r\n"
            . "Content-Type: $content_type\r\n"
            . "Transfer-Encoding: chunked\r\n\r\n";
    for (my $off = 0; $off < length $body; $off += $size) {
        my $chunk = substr $body, $off, $size;
        $req .= sprintf("%x\r\n", length $chunk) . $chunk . "\r\n";
    }
    $req .= "0\r\n\r\n";
    return raw_request($req);
}

# POSTs a body with a Content-Length over a raw socket, on a connection
# kept alive (HTTP/1.1); extra headers as "Name: value" strings. Returns
# what raw_request returns.
sub raw_post {
    my($path, $content_type, $body, @headers) = @_;
    my $hostport = Apache::TestRequest::hostport(Apache::Test::config());
    my $req = "POST $path HTTP/1.1\r\n"
            . "Host: $hostport\r\n"
            . "Content-Type: $content_type\r\n"
            . join('', map { "$_\r\n" } @headers)
            . "Content-Length: " . length($body) . "\r\n\r\n"
            . $body;
    return raw_request($req);
}

# The rows of the OMA-DM tables that hold anything about devices
# (devices, operations, results, inventory, nonces, partials), as one
# string: what a refused message must leave exactly as it was. where
# limits every table to one DeviceID (results: to that device's
# operations).
sub db_snapshot {
    my($name, $device) = @_;
    my $w = defined $device ? ' WHERE device_id = ' . sql_quote($device) : '';
    my $rw = defined $device
        ? ' WHERE op_id IN (SELECT id FROM operations' . $w . ')' : '';
    my @out;
    for (['devices', "SELECT * FROM devices$w ORDER BY device_id"],
         ['operations', "SELECT * FROM operations$w ORDER BY id"],
         ['results', "SELECT * FROM results$rw ORDER BY op_id, seq"],
         ['inventory', "SELECT * FROM inventory$w ORDER BY device_id, uri"],
         ['nonces', "SELECT * FROM nonces$w ORDER BY nonce"],
         ['partials', "SELECT * FROM partials$w ORDER BY device_id, cmd_ref, seq"]) {
        my($table, $sql) = @$_;
        push @out, map { "$table: $_" } db_rows($name, $sql);
    }
    return join "\n", @out;
}

# A request to the admin API of a test server ({api}/admin . $path) as
# the administrator of t/state/admin.htpasswd. Options: server (default
# 'default'), base (a base URL used instead of the server's: another
# httpd on the same database), body (a string sent as it is, or a reference sent as JSON),
# content_type (default application/json when there is a body; undef:
# none), user and password, anonymous (no credentials), headers (array
# ref of name => value). Returns a hash ref {res, code, json (undef when
# the body is not JSON)}.
sub admin_request {
    my($method, $path, %o) = @_;
    my $server = $o{server} // 'default';
    my $url = ($o{base} // server_url($server)) . API . '/admin' . $path;
    my $ua = LWP::UserAgent->new(
        keep_alive => 0, timeout => 60, max_redirect => 0,
        ssl_opts => {
            SSL_ca_file     => catfile(Apache::Test::vars('t_state'), 'ca.crt'),
            verify_hostname => 1,
        });
    my $req = HTTP::Request->new($method => $url);
    $req->authorization_basic($o{user} // 'admin',
                              $o{password} // 'admin-password')
        unless $o{anonymous};
    if (exists $o{body}) {
        my $b = ref $o{body} ? JSON::PP->new->canonical->encode($o{body})
                             : $o{body};
        $req->content($b);
        my $ct = exists $o{content_type} ? $o{content_type}
                                         : 'application/json';
        $req->header('Content-Type' => $ct) if defined $ct;
    }
    my @h = @{ $o{headers} || [] };
    while (my($k, $v) = splice @h, 0, 2) {
        $req->header($k => $v);
    }
    my $res = $ua->request($req);
    my $json = eval { JSON::PP->new->decode($res->decoded_content) };
    return {res => $res, code => $res->code, json => $json};
}

1;
