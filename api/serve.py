"""`python -m api.serve`: the API as the image and `make run` start it.

One uvicorn process on `BIND_HOST`:`PORT`, logging JSON lines through `api.logs` (uvicorn's own
lines too; the access line is ours, with the request's id) after a line with the configuration
in force. More processes are more containers (or `make run`s), each scraped for its metrics.
"""

import uvicorn

from api import logs
from api.config import get_settings


def main() -> None:
    settings = get_settings()
    logs.configure(settings.log_level, settings.log_format)
    logs.startup("api", settings.printable())
    uvicorn.run(
        "api.main:app",
        host=settings.bind_host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
