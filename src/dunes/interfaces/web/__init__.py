"""The web dashboard: static files shipped in the package, served by the REST gateway at ``/``.

One HTML page and one small hand-written module (``static/dashboard.js``) over the REST API, so
the dashboard is under the gateway's own access rules (Host, Origin, keys) and needs no build
step; the graph is drawn with a vendored cytoscape.js (``static/vendor``, MIT).
"""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).with_name("static")
