#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Drives a program on a pseudo-terminal for test-su.sh (pexpect).

    pty-client.py PLAN TRANSCRIPT

PLAN is a JSON file (mode 0600: it holds the test's passwords):

    {"argv": ["setpriv", ..., "su", "alice", "-c", "id -u"],
     "steps": [{"expect": REGEX, "answer": "..."}]}

Each step waits (bounded) for its pattern in what the program writes, then
types the answer and Enter. After the last step the program's remaining
output is read until it exits. TRANSCRIPT gets everything the program
wrote (answers typed at a no-echo prompt are not echoed, and this script
never writes them), a line "step N matched" per step and the exit status.

Exit status: the program's; 124 when a pattern did not come in time or
the program did not end; 125 when it ended before a step's pattern came.
"""

import json
import sys

import pexpect

STEP_TIMEOUT = 30


def main():
    plan_file, transcript = sys.argv[1:3]
    with open(plan_file) as f:
        plan = json.load(f)
    with open(transcript, "w") as out:
        child = pexpect.spawn(plan["argv"][0], plan["argv"][1:], encoding="utf-8",
                              timeout=STEP_TIMEOUT, echo=False)
        try:
            for n, step in enumerate(plan["steps"], 1):
                child.expect(step["expect"])
                out.write(child.before + child.after)
                out.write(f"\n[step {n} matched]\n")
                out.flush()
                child.sendline(step["answer"])
            child.expect(pexpect.EOF)
            out.write(child.before)
        except pexpect.TIMEOUT:
            out.write((child.before or "") + "\n[timed out]\n")
            child.close(force=True)
            return 124
        except pexpect.EOF:
            out.write((child.before or "") + "\n[ended before the step]\n")
            child.close()
            return 125
        child.close()
        status = child.exitstatus if child.exitstatus is not None else 128 + child.signalstatus
        out.write(f"\n[exit {status}]\n")
        return status


if __name__ == "__main__":
    sys.exit(main())
