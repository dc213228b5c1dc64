"""CLI options generated from a stage's configuration dataclass, so each default, type and
help text lives in one place: the dataclass field (help from ``metadata["help"]`` or from
the command's ``help`` dict).

An option is named after its field (``batch_size`` -> ``--batch-size``) unless the field's
metadata gives a ``flag``; a boolean field becomes ``--name`` when it defaults to False and
``--no-name`` when it defaults to True; a ``tuple[str, ...]`` field takes comma-separated
names. Nested dataclasses are reached with dotted names (``triage.min_agree``). Options left
unset keep the dataclass default (see :func:`config_from_args`).
"""

from __future__ import annotations

import dataclasses
import typing


def _names(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def _field(cls, dotted: str):
    """The dataclasses.Field, its resolved type and its default for a (dotted) field name."""
    *outer, name = dotted.split(".")
    for part in outer:
        cls = typing.get_type_hints(cls)[part]
    f = {x.name: x for x in dataclasses.fields(cls)}[name]
    default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
    return f, typing.get_type_hints(cls)[name], default


def _dest(dotted: str) -> str:
    return dotted.replace(".", "__")


def _show(default) -> str:
    if isinstance(default, tuple):
        return ",".join(map(str, default))
    return str(default)


def add_options(parser, cls, names, *, help: dict | None = None) -> None:
    """Add an option to ``parser`` for each field of ``cls`` in ``names`` (dotted for nested
    dataclasses); its default is None so :func:`config_from_args` can tell unset from set."""
    for dotted in names:
        f, kind, default = _field(cls, dotted)
        text = (help or {}).get(dotted) or f.metadata.get("help", "")
        flag = f.metadata.get("flag")
        name = dotted.rsplit(".", 1)[-1].replace("_", "-")
        kw = {"dest": _dest(dotted), "default": None}
        if kind is bool:
            flag = flag or (f"--no-{name}" if default else f"--{name}")
            parser.add_argument(flag, action="store_false" if default else "store_true", help=text, **kw)
            continue
        flag = flag or f"--{name}"
        args = typing.get_args(kind)
        if typing.get_origin(kind) is tuple:
            kw["type"] = _names
        elif kind in (int, float, str):
            kw["type"] = kind
        elif type(None) in args:  # Optional[X]
            kw["type"] = next(a for a in args if a is not type(None))
        choices = f.metadata.get("choices")
        if choices:
            kw["choices"] = choices
        parser.add_argument(flag, help=f"{text} (default {_show(default)})".lstrip(), **kw)


def config_from_args(cls, args, names, *, base=None):
    """``base`` (default ``cls()``) with every option in ``names`` that was set on the
    command line; nested dataclasses are replaced, not mutated."""
    cfg = base if base is not None else cls()
    over: dict = {}
    for dotted in names:
        value = getattr(args, _dest(dotted), None)
        if value is not None:
            over[dotted] = value
    return _replace(cfg, over)


def _replace(cfg, over: dict):
    top = {k: v for k, v in over.items() if "." not in k}
    nested: dict = {}
    for k, v in over.items():
        if "." in k:
            head, rest = k.split(".", 1)
            nested.setdefault(head, {})[rest] = v
    for head, sub in nested.items():
        top[head] = _replace(getattr(cfg, head), sub)
    return dataclasses.replace(cfg, **top)
