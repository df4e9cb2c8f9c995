"""Re-checks each survivor of probe.py alone (alerts of neighbouring lines can be
misattributed) and prints those `haproxy -c` still does not call unknown."""
import os
import re

import common

p = common.parser(__doc__)
p.add_argument('section', help='section header, e.g. "backend b"')
p.add_argument('survivors', help="file of probe.py's output")
args = p.parse_args()
path = os.path.join(common.workdir(args), 'v.cfg')
for c in common.lines_of(args.survivors):
    with open(path, 'w') as f:
        f.write(f"{args.section}\n  {c}\n")
    if not re.search('unknown (keyword|statement)', common.check(args, path)):
        print(c)
