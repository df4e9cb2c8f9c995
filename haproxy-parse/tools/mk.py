"""Turns sev.py's output into the rows of `haproxy_model::keywords::proxy::MATRIX`; the cells
in `over` were re-tried with a plausible argument where the bare keyword failed on its arguments."""
import argparse
import re

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument('sev', nargs='?', default='sev.txt', help="sev.py's output (default: sev.txt)")
args = parser.parse_args()
over = {  # probed again with a plausible argument (see sev2)
 ('timeout client','backend'):'W',('timeout client-fin','backend'):'W',('clitcpka-cnt','backend'):'W',('clitcpka-idle','backend'):'W',('clitcpka-intvl','backend'):'W',
 ('error-log-format','backend'):'W',('log-format','backend'):'W',('log-format-sd','backend'):'W',('rate-limit sessions','backend'):'W',
 ('unique-id-format','backend'):'A',('unique-id-header','backend'):'A',
 ('timeout check','frontend'):'W',('timeout connect','frontend'):'W',('timeout queue','frontend'):'W',('timeout server','frontend'):'W',('timeout server-fin','frontend'):'W',('timeout tunnel','frontend'):'W',
 ('max-keep-alive-queue','frontend'):'W',('srvtcpka-cnt','frontend'):'W',('srvtcpka-idle','frontend'):'W',('srvtcpka-intvl','frontend'):'W',
 ('external-check command','frontend'):'A',('external-check path','frontend'):'A',('option external-check','frontend'):'A',('persist rdp-cookie','frontend'):'A',
 ('retry-on','frontend'):'E',('transparent','frontend'):'A',
}
secs=['defaults','frontend','listen','backend']
out=[]
for l in open(args.sev):
    f=l.rstrip('\n').split('\t')
    kw=f[0].split('  ')[0].strip()
    cols=f[-1].split(' ')
    # cols like X (!) X X X -> tokens
    toks=re.findall(r'X \(!\)|X|-', f[-1])
    rules=[]
    for s,res,tok in zip(secs,f[1:5],toks):
        if tok=='X (!)': r='N'
        elif tok=='X': r='A'
        elif (kw,s) in over: r=over[(kw,s)]
        else:
            first=res.split(' | ')[0]
            if first.startswith('ALERT'): r='E'
            elif first.startswith('WARNING'): r='W'
            else: r='?'
        rules.append(r)
    out.append((kw,rules))
for kw,r in out:
    print(f'    ("{kw}", [{", ".join(r)}]),')
