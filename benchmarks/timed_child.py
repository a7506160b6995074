"""Run a command and report how it ended, from a process small enough that the report is the command's own.

    python -S benchmarks/timed_child.py REPORT MEMORY_BYTES COMMAND...

A process forked from a large one starts with that one's peak resident size in its `ru_maxrss`, so
`benchmarks.profile_process` (which holds pandas, and has held the tables it wrote) starts each program through
this small launcher: it forks and execs COMMAND (its address space capped at MEMORY_BYTES by RLIMIT_AS; 0: no cap),
waits for it, and writes REPORT as JSON: the seconds from fork to exit, the exit code (minus the signal that ended
it) and the command's peak resident memory in bytes (at least this launcher's, about 10 MiB). Standard library only.
"""

import json
import os
import resource
import sys
import time


def main() -> None:
    report, memory, *command = sys.argv[1:]
    cap = int(memory)
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            if cap:
                resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
            os.execvp(command[0], command)
        except Exception as error:
            print(f"could not start {command[0]}: {error}", file=sys.stderr)
        os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    ended = {"seconds": seconds, "code": os.waitstatus_to_exitcode(status), "peak_bytes": usage.ru_maxrss * 1024}
    with open(report, "w") as file:
        json.dump(ended, file)


if __name__ == "__main__":
    main()
