# Federated enrollment on the default server (spec/enrollment.md
# sections 3 to 5, DESIGN.md sections 1 and 5): the sign-in page the
# web authentication broker opens (its form, the refusal of an appru
# that is not ms-app:, a wrong password), then whole enrollments of
# emulated devices: Windows 10/11 through the device-facing paths and
# through the MDM endpoint paths (with and without services/, user and
# device context), and Windows 8.1 through both. Every enrollment is
# checked item by item: the policy answer, the provisioning document,
# the issued certificate and the device's row in the database.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use LWP::UserAgent ();
use URI ();
use URI::Escape qw(uri_escape);

use WinMDMTest qw(:all);
use WinMDMDevice qw(APPRU);

my @LOGIN_PATHS = ('/emm/enrollments/windows/login-agent',
                   '/windows-web-agent',
                   '/windows-web-agent/enrollments/windows/login-agent');

# [label, new() options]: every enrollment path of DESIGN.md section 1
# for a Federated device.
my @DEVICES = (
    ['Windows 10, device paths, Full',
     {os => '10', path_family => 'device'}],
    ['Windows 10, MDM paths with services/, Device',
     {os => '10', path_family => 'api', services => 1,
      enrollment_type => 'Device',
      user => 'other@example.test', password => 'other-password'}],
    ['Windows 10, MDM paths without services/, Full',
     {os => '10', path_family => 'api', services => 0}],
    ['Windows 8.1, device paths, Full',
     {os => '8.1', path_family => 'device'}],
    ['Windows 8.1, MDM paths without services/, Full',
     {os => '8.1', path_family => 'api', services => 0}],
);

# The plan is a number (scripts/apache-test.sh adds the plans up); this
# keeps it honest.
my $count = 6 * @LOGIN_PATHS + 2 + 2 + 3 + 3 + 5 + 6 + 1
          + @DEVICES * (2 + 1 + WinMDMDevice::XCEP_CHECKS
                        + WinMDMDevice::ENROLL_CHECKS)
          + WinMDMDevice::XCEP_CHECKS + 1;
die "plan says 292 tests, the lists make $count\n" unless $count == 292;

plan tests => 292, need_module('dbd');

my $BASE = server_url('default');
my $ua = LWP::UserAgent->new(max_redirect => 0, keep_alive => 0,
                             timeout => 60);
my $HTML_CT = qr{^text/html;\s*charset=utf-8$}i;
my $EVIL = 'https://evil.example/';

sub page_url {
    my($path, %q) = @_;
    return "$BASE$path?" . join '&',
        map { "$_=" . uri_escape($q{$_}) } sort keys %q;
}

# Forms of a page whose action leads anywhere but $path on this server,
# as "METHOD action" strings.
sub forms_elsewhere {
    my($res, $path) = @_;
    my $doc = html_doc($res->content) or return ();
    my $page = $res->request ? $res->request->uri : "$BASE$path";
    my @away;
    for my $form ($doc->findnodes('//form')) {
        my $action = $form->getAttribute('action') // '';
        my $to = URI->new_abs($action, $page);
        push @away, 'form to ' . ($action eq '' ? '(empty)' : $action)
            unless $to->scheme =~ /^https?$/
                && $to->host_port eq URI->new($BASE)->host_port
                && $to->path eq $path;
    }
    return @away;
}

