"""``disac report``: the README's results sections made anew from the committed JSON (:mod:`~.evaluation.readme`).

``disac report --readme`` rewrites every generated section of ``README.md`` (the text between
``<!-- generated: NAME (...) -->`` and ``<!-- end generated: NAME -->``) from the files under ``--root``;
``--check`` changes nothing and exits with status 1 naming the sections that differ, as the tests do.
``--section NAME`` prints one section.
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--readme", nargs="?", const="README.md", metavar="FILE",
                        help="rewrite the generated sections of this Markdown file (default README.md)")
    parser.add_argument("--check", action="store_true",
                        help="with --readme: change nothing; exit 1 when a generated section differs from what the "
                        "committed files give")
    parser.add_argument("--section", metavar="NAME", help="print one generated section")
    parser.add_argument("--root", default=".", help="the repository root the sections' files are read under")


def run(args: argparse.Namespace) -> int:
    from disac_ros.evaluation import readme

    if args.section:
        print(readme.render(args.section, args.root), end="")
        return 0
    if not args.readme:
        raise ValueError(f"give --readme [FILE] or --section NAME (sections: {', '.join(readme.SECTIONS)})")
    if args.check:
        differ = readme.stale(args.readme, args.root)
        for name in differ:
            print(f"{args.readme}: section {name!r} differs from what the committed files give; run "
                  f"`{readme.COMMAND}`")
        return 1 if differ else 0
    changed = readme.update(args.readme, args.root)
    print(f"{args.readme}: {len(changed)} section(s) rewritten{': ' + ', '.join(changed) if changed else ''}")
    return 0
