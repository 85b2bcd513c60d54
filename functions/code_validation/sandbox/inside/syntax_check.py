"""Inside the sandbox: ``ast.parse`` each file named on the command line and print the
failures as JSON ``[{"path", "line", "message"}]``; nothing of the submission runs."""

import ast
import json
import sys


def main(paths: list[str]) -> None:
    failures = []
    for path in paths:
        with open(path, encoding="utf-8") as source_file:
            source = source_file.read()
        try:
            ast.parse(source, filename=path)
        except SyntaxError as exc:
            failures.append({"path": path, "line": exc.lineno, "message": f"{exc.msg}"})
        except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, too deep
            failures.append({"path": path, "line": None, "message": f"{type(exc).__name__}: {exc}"})
    sys.stdout.write(json.dumps(failures))


if __name__ == "__main__":
    main(sys.argv[1:])
