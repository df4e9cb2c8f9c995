import subprocess, re, sys, os
cands = [l.strip() for l in open('/tmp/h2/all.txt') if l.strip()]
openers = {'global','defaults','frontend','backend','listen','userlist','peers','resolvers','mailers','program','http-errors','ring','cache','fcgi-app','log-forward','crt-store','traces','namespace_list'}
cands = [c for c in cands if c not in openers]
sec = sys.argv[1]
def run(chunk):
    path = f'/tmp/h2/gen/{sec.replace(" ","_")}.cfg'
    with open(path,'w') as f:
        f.write(sec+'\n')
        for c in chunk: f.write('  '+c+'\n')
    p = subprocess.run(['haproxy','-c','-f',path],capture_output=True,text=True,timeout=30)
    out = p.stdout+p.stderr
    unknown = set(int(m) for m in re.findall(r'\[\S+\.cfg:(\d+)\]\s*: (?:unknown keyword|unknown statement)', out))
    complete = 'stopping now' not in out
    return unknown, complete, out
known=[]; unknown=[]
def process(chunk):
    u, complete, out = run(chunk)
    if not complete and len(chunk)>1:
        h=len(chunk)//2; process(chunk[:h]); process(chunk[h:]); return
    for i,c in enumerate(chunk):
        (unknown if (i+2) in u else known).append(c)
for i in range(0,len(cands),20): process(cands[i:i+20])
print('\n'.join(known))
