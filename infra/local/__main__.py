"""``python -m infra.local`` (``make run``): run the whole topology locally.

Imports stay inside the guard: worker processes are spawned, not forked, and must not pay
for the runner's imports.
"""

import sys

if __name__ == "__main__":
    from infra.local.runner import main

    sys.exit(main())
