# A Windows device for the Apache::Test suite: it enrolls the way
# Windows 8.1, 10 and 11 do (spec/enrollment.md sections 0 to 5).
#
#   my $dev = WinMDMDevice->new(server => 'default', os => '10');
#   $dev->discover;                 # MS-MDE2 Discover
#   my $token = $dev->login;        # Federated: the sign-in page's wresult
#   $dev->get_policies;             # MS-XCEP GetPolicies
#   $dev->enroll;                   # MS-WSTEP RequestSecurityToken
#   $dev->cert_file, $dev->key_file # what it got, for OMA-DM later
#
# Each step returns the HTTP::Response and keeps what it learnt (see the
# accessors). The failure tests bend one thing at a time: every step
# takes options that replace the credential, the CSR or the context
# items, or send a body as it is (the real captures).
#
# Keys and CSRs are made with the openssl command-line tool in a private
# temporary directory, removed at exit. The device keeps its own user
# agent and talks to its server by full URL, so devices on different
# test servers can take turns in one test file.
package WinMDMDevice;

use strict;
use warnings FATAL => 'all';

use Digest::MD5 qw(md5 md5_hex);
use Digest::SHA qw(sha1_hex);
use Exporter 'import';
use File::Spec::Functions qw(catfile);
use File::Temp qw(tempdir);
use IPC::Open3 qw(open3);
use LWP::UserAgent ();
use MIME::Base64 qw(encode_base64 decode_base64);
use URI ();
use URI::Escape qw(uri_escape);
use XML::LibXML qw(XML_ELEMENT_NODE);

use Apache::Test ();

use WinMDMTest qw(API NS_SOAP NS_ADDR discover_body xml_doc
                  html_doc xpc xpath_text server_url db_file db_rows
                  sql_quote);

use constant PUBLIC_URL   => 'https://enterpriseenrollment.example.test';
use constant APPRU        => 'ms-app://windows.immersivecontrolpanel';
use constant SOAP_CT      => 'application/soap+xml; charset=utf-8';

use constant NS_XCEP   =>
    'http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy';
use constant NS_WST    => 'http://docs.oasis-open.org/ws-sx/ws-trust/200512';
use constant NS_WSSE   => 'http://docs.oasis-open.org/wss/2004/01/'
                        . 'oasis-200401-wss-wssecurity-secext-1.0.xsd';
use constant NS_ENROLL =>
    'http://schemas.microsoft.com/windows/pki/2009/01/enrollment';

use constant XCEP_ACTION     => NS_XCEP . '/IPolicy/GetPolicies';
use constant XCEP_RESPONSE   => NS_XCEP . '/IPolicy/GetPoliciesResponse';
use constant WSTEP_ACTION    => NS_ENROLL . '/RST/wstep';
use constant WSTEP_RESPONSE  => NS_ENROLL . '/RSTRC/wstep';
use constant VT_USER_TOKEN   => 'http://schemas.microsoft.com/5.0.0.0/'
                              . 'ConfigurationManager/Enrollment/'
                              . 'DeviceEnrollmentUserToken';
use constant VT_PROVDOC      => 'http://schemas.microsoft.com/5.0.0.0/'
                              . 'ConfigurationManager/Enrollment/'
                              . 'DeviceEnrollmentProvisionDoc';
use constant TOKEN_TYPE      => 'http://schemas.microsoft.com/5.0.0.0/'
                              . 'ConfigurationManager/Enrollment/'
                              . 'DeviceEnrollmentToken';
use constant VT_PKCS10       => NS_ENROLL . '#PKCS10';
use constant ENC_BASE64      => NS_WSSE . '#base64binary';
use constant PASSWORD_TEXT   => 'http://docs.oasis-open.org/wss/2004/01/'
                              . 'oasis-200401-wss-username-token-profile-1.0'
                              . '#PasswordText';
use constant REQUEST_ISSUE   => NS_WST . '/Issue';
use constant SHA256_OID      => '2.16.840.1.101.3.4.2.1';
# MS-MDE2 3.3: the u:Id of an OnPremise UsernameToken "MUST be" this.
use constant USERNAME_TOKEN_ID => 'uuid-cc1ccc1f-2fba-4bcf-b063-ffc0cac77917-4';

our @EXPORT_OK = qw(
    random_hex xml_escape openssl run_cmd pem_der ca_der
    NS_XCEP NS_WST NS_WSSE NS_ENROLL VT_USER_TOKEN VT_PROVDOC ENC_BASE64
    PUBLIC_URL APPRU SOAP_CT XCEP_RESPONSE WSTEP_RESPONSE
    SYNCML_CT NS_METINF VT_PKCS7 dm_status_for dm_command_list
);

my $ENROLL_COUNT = 0;

# --- small helpers ----------------------------------------------------------

# $n random bytes as upper-case hex: DeviceIDs and HWDevIDs look like that.
sub random_hex {
    my $n = shift;
    open my $fh, '<:raw', '/dev/urandom' or die "/dev/urandom: $!";
    read($fh, my $bytes, $n) == $n or die "/dev/urandom: short read";
    close $fh;
    return uc unpack 'H*', $bytes;
}

sub uuid {
    my $h = lc random_hex(16);
    substr($h, 12, 1) = '4';
    return join '-', substr($h, 0, 8), substr($h, 8, 4), substr($h, 12, 4),
                     substr($h, 16, 4), substr($h, 20, 12);
}

sub xml_escape {
    my $s = shift // '';
    $s =~ s/&/&amp;/g;
    $s =~ s/</&lt;/g;
    $s =~ s/>/&gt;/g;
    $s =~ s/"/&quot;/g;
    return $s;
}

# Runs a command without a shell; returns (exit status, stdout and
# stderr together).
sub run_cmd {
    my @cmd = @_;
    my $pid = open3(my $in, my $out, undef, @cmd);
    close $in;
    local $/;
    my $output = <$out> // '';
    waitpid $pid, 0;
    return ($? >> 8, $output);
}

# Runs openssl and dies when it fails: the emulator's own tools failing
# is not something the server did.
sub openssl {
    my($rc, $out) = run_cmd('openssl', @_);
    die "openssl @_: exit $rc: $out" if $rc;
    return $out;
}

# The DER bytes of the first PEM block of a file.
sub pem_der {
    my $file = shift;
    open my $fh, '<', $file or die "cannot open $file: $!";
    local $/;
    my $pem = <$fh>;
    close $fh;
    my($b64) = $pem =~ /-----BEGIN [^-]+-----\s*(.*?)-----END/s
        or die "$file: no PEM block";
    return decode_base64($b64);
}

sub ca_file { catfile(Apache::Test::vars('t_state'), 'ca.crt') }
sub ca_der  { pem_der(ca_file()) }

sub write_file {
    my($file, $bytes) = @_;
    open my $fh, '>:raw', $file or die "cannot write $file: $!";
    print $fh $bytes;
    close $fh or die "cannot write $file: $!";
    return $file;
}

sub der_to_pem {
    my($der, $what) = @_;
    my $b64 = encode_base64($der, '');
    $b64 =~ s/(.{64})/$1\n/g;
    $b64 .= "\n" unless $b64 =~ /\n\z/;
    return "-----BEGIN $what-----\n$b64-----END $what-----\n";
}

# --- the device -------------------------------------------------------------

