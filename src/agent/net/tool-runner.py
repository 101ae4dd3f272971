# The host's network tools run from this small, long-lived process on the controller's (or agent's)
# behalf (run.ts): a spawn from Node forks its whole large process (10-20 ms a spawn on these machines),
# a spawn from here is a vfork (about 2 ms), so applying firewalls to many namespaces is not paced by
# fork. One request a line on stdin, one answer a line on stdout, as JSON:
#   {"id": 7, "argv": ["iptables-restore"], "input": "*filter...", "netns": 42}
#   {"id": 7, "code": 0, "stdout": "...", "stderr": "..."}     (code -1: the tool could not start)
# `netns`: the tool runs in the network namespace of that process (a container's init), as under
# `nsenter -t 42 -n`: the thread that starts it joins the namespace, and returns to the host's after.
# The first line out is {"ready": true}: until then nothing has run. Up to eight tools run at once; the
# answers come in the order they finish. EOF on stdin: the tools running finish, their answers are
# written, and the process ends.
import ctypes
import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

MAX_OUTPUT = 4 * 1024 * 1024

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
host_netns = os.open('/proc/self/ns/net', os.O_RDONLY)
answers = threading.Lock()


def join_netns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), 'setns: ' + os.strerror(ctypes.get_errno()))


def execute(argv, stdin):
    return subprocess.run(argv, input=stdin, capture_output=True, encoding='utf-8', errors='replace')


def execute_in(pid, argv, stdin):
    fd = os.open('/proc/%d/ns/net' % pid, os.O_RDONLY)
    try:
        join_netns(fd)
    finally:
        os.close(fd)
    try:
        return execute(argv, stdin)
    finally:
        try:
            join_netns(host_netns)
        except OSError:
            # A thread left in a container's namespace must never run the host's tools: end here.
            os._exit(70)


def answer(message):
    line = json.dumps(message, separators=(',', ':')) + '\n'
    with answers:
        sys.stdout.write(line)
        sys.stdout.flush()


def run(request):
    rid = request.get('id')
    argv = request.get('argv')
    try:
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            raise ValueError('argv must be a list of strings')
        netns = request.get('netns')
        stdin = request.get('input') or ''
        if netns is None:
            done = execute(argv, stdin)
        elif isinstance(netns, int) and not isinstance(netns, bool) and netns > 0:
            done = execute_in(netns, argv, stdin)
        else:
            raise ValueError('netns must be a process id')
        answer({'id': rid, 'code': done.returncode, 'stdout': done.stdout[:MAX_OUTPUT], 'stderr': done.stderr[:MAX_OUTPUT]})
    except Exception as err:  # a tool that cannot start, or a request that is not one
        answer({'id': rid, 'code': -1, 'stdout': '', 'stderr': str(err)})


def main():
    answer({'ready': True})
    with ThreadPoolExecutor(max_workers=8) as pool:
        for line in sys.stdin:
            if line.strip():
                pool.submit(run, json.loads(line))


if __name__ == '__main__':
    main()
