# Log oracle; runs last. Every test before this one drove the server, and
# none of what they sent, hostile bodies included, is a server fault: so
# the error logs (the main one and winmdm_fault's own) must hold no line
# at level warn or above that is not on the list below. A bad request
# from a client is logged at info or debug (or not at all); warn and
# error are for what an administrator must fix. The database errors of
# t/110-faults.t's outage are excused only between the times it wrote to
# t/state/outage-window.
use strict;
use warnings FATAL => 'all';

use File::Spec::Functions qw(catfile);
use Time::Local qw(timelocal);

use Apache::Test;
use Apache::TestUtil qw(t_cmp);

# Expected lines: [regular expression, why it is acceptable, 1 when only
# inside the outage window]. Each entry needs a comment saying why the
# line is not a defect.
my @expected = (
    # t/110-faults.t makes the database of winmdm_fault unavailable: a
    # connection opened during that outage cannot be set up, and the
    # module says so. The fault is injected, not a defect.
    [qr/\[winmdm:error\] .* WM00020: store: setting up the (?:sqlite3|pgsql) connection failed: /,
     'database outage injected by t/110-faults.t', 1],
    # The same outage as the requests on winmdm_fault meet it: mod_dbd
    # cannot open or keep a connection, and the module's requests say
    # that the store failed (fault_error_log).
    [qr/\[dbd:(?:error|crit|alert)\] /, 'database outage: mod_dbd', 1],
    [qr/\[winmdm:error\] .* WM000(?:11|14|32|35|44): /,
     'database outage: a request of winmdm_fault', 1],
    # t/130-security.t: an enrollment user is refused by the admin API's
    # <Location> on winmdm_broad (mod_auth_basic says so at error level).
    [qr/\[auth_basic:error\] .* AH01618: user demo\@example\.test not found: \/api\/device-mgt\/windows\/v1\.0\/admin\/devices$/,
     'admin API refused to an enrollment user by t/130-security.t', 0],
    # t/140-bounds.t drives a device over the storage bounds on purpose;
    # the module says so at warn level (an enrolled device misbehaving is
    # for an administrator to see).
    [qr/\[winmdm:warn(?:ing)?\] .* WM0004[56]: device [0-9A-Fa-f]+: /,
     'storage bounds reached by t/140-bounds.t', 0],
);

# The outage window(s) t/110-faults.t wrote.
my @windows;
{
    my $f = catfile(Apache::Test::vars('t_state'), 'outage-window');
    if (open my $fh, '<', $f) {
        my $begin;
        while (<$fh>) {
            $begin = $1 if /^begin ([\d.]+)/;
            push @windows, [$begin, $1] if /^end ([\d.]+)/ && defined $begin;
        }
        close $fh;
    }
}
my %MON;
@MON{qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)} = 0 .. 11;
# "[Mon Dec 07 03:33:17.194032 2026]" as seconds since 1970 (httpd writes
# local time).
sub line_time {
    my $l = shift;
    my($mon, $d, $h, $m, $sec, $y) =
        $l =~ /^\[\w{3} (\w{3}) (\d+) (\d+):(\d+):(\d+(?:\.\d+)?) (\d{4})\]/
        or return undef;
    my $int = int $sec;
    return timelocal($int, $m, $h, $d, $MON{$mon}, $y) + ($sec - $int);
}
sub in_window {
    my $t = line_time(shift);
    return 0 unless defined $t;
    # A second of slack: the log and the test read the clock apart.
    return scalar grep { $t >= $_->[0] - 1 && $t <= $_->[1] + 1 } @windows;
}

plan tests => 4;

sub read_log {
    my $file = catfile(Apache::Test::vars('t_logs'), shift);
    open my $fh, '<', $file or return ();
    my @l = <$fh>;
    close $fh;
    return @l;
}
my @main  = read_log('error_log');
my @fault = read_log('fault_error_log');

# Proves the log read is the live server's, not an empty file.
ok t_cmp(scalar(grep { /resuming normal operations/ } @main), qr/^[1-9]/,
         'error_log holds the server start');
# When t/110-faults.t ran, the fault server's log holds its outage.
ok t_cmp(@windows ? (grep({ /\[winmdm:/ } @fault) ? 'the outage logged'
                                                   : 'nothing logged')
                  : 'no outage in this run',
         qr/^(?:the outage logged|no outage in this run)$/,
         'fault_error_log holds what the outage caused');

# httpd 2.4 writes "[date] [module:level] [pid ...] ...", with level one
# of emerg alert crit error warn notice info debug trace1..8.
sub unexpected {
    my @unexpected;
  LINE: for my $line (@_) {
        next unless $line =~ /^\[[^\]]*\]\s+\[(?:[\w.-]*:)?(emerg|alert|crit|error|warn|warning)\]/;
        for my $e (@expected) {
            next LINE if $line =~ $e->[0] && (!$e->[2] || in_window($line));
        }
        push @unexpected, $line;
    }
    # On stderr, so the lines show in a non-verbose run too.
    print STDERR "# unexpected: $_" for @unexpected;
    return join '', @unexpected;
}
ok t_cmp(unexpected(@main), '', 'no unexpected warn/error lines in error_log');
ok t_cmp(unexpected(@fault), '',
         'no unexpected warn/error lines in fault_error_log');
