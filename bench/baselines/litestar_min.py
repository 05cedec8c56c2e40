"""The ceiling for the api scenario: Litestar's minimal app (one GET, no database), served like `vigil api`."""

from __future__ import annotations

import argparse

from litestar import Litestar, get


@get("/hello", sync_to_thread=False)
def hello() -> dict[str, object]:
    return {"id": 1, "name": "hello", "ok": True}


app = Litestar(route_handlers=[hello])


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # The same uvicorn options as vigil_api.app.run, so only the application differs.
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
