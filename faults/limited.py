"""``python -m faults.limited [--fsize BYTES] [--umask 0o22] -- command...``: exec a command under limits.

A wrapper rather than ``preexec_fn``: preexec_fn runs between fork and exec of a possibly multi-threaded parent
(the campaign has server threads), which Python documents as unsafe. Here the limits are set in a fresh,
single-threaded process that then ``exec``-s the run, which inherits them:

- ``--fsize``: RLIMIT_FSIZE, no file may grow past BYTES, with SIGXFSZ ignored so that a write past it fails
  with EFBIG ("File too large") like a full disk fails a write, instead of killing the process;
- ``--umask``: the file-creation mask the run starts with (to check the modes of what it publishes).
"""

from __future__ import annotations

import argparse
import os
import resource
import signal


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m faults.limited")
    parser.add_argument("--fsize", type=int)
    parser.add_argument("--umask", type=lambda text: int(text, 0))
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command")
    if args.fsize is not None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # ignored dispositions survive exec
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.fsize, args.fsize))
    if args.umask is not None:
        os.umask(args.umask)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
