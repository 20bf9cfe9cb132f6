"""`train`'s run settings as flags, made from the recipe's Params (engine.Recipe.params()), and
the flags given turned back into a recipe. Nothing here knows a setting by hand: a field added to
the recipe is a flag here, with its type, range, default and help."""
from __future__ import annotations

import argparse

import engine

# Flags under another name than --PART-NAME (--train-lr is --lr), kept from the first release.
NAMES = {("train", "lr_schedule"): ("--schedule", "--lr-schedule"),
         ("pretrain", "mode"): ("--pretrain",), ("pretrain", "noise"): ("--noise",),
         ("pretrain", "tied"): ("--tied",), ("recipe", "threads"): ("--threads",)}
PREFIX = {"train": "--", "pretrain": "--pretrain-", "recipe": "--"}
METAVAR = {"int": "N", "float": "X", "text": "TEXT", "device": "auto|cpu|cuda[:N]|mps"}


def add_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per recipe field, in groups: training, pre-training, process."""
    titles = {"train": "training settings", "pretrain": "greedy layer-wise pre-training",
              "recipe": "process"}
    for part, params in engine.Recipe.params().items():
        if part == "data":
            continue                       # --dataset and --data-option, in train.py
        group = parser.add_argument_group(titles[part], "a setting left out is taken from "
                                          "FILE's recipe, else it has the default shown"
                                          if part == "train" else None)
        for param in params:
            _add(group, part, param)


def _add(group, part: str, param: engine.Param) -> None:
    flags = NAMES.get((part, param.name)) or (PREFIX[part] + param.name.replace("_", "-"),)
    dest = f"{part}.{param.name}"
    if param.type == "bool":        # --x turns it on, --no-x off (over a file's settings)
        group.add_argument(*flags, dest=dest, action=argparse.BooleanOptionalAction,
                           default=None, help=f"{param.help} (default: off)")
        return
    accepts = "" if param.type == "choice" else f"; {param.expected()}"
    kwargs = {"dest": dest, "default": None, "type": _parser_of(param),
              "help": f"{param.help}{accepts} (default: {_default(param)})"}
    if param.type == "choice":
        kwargs["metavar"] = "{" + ",".join(param.choices) + "}"
    else:
        kwargs["metavar"] = METAVAR.get(param.type, "VALUE")
    group.add_argument(*flags, **kwargs)


def _default(param: engine.Param) -> str:
    if param.default is None:
        return param.null_help or "none"
    return str(param.default)


def _parser_of(param: engine.Param):
    """argparse's `type`: the text read as the Param's type and checked against its range, so
    that a value out of range is a usage error naming the range."""
    def parse(text: str):
        try:
            value = {"int": int, "float": float}.get(param.type, str)(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{param.name} must be {param.expected()}; got "
                                             f"{text!r}") from None
        try:
            return param.validate(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = param.type
    return parse


def at_least_one(what: str):
    """An argparse type: a whole number of at least 1, counting `what` (for the message)."""
    def parse(text: str) -> int:
        if not text.isdigit() or int(text) < 1:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of {what} of at least 1")
        return int(text)
    return parse


def given(args: argparse.Namespace) -> dict[str, dict]:
    """The settings given on the command line: {"train": {...}, "pretrain": {...},
    "recipe": {...}}, without the ones left out."""
    out: dict[str, dict] = {"train": {}, "pretrain": {}, "recipe": {}}
    for key, value in vars(args).items():
        part, dot, name = key.partition(".")
        if dot and part in out and value is not None:
            out[part][name] = value
    return out


def merged(base: engine.Recipe, flags: dict[str, dict], data: engine.DataRef) -> engine.Recipe:
    """`base` (the file's recipe, or the defaults) with the flags given and the data set."""
    recipe = base.with_settings(train=flags["train"], pretrain=flags["pretrain"])
    return recipe.replace(data=data, **flags["recipe"])
