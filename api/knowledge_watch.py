"""The periodic recheck of a remote store's release (issue 14 item 3): a daemon thread that calls
`api.state.recheck` every `knowledge_check_interval_s` until the app stops.

A thread, not an asyncio task: the check and a recompile are blocking HTTP calls and CPU work, and must not
hold up the event loop that serves requests.
"""

from __future__ import annotations

import threading

from api.state import AppState, recheck


class KnowledgeWatch:
    def __init__(self, state: AppState) -> None:
        self.state = state
        self.interval_s = state.settings.knowledge_check_interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="knowledge-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            recheck(self.state)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.state.settings.query_timeout_s * 3)
