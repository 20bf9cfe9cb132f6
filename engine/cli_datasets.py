"""`datasets [--json]`: the named data sets, what they hold, and the files Layerwise reads."""
from __future__ import annotations

import json

from .cli_progress import table


def register(sub) -> None:
    p = sub.add_parser("datasets", help="list the data sets to train on",
                       description="List the built-in, bundled and downloadable data sets "
                                   "with their input shape, task, size and options, and the "
                                   "kinds of files that can be used instead.")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(run=run)


def run(args) -> int:
    from .data import cache_dir, datasets
    infos = [i.to_dict() for i in datasets()]
    if args.json:
        print(json.dumps({"datasets": infos, "cache": str(cache_dir())}, indent=2))
        return 0
    rows = [("name", "kind", "input", "task", "samples", "status", "options")]
    for i in infos:
        task = f"{i['classes']} classes" if i["classes"] else i["task"]
        status = "ready" if i["available"] else "downloads on first use"
        options = " ".join(f"{k}={o['default']}" for k, o in i["options"].items())
        rows.append((i["name"], i["kind"], "x".join(map(str, i["input_shape"])), task,
                     i["samples"], status, options))
    lines = table(rows)
    lines.insert(1, "  " + "-" * (len(lines[0]) - 2))
    lines += ["", *(f"  {i['name']}: {i['description']}" for i in infos), "",
              "Your own data: a .csv (label column last unless --data-option label=...), an "
              ".npz with arrays X and y,",
              "an IDX image file with its label file, or a folder with one subfolder of "
              "images per class.",
              f"Downloads are kept in {cache_dir()} (set LAYERWISE_DATA_DIR to change it)."]
    print("\n".join(lines))
    return 0
