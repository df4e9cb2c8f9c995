"""Keeps the candidate keywords `haproxy -c` does not call unknown in one section type,
20 to a file (HAProxy stops after 50 errors). Prints the survivors, one a line."""
import os
import re

import common

p = common.parser(__doc__)
p.add_argument('section', help='section header to probe, e.g. "backend b" or "peers p"')
p.add_argument('candidates', help='file of candidate words, one a line (all.txt of the README)')
args = p.parse_args()
work = common.workdir(args)
openers = {'global', 'defaults', 'frontend', 'backend', 'listen', 'userlist', 'peers', 'resolvers', 'mailers',
           'program', 'http-errors', 'ring', 'cache', 'fcgi-app', 'log-forward', 'crt-store', 'traces',
           'namespace_list'}
cands = [c for c in common.lines_of(args.candidates) if c not in openers]


def run(chunk):
    path = os.path.join(work, args.section.replace(' ', '_') + '.cfg')
    with open(path, 'w') as f:
        f.write(args.section + '\n')
        for c in chunk:
            f.write('  ' + c + '\n')
    out = common.check(args, path)
    unknown = set(int(m) for m in re.findall(r'\[\S+\.cfg:(\d+)\]\s*: (?:unknown keyword|unknown statement)', out))
    return unknown, 'stopping now' not in out


known = []


def process(chunk):
    unknown, complete = run(chunk)
    if not complete and len(chunk) > 1:
        half = len(chunk) // 2
        process(chunk[:half])
        process(chunk[half:])
        return
    known.extend(c for i, c in enumerate(chunk) if (i + 2) not in unknown)


for i in range(0, len(cands), 20):
    process(cands[i:i + 20])
print('\n'.join(known))
