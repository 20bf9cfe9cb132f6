"""`datasets [--json]`: the named data sets, what they hold, and the files Layerwise reads."""
from __future__ import annotations

import json
import textwrap

from cli.progress import table


def register(sub) -> None:
    p = sub.add_parser("datasets", help="list the data sets to train on",
                       description="List the built-in, bundled and downloadable data sets "
                                   "with their input shape, task, size and options, and the "
                                   "kinds of files that can be used instead.")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(run=run)


def run(args) -> int:
    from engine import data
    infos = [i.to_dict() for i in data.datasets()]
    files = data.file_kinds()
    if args.json:
        print(json.dumps({"datasets": infos, "files": files, "cache": str(data.cache_dir())},
                         indent=2))
        return 0
    rows = [("name", "kind", "input", "task", "samples", "status", "options")]
    for i in infos:
        task = f"{i['classes']} classes" if i["classes"] else i["task"]
        status = "ready" if i["available"] else "downloads on first use"
        rows.append((i["name"], i["kind"], "x".join(map(str, i["input_shape"])), task,
                     i["samples"], status, _defaults(i["options"])))
    lines = table(rows)
    lines.insert(1, "  " + "-" * (len(lines[0]) - 2))
    lines += ["", *(f"  {i['name']}: {i['description']}" for i in infos), "",
              "Your own data: --dataset PATH, with options as --data-option KEY=VALUE:"]
    for f in files:
        lines.append(f"  {f['description']} ({f['kind']}): {_defaults(f['options']) or '-'}")
        for name, o in f["options"].items():
            lines += textwrap.wrap(f"{name}: {o['help']}", 96, initial_indent=" " * 6,
                                   subsequent_indent=" " * 8)
    lines += ["", f"Downloads are kept in {data.cache_dir()} (set LAYERWISE_DATA_DIR to change "
                  f"it)."]
    print("\n".join(lines))
    return 0


def _defaults(options: dict) -> str:
    return " ".join(f"{k}={_shown(o['default'])}" for k, o in options.items())


def _shown(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)          # KEY= (empty) gives the default
