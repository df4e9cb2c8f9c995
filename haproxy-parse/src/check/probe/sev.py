import subprocess, re
rows=[]
for l in open('/tmp/h2/matrix.txt'):
    kw=l[:36].strip(); rest=l[36:]
    if not kw: continue
    kw=re.sub(r'\s*\((\*|deprecated)\)\s*$','',kw).strip()
    cols=re.findall(r'(X \(!\)|X|-)', rest)
    rows.append((kw,cols))
secs=['defaults','frontend f','listen l','backend b']
for kw,cols in rows:
    res=[]
    for s,c in zip(secs,cols):
        if c=='X': res.append('X'); continue
        open('/tmp/h2/gen/s.cfg','w').write(f"{s}\n  {kw}\n")
        p=subprocess.run(['haproxy','-c','-f','/tmp/h2/gen/s.cfg'],capture_output=True,text=True)
        out=[x for x in (p.stdout+p.stderr).splitlines() if 's.cfg:2' in x]
        res.append(' | '.join(re.sub(r'^\[(\w+)\].*?s\.cfg:2\]\s*:?\s*','\\1 ',x) for x in out))
    print(kw+'\t'+'\t'.join(res)+'\t'+' '.join(cols))
