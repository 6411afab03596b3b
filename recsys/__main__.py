"""`python -m recsys up | materialize | consume`: the launcher's commands.

The launcher (`recsys_launcher`) talks to Dagster; the `recsys` core must not import it, so this
doorway runs it by name instead of importing it.
"""

import runpy

runpy.run_module("recsys_launcher", run_name="__main__", alter_sys=True)
