#!/usr/bin/env python3
"""Counts test results over meson testlog.json files and prints the project's summary line,
"N passed, N failed, N skipped", last. A test that speaks TAP counts once per subtest, a CUnit
program once per CUnit test (from its "Run Summary"), anything else once. A program that died
before reporting counts as one failure. Exits 1 if anything failed or a log is missing."""
import json
import re
import sys

TAP = re.compile(r'^(ok|not ok)\b[^#]*(#\s*(SKIP|TODO)\b.*)?$', re.IGNORECASE)
CUNIT = re.compile(r'^\s*tests\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$')


def count(entry):
    """(passed, failed, skipped) for one meson test."""
    out = entry.get('stdout') or ''
    result = entry.get('result', 'FAIL')
    if result == 'SKIP':
        return 0, 0, 1
    tap = [TAP.match(line) for line in out.splitlines()]
    tap = [m for m in tap if m]
    if tap:
        p = sum(1 for m in tap if m.group(1) == 'ok' and not m.group(3))
        s = sum(1 for m in tap if m.group(1) == 'ok' and m.group(3))
        f = sum(1 for m in tap if m.group(1) == 'not ok')
        if result != 'OK' and f == 0:
            f = 1        # died, timed out or bailed out without a failing subtest
        return p, f, s
    for line in out.splitlines():
        m = CUNIT.match(line)
        if m:
            _total, ran, passed, failed, _inactive = map(int, m.groups())
            if result != 'OK' and failed == 0:
                failed = 1
            return passed, failed, 0
    return (1, 0, 0) if result in ('OK', 'EXPECTEDFAIL') else (0, 1, 0)


def main(paths):
    passed = failed = skipped = 0
    missing = False
    for path in paths:
        try:
            with open(path) as f:
                lines = f.readlines()
        except OSError as e:
            print(f'summary: {path}: {e.strerror}', file=sys.stderr)
            missing = True
            continue
        for line in lines:
            p, f_, s = count(json.loads(line))
            passed += p
            failed += f_
            skipped += s
    print(f'{passed} passed, {failed} failed, {skipped} skipped')
    return 1 if failed or missing else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