# "method action" of the first form holding an input of that name.
sub form_of {
    my($doc, $input) = @_;
    my($form) = $doc ? $doc->findnodes(qq{//form[.//input[\@name="$input"]]})
                     : ();
    return 'no form with an input named ' . $input unless $form;
    return lc($form->getAttribute('method') // 'get') . ' '
         . ($form->getAttribute('action') // '(no action)');
}

sub input_attr {
    my($doc, $name, $attr) = @_;
    my($input) = $doc ? $doc->findnodes(qq{//input[\@name="$name"]}) : ();
    return "no input $name" unless $input;
    return $input->getAttribute($attr) // "no $attr";
}

sub post_form {
    my($path, @fields) = @_;
    return $ua->post("$BASE$path", \@fields);
}

# --- the sign-in page: GET ------------------------------------------------

for my $path (@LOGIN_PATHS) {
    my $res = $ua->get(page_url($path, appru => APPRU,
                                login_hint => 'demo@example.test'));
    ok t_cmp($res->code, 200, "GET $path: status");
    ok t_cmp($res->header('Content-Type') // '', $HTML_CT,
             "GET $path: Content-Type");
    my $doc = html_doc($res->content);
    my $form = form_of($doc, 'password');
    my($method, $action) = split / /, $form, 2;
    ok t_cmp($method eq 'post' && $action ne '(no action)'
                 ? 'post ' . URI->new_abs($action, "$BASE$path")->path
                 : $form,
             "post $path", "GET $path: the form posts to the same path");
    ok t_cmp(input_attr($doc, 'username', 'value'), 'demo@example.test',
             "GET $path: username prefilled with login_hint");
    ok t_cmp(input_attr($doc, 'password', 'type'), 'password',
             "GET $path: password input of type password");
    ok t_cmp(input_attr($doc, 'appru', 'type') . ' '
                 . input_attr($doc, 'appru', 'value'),
             'hidden ' . APPRU, "GET $path: hidden appru");
}

my $LOGIN = $LOGIN_PATHS[0];

# A login_hint is text from the device: it goes into the page escaped,
# never as markup (the page may also refuse it).
{
    my $hint = '"><script>alert("hint")</script>';
    my $res = $ua->get(page_url($LOGIN, appru => APPRU, login_hint => $hint));
    my $doc = html_doc($res->content);
    my @injected = $doc ? grep { $_->textContent =~ /alert\("hint"\)/ }
                               $doc->findnodes('//script') : ();
    ok t_cmp(@injected ? 'script injected' : 'no script injected',
             'no script injected', 'hostile login_hint: not markup');
    ok t_cmp($res->code == 200 ? input_attr($doc, 'username', 'value')
                               : 'refused with ' . $res->code,
             qr/^(?:\Q$hint\E|refused with 400)$/,
             'hostile login_hint: shown as text, or refused');
}

# --- the sign-in page: an appru that is not ms-app: ----------------------
# The token goes only to the device's own app; anything else is an open
# redirect that would hand a sign-in token to another site.

{
    my $res = $ua->get(page_url($LOGIN, appru => 'javascript:alert(1)',
                                login_hint => 'demo@example.test'));
    ok t_cmp($res->code, 400, 'appru javascript: GET status');
    ok t_cmp(join(', ', forms_elsewhere($res, $LOGIN)), '',
             'appru javascript: GET has no form that posts elsewhere');
}

{
    my $res = $ua->get(page_url($LOGIN, appru => $EVIL,
                                login_hint => 'demo@example.test'));
    ok t_cmp($res->code, 400, 'appru https: GET status');
    ok t_cmp($res->header('Content-Type') // '', $HTML_CT,
             'appru https: GET answers an HTML page');
    ok t_cmp(join(', ', forms_elsewhere($res, $LOGIN)), '',
             'appru https: GET has no form that posts elsewhere');
}

{
    my $res = post_form($LOGIN, username => 'demo@example.test',
                        password => 'demo-password', appru => $EVIL);
    ok t_cmp($res->code, 400, 'appru https: POST with the right password: status');
    ok t_cmp($res->content =~ /wresult/i ? 'wresult in the page' : 'no wresult',
             'no wresult', 'appru https: POST: no token in the page');
    ok t_cmp(join(', ', forms_elsewhere($res, $LOGIN)), '',
             'appru https: POST has no form that posts elsewhere');
}

# --- the sign-in page: wrong password ---------------------------------------

{
    my $res = post_form($LOGIN, username => 'demo@example.test',
                        password => 'not-the-password', appru => APPRU);
    ok t_cmp($res->code, 200, 'wrong password: status');
    ok t_cmp($res->header('Content-Type') // '', $HTML_CT,
             'wrong password: Content-Type');
    my $doc = html_doc($res->content);
    my($method, $action) = split / /, form_of($doc, 'password'), 2;
    ok t_cmp($method, 'post', 'wrong password: the form again');
    my @alerts = $doc ? map { $_->textContent }
                            $doc->findnodes('//*[@role="alert"]') : ();
    ok t_cmp(join(' | ', @alerts) || 'no role="alert" element',
             qr/user ?name or password is incorrect/i,
             'wrong password: role="alert" says so');
    ok t_cmp($res->content =~ /wresult/i ? 'wresult in the page' : 'no wresult',
             'no wresult', 'wrong password: no token anywhere');
}

# --- the sign-in page: success ----------------------------------------------

my $first_token;
{
    my $res = post_form($LOGIN, username => 'demo@example.test',
                        password => 'demo-password', appru => APPRU);
    ok t_cmp($res->code, 200, 'sign-in: status');
    ok t_cmp($res->header('Content-Type') // '', $HTML_CT,
             'sign-in: Content-Type');
    my $doc = html_doc($res->content);
    ok t_cmp(form_of($doc, 'wresult'), 'post ' . APPRU,
             'sign-in: the form posts to the appru');
    ok t_cmp(input_attr($doc, 'wresult', 'type'), 'hidden',
             'sign-in: wresult is a hidden input');
    $first_token = input_attr($doc, 'wresult', 'value');
    ok t_cmp($first_token, qr/^[A-Za-z0-9_-]{43}$/,
             'sign-in: wresult is 43 characters of base64url (256 bits)');
    my @scripts = $doc ? grep { $_->textContent =~ /submit\s*\(/ }
                              $doc->findnodes('//script') : ();
    ok t_cmp(scalar(@scripts) ? 'submits' : 'no script submits the form',
             'submits', 'sign-in: a script submits the form on load');
}

{
    my $res = post_form($LOGIN, username => 'demo@example.test',
                        password => 'demo-password', appru => APPRU);
    my $token = input_attr(html_doc($res->content), 'wresult', 'value');
    ok t_cmp($token ne $first_token ? 'different' : "the same: $token",
             'different', 'sign-in again: a new token');
}

# --- whole enrollments ------------------------------------------------------

for my $d (@DEVICES) {
    my($label, $opts) = @$d;
    my $dev = WinMDMDevice->new(server => 'default', %$opts);
    my $res = $dev->discover;
    ok t_cmp($res->code, 200, "$label: discovery status");
    ok t_cmp($dev->auth_policy, 'Federated', "$label: AuthPolicy");
    my $token = $dev->login;
    ok t_cmp($token // 'no token', qr/^[A-Za-z0-9_-]{43}$/,
             "$label: sign-in gives a token");
    $dev->get_policies;
    ok t_cmp($_->[0], $_->[1], $_->[2]) for $dev->policy_checks("$label: GetPolicies");
    $dev->enroll;
    ok t_cmp($_->[0], $_->[1], $_->[2]) for $dev->enrollment_checks("$label: enrollment");
}

# MS-MDE2 3.3 has the device base64-encode the wresult; the server also
# takes the token as it was (spec/enrollment.md 3: accept both).
{
    my $dev = WinMDMDevice->new(server => 'default');
    $dev->login;
    $dev->get_policies(token_encoding => 'raw');
    ok t_cmp($_->[0], $_->[1], $_->[2])
        for $dev->policy_checks('raw token: GetPolicies');
    ok t_cmp($dev->enroll(token_encoding => 'raw')->code, 200,
             'raw token: enrollment status');
}
