"""A command-line bookmark keeper on coodie.sync.

    python examples/bookmarks.py add https://cassandra.apache.org --tag db
    python examples/bookmarks.py list [--tag db]
    python examples/bookmarks.py tag https://cassandra.apache.org docs
    python examples/bookmarks.py remove https://cassandra.apache.org

Needs ``pip install coodie-sync``. The hosts come from ``COODIE_HOSTS``
(comma-separated, ``127.0.0.1`` by default), and the bookmarks live in the
keyspace ``coodie_example_cli``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Annotated

from pydantic import Field

from coodie.exceptions import CoodieError
from coodie.fields import Indexed, PrimaryKey
from coodie.sync import Document, close_coodie, create_keyspace, init_coodie

HOSTS = os.environ.get("COODIE_HOSTS", "127.0.0.1").split(",")
KEYSPACE = "coodie_example_cli"


class Bookmark(Document):
    url: Annotated[str, PrimaryKey()]
    tags: Annotated[set[str], Indexed()] = set()
    added: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))

    class Settings:
        name = "bookmarks"


def add(arguments: argparse.Namespace) -> int:
    created = Bookmark(url=arguments.url, tags=set(arguments.tag)).insert()
    if not created:
        print(f"already saved: {arguments.url}", file=sys.stderr)
        return 1
    print(f"saved {arguments.url}")
    return 0


def list_bookmarks(arguments: argparse.Namespace) -> int:
    query = Bookmark.find()
    if arguments.tag:
        query = query.filter(tags__contains=arguments.tag)
    bookmarks = sorted(query, key=lambda bookmark: bookmark.url)
    for bookmark in bookmarks:
        tags = ", ".join(sorted(bookmark.tags)) or "-"
        print(f"{bookmark.url}  [{tags}]")
    return 0


def tag(arguments: argparse.Namespace) -> int:
    bookmark = Bookmark(url=arguments.url)
    if not bookmark.update(tags__add=set(arguments.tags), if_exists=True):
        print(f"no bookmark for {arguments.url}", file=sys.stderr)
        return 1
    print(f"tagged {arguments.url}")
    return 0


def remove(arguments: argparse.Namespace) -> int:
    if not Bookmark(url=arguments.url).delete(if_exists=True):
        print(f"no bookmark for {arguments.url}", file=sys.stderr)
        return 1
    print(f"removed {arguments.url}")
    return 0


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Keep bookmarks in Cassandra.")
    commands = parser.add_subparsers(required=True, metavar="command")

    adding = commands.add_parser("add", help="save a URL")
    adding.add_argument("url")
    adding.add_argument("--tag", action="append", default=[], help="repeatable")
    adding.set_defaults(run=add)

    listing = commands.add_parser("list", help="show bookmarks")
    listing.add_argument("--tag", help="only those with this tag")
    listing.set_defaults(run=list_bookmarks)

    tagging = commands.add_parser("tag", help="add tags to a saved URL")
    tagging.add_argument("url")
    tagging.add_argument("tags", nargs="+")
    tagging.set_defaults(run=tag)

    removing = commands.add_parser("remove", help="forget a URL")
    removing.add_argument("url")
    removing.set_defaults(run=remove)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse(argv)
    try:
        init_coodie(hosts=HOSTS, keyspace=KEYSPACE)
        create_keyspace(KEYSPACE, replication_factor=1)
        Bookmark.sync_table()
        return int(arguments.run(arguments))
    except CoodieError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        close_coodie()


if __name__ == "__main__":
    sys.exit(main())
