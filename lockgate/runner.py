"""The child-process entry of Python jobs: ``python -m lockgate.runner module:function``.

The launcher starts it with the run's context in ``LOCKGATE_CONTEXT``; it imports the
callable, calls it with a :class:`lockgate.context.RunContext`, and exits 0 when it
returns (an ``int`` it returns becomes the exit code). What the callable raises is
printed as a traceback on stderr, which lands in the run's log, and exits 1.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from typing import Any


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or ":" not in args[0]:
        sys.stderr.write("usage: python -m lockgate.runner package.module:function\n")
        return 2
    module_name, _, qualname = args[0].partition(":")
    from lockgate.context import CONTEXT_ENV, RunContext

    try:
        context = RunContext.from_json(json.loads(os.environ[CONTEXT_ENV]))
    except (KeyError, ValueError) as exc:
        sys.stderr.write(f"lockgate.runner: no valid run context in ${CONTEXT_ENV}: {exc}\n")
        return 2
    target: Any
    try:
        target = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except Exception:
        sys.stderr.write(f"lockgate.runner: cannot load {args[0]}:\n")
        traceback.print_exc()
        return 1
    try:
        result = target(context)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


if __name__ == "__main__":
    sys.exit(main())
