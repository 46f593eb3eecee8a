# Log oracle; runs last. Every test before this one drove the server, and
# none of what they sent, hostile bodies included, is a server fault: so
# the error log must hold no line at level warn or above that is not on
# the list below. A bad request from a client is logged at info or debug
# (or not at all); warn and error are for what an administrator must fix.
use strict;
use warnings FATAL => 'all';

use File::Spec::Functions qw(catfile);

use Apache::Test;
use Apache::TestUtil qw(t_cmp);

# Expected lines: [regular expression, why it is acceptable]. Each entry
# needs a comment saying why the line is not a defect.
my @expected = (
    # t/110-faults.t makes the database of winmdm_fault unavailable: a
    # connection opened during that outage cannot be set up, and the
    # module says so. The fault is injected, not a defect.
    [qr/\[winmdm:error\] .* WM00020: store: setting up the (?:sqlite3|pgsql) connection failed: /,
     'database outage injected by t/110-faults.t'],
);

plan tests => 2;

my $file = catfile(Apache::Test::vars('t_logs'), 'error_log');
open my $fh, '<', $file or die "cannot open $file: $!";
my @lines = <$fh>;
close $fh;

# Proves the log read is the live server's, not an empty file.
ok t_cmp(scalar(grep { /resuming normal operations/ } @lines), qr/^[1-9]/,
         'error_log holds the server start');

# httpd 2.4 writes "[date] [module:level] [pid ...] ...", with level one
# of emerg alert crit error warn notice info debug trace1..8.
my @unexpected;
LINE: for my $line (@lines) {
    next unless $line =~ /^\[[^\]]*\]\s+\[(?:[\w.-]*:)?(emerg|alert|crit|error|warn|warning)\]/;
    for my $e (@expected) {
        next LINE if $line =~ $e->[0];
    }
    push @unexpected, $line;
}
# On stderr, so the lines show in a non-verbose run too.
print STDERR "# unexpected: $_" for @unexpected;
ok t_cmp(join('', @unexpected), '',
         'no unexpected warn/error lines in error_log');
