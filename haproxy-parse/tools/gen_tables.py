"""Prints the generated keyword tables as Rust constants from the probe results in FOLDER
(v_<section>.txt from verify.py, bind_/server_ flags/values from probe_params.py, ...)."""
import argparse
import os
import subprocess
import sys

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument('folder', help='folder holding the probe results')
args = parser.parse_args()


def words(*files):
    s=set()
    for f in files:
        try: s |= {l.strip() for l in open(os.path.join(args.folder, f)) if l.strip()}
        except FileNotFoundError: pass
    return sorted(s)
def emit(name, doc, items):
    print(f"/// {doc}")
    print(f"pub const {name}: &[&str] = &[")
    line="   "
    for it in items:
        w=f' "{it}",'
        if len(line)+len(w)>110: print(line); line="   "
        line+=w
    print(line); print("];\n")
emit("GLOBAL_KEYWORDS","Keywords of the `global` section (sorted).", words('v_global.txt','man_global.txt'))
emit("PROXY_KEYWORDS","First words HAProxy 2.6 recognises in defaults, frontend, listen and backend sections (sorted).", words('v_listen.txt','v_frontend.txt','v_backend.txt','v_defaults.txt','matrix_first.txt'))
print("/// Rules of the proxy keywords matrix (configuration.txt §4.1), checked against haproxy 2.6.12:")
print("/// `[defaults, frontend, listen, backend]`.")
print("pub const PROXY_MATRIX: &[(&str, [Rule; 4])] = &[")
mk = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'mk.py')
print(subprocess.run([sys.executable, mk, os.path.join(args.folder, 'sev.txt')], capture_output=True, text=True).stdout.rstrip())
print("];")
print()
emit("PROXY_OPTIONS","`option` names of proxies (sorted).", words('opts_all.txt'))
for n,f in [("USERLIST","userlist"),("PEERS","peers"),("RESOLVERS","resolvers"),("MAILERS","mailers"),("PROGRAM","program"),("HTTP_ERRORS","http-errors"),("RING","ring"),("CACHE","cache"),("FCGI_APP","fcgi-app")]:
    emit(n+"_KEYWORDS", f"Keywords of `{f}` sections.", words(f'v_{f}.txt'))
emit("CONVERTERS", "Sample converters (configuration.txt §7.3.1 headings, plus the `map_*` forms the binary registers; `probe_conv.py`).", words('conv_all.txt'))
emit("BIND_FLAGS", "`bind` parameters that stand alone.", words('bind_flags.txt'))
emit("BIND_VALUES", "`bind` parameters followed by one value.", words('bind_values.txt'))
emit("SERVER_FLAGS", "`server` / `default-server` parameters that stand alone.", words('server_flags.txt'))
emit("SERVER_VALUES", "`server` / `default-server` parameters followed by one value (`source` by more).", words('server_values.txt'))
