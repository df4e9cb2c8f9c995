import subprocess, re, sys
kind=sys.argv[1]  # bind or server
cands=[l.strip() for l in open('/tmp/h2/all.txt') if l.strip() and re.match(r'^[a-z0-9][a-z0-9_.-]*$', l.strip())]
def cfg(lines):
    if kind=='bind':
        body=''.join(f'  bind 127.0.0.1:{30000+i} {l}\n' for i,l in enumerate(lines))
        return 'frontend f\n'+body
    body=''.join(f'  server s{i} 127.0.0.1:80 {l}\n' for i,l in enumerate(lines))
    return 'backend b\n'+body
def run(lines):
    open('/tmp/h2/gen/p.cfg','w').write(cfg(lines))
    p=subprocess.run(['haproxy','-c','-dr','-f','/tmp/h2/gen/p.cfg'],capture_output=True,text=True)
    return p.stdout+p.stderr
def unknown_lines(out):
    return set(int(m) for m in re.findall(r'p\.cfg:(\d+)\]\s*:?[^\n]*unknown keyword', out))
known=[]
for i in range(0,len(cands),30):
    chunk=cands[i:i+30]; out=run(chunk); u=unknown_lines(out)
    if 'stopping now' in out or 'too many' in out:
        for c in chunk:
            if not unknown_lines(run([c])): known.append(c)
        continue
    known += [c for j,c in enumerate(chunk) if (j+2) not in u]
# verify individually and classify arity
for c in known:
    out1=run([c])
    if unknown_lines(out1): continue
    out2=run([c+' zzqq'])
    m=re.search(r"unknown keyword 'zzqq'", out2)
    out3=run([c+' zzqq zzrr'])
    m3=re.search(r"unknown keyword 'zzrr'", out3)
    if m: ar='flag'
    elif m3: ar='value'
    else: ar='multi'
    print(c, ar)
