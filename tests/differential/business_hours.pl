#!/usr/bin/perl
# The reference side of the differential test calendar_vs_business_hours.py: answers
# business-time questions with Debian's libbusiness-hours-perl (Business::Hours 0.13, the
# module Request Tracker's SLA uses), called through its public methods, unmodified.
#
# Usage: TZ=ZONE perl business_hours.pl HOURS.json < queries > answers
#
# HOURS.json is the argument of Business::Hours->business_hours as JSON: keys "0" (Sunday)
# to "6" (Saturday) with {"Name", "Start", "End", "Breaks": [{"Start", "End"}]} ("HH:MM"),
# and "holidays": ["MM-DD" or "YYYY-MM-DD"]. A day left out is closed.
# Business::Hours reads civil times in the process's local time zone, so the caller sets TZ;
# POSIX::tzset makes the C library read it before the first localtime.
#
# One query per input line, one answer per output line:
#   add EPOCH N   add_seconds(EPOCH, N): the start of the (N+1)-th business second at or
#                 after EPOCH (-1 when there is none within 30 days)
#   first EPOCH   first_after(EPOCH): EPOCH if it is a business second, else the next one
#   local EPOCH   the local civil time of EPOCH, "YYYY-MM-DDTHH:MM:SS+HHMM" (checks that TZ
#                 was understood: glibc silently falls back to UTC for a zone it cannot read)
use strict;
use warnings;
use POSIX ();
use JSON::PP ();
use Business::Hours;

die "usage: TZ=ZONE $0 HOURS.json\n" unless @ARGV == 1;
die "$0: TZ must be set\n" unless defined $ENV{TZ} && length $ENV{TZ};
POSIX::tzset();

my $json = do {
    open my $fh, '<', $ARGV[0] or die "$0: $ARGV[0]: $!\n";
    local $/;
    <$fh>;
};

# A fresh object per query: business_hours() keeps and rewrites the hash it is given, and the
# object caches the last timespan it computed (between() reuses it).
sub calendar {
    my $bh = Business::Hours->new;
    $bh->business_hours(%{ JSON::PP->new->decode($json) });
    return $bh;
}

while (my $line = <STDIN>) {
    chomp $line;
    my ($op, @args) = split ' ', $line;
    $op //= '';
    if ($op eq 'add' && @args == 2) {
        print calendar()->add_seconds($args[0] + 0, $args[1] + 0), "\n";
    } elsif ($op eq 'first' && @args == 1) {
        print calendar()->first_after($args[0] + 0), "\n";
    } elsif ($op eq 'local' && @args == 1) {
        print POSIX::strftime('%Y-%m-%dT%H:%M:%S%z', localtime($args[0] + 0)), "\n";
    } else {
        die "$0: bad query on line $.: $line\n";
    }
}
