"""The reference for plico-calendar's recurrence tests: python-dateutil's rrule, an independent
implementation of RFC 5545 recurrence, with Python's zoneinfo (the IANA database) for zones.

Usage: python3 recurrence_reference.py COUNT SEED

Writes a JSON list of COUNT generated cases to stdout. Each case is a series as an iCalendar text
(a VEVENT with DTSTART, DTEND, RRULE, and sometimes EXDATE and RDATE), the viewer's zone, a
window, and the occurrences' starts (unix seconds) dateutil finds in the window. DTSTART is
moved to the rule's first occurrence, as RFC 5545 asks ("SHOULD be synchronized"); what an
unsynchronised DTSTART yields is left undefined there.
"""

import json
import random
import sys
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr, rruleset

ZONES = ["Europe/Paris", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC", "America/Sao_Paulo"]
VIEWERS = ["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Tokyo"]
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
LIMIT = 400


def local_text(moment):
    return moment.strftime("%Y%m%dT%H%M%S")


def rule_for(rng, freq):
    parts = [f"FREQ={freq}"]
    if rng.random() < 0.5:
        parts.append(f"INTERVAL={rng.randint(2, 4)}")
    if freq == "DAILY":
        if rng.random() < 0.3:
            parts.append("BYDAY=" + ",".join(sorted(rng.sample(DAYS, rng.randint(1, 5)), key=DAYS.index)))
        if rng.random() < 0.2:
            parts.append("BYMONTH=" + ",".join(str(m) for m in sorted(rng.sample(range(1, 13), rng.randint(1, 4)))))
    elif freq == "WEEKLY":
        if rng.random() < 0.7:
            parts.append("BYDAY=" + ",".join(sorted(rng.sample(DAYS, rng.randint(1, 4)), key=DAYS.index)))
        if rng.random() < 0.3:
            parts.append("WKST=" + rng.choice(["MO", "SU", "SA"]))
    elif freq == "MONTHLY":
        choice = rng.random()
        if choice < 0.3:
            days = rng.sample([1, 2, 10, 15, 28, 29, 30, 31, -1, -2, -7], rng.randint(1, 3))
            parts.append("BYMONTHDAY=" + ",".join(str(d) for d in sorted(days)))
        elif choice < 0.6:
            ordinal = rng.choice([1, 2, 3, 4, -1, -2])
            parts.append(f"BYDAY={ordinal}{rng.choice(DAYS)}")
        elif choice < 0.85:
            parts.append("BYDAY=MO,TU,WE,TH,FR")
            parts.append("BYSETPOS=" + rng.choice(["1", "-1", "2", "1,-1", "3"]))
        else:
            parts.append("BYDAY=" + ",".join(sorted(rng.sample(DAYS, 2), key=DAYS.index)))
            parts.append(f"BYMONTHDAY={rng.randint(1, 14)},{rng.randint(15, 28)}")
    else:  # YEARLY
        choice = rng.random()
        if choice < 0.35:
            parts.append(f"BYMONTH={rng.randint(1, 12)}")
            parts.append(f"BYDAY={rng.choice([1, 2, -1])}{rng.choice(DAYS)}")
        elif choice < 0.6:
            parts.append(f"BYMONTH={rng.randint(1, 12)},{rng.randint(1, 12)}")
            parts.append(f"BYMONTHDAY={rng.choice([1, 15, -1, 29])}")
        elif choice < 0.8:
            parts.append("BYMONTH=3,9")
            parts.append("BYDAY=SA,SU")
            parts.append("BYSETPOS=" + rng.choice(["1", "-1", "2"]))
    return parts


def case(rng):
    all_day = rng.random() < 0.15
    floating = not all_day and rng.random() < 0.15
    zone_name = None if (all_day or floating) else rng.choice(ZONES)
    viewer_name = rng.choice(VIEWERS)
    # Times of day away from 01:00-03:00, where the zones used change their clocks.
    start = datetime(rng.randint(2024, 2027), rng.randint(1, 12), rng.randint(1, 28),
                     rng.randint(8, 18), rng.choice([0, 15, 30, 45]))
    if all_day:
        start = datetime(start.year, start.month, start.day)
    # Floating and all-day series are computed in naive wall time and placed in the viewer's
    # zone at the end, as a calendar shows them.
    zone = ZoneInfo(zone_name) if zone_name else None
    viewer = ZoneInfo(viewer_name)
    freq = rng.choice(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"])
    parts = rule_for(rng, freq)
    # Synchronise DTSTART with the rule: its first occurrence from the drawn start on.
    probe = rrulestr(";".join(parts), dtstart=start.replace(tzinfo=zone))
    first = probe.after(start.replace(tzinfo=zone), inc=True)
    if first is None:
        return None
    start = first.replace(tzinfo=None)
    end_kind = rng.random()
    if end_kind < 0.4:
        parts.append(f"COUNT={rng.randint(1, 60)}")
    elif end_kind < 0.8:
        until_local = start + timedelta(days=rng.randint(0, 900), hours=rng.choice([0, 0, 1, -1]))
        if all_day:
            parts.append("UNTIL=" + until_local.strftime("%Y%m%d"))
        elif floating:
            parts.append("UNTIL=" + local_text(until_local))
        else:
            utc = until_local.replace(tzinfo=zone).astimezone(timezone.utc)
            parts.append("UNTIL=" + utc.strftime("%Y%m%dT%H%M%SZ"))
    rule_text = ";".join(parts)
    aware_start = start.replace(tzinfo=zone)
    rule = rrulestr(rule_text, dtstart=aware_start)
    window_to = aware_start + timedelta(days=rng.choice([60, 400, 1100]))

    def unix(moment):
        return int((moment if moment.tzinfo else moment.replace(tzinfo=viewer)).timestamp())

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Plico//reference//EN", "BEGIN:VEVENT",
             f"UID:reference-{rng.getrandbits(48):012x}@plico.test", "DTSTAMP:20260101T000000Z",
             "SUMMARY:reference"]
    if all_day:
        lines.append("DTSTART;VALUE=DATE:" + start.strftime("%Y%m%d"))
        lines.append("DTEND;VALUE=DATE:" + (start + timedelta(days=1)).strftime("%Y%m%d"))
    elif floating:
        lines.append("DTSTART:" + local_text(start))
        lines.append("DTEND:" + local_text(start + timedelta(hours=1)))
    else:
        lines.append(f"DTSTART;TZID={zone_name}:" + local_text(start))
        lines.append(f"DTEND;TZID={zone_name}:" + local_text(start + timedelta(minutes=45)))
    lines.append("RRULE:" + rule_text)

    found = rruleset()
    found.rrule(rule)
    occurrences = []
    for moment in rule:
        if moment >= window_to or len(occurrences) >= LIMIT:
            break
        occurrences.append(moment)
    # EXDATEs: a few real occurrences removed, written in the series' zone or in UTC.
    if occurrences and rng.random() < 0.35:
        for moment in rng.sample(occurrences, min(len(occurrences), rng.randint(1, 3))):
            found.exdate(moment)
            if all_day:
                lines.append("EXDATE;VALUE=DATE:" + moment.strftime("%Y%m%d"))
            elif floating:
                lines.append("EXDATE:" + local_text(moment.replace(tzinfo=None)))
            elif rng.random() < 0.5:
                lines.append("EXDATE:" + moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ"))
            else:
                lines.append(f"EXDATE;TZID={zone_name}:" + local_text(moment.replace(tzinfo=None)))
    # RDATEs: extra occurrences the rule does not yield.
    if rng.random() < 0.25:
        for _ in range(rng.randint(1, 2)):
            if all_day:
                extra = (start + timedelta(days=rng.randint(1, 50))).replace(tzinfo=zone)
            else:
                extra = (start + timedelta(days=rng.randint(1, 50), hours=rng.randint(0, 3))).replace(tzinfo=zone)
            found.rdate(extra)
            if all_day:
                lines.append("RDATE;VALUE=DATE:" + extra.strftime("%Y%m%d"))
            elif floating:
                lines.append("RDATE:" + local_text(extra.replace(tzinfo=None)))
            else:
                lines.append(f"RDATE;TZID={zone_name}:" + local_text(extra.replace(tzinfo=None)))
    lines += ["END:VEVENT", "END:VCALENDAR"]

    expected = []
    for moment in found:
        if moment >= window_to or len(expected) >= LIMIT:
            break
        expected.append(unix(moment))
    return {
        "ics": "\r\n".join(lines) + "\r\n",
        "rule": rule_text,
        "viewer": viewer_name,
        "from": unix(aware_start) - 86400,
        "to": unix(window_to),
        "limit": LIMIT,
        "starts": expected,
    }


def main():
    count, seed = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    cases = []
    while len(cases) < count:
        made = case(rng)
        if made is not None:
            cases.append(made)
    json.dump(cases, sys.stdout)


if __name__ == "__main__":
    main()
