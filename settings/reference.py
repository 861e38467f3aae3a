"""docs/configuration.md, generated from the dataclasses: every setting, its type, default and meaning.

The meaning is the string written under each field in settings/sections.py (an attribute
docstring, read with ``ast``, so it lives once, next to the default). A test checks that the
committed file is current.

    python -m settings.reference            # print it
    python -m settings.reference --write    # rewrite docs/configuration.md
    python -m settings.reference --check    # exit 1 when it is stale
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import sys
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Iterator

import yaml

from settings.load import DEFAULT_CONFIG, REFERENCE
from settings.sections import Config, setting_fields

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "python -m settings.reference --write"


@dataclass(frozen=True)
class Setting:
    name: str        # dotted: telegram.webhook.url
    type: str        # as annotated: int, float, str, bool, Path
    default: Any
    doc: str


@cache
def field_docs(cls: type) -> dict[str, str]:
    """The string under each field of a dataclass, by field name (attribute docstrings)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, after in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)):
            docs[node.target.id] = one_line(after.value.value)
    return docs


def section_doc(cls: type) -> str:
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    return one_line(ast.get_docstring(tree.body[0]) or "")  # type: ignore[arg-type]


def one_line(text: str) -> str:
    return " ".join(text.split()).replace("``", "`")


def sections(cls: type = Config, prefix: str = "") -> Iterator[tuple[str, type, list[Setting]]]:
    """(dotted section name, its class, its leaf settings), each section before the ones inside it."""
    default = cls()
    docs = field_docs(cls)
    leaves, nested = [], []
    for f in setting_fields(cls):
        value = getattr(default, f.name)
        name = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            nested.append((name, type(value)))
        else:
            leaves.append(Setting(name, str(f.type), value, docs.get(f.name, "")))
    if prefix:
        yield prefix.rstrip("."), cls, leaves
    for name, sub in nested:
        yield from sections(sub, f"{name}.")


def all_settings() -> list[Setting]:
    return [s for _, _, leaves in sections() for s in leaves]


def leaf_keys(raw: Any, prefix: str = "") -> list[str]:
    """The dotted names of the values a YAML mapping sets."""
    if not isinstance(raw, dict):
        return [prefix.rstrip(".")] if prefix else []
    return [key for name, value in raw.items() for key in leaf_keys(value, f"{prefix}{name}.")]


def yaml_value(value: Any) -> str:
    """A default as it would be written in config.yaml."""
    if isinstance(value, Path):
        value = str(value)
    text = yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(config_path: Path = DEFAULT_CONFIG) -> str:
    """The whole of docs/configuration.md."""
    in_file = set(leaf_keys(yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}))
    every = all_settings()
    shipped = sum(s.name in in_file for s in every)
    lines = [
        "# Configuration",
        "",
        f"<!-- Generated from settings/sections.py by `{COMMAND}`; edit the docstrings there. -->",
        "",
        "Every entry point reads `config.yaml` next to the code, or the file given with `--config FILE`.",
        f"That file sets only what an operator usually changes: {shipped} of the {len(every)} settings below",
        "(column *config.yaml*). Every other setting keeps the default shown here and can be set in the",
        "same file by its name, nested under its section, e.g. `engine.max_faces`:",
        "",
        "```yaml",
        "engine:",
        "  max_faces: 5",
        "```",
        "",
        "A key that is not listed here stops the program at start-up with an error that names it.",
        "Relative paths are taken from the config file's folder. Secrets never live in a config file:",
        "the bot token comes from the environment variable `BOT_TOKEN`, the webhook secret from",
        "`WEBHOOK_SECRET`; `LOOKALIKE_CONTACT` overrides `scrape.contact`.",
    ]
    for name, cls, leaves in sections():
        lines += ["", f"## {name}", "", section_doc(cls), ""]
        if not leaves:
            continue
        lines += ["| setting | type | default | config.yaml | meaning |", "|---|---|---|---|---|"]
        for s in leaves:
            lines.append(f"| `{s.name}` | {s.type} | `{cell(yaml_value(s.default))}` | "
                         f"{'yes' if s.name in in_file else ''} | {cell(s.doc)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--write", action="store_true", help=f"rewrite {REFERENCE}")
    how.add_argument("--check", action="store_true", help=f"exit 1 when {REFERENCE} is stale")
    args = parser.parse_args(argv)
    text, target = render(), ROOT / REFERENCE
    if args.write:
        target.write_text(text, encoding="utf-8")
    elif args.check:
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            print(f"{REFERENCE} is stale: run `{COMMAND}`", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
