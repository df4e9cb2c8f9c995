import subprocess, sys, re
sec=sys.argv[1]; f=sys.argv[2]
for c in [l.strip() for l in open(f) if l.strip()]:
    open('/tmp/h2/gen/v.cfg','w').write(f"{sec}\n  {c}\n")
    p=subprocess.run(['haproxy','-c','-f','/tmp/h2/gen/v.cfg'],capture_output=True,text=True)
    if not re.search('unknown (keyword|statement)', p.stdout+p.stderr): print(c)
