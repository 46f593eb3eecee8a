#!/usr/bin/perl
# Turns a text file into a C string constant: embed.pl NAME FILE > OUT.
# The web console is compiled into the module this way, so httpd serves it
# with no file of its own to install or find.
use strict;
use warnings;

my ($name, $file) = @ARGV;
die "usage: embed.pl NAME FILE\n" unless $name && $file;
open my $in, '<:raw', $file or die "$file: $!\n";
print "/* generated from $file by make: edit that file instead */\n";
print "static const char ${name}[] =\n";
while (my $line = <$in>) {
    $line =~ s/\r?\n\z//;
    $line =~ s/\\/\\\\/g;
    $line =~ s/"/\\"/g;
    $line =~ s/\?\?/?\\?/g;    # no trigraphs
    print "    \"$line\\n\"\n";
}
print "    ;\n";
