"""Runs every "-" cell of the proxy keywords matrix (configuration.txt §4.1, cut into a file)
through `haproxy -c` and prints HAProxy's reaction per section, tab-separated (sev.txt)."""
import os
import re

import common

p = common.parser(__doc__)
p.add_argument('matrix', help='the §4.1 matrix rows cut from configuration.txt')
args = p.parse_args()
path = os.path.join(common.workdir(args), 's.cfg')
rows = []
with open(args.matrix) as f:
    for l in f:
        kw = l[:36].strip()
        if not kw:
            continue
        kw = re.sub(r'\s*\((\*|deprecated)\)\s*$', '', kw).strip()
        rows.append((kw, re.findall(r'(X \(!\)|X|-)', l[36:])))
secs = ['defaults', 'frontend f', 'listen l', 'backend b']
for kw, cols in rows:
    res = []
    for s, c in zip(secs, cols):
        if c == 'X':
            res.append('X')
            continue
        with open(path, 'w') as f:
            f.write(f"{s}\n  {kw}\n")
        out = [x for x in common.check(args, path).splitlines() if 's.cfg:2' in x]
        res.append(' | '.join(re.sub(r'^\[(\w+)\].*?s\.cfg:2\]\s*:?\s*', '\\1 ', x) for x in out))
    print(kw + '\t' + '\t'.join(res) + '\t' + ' '.join(cols))
