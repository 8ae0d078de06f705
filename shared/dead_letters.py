"""Inspect and replay the dead-letter queues of the event handlers.

    python -m shared.dead_letters list                 # every <queue>.dead with its depth
    python -m shared.dead_letters show <queue> [-n 20] # its messages: event, error (nothing moves)
    python -m shared.dead_letters replay <queue> [-n N]

``<queue>`` is a handler's queue (``evt-billing-account_upserted--accounts.on_account``) or
its ``.dead`` queue. Replay moves each message back into the handler's own queue (through
the default exchange, so the event's other subscribers do not get it twice) with its retry
count reset, once the cause is fixed: publisher confirms first, then the dead copy is acked,
so a crash between the two leaves a duplicate, which the handler's ``claim_event`` ignores,
never a loss. ``list`` asks the management API (``RABBIT_MANAGEMENT_URI``); the others speak
AMQP (``AMQP_URI``).
"""
from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
import urllib.request
from typing import Any, Sequence

from kombu import Connection

from shared import settings
from shared.consumers import RETRY_HEADER

DEAD = ".dead"


def queue_names(name: str) -> tuple[str, str]:
    """(handler queue, dead-letter queue) for either name."""
    handler = name[: -len(DEAD)] if name.endswith(DEAD) else name
    return handler, handler + DEAD


def list_dead(management_uri: str, amqp_uri: str) -> list[dict[str, Any]]:
    """``[{"queue", "messages"}]`` of every dead-letter queue on AMQP_URI's vhost (their
    names from the management API: AMQP cannot list queues)."""
    vhost = Connection(amqp_uri).virtual_host or "/"
    parts = urllib.parse.urlsplit(management_uri)
    base = urllib.parse.urlunsplit((parts.scheme, parts.hostname + (f":{parts.port}" if parts.port
                                                                     else ""),
                                    parts.path.rstrip("/"), "", ""))
    url = f"{base}/api/queues/{urllib.parse.quote(vhost, safe='')}?columns=name"
    request = urllib.request.Request(url)
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    passwords.add_password(None, base, urllib.parse.unquote(parts.username or "guest"),
                           urllib.parse.unquote(parts.password or "guest"))
    opener = urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(passwords))
    with opener.open(request, timeout=10) as response:
        queues = json.load(response)
    names = sorted(q["name"] for q in queues if q["name"].endswith(DEAD))
    # The depth from AMQP: the management API's counts are statistics, seconds late.
    with Connection(amqp_uri) as connection:
        depths = []
        for name in names:
            channel = connection.channel()
            depths.append(channel.queue_declare(queue=name, passive=True).message_count)
            channel.close()
    return [{"queue": name, "messages": n} for name, n in zip(names, depths)]


def show(amqp_uri: str, name: str, limit: int = 20) -> list[dict[str, Any]]:
    """Up to ``limit`` messages of the dead queue, left where they are."""
    _, dead = queue_names(name)
    found: list[dict[str, Any]] = []
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        while len(found) < limit:  # unacked gets: all go back when the channel closes
            message = _get(channel, dead)
            if message is None:
                break
            found.append(_describe(message))
        channel.close()
    return found


def _get(channel: Any, queue: str) -> Any:
    """The next message of ``queue`` as a kombu Message (unacked), or None."""
    raw = channel.basic_get(queue, no_ack=False)
    return None if raw is None else channel.message_to_python(raw)


def _describe(message: Any) -> dict[str, Any]:
    headers = message.headers or {}
    try:
        body = json.loads(message.body)
    except ValueError:
        body = {}
    return {"id": body.get("id") if isinstance(body, dict) else None,
            "type": body.get("type") if isinstance(body, dict) else None,
            "error": headers.get("x-error"), "retries": headers.get(RETRY_HEADER, 0)}


def replay(amqp_uri: str, name: str, limit: int | None = None) -> int:
    """Move up to ``limit`` (all) messages of the dead queue back to the handler's queue."""
    handler, dead = queue_names(name)
    moved = 0
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        channel = connection.channel()
        channel.queue_declare(queue=handler, passive=True)  # no handler queue: nothing to do
        # What is there now, at most: a message failing again comes back behind us.
        waiting = channel.queue_declare(queue=dead, passive=True).message_count
        limit = waiting if limit is None else min(limit, waiting)
        producer = connection.Producer(channel=channel)  # the default exchange: queue by name
        while moved < limit:
            message = _get(channel, dead)
            if message is None:
                break
            headers = {k: v for k, v in (message.headers or {}).items()
                       if k not in (RETRY_HEADER, "x-error", "x-original-queue")}
            headers["x-replayed"] = True
            producer.publish(message.body, routing_key=handler, headers=headers,
                             content_type=message.content_type,
                             content_encoding=message.content_encoding, delivery_mode=2)
            message.ack()  # after the broker confirmed the copy
            moved += 1
        channel.close()
    return moved


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.dead_letters", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="dead-letter queues and their depth")
    for command, text in (("show", "the messages of a dead-letter queue (nothing moves)"),
                          ("replay", "move a dead-letter queue's messages back to its handler")):
        sub = commands.add_parser(command, help=text)
        sub.add_argument("queue", help="the handler's queue or its .dead queue")
        sub.add_argument("-n", "--limit", type=int, default=20 if command == "show" else None)
    args = parser.parse_args(argv)
    config = settings.load()
    if args.command == "list":
        for queue in list_dead(config["RABBIT_MANAGEMENT_URI"], config["AMQP_URI"]):
            print(f"{queue['messages']:>8}  {queue['queue']}")
    elif args.command == "show":
        for message in show(config["AMQP_URI"], args.queue, args.limit):
            print(json.dumps(message, ensure_ascii=False, default=str))
    else:
        moved = replay(config["AMQP_URI"], args.queue, args.limit)
        print(f"{moved} message(s) replayed to {queue_names(args.queue)[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