# Options: server ('default', 'winmdm_tls', 'winmdm_short'), os ('10' or
# '8.1'), device_id (32 random upper-hex digits), enrollment_type ('Full'
# or 'Device'), user, password, path_family ('device': the paths a
# device is given, followed from discovery; 'api': the WSO2 MDM endpoint
# paths), services (api family: with the services/ segment, default 1),
# paths (hash ref replacing some of the paths), appru, device_name,
# base (a base URL such as "http://127.0.0.1:8600" that the device talks
# to instead of the named server's, e.g. a second httpd outside
# Apache::Test; server still names the database the checks read).
sub new {
    my($class, %o) = @_;
    my $self = bless {
        server          => 'default',
        os              => '10',
        device_id       => random_hex(16),
        hw_dev_id       => random_hex(32),
        enrollment_type => 'Full',
        user            => 'demo@example.test',
        password        => 'demo-password',
        path_family     => 'device',
        services        => 1,
        appru           => APPRU,
        device_name     => 'DESKTOP-' . substr(random_hex(4), 0, 7),
        macs            => [join('-', unpack '(A2)*', random_hex(6)),
                            join('-', unpack '(A2)*', random_hex(6))],
        %o,
    }, $class;
    die "os must be 10 or 8.1\n" unless $self->{os} =~ /^(?:10|8\.1)$/;
    die "path_family must be device or api\n"
        unless $self->{path_family} =~ /^(?:device|api)$/;
    $self->{base} = defined $o{base} ? $o{base} : server_url($self->{server});
    $self->{base} =~ s{/+\z}{};
    $self->{tmp}  = tempdir('winmdm-device-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    $self->{paths} = { $self->default_paths, %{ $o{paths} || {} } };
    $self->{fixed_paths} = { %{ $o{paths} || {} } };
    my $ua = LWP::UserAgent->new(
        agent        => 'ENROLLClient',
        timeout      => 60,
        max_redirect => 0,
        keep_alive   => 0,
        ssl_opts     => {
            SSL_ca_file     => ca_file(),
            verify_hostname => 1,
        },
    );
    # Accepting compressed answers, as browsers and HTTP stacks do, makes
    # the server's mod_deflate a real threat to the SOAP answers, which
    # must go out uncompressed with a Content-Length (the checks below
    # read their bytes as they came). The sign-in pages may be compressed.
    $ua->default_header('Accept-Encoding' => 'gzip, deflate');
    $self->{ua} = $ua;
    return $self;
}

sub default_paths {
    my $self = shift;
    my $win81 = $self->{os} eq '8.1';
    if ($self->{path_family} eq 'device') {
        return (
            discovery => '/EnrollmentServer/Discovery.svc',
            login     => '/emm/enrollments/windows/login-agent',
            policy    => '/ENROLLMENTSERVER/PolicyEnrollmentWebservice.svc',
            enroll    => $win81
                ? '/ENROLLMENTSERVER/DeviceEnrollmentWebservice.svc'
                : '/ENROLLMENTSERVER/Win10DeviceEnrollmentWebservice.svc',
        );
    }
    my $svc = $self->{services} ? '/services' : '';
    return (
        discovery => API . "$svc/discovery/post",
        login     => $self->{services}
            ? '/windows-web-agent/enrollments/windows/login-agent'
            : '/windows-web-agent',
        policy    => API . "$svc/certificatepolicy/xcep",
        enroll    => $win81 ? API . "$svc/deviceenrolment/wstep"
                            : API . "$svc/deviceenrolment/enrollment",
    );
}

# Accessors: what the device is and what it learnt.
for my $field (qw(server os device_id hw_dev_id enrollment_type user
                  password path_family appru base tmp token
                  discovery_response login_page login_response
                  policy_response enroll_response message_id
                  enrollment_version policy_url enroll_url auth_url
                  wresult_form_action min_key_length hash_oid
                  csr_der csr_file key_file prov_xml prov_doc
                  root_sha1 root_der cert_sha1 cert_der cert_file
                  appsrv_secret appsrv_name appsrv_nonce)) {
    no strict 'refs';
    *{$field} = sub { $_[0]{$field} };
}

sub path { $_[0]{paths}{ $_[1] } }

# Points the device at another base URL from now on (the same database
# behind another httpd): what a device sees when a load balancer sends
# its next request to another node.
sub set_base {
    my($self, $base) = @_;
    $base =~ s{/+\z}{};
    $self->{base} = $base;
    return $base;
}
sub url  { $_[0]{base} . $_[0]{paths}{ $_[1] } }

# The auth policy this device uses: what discovery said, else the one
# the test server is configured with.
sub auth_policy {
    my $self = shift;
    return $self->{auth_policy} if $self->{auth_policy};
    return $self->{server} eq 'winmdm_tls' ? 'OnPremise' : 'Federated';
}

# The certificate store of the device certificate: user context for a
# Full enrollment, device context for a Device one.
sub cert_store { $_[0]{enrollment_type} eq 'Device' ? 'System' : 'User' }

# The management URL the provisioning document must hold.
sub management_url {
    my $self = shift;
    return PUBLIC_URL . ($self->{os} eq '8.1' ? '/syncml/initialquery'
                                              : '/devicemgt');
}

sub post_soap {
    my($self, $url, $body) = @_;
    return $self->{ua}->post($url, 'Content-Type' => SOAP_CT,
                             Content => $body);
}

# --- discovery --------------------------------------------------------------

# MS-MDE2 Discover with the device's address. A device of the 'device'
# family then follows the URLs it was given (on the test server: their
# paths); the 'api' family keeps the MDM endpoint paths.
sub discover {
    my($self, %o) = @_;
    my $win81 = $self->{os} eq '8.1';
    my $body = discover_body(
        email       => $o{email} // $self->{user},
        version     => $win81 ? '2.0' : '4.0',
        app_version => $win81 ? '6.3.9600.17031' : '10.0.22631.4460',
        os_edition  => $win81 ? '48' : '72',
        message_id  => 'urn:uuid:' . uuid(),
    );
    my $res = $self->post_soap($self->url('discovery'), $body);
    $self->{discovery_response} = $res;
    my $doc = xml_doc($res->content) or return $res;
    my $x = xpc($doc);
    my $r = '/s:Envelope/s:Body/d:DiscoverResponse/d:DiscoverResult';
    my $policy = xpath_text($x, "$r/d:AuthPolicy");
    $self->{auth_policy} = $policy if $policy;
    $self->{enrollment_version} = xpath_text($x, "$r/d:EnrollmentVersion");
    $self->{policy_url} = xpath_text($x, "$r/d:EnrollmentPolicyServiceUrl");
    $self->{enroll_url} = xpath_text($x, "$r/d:EnrollmentServiceUrl");
    $self->{auth_url}   = xpath_text($x, "$r/d:AuthenticationServiceUrl");
    if ($self->{path_family} eq 'device') {
        for ([policy => 'policy_url'], [enroll => 'enroll_url'],
             [login => 'auth_url']) {
            my($step, $field) = @$_;
            next if $self->{fixed_paths}{$step} || !$self->{$field};
            $self->{paths}{$step} = URI->new($self->{$field})->path_query;
        }
    }
    return $res;
}

# --- the sign-in page (Federated) ------------------------------------------

# Opens the sign-in page as the web authentication broker does, fills in
# the form and posts it; returns the wresult token (undef when the page
# gave none). Options: appru, login_hint, username, password, path.
sub login {
    my($self, %o) = @_;
    delete $self->{token};
    my $appru = exists $o{appru} ? $o{appru} : $self->{appru};
    my $hint  = exists $o{login_hint} ? $o{login_hint} : $self->{user};
    my $page_url = $self->{base} . ($o{path} // $self->path('login'))
        . '?appru=' . uri_escape($appru)
        . '&login_hint=' . uri_escape($hint);
    my $res = $self->{ua}->get($page_url);
    $self->{login_page} = $res;
    $self->{login_response} = undef;
    return undef unless $res->code == 200;

    my $doc = html_doc($res->decoded_content(charset => 'none'))
        or return undef;
    my($form) = $doc->findnodes('//form[.//input[@name="password"]]');
    return undef unless $form;
    my $action = URI->new_abs($form->getAttribute('action') // '', $page_url);
    my @fields;
    for my $input ($form->findnodes('.//input[@name]')) {
        my $name = $input->getAttribute('name');
        my $value = $input->getAttribute('value') // '';
        $value = $o{username} // $self->{user} if $name eq 'username';
        $value = $o{password} // $self->{password} if $name eq 'password';
        push @fields, $name, $value;
    }
    $res = $self->{ua}->post($action, \@fields);
    $self->{login_response} = $res;
    my $result = html_doc($res->decoded_content(charset => 'none'))
        or return undef;
    my($input) = $result->findnodes('//input[@name="wresult"]');
    return undef unless $input;
    my($rform) = $result->findnodes('//form[.//input[@name="wresult"]]');
    $self->{wresult_form_action} = $rform ? $rform->getAttribute('action')
                                          : undef;
    $self->{token} = $input->getAttribute('value');
    return $self->{token};
}

# --- SOAP requests ----------------------------------------------------------

# The wsse:Security header. Options:
#   security => undef      no Security header at all
#   security => 'XML'      this content inside wsse:Security
#   auth => 'token'|'password'  the credential kind (default: the auth
#                          policy's: a token for Federated, a
#                          UsernameToken for OnPremise)
#   token, token_encoding ('base64' as MS-MDE2 3.3 says, or 'raw'),
#   value_type             the BinarySecurityToken
#   username, password     the UsernameToken
sub security_header {
    my($self, %o) = @_;
    my $inner;
    if (exists $o{security}) {
        return '' unless defined $o{security};
        $inner = $o{security};
    }
    else {
        my $kind = $o{auth}
            // ($self->auth_policy eq 'Federated' ? 'token' : 'password');
        if ($kind eq 'token') {
            my $token = $o{token} // $self->{token} // '';
            my $enc = $o{token_encoding} // 'base64';
            my $value = $enc eq 'raw' ? $token : encode_base64($token, '');
            $inner = '<wsse:BinarySecurityToken ValueType="'
                . xml_escape($o{value_type} // VT_USER_TOKEN)
                . '" EncodingType="' . ENC_BASE64 . '">'
                . xml_escape($value) . '</wsse:BinarySecurityToken>';
        }
        else {
            $inner = '<wsse:UsernameToken u:Id="' . USERNAME_TOKEN_ID . '">'
                . '<wsse:Username>' . xml_escape($o{username} // $self->{user})
                . '</wsse:Username><wsse:Password wsse:Type="' . PASSWORD_TEXT
                . '">' . xml_escape($o{password} // $self->{password})
                . '</wsse:Password></wsse:UsernameToken>';
        }
    }
    return qq{<wsse:Security s:mustUnderstand="1">$inner</wsse:Security>};
}

# A request envelope with the namespace declarations Windows puts on it.
sub envelope {
    my($self, $action, $message_id, $to, $security, $body) = @_;
    return '<s:Envelope xmlns:s="' . NS_SOAP . '" xmlns:a="' . NS_ADDR
        . '" xmlns:u="http://docs.oasis-open.org/wss/2004/01/'
        . 'oasis-200401-wss-wssecurity-utility-1.0.xsd" xmlns:wsse="'
        . NS_WSSE . '" xmlns:wst="' . NS_WST
        . '" xmlns:ac="http://schemas.xmlsoap.org/ws/2006/12/authorization">'
        . '<s:Header><a:Action s:mustUnderstand="1">' . $action
        . '</a:Action><a:MessageID>' . $message_id . '</a:MessageID>'
        . '<a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/'
        . 'anonymous</a:Address></a:ReplyTo><a:To s:mustUnderstand="1">'
        . xml_escape($to) . '</a:To>' . $security . '</s:Header>'
        . $body . '</s:Envelope>';
}

# --- MS-XCEP ------------------------------------------------------------

# GetPolicies with the device's credential (options as security_header,
# plus body => bytes to send as they are, path, tls_cert). Learns minimalKeyLength
# and the hash algorithm OID.
sub get_policies {
    my($self, %o) = @_;
    my $body = $o{body};
    my $mid = 'urn:uuid:' . uc uuid();
    unless (defined $body) {
        $body = $self->envelope(
            XCEP_ACTION, $mid, PUBLIC_URL . $self->path('policy'),
            $self->security_header(%o),
            '<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            . 'xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
            . '<GetPolicies xmlns="' . NS_XCEP . '"><client>'
            . '<lastUpdate xsi:nil="true"/><preferredLanguage xsi:nil="true"/>'
            . '</client><requestFilter xsi:nil="true"/></GetPolicies>'
            . '</s:Body>');
    }
    $self->{message_id} = message_id_of($body) // $mid;
    my $url = $self->{base} . ($o{path} // $self->path('policy'));
    # tls_cert: [cert, key] shown in the TLS handshake (a renewal's
    # policy request proves the device by its current certificate).
    my $res = $o{tls_cert}
        ? $self->tls_ua($o{tls_cert})->post($url, 'Content-Type' => SOAP_CT,
                                            Content => $body)
        : $self->post_soap($url, $body);
    $self->{policy_response} = $res;
    if ($res->code == 200 and my $doc = xml_doc($res->content)) {
        my $x = policy_xpc($doc);
        my $attrs = '//p:GetPoliciesResponse/p:response/p:policies/p:policy'
                  . '/p:attributes';
        $self->{min_key_length} = xpath_text($x,
            "$attrs/p:privateKeyAttributes/p:minimalKeyLength");
        my $ref = xpath_text($x, "$attrs/p:hashAlgorithmOIDReference");
        if (defined $ref && $ref =~ /^\d+$/) {
            $self->{hash_oid} = xpath_text($x,
                "//p:GetPoliciesResponse/p:oIDs/p:oID[normalize-space("
                . "p:oIDReferenceID)='$ref']/p:value");
        }
    }
    return $res;
}

sub policy_xpc {
    my $doc = shift;
    my $x = xpc($doc);
    $x->registerNs(p => NS_XCEP);
    return $x;
}

sub message_id_of {
    my $body = shift;
    my $doc = xml_doc($body) or return undef;
    return xpath_text(xpc($doc), '/s:Envelope/s:Header/a:MessageID');
}

# --- MS-WSTEP -------------------------------------------------------------

# The AdditionalContext items Windows sends ([name, value] in its
# order); context => {Name => value, Name => [values], Name => undef}
# replaces or removes items, and adds new ones at the end.
sub context_items {
    my($self, $over) = @_;
    my $win81 = $self->{os} eq '8.1';
    my $ver = $win81 ? '6.3.9600.17031' : '10.0.22631.4460';
    my @items = $win81
        ? ([OSEdition => '48'], [OSVersion => $ver],
           [DeviceName => $self->{device_name}],
           (map { [MAC => $_] } @{ $self->{macs} }),
           [DeviceID => $self->{device_id}],
           [EnrollmentType => $self->{enrollment_type}],
           [DeviceType => 'CIMClient_Windows'],
           [ApplicationVersion => $ver])
        : ([UXInitiated => 'true'], [HWDevID => $self->{hw_dev_id}],
           [Locale => 'en-US'], [TargetedUserLoggedIn => 'true'],
           [OSEdition => '72'], [DeviceName => $self->{device_name}],
           (map { [MAC => $_] } @{ $self->{macs} }),
           [DeviceID => $self->{device_id}],
           [EnrollmentType => $self->{enrollment_type}],
           [DeviceType => 'CIMClient_Windows'], [OSVersion => $ver],
           [ApplicationVersion => $ver], [NotInOobe => 'false']);
    my %over = %{ $over || {} };
    my(@out, %done);
    for my $item (@items) {
        my $name = $item->[0];
        if (!exists $over{$name}) { push @out, $item; next }
        next if $done{$name}++;
        my $v = $over{$name};
        next unless defined $v;
        push @out, map { [$name => $_] } ref $v ? @$v : ($v);
    }
    for my $name (sort keys %over) {
        next if $done{$name} || !defined $over{$name};
        my $v = $over{$name};
        push @out, map { [$name => $_] } ref $v ? @$v : ($v);
    }
    return @out;
}

# A fresh key and PKCS#10 request, as the device makes for each
# enrollment. The subject is Windows-like (GUID!DeviceID, cut to the 64
# characters a CN may hold) and not the DeviceID alone, so a server that
# copied it into the certificate would show. Returns
# (key file, CSR file, CSR DER).
sub make_csr {
    my($self, %o) = @_;
    my $n = ++$ENROLL_COUNT;
    my $key = catfile($self->{tmp}, "key-$n.pem");
    my $csr = catfile($self->{tmp}, "csr-$n.der");
    my $bits = $o{bits} // 2048;
    my $digest = $o{digest} // 'sha256';
    openssl('req', '-new', '-newkey', "rsa:$bits", '-nodes', "-$digest",
            '-keyout', $key,
            '-subj', '/CN=' . substr(uc(uuid()) . '!' . $self->{device_id},
                                     0, 64),
            '-outform', 'DER', '-out', $csr);
    open my $fh, '<:raw', $csr or die "$csr: $!";
    local $/;
    my $der = <$fh>;
    close $fh;
    return ($key, $csr, $der);
}

# RequestSecurityToken with a fresh key and CSR (the key size and hash
# follow the policy, at least 2048 bits). Options: those of
# security_header; bits, digest; mangle_csr => sub { DER in, DER out };
# csr_b64 => the BinarySecurityToken text; context => see context_items;
# body => bytes to send as they are (a capture); path; before_send => a
# sub called when the request is ready to go, after the key and CSR are
# made (lets concurrent enrollments leave at the same moment). On success it
# decodes the provisioning document and keeps the certificates, the
# device certificate in a PEM file beside its key.
sub enroll {
    my($self, %o) = @_;
    for (qw(prov_xml prov_doc root_sha1 root_der cert_sha1 cert_der
            cert_file appsrv_secret appsrv_name appsrv_nonce key_file
            csr_file csr_der)) {
        delete $self->{$_};
    }
    my $body = $o{body};
    if (defined $body) {
        my $doc = xml_doc($body) or die "enroll: the body is not XML\n";
        my $x = xpc($doc);
        $x->registerNs(wsse => NS_WSSE);
        $x->registerNs(wst => NS_WST);
        my $b64 = xpath_text($x, '//wst:RequestSecurityToken/'
                                 . 'wsse:BinarySecurityToken');
        $self->{csr_der} = decode_base64($b64 // '');
        $self->{csr_file} = write_file(
            catfile($self->{tmp}, 'csr-capture-' . ++$ENROLL_COUNT . '.der'),
            $self->{csr_der});
    }
    else {
        my $min = $self->{min_key_length} // 0;
        my $bits = $o{bits} // ($min =~ /^\d+$/ && $min > 2048 ? $min : 2048);
        my $digest = $o{digest}
            // (($self->{hash_oid} // '') eq '1.3.14.3.2.29' ? 'sha1'
                                                             : 'sha256');
        my($key, $csr, $der) = $self->make_csr(bits => $bits,
                                               digest => $digest);
        $der = $o{mangle_csr}->($der) if $o{mangle_csr};
        @$self{qw(key_file csr_file csr_der)} = ($key, $csr, $der);
        my $b64 = $o{csr_b64} // encode_base64($der, '');
        my $context = join '', map {
            '<ac:ContextItem Name="' . xml_escape($_->[0]) . '"><ac:Value>'
            . xml_escape($_->[1]) . '</ac:Value></ac:ContextItem>'
        } $self->context_items($o{context});
        $body = $self->envelope(
            WSTEP_ACTION, 'urn:uuid:' . lc uuid(),
            PUBLIC_URL . $self->path('enroll'),
            $self->security_header(%o),
            '<s:Body><wst:RequestSecurityToken><wst:TokenType>' . TOKEN_TYPE
            . '</wst:TokenType><wst:RequestType>' . REQUEST_ISSUE
            . '</wst:RequestType><wsse:BinarySecurityToken ValueType="'
            . VT_PKCS10 . '" EncodingType="' . ENC_BASE64 . '">'
            . xml_escape($b64) . '</wsse:BinarySecurityToken>'
            . '<ac:AdditionalContext xmlns="http://schemas.xmlsoap.org/ws/'
            . '2006/12/authorization">' . $context . '</ac:AdditionalContext>'
            . '</wst:RequestSecurityToken></s:Body>');
    }
    $self->{message_id} = message_id_of($body);
    my $url = $self->{base} . ($o{path} // $self->path('enroll'));
    $o{before_send}->() if $o{before_send};
    my $res = $self->post_soap($url, $body);
    $self->{enroll_response} = $res;
    $self->read_provisioning($res) if $res->code == 200;
    return $res;
}

sub rstr_xpc {
    my $doc = shift;
    my $x = xpc($doc);
    $x->registerNs(wst => NS_WST);
    $x->registerNs(wsse => NS_WSSE);
    return $x;
}

use constant RSTR_BST => '/s:Envelope/s:Body/wst:RequestSecurityTokenResponseCollection'
    . '/wst:RequestSecurityTokenResponse/wst:RequestedSecurityToken'
    . '/wsse:BinarySecurityToken';

# Decodes the wap-provisioningdoc of a RequestSecurityTokenResponse and
# keeps the root and device certificates and the OMA-DM credentials.
sub read_provisioning {
    my($self, $res) = @_;
    my $doc = xml_doc($res->content) or return;
    my $b64 = xpath_text(rstr_xpc($doc), RSTR_BST) // return;
    my $xml = decode_base64($b64);
    $self->{prov_xml} = $xml;
    my $prov = xml_doc($xml) or return;
    $self->{prov_doc} = $prov;

    my($root) = $prov->findnodes(
        '/wap-provisioningdoc/characteristic[@type="CertificateStore"]'
        . '/characteristic[@type="Root"]/characteristic[@type="System"]'
        . '/characteristic');
    if ($root) {
        $self->{root_sha1} = $root->getAttribute('type');
        my $v = parm_of($root, 'EncodedCertificate');
        $self->{root_der} = decode_base64($v) if defined $v;
    }
    my($cert) = $self->my_store_nodes(
        'characteristic[@type!="PrivateKeyContainer"]');
    if ($cert) {
        $self->{cert_sha1} = $cert->getAttribute('type');
        my $v = parm_of($cert, 'EncodedCertificate');
        if (defined $v) {
            $self->{cert_der} = decode_base64($v);
            $self->{cert_file} = write_file(
                catfile($self->{tmp}, 'cert-' . $ENROLL_COUNT . '.pem'),
                der_to_pem($self->{cert_der}, 'CERTIFICATE'));
        }
    }
    my($appsrv) = $self->appauth('APPSRV');
    if ($appsrv) {
        $self->{appsrv_secret} = parm_of($appsrv, 'AAUTHSECRET');
        $self->{appsrv_name}   = parm_of($appsrv, 'AAUTHNAME');
        # The nonce of the first OMA-DM session (spec/syncml.md 7).
        $self->{appsrv_nonce}  = parm_of($appsrv, 'AAUTHDATA');
        $self->{dm_nonce}      = $self->{appsrv_nonce};
    }
}

# The value of a parm child of a characteristic node (undef when absent).
sub parm_of {
    my($node, $name) = @_;
    my($p) = $node->findnodes(qq{parm[\@name="$name"]});
    return $p ? $p->getAttribute('value') : undef;
}

# Nodes under CertificateStore/My/<User|System>: Microsoft's examples
# split the stores over several CertificateStore characteristics, the
# capture puts them in one; both are read.
sub my_store_nodes {
    my($self, $rel) = @_;
    return () unless $self->{prov_doc};
    return $self->{prov_doc}->findnodes(
        '/wap-provisioningdoc/characteristic[@type="CertificateStore"]'
        . '/characteristic[@type="My"]/characteristic[@type="'
        . $self->cert_store . "\"]/$rel");
}

# A node of the provisioning document by an XPath from the document root.
sub prov_nodes {
    my($self, $path) = @_;
    return () unless $self->{prov_doc};
    return $self->{prov_doc}->findnodes($path);
}

# The APPLICATION (w7) characteristic.
sub application {
    my $self = shift;
    my($app) = $self->prov_nodes('/wap-provisioningdoc/characteristic'
        . '[@type="APPLICATION"][parm[@name="APPID" and @value="w7"]]');
    return $app;
}

sub app_parm {
    my($self, $name) = @_;
    my $app = $self->application or return undef;
    return parm_of($app, $name);
}

# The APPAUTH characteristic of one AAUTHLEVEL (CLIENT or APPSRV).
sub appauth {
    my($self, $level) = @_;
    my $app = $self->application or return undef;
    my($node) = $app->findnodes('characteristic[@type="APPAUTH"]'
        . qq{[parm[\@name="AAUTHLEVEL" and \@value="$level"]]});
    return $node;
}

sub appauth_parm {
    my($self, $level, $name) = @_;
    my $node = $self->appauth($level) or return undef;
    return parm_of($node, $name);
}

# --- what the tests check ---------------------------------------------------

# Checks of a GetPoliciesResponse against the contract, as a list of
# [got, expected, name] for t_cmp; always XCEP_CHECKS of them, whatever
# the answer was.
use constant XCEP_CHECKS => 11;
sub policy_checks {
    my($self, $label) = @_;
    my $res = $self->{policy_response};
    my $doc = $res ? xml_doc($res->content) : undef;
    my $x = policy_xpc($doc || XML::LibXML::Document->new);
    my $r = '/s:Envelope/s:Body/p:GetPoliciesResponse';
    my $attrs = "$r/p:response/p:policies/p:policy/p:attributes";
    my $ref = xpath_text($x, "$attrs/p:hashAlgorithmOIDReference");
    my $oid = 'no hashAlgorithmOIDReference';
    if (defined $ref) {
        my($node) = $ref =~ /^\d+$/ ? $x->findnodes(
            "$r/p:oIDs/p:oID[normalize-space(p:oIDReferenceID)='$ref']") : ();
        $oid = "no oID with oIDReferenceID '$ref'";
        if ($node) {
            my $nx = policy_xpc($doc);
            $nx->setContextNode($node);
            $oid = (xpath_text($nx, 'p:value') // '') . ' group '
                 . (xpath_text($nx, 'p:group') // '');
        }
    }
    return (
        [$res ? $res->code : 0, 200, "$label: status"],
        [$res ? $res->header('Content-Type') // '' : '', SOAP_CT,
         "$label: Content-Type"],
        [content_length_check($res), 'ok', "$label: Content-Length, not chunked"],
        [xpath_text($x, '/s:Envelope/s:Header/a:Action'), XCEP_RESPONSE,
         "$label: a:Action"],
        [xpath_text($x, '/s:Envelope/s:Header/a:RelatesTo'),
         $self->{message_id}, "$label: a:RelatesTo is the MessageID"],
        [scalar(() = $x->findnodes($r)), 1, "$label: one GetPoliciesResponse"],
        [xpath_text($x, "$attrs/p:policySchema"), 3, "$label: policySchema"],
        [xpath_text($x, "$attrs/p:privateKeyAttributes/p:minimalKeyLength"),
         2048, "$label: minimalKeyLength"],
        [xpath_text($x, "$attrs/p:certificateValidity/p:validityPeriodSeconds"),
         365 * 86400, "$label: validityPeriodSeconds"],
        [xpath_text($x, "$attrs/p:certificateValidity/p:renewalPeriodSeconds"),
         42 * 86400, "$label: renewalPeriodSeconds"],
        [$oid, SHA256_OID . ' group 1',
         "$label: hashAlgorithmOIDReference names SHA-256 (group 1)"],
    );
}

# 'ok' when a response carries a Content-Length equal to its body and
# came neither chunked nor compressed (mod_deflate is on for everything
# in the test server, and Windows refuses chunked answers).
sub content_length_check {
    my $res = shift;
    return 'no response' unless $res;
    my $cl = $res->header('Content-Length');
    return 'no Content-Length' unless defined $cl;
    my $te = $res->header('Client-Transfer-Encoding')
          // $res->header('Transfer-Encoding') // '';
    return "Transfer-Encoding $te" if $te =~ /chunked/i;
    my $ce = $res->header('Content-Encoding') // '';
    return "Content-Encoding $ce" if length $ce && lc $ce ne 'identity';
    return $cl == length($res->content) ? 'ok'
        : "Content-Length $cl, body " . length($res->content);
}

# Checks of an enrollment against the contract: the RSTR, every item of
# the provisioning document, the certificate, and the device's row in
# the server's database. A list of [got, expected, name] for t_cmp;
# always ENROLL_CHECKS of them. Options: user (whose row it must be).
use constant ENROLL_CHECKS => 34;

# Windows 10/11 (MS-MDE2): the DMClient settings and the renewal period;
# four checks, as many as win81_checks.
sub dmclient_checks {
    my($self, $label, $id, $poll_node, $renew) = @_;
    my $provider = 'mod_winmdm';
    return (
        # MS-MDE2 2.2.9.3: the server MUST NOT set NumberOfFirstRetries
        # to 0; the remaining set repeats for ever at WinMDMPollInterval.
        [$poll_node ? parm_of($poll_node, 'NumberOfFirstRetries')
                    : "no DMClient/Provider/$provider/Poll",
         qr/^[1-9][0-9]*$/, "$label: Poll NumberOfFirstRetries is not 0"],
        [$poll_node ? join(' ', map { parm_of($poll_node, $_) // 'none' }
                               qw(NumberOfRemainingScheduledRetries
                                  IntervalForRemainingScheduledRetries))
                    : "no DMClient/Provider/$provider/Poll",
         '0 15', "$label: Poll remaining set: for ever, every 15 minutes"],
        # DMClient CSP: EntDMID must be set before the client renews.
        [$poll_node ? parm_of($poll_node->parentNode, 'EntDMID')
                    : "no DMClient/Provider/$provider",
         $id, "$label: DMClient EntDMID is the DeviceID"],
        [$renew ? parm_of($renew, 'RenewPeriod') : 'no My/WSTEP/Renew',
         42, "$label: WSTEP Renew RenewPeriod"],
    );
}

# Windows 8.1 (MS-MDE 3.6): no DMClient and no WSTEP/Renew; the Registry
# settings of MS-MDE's example in their place.
sub win81_checks {
    my($self, $label, $id) = @_;
    my $reg = '/wap-provisioningdoc/characteristic[@type="Registry"]'
            . '/characteristic[@type="%s"]';
    my($retry) = $self->prov_nodes(sprintf $reg,
        'HKLM\\Security\\MachineEnrollment\\OmaDmRetry');
    my($machine) = $self->prov_nodes(sprintf $reg,
        'HKLM\\SOFTWARE\\Windows\\CurrentVersion\\MDM\\MachineEnrollment');
    my $none = () = ($self->prov_nodes(
        '/wap-provisioningdoc/characteristic[@type="DMClient"] | '
        . '//characteristic[@type="WSTEP"]'));
    return (
        [$retry ? join(' ', map { parm_of($retry, $_) // 'none' }
                           qw(Aux2NumRetries Aux2RetryInterval))
                : 'no Registry OmaDmRetry',
         '0 15', "$label: OmaDmRetry remaining set: for ever, every 15 minutes"],
        [$retry ? parm_of($retry, 'NumRetries') : 'no Registry OmaDmRetry',
         qr/^[1-9][0-9]*$/, "$label: OmaDmRetry NumRetries is not 0"],
        [$machine ? parm_of($machine, 'SslClientCertSubjectName')
                  : 'no Registry MDM\\MachineEnrollment',
         "CN%3d$id", "$label: SslClientCertSubjectName names the DeviceID"],
        [$none, 0, "$label: no DMClient, no WSTEP/Renew (MS-MDE 3.6)"],
    );
}
sub enrollment_checks {
    my($self, $label, %o) = @_;
    my $res = $self->{enroll_response};
    my $doc = $res ? xml_doc($res->content) : undef;
    my $x = rstr_xpc($doc || XML::LibXML::Document->new);
    my($bst) = $x->findnodes(RSTR_BST);
    my $store = $self->cert_store;
    my $id = $self->{device_id};
    my $user = $o{user} // $self->{user};

    my $ca_der = ca_der();
    my $root_ok = !defined $self->{root_der} ? 'no root EncodedCertificate'
        : $self->{root_der} eq $ca_der ? 'the test CA'
        : 'another certificate';

    my $cert = $self->{cert_file};
    my($cn, $eku, $pub_ok, $verify) =
        ('no certificate') x 4;
    # What the server sent may not even be a certificate: openssl's
    # complaints become failed checks, not a dead test file.
    if ($cert) {
        my($rc, $subject) = run_cmd('openssl', 'x509', '-in', $cert, '-noout',
                                    '-subject', '-nameopt', 'RFC2253');
        ($cn) = $subject =~ /^subject=(?:.*,)?CN=([^,\n]*)/m;
        $cn //= "no CN in $subject";
        ($rc, my $ext) = run_cmd('openssl', 'x509', '-in', $cert, '-noout',
                                 '-ext', 'extendedKeyUsage');
        $eku = $ext =~ /TLS Web Client Authentication/ ? 'clientAuth'
             : "no clientAuth: $ext";
        ($rc, my $cert_pub) = run_cmd('openssl', 'x509', '-in', $cert,
                                      '-noout', '-pubkey');
        $cert_pub = "no key: $cert_pub" if $rc;
        ($rc, my $csr_pub) = run_cmd('openssl', 'req', '-inform', 'DER',
                                     '-in', $self->{csr_file} // '/nonexistent',
                                     '-noout', '-pubkey');
        $csr_pub = "no CSR key: $csr_pub" if $rc;
        $pub_ok = $cert_pub eq $csr_pub ? 'the CSR key'
                : $rc ? $csr_pub : 'another key';
        ($rc, $verify) = run_cmd('openssl', 'verify', '-CAfile', ca_file(),
                                 $cert);
        $verify =~ s/\s+$//;
        $verify = 'verified' if $rc == 0 && $verify =~ /: OK$/;
    }
    my $cert_sha1 = $self->{cert_der} ? uc sha1_hex($self->{cert_der})
                                      : 'no certificate';

    my($row) = db_rows($self->{server},
        'SELECT user_name, state, cert_sha1, digest_ha1 FROM devices '
        . 'WHERE device_id = ' . sql_quote($id));
    my @row = split /\|/, $row // 'no row', -1;
    my $secret = $self->{appsrv_secret};

    my $provider = 'mod_winmdm';
    my $poll = '/wap-provisioningdoc/characteristic[@type="DMClient"]'
             . '/characteristic[@type="Provider"]'
             . qq{/characteristic[\@type="$provider"]}
             . '/characteristic[@type="Poll"]';
    my($poll_node) = $self->prov_nodes($poll);
    my($renew) = $self->prov_nodes(
        '/wap-provisioningdoc/characteristic[@type="CertificateStore"]'
        . '/characteristic[@type="My"]/characteristic[@type="WSTEP"]'
        . '/characteristic[@type="Renew"]');
    my @roots = $self->prov_nodes(
        '/wap-provisioningdoc/characteristic[@type="CertificateStore"]'
        . '/characteristic[@type="Root"]/characteristic[@type="System"]'
        . '/characteristic');
    my $search = $self->app_parm('SSLCLIENTCERTSEARCHCRITERIA') // 'none';

    return (
        [$res ? $res->code : 0, 200, "$label: status"],
        [$res ? $res->header('Content-Type') // '' : '', SOAP_CT,
         "$label: Content-Type"],
        [content_length_check($res), 'ok', "$label: Content-Length, not chunked"],
        [xpath_text($x, '/s:Envelope/s:Header/a:Action'), WSTEP_RESPONSE,
         "$label: a:Action"],
        [xpath_text($x, '/s:Envelope/s:Header/a:RelatesTo'),
         $self->{message_id}, "$label: a:RelatesTo is the MessageID"],
        [$bst ? $bst->getAttribute('ValueType') : 'no BinarySecurityToken',
         VT_PROVDOC, "$label: BinarySecurityToken ValueType"],
        [$self->{prov_doc} ? $self->{prov_doc}->documentElement->nodeName
                           : 'not XML',
         'wap-provisioningdoc', "$label: the token is a wap-provisioningdoc"],
        [scalar(@roots) . ' ' . ($self->{root_sha1} // 'none'),
         '1 ' . uc sha1_hex($ca_der),
         "$label: Root/System holds one certificate, named by its SHA-1"],
        [$root_ok, 'the test CA', "$label: Root/System is the test CA"],
        [$self->{cert_sha1} // "no My/$store certificate", $cert_sha1,
         "$label: My/$store certificate named by its SHA-1"],
        [scalar(() = $self->my_store_nodes(
             'characteristic[@type="PrivateKeyContainer"]')),
         1, "$label: My/$store PrivateKeyContainer"],
        [$cn, $id, "$label: certificate CN is the DeviceID"],
        [$eku, 'clientAuth', "$label: certificate EKU clientAuth"],
        [$pub_ok, 'the CSR key', "$label: certificate key is the CSR's"],
        [$verify, 'verified', "$label: certificate verifies against the CA"],
        [$self->app_parm('PROVIDER-ID'), $provider, "$label: PROVIDER-ID"],
        [$self->app_parm('ADDR'), $self->management_url, "$label: ADDR"],
        [$self->app_parm('DEFAULTENCODING'), 'application/vnd.syncml.dm+xml',
         "$label: DEFAULTENCODING"],
        [$search, qr/(?:^|&)Stores=My%5C$store(?:&|$)/i,
         "$label: SSLCLIENTCERTSEARCHCRITERIA store My\\$store"],
        [$self->appauth_parm('CLIENT', 'AAUTHTYPE'), 'DIGEST',
         "$label: APPAUTH CLIENT DIGEST"],
        [$self->appauth_parm('APPSRV', 'AAUTHTYPE'), 'DIGEST',
         "$label: APPAUTH APPSRV DIGEST"],
        [$self->{appsrv_name}, $id, "$label: APPSRV AAUTHNAME is the DeviceID"],
        [$secret, qr/\S/, "$label: APPSRV AAUTHSECRET not empty"],
        $self->{os} eq '8.1' ? $self->win81_checks($label, $id)
                             : $self->dmclient_checks($label, $id, $poll_node,
                                                      $renew),
        [$row[0], $user, "$label: device row user"],
        [$row[1] // 'no row', 'enrolled', "$label: device row state"],
        [uc($row[2] // 'no row'), $cert_sha1, "$label: device row cert_sha1"],
        [lc($row[3] // 'no row'),
         defined $secret ? md5_hex("$id:$secret") : 'no secret',
         "$label: device row digest_ha1 is MD5(DeviceID:secret)"],
        [$self->secret_in_database, 'absent',
         "$label: the APPSRV secret is not in the database"],
        [$self->app_parm('APPID'), 'w7', "$label: APPLICATION APPID"],
        [scalar(() = $self->prov_nodes(
             '/wap-provisioningdoc/characteristic[@type="APPLICATION"]'
             . '/characteristic[@type="APPAUTH"]')),
         2, "$label: two APPAUTH"],
    );
}

# 'absent' when the APPSRV secret is nowhere in the server's database:
# not in any table (sqlite3 .dump) and not in the bytes of the files
# (the database, its write-ahead log).
sub secret_in_database {
    my $self = shift;
    my $secret = $self->{appsrv_secret};
    return 'no secret' unless defined $secret && length $secret;
    my $dump = join "\n", db_rows($self->{server}, '.dump');
    return 'in the .dump' if index($dump, $secret) >= 0;
    my $file = db_file($self->{server});
    for my $f ($file, "$file-wal", "$file-journal") {
        next unless -e $f;
        open my $fh, '<:raw', $f or return "cannot read $f: $!";
        local $/;
        my $bytes = <$fh>;
        close $fh;
        return "in $f" if index($bytes, $secret) >= 0;
    }
    return 'absent';
}

# --- OMA-DM sessions (spec/syncml.md sections 2 to 7) ----------------------
#
#   $dev->dm_begin(auth => 'digest');       # a new SessionID, MsgID 0
#   my $r = $dev->dm_send(cmds => [$dev->dm_package1_cmds]);
#   $r = $dev->dm_answer(status => sub { 200 }, results => {...});
#   my @replies = $dev->dm_session;         # package 1, then answers
#
# Each message is authenticated on its own (DESIGN.md section 1): with
# auth 'digest' the SyncHdr carries an MD5 Cred over the current nonce
# (the APPSRV AAUTHDATA of the provisioning document until a reply's
# Chal names the next one), with 'cert' the request goes over TLS with
# the certificate enrollment gave, with 'none' it carries neither. A
# reply is parsed into a hash ref (see dm_parse).

use constant SYNCML_CT   => 'application/vnd.syncml.dm+xml';
use constant NS_METINF   => 'syncml:metinf';
use constant VT_PKCS7    => NS_WSSE . '#PKCS7';
use constant VT_PKCS7_ENROLL => NS_ENROLL . '#PKCS7';
use constant REQUEST_RENEW => NS_WST . '/Renew';

my $SESSION_COUNT = int(rand 4096) * 16;

# The OMA-DM path the provisioning document gives this device (its
# WSO2 MDM endpoint path for the 'api' family), with the query string
# Windows 10/11 adds.
sub dm_path {
    my $self = shift;
    my $win81 = $self->{os} eq '8.1';
    if ($self->{path_family} eq 'api') {
        my $svc = $self->{services} ? '/services' : '';
        return API . $svc . ($win81 ? '/syncml/devicemanagement/request'
                                    : '/management/devicemgt/pending-operations');
    }
    return $win81 ? '/syncml/initialquery'
                  : '/devicemgt?mode=Maintenance&Platform=WoA';
}

# The server URL a reply must name as its SyncHdr Source: the public
# base URL and the path the message went to, without the query.
sub dm_server_uri {
    my($self, $path) = @_;
    $path //= $self->dm_path;
    $path =~ s/\?.*//s;
    return PUBLIC_URL . $path;
}

sub dm_session_id { $_[0]{dm_session} }
sub dm_msg_id     { $_[0]{dm_msg_id} }
sub dm_nonce      { $_[0]{dm_nonce} }
sub dm_reply      { $_[0]{dm_reply} }
sub set_dm_nonce  { $_[0]{dm_nonce} = $_[1] }

# Starts a session: a SessionID never used before (hex, as Windows sends
# it), MsgID counting from 1 again. Options: session_id, auth
# ('digest', 'cert' or 'none'; default: the previous one, else digest).
sub dm_begin {
    my($self, %o) = @_;
    $self->{dm_session} = $o{session_id} // sprintf('%X', ++$SESSION_COUNT);
    $self->{dm_msg_id} = 0;
    $self->{dm_auth} = $o{auth} if defined $o{auth};
    $self->{dm_auth} //= 'digest';
    delete $self->{dm_reply};
    return $self->{dm_session};
}

# The OMA-DM MD5 digest (spec/syncml.md 7):
# b64(md5(b64(md5(name:secret)) . ":" . nonce bytes)).
sub dm_digest {
    my($self, $nonce_b64, %o) = @_;
    my $name = $o{name} // $self->{device_id};
    my $secret = $o{secret} // $self->{appsrv_secret} // '';
    my $inner = encode_base64(md5("$name:$secret"), '');
    return encode_base64(md5($inner . ':' . decode_base64($nonce_b64 // '')),
                         '');
}

# Package 1 as Windows sends it (spec/syncml.md 5.2): Alert 1201, Alert
# 1224 LoginStatus, Replace of DevInfo. Options: login_status, devinfo
# (hash ref replacing some DevInfo values).
sub dm_package1_cmds {
    my($self, %o) = @_;
    my %info = (DevId => $self->{device_id}, Man => 'Emulated Devices Ltd.',
                Mod => 'Emulator 1', DmV => '1.3', Lang => 'en-US',
                %{ $o{devinfo} || {} });
    return (
        '<Alert><CmdID>*</CmdID><Data>1201</Data></Alert>',
        '<Alert><CmdID>*</CmdID><Data>1224</Data><Item><Meta><Type xmlns="'
        . NS_METINF . '">com.microsoft/MDM/LoginStatus</Type></Meta><Data>'
        . xml_escape($o{login_status} // 'user') . '</Data></Item></Alert>',
        '<Replace><CmdID>*</CmdID>' . join('', map {
            "<Item><Source><LocURI>./DevInfo/$_</LocURI></Source><Data>"
            . xml_escape($info{$_}) . '</Data></Item>'
        } qw(DevId Man Mod DmV Lang)) . '</Replace>',
    );
}

# The Cred element of a digest message.
sub dm_cred {
    my($self, $data, %o) = @_;
    return '<Cred><Meta><Format xmlns="' . NS_METINF . '">'
        . ($o{cred_format} // 'b64') . '</Format><Type xmlns="' . NS_METINF
        . '">' . ($o{cred_type} // 'syncml:auth-md5') . '</Type></Meta><Data>'
        . xml_escape($data) . '</Data></Cred>';
}

# A device message. Options: cmds (XML of the commands; each
# "<CmdID>*</CmdID>" is numbered in order from 2, CmdID 1 being the
# device's SyncHdr Status by custom), final (default 1), session_id,
# msg_id, source (the DeviceID claimed), auth, nonce (digest over this
# nonce instead of the current one), cred_data (a Cred with this Data),
# cred_type, max_msg_size (SyncHdr Meta MaxMsgSize), loc_name,
# first_cmd_id (1 in an answer, whose first Status is the SyncHdr's).
sub dm_message {
    my($self, %o) = @_;
    my $auth = exists $o{auth} ? $o{auth} // 'none' : $self->{dm_auth};
    my $cred = '';
    if (defined $o{cred_data}) {
        $cred = $self->dm_cred($o{cred_data}, %o);
    }
    elsif (($auth // 'none') eq 'digest') {
        $cred = $self->dm_cred(
            $self->dm_digest(exists $o{nonce} ? $o{nonce} : $self->{dm_nonce}),
            %o);
    }
    my $meta = defined $o{max_msg_size}
        ? '<Meta><MaxMsgSize xmlns="' . NS_METINF . '">' . $o{max_msg_size}
          . '</MaxMsgSize></Meta>'
        : '';
    my $n = $o{first_cmd_id} // 2;
    my $cmds = join '', @{ $o{cmds} || [] };
    $cmds =~ s{<CmdID>\*</CmdID>}{'<CmdID>' . $n++ . '</CmdID>'}ge;
    my $loc_name = defined $o{loc_name}
        ? '<LocName>' . xml_escape($o{loc_name}) . '</LocName>' : '';
    return '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD>'
        . '<VerProto>DM/1.2</VerProto><SessionID>'
        . xml_escape($o{session_id} // $self->{dm_session}) . '</SessionID>'
        . '<MsgID>' . xml_escape($o{msg_id} // $self->{dm_msg_id})
        . '</MsgID><Target><LocURI>' . xml_escape($self->dm_server_uri)
        . '</LocURI></Target><Source><LocURI>'
        . xml_escape($o{source} // $self->{device_id}) . '</LocURI>'
        . $loc_name . '</Source>' . $cred . $meta . '</SyncHdr><SyncBody>'
        . $cmds . (($o{final} // 1) ? '<Final/>' : '') . '</SyncBody></SyncML>';
}

# A user agent for OMA-DM and renewal: over TLS it presents a client
# certificate when given one ([cert file, key file]).
sub tls_ua {
    my($self, $cert) = @_;
    my %ssl = (SSL_ca_file => ca_file(), verify_hostname => 1);
    if ($cert) {
        $ssl{SSL_cert_file} = $cert->[0];
        $ssl{SSL_key_file}  = $cert->[1];
    }
    return LWP::UserAgent->new(agent => 'MSFT OMA DM Client/1.2.0.1',
                               timeout => 60, max_redirect => 0,
                               keep_alive => 0, ssl_opts => \%ssl);
}

# Sends one message and parses the reply. The next MsgID of the session
# is used unless msg_id or body (bytes sent as they are) is given.
# Options: those of dm_message, plus body, path, content_type, cert
# ([cert, key] presented in the TLS handshake; default: the device's
# own with auth 'cert'), keep_nonce (do not take the reply's NextNonce).
# A NextNonce in the reply's SyncHdr Status becomes the current nonce,
# as the device keeps it for its next session.
sub dm_send {
    my($self, %o) = @_;
    my $body = $o{body};
    unless (defined $body) {
        $self->{dm_msg_id}++ unless defined $o{msg_id};
        $body = $self->dm_message(%o);
    }
    my $auth = exists $o{auth} ? $o{auth} // 'none' : $self->{dm_auth} // '';
    my $cert = exists $o{cert} ? $o{cert}
             : $auth eq 'cert' ? [$self->{cert_file}, $self->{key_file}]
             : undef;
    my $path = $o{path} // $self->dm_path;
    my $res = $self->tls_ua($cert)->post(
        $self->{base} . $path,
        'Content-Type' => $o{content_type} // SYNCML_CT,
        Accept => 'application/vnd.syncml.dm+xml, '
                . 'application/vnd.syncml.dm+wbxml, application/octet-stream',
        Content => $body);
    my $r = dm_parse($res);
    $r->{sent} = $body;
    $self->{dm_reply} = $r;
    $self->{dm_nonce} = $r->{next_nonce}
        if defined $r->{next_nonce} && !$o{keep_nonce};
    return $r;
}

sub dm_xpc {
    my $doc = shift;
    my $x = xpc($doc);
    $x->registerNs(mi => NS_METINF);
    return $x;
}

sub dm_text {
    my($node, $name) = @_;
    my($c) = grep { $_->localname eq $name } $node->nonBlankChildNodes;
    return undef unless $c;
    my $t = $c->textContent;
    return $t;
}

sub dm_elements { grep { $_->nodeType == XML_ELEMENT_NODE } $_[0]->childNodes }

sub dm_item {
    my $n = shift;
    my $x = dm_xpc($n->ownerDocument);
    $x->setContextNode($n);
    return {
        target    => xpath_text($x, 'm:Target/m:LocURI'),
        source    => xpath_text($x, 'm:Source/m:LocURI'),
        format    => xpath_text($x, 'm:Meta/mi:Format'),
        type      => xpath_text($x, 'm:Meta/mi:Type'),
        data      => dm_text($n, 'Data'),
        # Data's element children as markup ('' when it holds text only)
        data_xml  => join('', map { $_->toString }
                              grep { $_->nodeType == XML_ELEMENT_NODE }
                              map { $_->childNodes }
                              grep { $_->localname eq 'Data' }
                              $n->nonBlankChildNodes),
        more_data => scalar(() = $x->findnodes('m:MoreData')),
    };
}

sub dm_command {
    my $n = shift;
    my $name = $n->localname;
    my $c = {
        name     => $name,
        ns       => $n->namespaceURI // '',
        cmd_id   => dm_text($n, 'CmdID'),
        data     => dm_text($n, 'Data'),
        items    => [map { dm_item($_) }
                     grep { $_->localname eq 'Item' } dm_elements($n)],
        children => [],
        node     => $n,
    };
    if ($name eq 'Atomic' || $name eq 'Sequence') {
        $c->{children} = [map { dm_command($_) } grep {
            $_->localname !~ /^(?:CmdID|Meta|Item)$/ } dm_elements($n)];
    }
    return $c;
}

# Parses a reply into a hash ref: code, body, res, doc, xpc, session_id,
# msg_id, target, source (SyncHdr), body_names (local names of the
# SyncBody children in order), statuses (hash refs cmd_id, msg_ref,
# cmd_ref, cmd, data, chal, next_nonce, chal_format, chal_type),
# hdr_status (the first Status's Data when it is about the SyncHdr),
# next_nonce, commands (everything but Status and Final: name, cmd_id,
# data, items, children), final.
sub dm_parse {
    my $res = shift;
    my $r = {res => $res, code => $res->code, body => $res->content,
             statuses => [], commands => [], body_names => [], final => 0};
    my $doc = xml_doc($res->content) or return $r;
    my $x = dm_xpc($doc);
    @$r{qw(doc xpc)} = ($doc, $x);
    my $h = '/m:SyncML/m:SyncHdr';
    $r->{session_id} = xpath_text($x, "$h/m:SessionID");
    $r->{msg_id}     = xpath_text($x, "$h/m:MsgID");
    $r->{target}     = xpath_text($x, "$h/m:Target/m:LocURI");
    $r->{source}     = xpath_text($x, "$h/m:Source/m:LocURI");
    my($body) = $x->findnodes('/m:SyncML/m:SyncBody');
    return $r unless $body;
    for my $n (dm_elements($body)) {
        my $name = $n->localname;
        push @{ $r->{body_names} }, $name;
        if ($name eq 'Final') {
            $r->{final} = 1;
        }
        elsif ($name eq 'Status') {
            my $nx = dm_xpc($doc);
            $nx->setContextNode($n);
            push @{ $r->{statuses} }, {
                cmd_id      => dm_text($n, 'CmdID'),
                msg_ref     => dm_text($n, 'MsgRef'),
                cmd_ref     => dm_text($n, 'CmdRef'),
                cmd         => dm_text($n, 'Cmd'),
                data        => dm_text($n, 'Data'),
                chal        => scalar(() = $nx->findnodes('m:Chal')),
                chal_format => xpath_text($nx, 'm:Chal/m:Meta/mi:Format'),
                chal_type   => xpath_text($nx, 'm:Chal/m:Meta/mi:Type'),
                next_nonce  => xpath_text($nx, 'm:Chal/m:Meta/mi:NextNonce'),
            };
        }
        else {
            push @{ $r->{commands} }, dm_command($n);
        }
    }
    my $first = $r->{statuses}[0];
    if ($first && ($first->{cmd} // '') eq 'SyncHdr') {
        $r->{hdr_status} = $first->{data};
        $r->{next_nonce} = $first->{next_nonce};
    }
    return $r;
}

# The Status of a reply answering a CmdRef, or undef.
sub dm_status_for {
    my($r, $cmd_ref) = @_;
    my($s) = grep { ($_->{cmd_ref} // '') eq $cmd_ref } @{ $r->{statuses} };
    return $s;
}

# "CmdID:name" of a reply's commands, nested ones in brackets, for
# comparing the whole list at once: "12:Get 13:Atomic[13.2:Replace]".
sub dm_command_list {
    my $r = shift;
    my $fmt;
    $fmt = sub {
        join ' ', map {
            ($_->{cmd_id} // '-') . ':' . $_->{name}
            . (@{ $_->{children} } ? '[' . $fmt->(@{ $_->{children} }) . ']'
                                   : '')
        } @_;
    };
    return $fmt->(@{ $r->{commands} });
}

# The answer to the last reply's commands (spec/syncml.md 9 C): a Status
# for its SyncHdr and for each command (status: a code, or a sub given
# the command and returning one; default 200), then Results for every
# Get answered 200 (results: a sub given the command and an item and
# returning the data, or undef for none; default "value of URI").
# nested: statuses for the commands inside Atomic and Sequence too.
sub dm_answer_cmds {
    my($self, %o) = @_;
    my $reply = $o{reply} // $self->{dm_reply} // {};
    my $ref = $reply->{msg_id} // '1';
    my @status = ('<Status><CmdID>*</CmdID><MsgRef>' . xml_escape($ref)
        . '</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data>'
        . '</Status>');
    my @results;
    my $code_of = ref $o{status} eq 'CODE' ? $o{status}
                : sub { $o{status} // 200 };
    my $data_of = $o{results} // sub { 'value of ' . ($_[1]{target} // '') };
    my $walk;
    $walk = sub {
        for my $c (@_) {
            my $code = $code_of->($c);
            next unless defined $code;
            push @status, '<Status><CmdID>*</CmdID><MsgRef>' . xml_escape($ref)
                . '</MsgRef><CmdRef>' . xml_escape($c->{cmd_id} // '')
                . '</CmdRef><Cmd>' . $c->{name} . '</Cmd><Data>' . $code
                . '</Data></Status>';
            if ($c->{name} eq 'Get' && $code == 200) {
                my @items = map {
                    my $d = $data_of->($c, $_);
                    defined $d
                        ? '<Item><Source><LocURI>' . xml_escape($_->{target})
                          . '</LocURI></Source><Meta><Format xmlns="'
                          . NS_METINF . '">chr</Format></Meta><Data>'
                          . xml_escape($d) . '</Data></Item>'
                        : ();
                } @{ $c->{items} };
                push @results, '<Results><CmdID>*</CmdID><MsgRef>'
                    . xml_escape($ref) . '</MsgRef><CmdRef>'
                    . xml_escape($c->{cmd_id} // '') . '</CmdRef><Cmd>Get</Cmd>'
                    . join('', @items) . '</Results>' if @items;
            }
            $walk->(@{ $c->{children} }) if $o{nested};
        }
    };
    $walk->(@{ $reply->{commands} || [] });
    return (@status, @results);
}

# The answer of a device that keeps the values of its nodes in
# $self->{nodes} (a hash LocURI => value): Add and Replace set them, Delete
# removes them (404 when absent), Get reports them (a Results of the
# nodes it has; 404 when it has none), Exec succeeds. An Atomic is all or
# nothing (MS-MDM 2.2.7.1): when one of its commands is refused, the
# Atomic gets 507, the refused command its code, the others 216 (rolled
# back), and no value changes. Options: refuse (sub { uri } returning a
# status code to refuse a write with, or undef). The statuses and results
# of nested commands are sent too, as Windows does.
sub dm_device_cmds {
    my($self, %o) = @_;
    my $reply = $o{reply} // $self->{dm_reply} // {};
    my $ref = xml_escape($reply->{msg_id} // '1');
    my $nodes = $self->{nodes} //= {};
    my(@status, @results);
    my $status = sub {
        my($c, $code) = @_;
        push @status, "<Status><CmdID>*</CmdID><MsgRef>$ref</MsgRef><CmdRef>"
            . xml_escape($c->{cmd_id} // '') . "</CmdRef><Cmd>$c->{name}"
            . "</Cmd><Data>$code</Data></Status>";
    };
    my $refuse = $o{refuse} // sub { undef };
    # The code a write would get, without doing it.
    my $check = sub {
        my $c = shift;
        for my $it (@{ $c->{items} }) {
            my $code = $refuse->($it->{target});
            return $code if defined $code;
            return 404 if $c->{name} eq 'Delete'
                          && !exists $nodes->{ $it->{target} };
        }
        return 200;
    };
    my $apply = sub {
        my $c = shift;
        for my $it (@{ $c->{items} }) {
            if ($c->{name} eq 'Delete') {
                delete $nodes->{ $it->{target} };
            }
            elsif ($c->{name} eq 'Add' || $c->{name} eq 'Replace') {
                $nodes->{ $it->{target} } =
                    length($it->{data_xml} // '') ? $it->{data_xml}
                                                  : $it->{data} // '';
            }
        }
    };
    my $one;
    $one = sub {
        my $c = shift;
        if ($c->{name} eq 'Atomic') {
            my @kids = @{ $c->{children} };
            my @codes = map { $check->($_) } @kids;
            if (grep { $_ >= 300 } @codes) {
                $status->($c, 507);
                $status->($kids[$_], $codes[$_] >= 300 ? $codes[$_] : 216)
                    for 0 .. $#kids;
                return;
            }
            $status->($c, 200);
            for (@kids) { $one->($_) }
            return;
        }
        if ($c->{name} eq 'Get') {
            my @have = grep { exists $nodes->{ $_->{target} } } @{ $c->{items} };
            $status->($c, @have ? 200 : 404);
            push @results, "<Results><CmdID>*</CmdID><MsgRef>$ref</MsgRef>"
                . '<CmdRef>' . xml_escape($c->{cmd_id} // '') . '</CmdRef>'
                . '<Cmd>Get</Cmd>' . join('', map {
                      '<Item><Source><LocURI>' . xml_escape($_->{target})
                      . '</LocURI></Source><Data>'
                      . xml_escape($nodes->{ $_->{target} }) . '</Data></Item>'
                  } @have) . '</Results>' if @have;
            return;
        }
        my $code = $c->{name} eq 'Exec' ? 200 : $check->($c);
        $apply->($c) if $code < 300;
        $status->($c, $code);
    };
    $one->($_) for @{ $reply->{commands} || [] };
    return ("<Status><CmdID>*</CmdID><MsgRef>$ref</MsgRef><CmdRef>0</CmdRef>"
            . '<Cmd>SyncHdr</Cmd><Data>200</Data></Status>', @status, @results);
}

# A whole session of that device (dm_session answering with
# dm_device_cmds).
sub dm_device_session {
    my($self, %o) = @_;
    return $self->dm_session(%o, answer => sub { $self->dm_device_cmds(%o) });
}

# Sends the answer to the last reply (options: those of dm_answer_cmds
# and dm_send; extra => [more commands after the answers]).
sub dm_answer {
    my($self, %o) = @_;
    return $self->dm_send(first_cmd_id => 1, %o,
                          cmds => [$self->dm_answer_cmds(%o),
                                       @{ $o{extra} || [] }]);
}

# A whole session: package 1, then an answer to every reply that holds
# commands (at most 20). Returns the replies. Options: those of
# dm_begin, dm_package1_cmds, dm_answer and dm_send, and answer (a sub
# giving the answer's commands instead of dm_answer_cmds).
sub dm_session {
    my($self, %o) = @_;
    $self->dm_begin(%o);
    my @replies = ($self->dm_send(%o, cmds => [$self->dm_package1_cmds(%o)]));
    my $n = 0;
    while (@{ $replies[-1]{commands} } && $replies[-1]{code} == 200
           && $n++ < 20) {
        push @replies, $o{answer}
            ? $self->dm_send(first_cmd_id => 1, %o, cmds => [$o{answer}->()])
            : $self->dm_answer(%o);
    }
    return @replies;
}

# --- certificate renewal (MS-MDE2 3.5, spec/enrollment.md 5.5) ------------

# RequestSecurityToken with RequestType Renew and a fresh key and CSR.
# Options: proof ('tls': the current certificate in the TLS handshake;
# 'pkcs7': the CSR in a PKCS#7 SignedData signed by the current
# certificate; 'none'), tls_cert / signer ([cert, key] used instead of
# the current ones), security (a wsse:Security content; default none),
# context (as context_items; default: DeviceID only). On success the
# device keeps the new certificate and key; old_certs lists the
# previous [cert, key] pairs.
sub renew {
    my($self, %o) = @_;
    my $proof = $o{proof} // 'tls';
    my $current = [$self->{cert_file}, $self->{key_file}];
    my($key, $csr, $der) = $self->make_csr;
    my($token, $vt) = ($der, VT_PKCS10);
    # 'windows': what Windows 10/11 send (MS-MDE2 3.5.4.1.1.1): a PKCS#7
    # the current certificate signed, ValueType of the enrollment
    # namespace, over TLS with that certificate.
    if ($proof eq 'pkcs7' || $proof eq 'windows') {
        my $signer = $o{signer} // $current;
        my $p7 = catfile($self->{tmp}, 'renew-' . $ENROLL_COUNT . '.p7');
        openssl('cms', '-sign', '-nodetach', '-binary', '-outform', 'DER',
                '-signer', $signer->[0], '-inkey', $signer->[1],
                '-in', $csr, '-out', $p7);
        open my $fh, '<:raw', $p7 or die "$p7: $!";
        local $/;
        $token = <$fh>;
        close $fh;
        $vt = ($o{pkcs7_vt} // 'enroll') eq 'wsse' ? VT_PKCS7 : VT_PKCS7_ENROLL;
    }
    my %ctx = %{ $o{context} || {DeviceID => $self->{device_id}} };
    my $context = join '', map {
        '<ac:ContextItem Name="' . xml_escape($_) . '"><ac:Value>'
        . xml_escape($ctx{$_}) . '</ac:Value></ac:ContextItem>'
    } sort keys %ctx;
    my $security = defined $o{security}
        ? qq{<wsse:Security s:mustUnderstand="1">$o{security}</wsse:Security>}
        : '';
    my $mid = 'urn:uuid:' . lc uuid();
    my $body = $self->envelope(
        WSTEP_ACTION, $mid, PUBLIC_URL . $self->path('enroll'), $security,
        '<s:Body><wst:RequestSecurityToken><wst:TokenType>' . TOKEN_TYPE
        . '</wst:TokenType><wst:RequestType>' . REQUEST_RENEW
        . '</wst:RequestType><wsse:BinarySecurityToken ValueType="' . $vt
        . '" EncodingType="' . ENC_BASE64 . '">' . encode_base64($token, '')
        . '</wsse:BinarySecurityToken><ac:AdditionalContext xmlns="'
        . 'http://schemas.xmlsoap.org/ws/2006/12/authorization">' . $context
        . '</ac:AdditionalContext></wst:RequestSecurityToken></s:Body>');
    $self->{message_id} = $mid;
    my $cert = ($proof eq 'tls' || $proof eq 'windows')
        ? ($o{tls_cert} // $current) : undef;
    my $res = $self->tls_ua($cert)->post(
        $self->{base} . $self->path('enroll'), 'Content-Type' => SOAP_CT,
        Content => $body);
    $self->{renew_response} = $res;
    if ($res->code == 200) {
        push @{ $self->{old_certs} }, $current;
        delete @$self{qw(prov_xml prov_doc cert_sha1 cert_der cert_file)};
        @$self{qw(key_file csr_file csr_der)} = ($key, $csr, $der);
        $self->read_provisioning($res);
    }
    return $res;
}

sub old_certs      { @{ $_[0]{old_certs} || [] } }
sub renew_response { $_[0]{renew_response} }

1;
