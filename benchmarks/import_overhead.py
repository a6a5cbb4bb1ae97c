"""What the toolzero plugin adds to ``import verl`` (which runs in every Ray actor).

Measures the median wall time of ``python -c "import verl"`` with the plugin loaded through its
entry point and with ``VERL_USE_EXTERNAL_PLUGINS=none``, alternating the two so machine load
drifts affect both alike, and prints the ratio. Goal: <= 1.05 (docs/verl.md).

    python benchmarks/import_overhead.py            # 7 runs each
    python benchmarks/import_overhead.py --runs 11 --python /path/to/venv/bin/python
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

GOAL = 1.05
CHECK = "import sys, verl; print('toolzero_verl.plugin' in sys.modules)"
# The plugin's own cost, measured inside one process after a plugin-free `import verl`: far less
# noisy than the difference of two multi-second process timings on a loaded machine.
DIRECT = "import time, verl; t = time.perf_counter(); import toolzero_verl.plugin; print(time.perf_counter() - t)"


def _env(plugins: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERL_USE_EXTERNAL")}
    if not plugins:
        env["VERL_USE_EXTERNAL_PLUGINS"] = "none"
    return env


def time_import(python: str, plugins: bool) -> float:
    start = time.perf_counter()
    subprocess.run([python, "-c", "import verl"], env=_env(plugins), check=True, capture_output=True)
    return time.perf_counter() - start


def plugin_loads(python: str, plugins: bool) -> bool:
    out = subprocess.run([python, "-c", CHECK], env=_env(plugins), check=True, capture_output=True, text=True)
    return out.stdout.strip().endswith("True")


def direct_cost(python: str) -> float:
    out = subprocess.run([python, "-c", DIRECT], env=_env(False), check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per variant (>= 5)")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the verl environment")
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be >= 5")
    if not plugin_loads(args.python, True) or plugin_loads(args.python, False):
        print("the plugin is not loaded by `import verl` (is toolzero-verl installed?)", file=sys.stderr)
        return 2
    time_import(args.python, True)  # warm the file cache for both variants
    with_plugin, without, direct = [], [], []
    for _ in range(args.runs):
        with_plugin.append(time_import(args.python, True))
        without.append(time_import(args.python, False))
        direct.append(direct_cost(args.python))
    med_with, med_without = statistics.median(with_plugin), statistics.median(without)
    ratio = med_with / med_without
    med_direct = statistics.median(direct)
    runs_with = ", ".join(f"{t:.2f}" for t in with_plugin)
    runs_without = ", ".join(f"{t:.2f}" for t in without)
    print(f"import verl, plugin via entry point  : median {med_with:.3f} s  ({runs_with})")
    print(f"import verl, VERL_USE_EXTERNAL_PLUGINS=none: median {med_without:.3f} s  ({runs_without})")
    print(f"ratio {ratio:.3f}  (goal <= {GOAL}: {'met' if ratio <= GOAL else 'NOT met'})")
    print(
        f"plugin module alone (in-process, after import verl): median {1000 * med_direct:.1f} ms "
        f"= {100 * med_direct / med_without:.1f}% of import verl -> ratio {1 + med_direct / med_without:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
