"""Prints the candidate words haproxy accepts as sample converters (`str(a),<word>`)."""
import os
import re

import common

p = common.parser(__doc__)
p.add_argument('candidates', help='file of candidate words, one a line')
args = p.parse_args()
path = os.path.join(common.workdir(args), 'c.cfg')
cands = [c for c in common.lines_of(args.candidates) if re.match(r'^[a-z0-9_.-]+$', c)]


def run(chunk):
    with open(path, 'w') as f:
        f.write('frontend f\n  bind :8080\n')
        for c in chunk:
            f.write(f'  http-request set-var(txn.x) str(a),{c}\n')
    return common.check(args, path)


known = []
for i in range(0, len(cands), 40):
    chunk = cands[i:i + 40]
    out = run(chunk)
    if 'stopping now' in out:
        known += [c for c in chunk if 'unknown converter' not in run([c])]
        continue
    bad = set(re.findall(r"unknown converter '([^']*)'", out))
    known += [c for c in chunk if c not in bad]
for c in known:
    if 'unknown converter' not in run([c]):
        print(c)
