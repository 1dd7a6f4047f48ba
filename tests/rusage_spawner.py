"""Run a batch of commands from a small process, each measured on its own (used by test_hostile).

Linux carries a process's memory high-water mark into the children it forks and keeps
it across ``exec`` (the old memory map's peak goes into ``ru_maxrss``), so a command
started by a pytest worker that has grown to hundreds of MB reports at least that
much, whatever it used itself.  Started from this process instead -- a fresh
interpreter that imports little -- a command's ``ru_maxrss`` is its own peak, bar
this process's few MB.

Reads one JSON document on stdin: ``{"jobs": [[key, argv, cwd], ...], "env": {...},
"parallel": n, "as_limit": bytes, "timeout": seconds}``; writes one on stdout:
``{key: {"code", "out", "err", "cpu", "rss_mb"}}``, plus ``"_self_rss_mb"``, this
process's own peak (what every command inherits at most).  Linux only (``/proc``).
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def _high_water_mb() -> float:
    """This process's own peak (VmHWM: its memory map's, which is what a forked child
    starts from; its ru_maxrss also holds what it inherited itself)."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024


def main() -> None:
    spec = json.load(sys.stdin)
    limit = spec["as_limit"]

    def limit_memory() -> None:  # preexec_fn: in the child before exec (and forces fork, not vfork)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    pending, running, done = list(spec["jobs"]), {}, {}
    while pending or running:
        while pending and len(running) < spec["parallel"]:
            key, argv, cwd = pending.pop(0)
            out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115 - closed when reaped
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=spec["env"],
                preexec_fn=limit_memory,
            )
            running[proc.pid] = (key, proc, out, err, time.monotonic())
        for pid in list(running):
            key, proc, out, err, started = running[pid]
            reaped, status, usage = os.wait4(pid, os.WNOHANG)
            if not reaped:
                if time.monotonic() - started > spec["timeout"]:
                    proc.kill()
                continue
            del running[pid]
            texts = []
            for fh in (out, err):
                fh.seek(0)
                texts.append(fh.read().decode("utf-8", "replace"))
                fh.close()
            done[key] = {
                "code": os.waitstatus_to_exitcode(status),
                "out": texts[0],
                "err": texts[1],
                "cpu": usage.ru_utime + usage.ru_stime,
                "rss_mb": usage.ru_maxrss / 1024,
            }
        if running:
            time.sleep(0.01)
    done["_self_rss_mb"] = _high_water_mb()
    json.dump(done, sys.stdout)


if __name__ == "__main__":
    main()
