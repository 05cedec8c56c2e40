"""The api scenario's no-auth baseline: Vigil's own app with its auth middleware replaced by a pass-through, served like `vigil api`.

Bench-only: the product has no switch for this. `vigil_api.app.create_app` builds the middleware
from the module's `AuthMiddleware` name, so binding that name to a class that hands every request
straight to the app, before the call, leaves everything else as shipped (the metrics middleware,
the routes, the pool, the lifespan). The difference against `vigil api` under the same load is
the cost of the Host check, the credentials and the required scope.
"""

from __future__ import annotations

import argparse
from typing import Any

from litestar.types import ASGIApp


class PassThrough:
    """Takes AuthMiddleware's arguments and adds no layer: the app gets the request unchanged."""

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        pass

    def __call__(self, app: ASGIApp) -> ASGIApp:
        return app


def main() -> None:
    import uvicorn

    import vigil_api.app
    from vigil_core.logging import configure_logging
    from vigil_core.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = load_settings()  # VIGIL_DATABASE_URL, VIGIL_SECRET_KEY... as `vigil api` reads them
    configure_logging(settings.log_format, settings.log_level)
    vigil_api.app.AuthMiddleware = PassThrough  # type: ignore[misc,assignment]
    app = vigil_api.app.create_app(settings)
    # The same uvicorn options as vigil_api.app.run, so only the middleware differs.
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=vigil_api.app.GRACEFUL_SHUTDOWN_S,
    )


if __name__ == "__main__":
    main()
