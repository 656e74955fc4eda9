#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A keyboard-interactive SSH client for test-sshd.sh (paramiko).

    ssh-client.py PORT USER PLAN TRANSCRIPT

PLAN is a JSON file (mode 0600: it holds the test's passwords):

    {"host_key": "BASE64",           # the server key to expect
     "steps": [{"expect": REGEX,      # the prompt (with sshd's info text)
                "capture": REGEX,     # optional: group 1 is kept as the code
                "action": "approve alice" | "deny" | "",
                "answer": "..."}],
     "command": "id -u"}              # optional: run once logged in

Each prompt must match the next step in order; the action (at the test
OIDC provider, $OIDC_ISSUER) runs before the answer is sent. TRANSCRIPT
gets every prompt, with a time stamp (seconds since the start), never an
answer. The captured code is written there as "code: ...".

Exit status: 0 logged in (the command's output is in the transcript),
1 the server refused the login, 2 anything else (a prompt that did not
match, too many prompts, a timeout). The whole run is bounded by an alarm.
"""

import json
import os
import re
import signal
import socket
import sys
import time
import urllib.parse
import urllib.request

import paramiko

LIMIT_SEC = 120


def provider_action(action, code):
    if not action:
        return
    issuer = os.environ["OIDC_ISSUER"]
    words = action.split()
    if words[0] == "approve":
        path, data = "approve", {"user_code": code, "account": words[1]}
    elif words[0] == "deny":
        path, data = "deny", {"user_code": code}
    else:
        raise ValueError(f"unknown action {action}")
    body = urllib.parse.urlencode(data).encode()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{issuer}/test/{path}", body, timeout=10) as r:
        r.read()


class Dialog:
    def __init__(self, steps, out):
        self.steps = steps
        self.out = out
        self.start = time.monotonic()
        self.code = ""
        self.failed = ""

    def log(self, text):
        self.out.write(f"[{time.monotonic() - self.start:7.3f}] {text}\n")
        self.out.flush()

    def handler(self, title, instructions, prompts):
        answers = []
        for text, echo in prompts:
            self.log(f"prompt (echo {'on' if echo else 'off'}):\n{instructions}{text}")
            if not self.steps:
                self.failed = "more prompts than the plan has"
                raise paramiko.SSHException(self.failed)
            step = self.steps.pop(0)
            if not re.search(step["expect"], instructions + text, re.S):
                self.failed = f"prompt does not match /{step['expect']}/"
                raise paramiko.SSHException(self.failed)
            if step.get("capture"):
                m = re.search(step["capture"], text, re.S)
                if not m:
                    self.failed = f"nothing to capture with /{step['capture']}/"
                    raise paramiko.SSHException(self.failed)
                self.code = m.group(1)
                self.log(f"code: {self.code}")
            provider_action(step.get("action", ""), self.code)
            self.log("answered")
            answers.append(step.get("answer", ""))
        return answers


def run_command(t, command, dialog):
    chan = t.open_session(timeout=20)
    chan.settimeout(20)
    chan.exec_command(command)
    out = b""
    while True:
        data = chan.recv(4096)
        if not data:
            break
        out += data
    status = chan.recv_exit_status()
    chan.close()
    dialog.log(f"command exit {status}, output: {out.decode(errors='replace').strip()}")


def main():
    port, user, plan_file, transcript = sys.argv[1:5]
    signal.alarm(LIMIT_SEC)
    with open(plan_file) as f:
        plan = json.load(f)
    with open(transcript, "w") as out:
        dialog = Dialog(plan["steps"], out)
        sock = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
        t = paramiko.Transport(sock)
        t.auth_timeout = LIMIT_SEC - 20
        try:
            t.start_client(timeout=20)
            key = t.get_remote_server_key()
            if key.get_base64() != plan["host_key"]:
                dialog.log("unexpected host key")
                return 2
            try:
                t.auth_interactive(user, dialog.handler)
            except paramiko.AuthenticationException as e:
                if dialog.failed:
                    dialog.log(f"dialog failed: {dialog.failed}")
                    return 2
                dialog.log(f"refused: {e}")
                return 1
            if not t.is_authenticated():
                dialog.log("not authenticated")
                return 1
            if dialog.steps:
                dialog.log(f"{len(dialog.steps)} steps of the plan left over")
                return 2
            dialog.log("authenticated")
            if plan.get("command"):
                run_command(t, plan["command"], dialog)
            return 0
        except paramiko.SSHException as e:
            dialog.log(f"ssh error: {dialog.failed or e}")
            return 2
        finally:
            t.close()


if __name__ == "__main__":
    sys.exit(main())
