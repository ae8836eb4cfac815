#!/usr/bin/env python3
"""The manual pages against the programs they describe (TAP).

    manpages.py PAGE PROGRAM SOURCE... [--completion=FILE] [-- PAGE PROGRAM SOURCE...]...

For each page: groff formats it without a warning; its title carries the program's --version;
every long option the program accepts (the getopt tables in SOURCE, the only list that cannot
drift) is named in its --help and in the page; every option the page or the help defines (a
tagged paragraph's tag, a synopsis entry, a help line that starts with it) is one the program
accepts; every exit status the help lists has its paragraph in the page's EXIT STATUS. For
iovctl, the help of each of its commands counts as its help, and each command has a section.
With --completion=FILE, the program's bash completion offers every command and option too.
"""
import re
import subprocess
import sys

n = 0
failed = False


def point(good, name, detail=''):
    global n, failed
    n += 1
    print(('ok' if good else 'not ok') + f' {n} - {name}')
    if not good:
        failed = True
        for line in detail.splitlines():
            print('# ' + line)


def run(argv):
    p = subprocess.run(argv, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def accepted(sources):
    """Long options in getopt tables: { "name", no_argument|required_argument|optional_argument."""
    opts = set()
    for path in sources:
        text = open(path).read()
        opts |= set(re.findall(r'\{\s*"([a-z0-9-]+)",\s*(?:no|required|optional)_argument', text))
        if 'CLI_OPT_JSON' in text:
            opts.add('json')
    return opts


def plain(roff):
    """A roff line as text: \\- is -, font and spacing escapes gone."""
    roff = roff.replace('\\-', '-').replace('\\e', '\\')
    return re.sub(r'\\f[BIRP]|\\\||\\&|\\c|\\\(..', '', roff)


def page_defines(lines):
    """Options a page defines: those in a .TP/.TQ paragraph's tag and in .OP synopsis entries."""
    found = set()
    for i, line in enumerate(lines):
        tag = None
        if line.startswith(('.TP', '.TQ')) and i + 1 < len(lines):
            tag = lines[i + 1]
        elif line.startswith('.OP '):
            tag = line
        if tag is not None:
            found |= set(re.findall(r'(?<![\w-])--([a-z][a-z0-9-]*)', plain(tag)))
    return found


def help_defines(text):
    """Options a help text defines: those starting a line, and every one in a usage line."""
    found = set()
    for line in text.splitlines():
        if line.lower().startswith('usage:'):
            found |= set(re.findall(r'(?<![\w-])--([a-z][a-z0-9-]*)', line))
        m = re.match(r'\s+(?:-\w, )?--([a-z][a-z0-9-]*)', line)
        if m:
            found.add(m.group(1))
    return found


def exit_statuses(text):
    """The statuses an 'Exit status:' paragraph of a help text lists (its numbers that start a
    phrase: '0 success, 1 failure', '(0-119: ...); 120 the guest ...')."""
    m = re.search(r'Exit status:(.*?)(?:\n\n|\Z)', text, re.S)
    if not m:
        return set()
    return set(re.findall(r'(?:^|[\s(:,;])(\d{1,3})(?:-\d{1,3})?(?=[ :])', m.group(1)))


def check(page, prog, sources):
    name = prog.rsplit('/', 1)[-1]
    completion = [s.split('=', 1)[1] for s in sources if s.startswith('--completion=')]
    sources = [s for s in sources if not s.startswith('--completion=')]
    rc, warn = run(['groff', '-man', '-ww', '-z', page])
    point(rc == 0 and not warn.strip(), f'{name}: groff formats its page without warnings', warn)

    lines = open(page).read().splitlines()
    text = plain('\n'.join(lines))
    rc, version = run([prog, '--version'])
    v = re.search(r'\d+\.\d+\.\d+', version)
    th = next((l for l in lines if l.startswith('.TH ')), '')
    point(rc == 0 and v is not None and f'iovkit {v.group(0)}' in th,
          f'{name}: the page is of the version the program says ({v.group(0) if v else "?"})',
          f'--version: {version.strip()}\n{th}')

    rc, helptext = run([prog, '--help'])
    point(rc == 0, f'{name} --help exits 0', helptext)
    commands = []
    if name == 'iovctl':
        block = re.search(r'Commands:\n(.*?)(?:\n\n|\Z)', helptext, re.S)
        commands = re.findall(r'^\s+([a-z][a-z-]*)\s', block.group(1), re.M) if block else []
        point(len(commands) > 10, f'iovctl --help lists its commands ({len(commands)})')
        for c in commands:
            rc, h = run([prog, 'help', c])
            point(rc == 0 and c in h, f'iovctl help {c}', h)
            helptext += '\n' + h
            point(re.search(r'^\.SS "' + re.escape(c) + r'[ "]', '\n'.join(lines), re.M) is not None,
                  f'iovctl.8 has a section for the command {c}')
        for c in re.findall(r'^\.SS "([a-z][a-z-]*)', '\n'.join(lines), re.M):
            point(c in commands, f'iovctl.8\'s section {c} is a command iovctl has')

    accepts = accepted(sources)
    point(len(accepts) > 3, f'{name}: its getopt tables are found ({len(accepts)} options)')
    mentioned_help = set(re.findall(r'(?<![\w-])--([a-z][a-z0-9-]*)', helptext))
    mentioned_page = set(re.findall(r'(?<![\w-])--([a-z][a-z0-9-]*)', text))
    for o in sorted(accepts):
        point(o in mentioned_help, f'{name} accepts --{o}, and its --help says so')
        point(o in mentioned_page, f'{name} accepts --{o}, and its page says so')
    if completion:
        words = set(re.findall(r'[A-Za-z0-9-]+', open(completion[0]).read()))
        for c in commands:
            point(c in words, f'{name}: its bash completion offers the command {c}')
        for o in sorted(accepts):
            point('--' + o in words, f'{name}: its bash completion offers --{o}')
    for o in sorted(help_defines(helptext) - accepts):
        point(False, f'{name}: --help defines --{o}, which {name} does not accept')
    for o in sorted(page_defines(lines) - accepts):
        point(False, f'{name}: the page defines --{o}, which {name} does not accept')

    section = re.search(r'^\.SH "?EXIT STATUS"?\n(.*?)(?=^\.SH |\Z)', '\n'.join(lines), re.M | re.S)
    tags = set()
    if section:
        tags = set(re.findall(r'^\.TP\n\.B (\d+)', section.group(1), re.M))
    for s in sorted(exit_statuses(helptext), key=int):
        point(s in tags, f'{name}: exit status {s} from --help is in the page\'s EXIT STATUS')


def main(argv):
    print('TAP version 13')
    groups, cur = [], []
    for a in argv:
        if a == '--':
            groups.append(cur)
            cur = []
        else:
            cur.append(a)
    groups.append(cur)
    for g in groups:
        if len(g) < 3:
            print(f'usage: manpages.py PAGE PROGRAM SOURCE... [-- ...] (got {g})', file=sys.stderr)
            return 2
        check(g[0], g[1], g[2:])
    print(f'1..{n}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
