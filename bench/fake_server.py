"""The fake WeChat server as a process of its own: `uvicorn bench.fake_server:app`.

`FAKE_RATE` (sends per second before 45009) and `FAKE_DELAY` (seconds before each accepted send
is answered: a slow WeChat) configure it; `GET /_log` reports what it took.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.wechat import FakeWeChat

rate = float(os.environ.get("FAKE_RATE", "0"))
delay = float(os.environ.get("FAKE_DELAY", "0"))
app = FakeWeChat(rate_limit=rate or None, answer_delay=delay).app()
