#!/usr/bin/env python3
"""Derive keepalived's keyword tables from the real binary.

Usage: keepalived_keywords.py [--bin /usr/sbin/keepalived] [--out DIR] [--extra FILE] [--context NAME]...

Candidates are the identifier-like strings in the binary (`strings`), their tails after each
`_` or `-` (the linker stores a literal that ends another one only once: `script` lives inside
`vrrp_script`), and the words of an optional `--extra` file (for instance every string literal
of keepalived's own parser sources, which catches tails such as `host` in `virtualhost`). For
each block context
(top level, global_defs, vrrp_instance, each health checker ...) the candidates are written into
one file, each inside a fresh copy of the context block, and `keepalived -t` reports the unknown
ones ("Unknown keyword 'X'" at the candidate's own line). An accepted keyword may swallow the
lines after it (a block keyword reading the next `}`), so the run repeats with only the
candidates reported unknown until nothing changes: at that fixed point every line of the file
is an unknown keyword that keepalived dropped, so each one was read in its proper context.
Every candidate left out is then confirmed on its own, one file each.

Prints, per context, the accepted keywords (one per line, sorted) to DIR/<context>.txt.
"""

import argparse
import os
import re
import subprocess
import tempfile

CHECKERS = ["TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK", "DNS_CHECK",
            "PING_CHECK", "UDP_CHECK", "FILE_CHECK", "BFD_CHECK"]

VS = ("virtual_server 10.0.0.1 80 {\n", "}\n")
RS = ("virtual_server 10.0.0.1 80 {\nreal_server 10.0.0.2 80 {\n", "}\n}\n")

# context name -> (text before the candidate, text after it)
CONTEXTS = {
    "top": ("", ""),
    "global_defs": ("global_defs {\n", "}\n"),
    "vrrp_script": ("vrrp_script s {\n", "}\n"),
    "vrrp_instance": ("vrrp_instance v {\n", "}\n"),
    "authentication": ("vrrp_instance v {\nauthentication {\n", "}\n}\n"),
    "vrrp_sync_group": ("vrrp_sync_group g {\n", "}\n"),
    "virtual_server": VS,
    "real_server": RS,
    "track_file": ("track_file f {\n", "}\n"),
    "vrrp_track_process": ("vrrp_track_process p {\n", "}\n"),
    "track_group": ("track_group t {\n", "}\n"),
    "garp_group": ("garp_group {\n", "}\n"),
    "bfd_instance": ("bfd_instance b {\n", "}\n"),
}
for checker in CHECKERS:
    CONTEXTS[checker] = (RS[0] + checker + " {\n", "}\n" + RS[1])
for checker in ["HTTP_GET", "SSL_GET"]:
    CONTEXTS[checker + ".url"] = (RS[0] + checker + " {\nurl {\n", "}\n}\n" + RS[1])

UNKNOWN = re.compile(r"Line (\d+)\) Unknown keyword '([^']*)'")


def candidates(binary, extra):
    out = subprocess.run(["strings", "-n", "2", binary], capture_output=True, text=True, check=True).stdout
    if extra:
        with open(extra) as f:
            out += "\n" + f.read()
    words = {w for w in out.split() if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", w)}
    for word in list(words):
        for i, c in enumerate(word[:-1]):
            if c in "_-" and word[i + 1].isalpha():
                words.add(word[i + 1:])
    # include lines are read before keywords are matched (lib/parser.c check_include).
    return sorted(w for w in words if not re.fullmatch(r"include[rmwba]?", w))


def run(binary, text):
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        out = subprocess.run([binary, "-t", "-f", path], capture_output=True, text=True)
        return out.stdout + out.stderr
    finally:
        os.unlink(path)


def unknown_in_batch(binary, context, batch):
    before, after = CONTEXTS[context]
    lines, text, at = {}, "", 1
    for cand in batch:
        text += before
        at += before.count("\n")
        lines[at] = cand
        text += cand + "\n" + after
        at += 1 + after.count("\n")
    found = set()
    for line, word in UNKNOWN.findall(run(binary, text)):
        if lines.get(int(line)) == word:
            found.add(word)
    return found


def accepted(binary, context, cands):
    unknown = set(cands)
    while True:
        batch = sorted(unknown)
        still = set()
        for i in range(0, len(batch), 1000):
            still |= unknown_in_batch(binary, context, batch[i:i + 1000])
        if still == unknown:
            break
        unknown = still
    left = [c for c in cands if c not in unknown]
    return sorted(c for c in left if not unknown_in_batch(binary, context, [c]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.environ.get("FLEET_KEEPALIVED_BIN", "/usr/sbin/keepalived"))
    parser.add_argument("--out", default="keepalived-keywords")
    parser.add_argument("--context", action="append")
    parser.add_argument("--extra", help="a file of more candidate words")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    cands = candidates(args.bin, args.extra)
    for context in args.context or CONTEXTS:
        words = accepted(args.bin, context, cands)
        with open(os.path.join(args.out, context + ".txt"), "w") as f:
            f.write("".join(w + "\n" for w in words))
        print(f"{context}: {len(words)} keywords", flush=True)


if __name__ == "__main__":
    main()
