"""``openfeeder-client`` and ``python -m openfeeder_client``: the command line, or a clear
message when the ``cli`` extra (click and rich) is not installed."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from openfeeder_client.cli import cli
    except ModuleNotFoundError as error:
        if error.name not in ("click", "rich"):
            raise
        sys.exit(
            f"openfeeder-client: the command line needs {error.name}, which is not installed; "
            "install it with: pip install 'openfeeder-client[cli]'"
        )
    cli(prog_name="openfeeder-client")


if __name__ == "__main__":
    main()
