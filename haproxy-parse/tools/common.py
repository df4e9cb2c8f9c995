"""Shared command-line options of the probe scripts: which haproxy to run and where to write
the scratch configurations (a fresh temporary folder unless --work is given)."""
import argparse
import os
import subprocess
import tempfile


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument('--haproxy', default=os.environ.get('FLEET_HAPROXY_BIN', 'haproxy'),
                   help='haproxy binary to probe (default: $FLEET_HAPROXY_BIN, else haproxy on PATH)')
    p.add_argument('--work', default=None, help='folder for the scratch configurations (default: a new temporary one)')
    return p


def workdir(args):
    if args.work:
        os.makedirs(args.work, exist_ok=True)
        return args.work
    return tempfile.mkdtemp(prefix='haproxy-probe-')


def check(args, path, *extra):
    """Runs `haproxy -c [extra] -f path` and returns stdout + stderr."""
    p = subprocess.run([args.haproxy, '-c', *extra, '-f', path], capture_output=True, text=True, timeout=60)
    return p.stdout + p.stderr


def lines_of(path):
    with open(path) as f:
        return [l.strip() for l in f if l.strip()]
