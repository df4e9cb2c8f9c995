"""Prints the candidate words haproxy accepts as bind or server parameters, each with its
arity: `flag` (stands alone), `value` (takes one word) or `multi`."""
import os
import re

import common

p = common.parser(__doc__)
p.add_argument('kind', choices=['bind', 'server'])
p.add_argument('candidates', help='file of candidate words, one a line')
args = p.parse_args()
path = os.path.join(common.workdir(args), 'p.cfg')
cands = [c for c in common.lines_of(args.candidates) if re.match(r'^[a-z0-9][a-z0-9_.-]*$', c)]


def cfg(lines):
    if args.kind == 'bind':
        return 'frontend f\n' + ''.join(f'  bind 127.0.0.1:{30000 + i} {l}\n' for i, l in enumerate(lines))
    return 'backend b\n' + ''.join(f'  server s{i} 127.0.0.1:80 {l}\n' for i, l in enumerate(lines))


def run(lines):
    with open(path, 'w') as f:
        f.write(cfg(lines))
    return common.check(args, path, '-dr')


def unknown_lines(out):
    return set(int(m) for m in re.findall(r'p\.cfg:(\d+)\]\s*:?[^\n]*unknown keyword', out))


known = []
for i in range(0, len(cands), 30):
    chunk = cands[i:i + 30]
    out = run(chunk)
    if 'stopping now' in out or 'too many' in out:
        known += [c for c in chunk if not unknown_lines(run([c]))]
        continue
    unknown = unknown_lines(out)
    known += [c for j, c in enumerate(chunk) if (j + 2) not in unknown]
# Verify each alone, then tell flags from valued keywords with one and two dummy values.
for c in known:
    if unknown_lines(run([c])):
        continue
    if re.search(r"unknown keyword 'zzqq'", run([c + ' zzqq'])):
        arity = 'flag'
    elif re.search(r"unknown keyword 'zzrr'", run([c + ' zzqq zzrr'])):
        arity = 'value'
    else:
        arity = 'multi'
    print(c, arity)
