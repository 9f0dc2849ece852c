"""Local stand-ins for the outside world: an SMTP server and a webhook (Slack) receiver.

`python -m rexctl.sinks smtp --port 1025 --dir .rex/mail` keeps every mail as an .eml file;
`python -m rexctl.sinks webhook --port 8020 --dir .rex/webhooks` keeps every POST body as JSON.
They are the test kit's sinks (`rex_testkit`), so the local stack and the tests share one.
"""

import argparse
import threading
from pathlib import Path

from rex_testkit.http_sink import HttpSink
from rex_testkit.smtp_sink import SmtpSink


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m rexctl.sinks")
    parser.add_argument("kind", choices=["smtp", "webhook"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    if args.kind == "smtp":
        SmtpSink(args.port, directory=args.dir).start()
    else:
        HttpSink(args.port, directory=args.dir).start()
    print(f"{args.kind} sink on 127.0.0.1:{args.port}, keeping messages in {args.dir}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
