"""`python -m rnnlab.dashboard SWEEP_DIR [--color-by KEY[,KEY]] [--port N]`: TensorBoard on a sweep, and the URL of
its landing view (TIME SERIES on the loss and gradient cards, runs coloured by a key the sweep varies).

TensorBoard serves 127.0.0.1 only and keeps every image step (`--samples_per_plugin images=100`); `--url-only`
prints the landing URL for a TensorBoard already running there. A last line gives SCALARS filtered to the same
tags. The view is built in `rnnlab.sweeps.landing`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rnnlab.sweeps.landing import color_keys, landing_url, scalars_url

HOST = "127.0.0.1"
SAMPLES = "images=100"  # TensorBoard keeps 10 images per tag by default: every step on the IMAGES slider


def tensorboard_argv(sweep_dir: str, port: int | None, host: str = HOST) -> list[str]:
    """TensorBoard's command line (without the program name) for `sweep_dir`; no `--port`: its own scan from 6006."""
    argv = ["--logdir", sweep_dir, "--host", host, "--samples_per_plugin", SAMPLES]
    return argv + (["--port", str(port)] if port is not None else [])


def serve(argv: list[str]) -> str:
    """Start TensorBoard in this process (its own `launch`: a server thread); its URL."""
    from tensorboard import program

    board = program.TensorBoard()
    board.configure(argv=["tensorboard", *argv])
    return board.launch()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnlab.dashboard", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", metavar="SWEEP_DIR", help="a multirun's sweep directory (or any logdir)")
    parser.add_argument(
        "--color-by",
        metavar="KEY[,KEY]",
        help="colour the runs by these varied keys (one colour per combination of values), or `run`; "
        "default: the varied key (not seed) with the most values the 7-colour palette tells apart",
    )
    parser.add_argument("--port", type=int, help="TensorBoard's port (default: 6006, or the next free one)")
    parser.add_argument("--smoothing", type=float, default=0.0, help="TIME SERIES' smoothing, 0 to 0.999 (default 0)")
    parser.add_argument("--url-only", action="store_true", help="print the landing URL of a TensorBoard at --port")
    args = parser.parse_args(argv)
    sweep_dir = Path(args.sweep_dir)
    try:
        if not sweep_dir.is_dir():
            raise ValueError(f"SWEEP_DIR={str(sweep_dir)!r} is invalid; allowed: an existing directory")
        if not 0 <= args.smoothing < 1:
            raise ValueError(f"--smoothing={args.smoothing!r} is invalid; allowed: 0 <= smoothing < 1")
        if args.port is not None and not 0 < args.port < 65536:
            raise ValueError(f"--port={args.port!r} is invalid; allowed: 1 to 65535")
        keys = color_keys(sweep_dir, args.color_by)
    except ValueError as error:
        print(f"rnnlab.dashboard: {error}", file=sys.stderr)
        return 2
    colours = f"runs coloured by {', '.join(keys)}" if keys else "a colour per run"
    if args.url_only:
        print(landing_url(f"http://{HOST}:{args.port or 6006}/", keys, args.smoothing))
        return 0
    url = serve(tensorboard_argv(str(sweep_dir), args.port))
    print(f"TensorBoard on {sweep_dir} at {url} ({colours}); Ctrl+C stops it. The landing view:", flush=True)
    print(landing_url(url, keys, args.smoothing), flush=True)
    print(f"SCALARS on the same tags (a colour per run): {scalars_url(url)}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
