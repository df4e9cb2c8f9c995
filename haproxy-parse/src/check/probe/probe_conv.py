import subprocess, re
cands=[l.strip() for l in open('/tmp/h2/all.txt') if l.strip() and re.match(r'^[a-z0-9_.-]+$', l.strip())]
known=[]
def run(chunk):
    with open('/tmp/h2/gen/c.cfg','w') as f:
        f.write('frontend f\n  bind :8080\n')
        for c in chunk: f.write(f'  http-request set-var(txn.x) str(a),{c}\n')
    p=subprocess.run(['haproxy','-c','-f','/tmp/h2/gen/c.cfg'],capture_output=True,text=True)
    return p.stdout+p.stderr
for i in range(0,len(cands),40):
    chunk=cands[i:i+40]; out=run(chunk)
    bad=set(re.findall(r"unknown converter '([^']*)'",out))
    if 'stopping now' in out:
        for c in chunk:
            if 'unknown converter' not in run([c]): known.append(c)
        continue
    known += [c for c in chunk if c not in bad]
for c in known:
    if 'unknown converter' not in run([c]): print(c)
