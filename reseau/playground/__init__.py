"""``reseau playground``: the notes' network trained live in a browser, on reseau itself.

A small local web app (Starlette, served by uvicorn: an ASGI toolkit and server, both maintained,
small, pure-Python install; the training runs in a worker thread, so plain polling is enough and no
WebSocket layer is needed). The page (static/: plain JavaScript and canvas, nothing from the
network) sends settings and reads frames; ``session.build`` turns the settings into reseau's own
``MLP`` and ``fit`` call. Safe by default: bound to 127.0.0.1, every request needs the random
token the URL carries (403 without it, as Jupyter does); nothing is written to disk.
"""

from __future__ import annotations

import secrets
from importlib import resources

from .session import DEFAULTS, MAX_UPLOAD, Race, Session, Upload, settings_of
from .session import script as session_script

__all__ = ["DEFAULTS", "Session", "app", "serve", "settings_of"]


def app(token: str, session: Session | None = None):
    """The Starlette application; every route but the icon refuses a request without ``token``."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    session = session or Session()
    h = _Handlers(session, token)
    routes = [Route("/favicon.ico", h.no_icon), Route("/", h.guarded(h.page)), Route("/app.js", h.guarded(h.script))]
    reads = {"choices": h.choices, "frame": h.frame, "weights": h.weights, "script": h.python, "model": h.model}
    reads["units"] = h.units
    routes += [Route(f"/api/{name}", h.guarded(handler)) for name, handler in reads.items()]
    routes.append(Route("/api/start", h.guarded(h.start), methods=["POST"]))
    routes += [
        Route(f"/api/{name}", h.guarded(h.action(name)), methods=["POST"])
        for name in ("play", "pause", "step", "reset")
    ]
    routes += [
        Route("/api/data", h.guarded(h.data), methods=["POST"]),
        Route("/api/race", h.guarded(h.race), methods=["POST"]),
        Route("/api/race/frames", h.guarded(h.race_frames)),
        Route("/api/race/weights", h.guarded(h.race_weights)),
    ]

    application = Starlette(routes=routes)
    application.state.session = session
    return application


class _Handlers:
    """The routes' handlers over one session; ``guarded`` wraps one in the token check."""

    def __init__(self, session, token):
        self.session, self.token, self.racing = session, token, Race()
        self.static = resources.files(__package__).joinpath("static")

    def guarded(self, handler):
        from starlette.responses import Response

        async def route(request):
            given = request.query_params.get("token") or request.headers.get("x-token", "")
            if not secrets.compare_digest(given, self.token):
                return Response("403: open the playground with the URL it printed (its token)", status_code=403)
            return await handler(request)

        return route

    async def no_icon(self, request):
        from starlette.responses import Response

        return Response(status_code=204)

    async def page(self, request):
        from starlette.responses import Response

        html = self.static.joinpath("index.html").read_text()  # the script is fetched with the page's token too
        return Response(html.replace('src="app.js"', f'src="app.js?token={self.token}"'), media_type="text/html")

    async def script(self, request):
        from starlette.responses import Response

        return Response(self.static.joinpath("app.js").read_text(), media_type="text/javascript")

    async def choices(self, request):
        from starlette.responses import JSONResponse

        from .. import optim
        from ..core.activations import ACTIVATIONS
        from ..core.initializers import INITIALIZERS
        from ..datasets import GENERATORS

        return JSONResponse(
            {
                "defaults": DEFAULTS,
                "data": sorted(GENERATORS),
                "activations": list(ACTIVATIONS),
                "inits": ["auto", *INITIALIZERS],
                "optimizers": list(optim.OPTIMIZERS),
            }
        )

    async def start(self, request):
        from starlette.responses import JSONResponse

        try:
            settings = settings_of(await request.json())
            self.session.start(settings, play=request.query_params.get("play", "1") == "1")
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(self.session.frame())

    def action(self, name):
        from starlette.responses import JSONResponse

        async def run(request):
            getattr(self.session, name)()
            return JSONResponse(self.session.frame())

        return run

    async def frame(self, request):
        from starlette.responses import Response

        return Response(self.session.frame_json(), media_type="application/json")

    async def python(self, request):
        """The Python script that reproduces the current run (session.script)."""
        from starlette.responses import Response

        if self.session.settings is None:
            return Response("no run yet", status_code=404)
        text = session_script(self.session.settings, self.session.view)
        headers = {"content-disposition": 'attachment; filename="playground_run.py"'}
        return Response(text, media_type="text/x-python", headers=headers)

    async def model(self, request):
        """The model file of the run as it stands."""
        from starlette.responses import Response

        if self.session.model is None or self.session.model.layout is None:
            return Response("no model yet", status_code=404)
        headers = {"content-disposition": 'attachment; filename="playground.reseau"'}
        return Response(self.session.model_file(), media_type="application/octet-stream", headers=headers)

    async def units(self, request):
        from starlette.responses import JSONResponse

        return JSONResponse(self.session.units())

    async def data(self, request):
        """The user's own CSV (the body; ``name``, ``target``, ``x``, ``y`` in the query), read as
        ``reseau train`` reads files, for runs with data "file"."""
        from starlette.responses import JSONResponse

        q = request.query_params
        declared = int(request.headers.get("content-length") or 0)
        if declared > MAX_UPLOAD:
            return JSONResponse({"error": f"the file is over {MAX_UPLOAD >> 20} MiB"}, status_code=413)
        chunks, size = [], 0
        async for chunk in request.stream():  # a body larger than it said stops here too
            size += len(chunk)
            if size > MAX_UPLOAD:
                return JSONResponse({"error": f"the file is over {MAX_UPLOAD >> 20} MiB"}, status_code=413)
            chunks.append(chunk)
        try:
            upload = Upload(b"".join(chunks), q.get("name", "data.csv"), q.get("target"), [q.get("x"), q.get("y")])
        except (ValueError, OSError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        self.session.upload = upload
        answer = {"columns": list(upload.table.column_names), "view": upload.view, "rows": len(upload.y)}
        return JSONResponse({**answer, "notes": upload.notes})

    async def race(self, request):
        """Several optimisers side by side: {"settings": {...}, "optimizers": [...]}."""
        from starlette.responses import JSONResponse

        try:
            body = await request.json()
            self.session.pause()
            names = list(body.get("optimizers", []))
            self.racing.start(settings_of(body.get("settings", {})), names, self.session.upload)
        except (ValueError, TypeError, AttributeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(self.racing.frames())

    async def race_frames(self, request):
        from starlette.responses import JSONResponse

        return JSONResponse(self.racing.frames())

    async def race_weights(self, request):
        from starlette.responses import JSONResponse

        return JSONResponse({name: s.weights() for name, s in self.racing.sessions.items()})

    async def weights(self, request):
        from starlette.responses import JSONResponse

        return JSONResponse(self.session.weights())


def start_state(query: str | None) -> str:
    """The URL fragment that opens the page with ``query``'s settings ("data=circles&layers=16,16"),
    checked against the settings the page has (a ValueError names the unknown ones)."""
    from urllib.parse import parse_qsl, urlencode

    if not query:
        return ""
    pairs = parse_qsl(query.lstrip("#"), keep_blank_values=True, strict_parsing=False)
    unknown = sorted({k for k, _ in pairs} - set(DEFAULTS))
    if unknown or not pairs:
        raise ValueError(
            f"--settings {query!r}: unknown {unknown}; expected KEY=VALUE&... with keys {sorted(DEFAULTS)}"
        )
    return "#" + urlencode(pairs, safe=",")


def serve(port: int = 0, open_browser: bool = True, host: str = "127.0.0.1", ready=None, settings=None) -> int:
    """Serve the playground until Ctrl-C; prints (and opens) its URL. ``port`` 0: a free one.
    ``settings``: a query of the page's settings it opens with. ``ready(url, stop)``: called once
    it listens, ``stop()`` ends the server (tests)."""
    fragment = start_state(settings)
    import socket
    import threading
    import webbrowser

    try:
        import uvicorn
    except ImportError:
        raise ValueError('the playground needs its server: pip install "reseau[playground]"') from None
    token = secrets.token_urlsafe(16)
    sock = socket.socket()
    # no Nagle delay: a frame's small writes otherwise waited for the browser's delayed ACK (~40 ms each)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    url = f"http://{host}:{sock.getsockname()[1]}/?token={token}{fragment}"
    application = app(token)
    # no ASGI lifespan: the training thread is stopped here, after the server, on any exit
    server = uvicorn.Server(uvicorn.Config(application, log_level="warning", lifespan="off"))

    def announce():
        while not server.started:
            threading.Event().wait(0.05)
        print(f"reseau playground: {url}  (Ctrl-C stops it)", flush=True)
        if ready is not None:
            ready(url, lambda: setattr(server, "should_exit", True))
        if open_browser:
            webbrowser.open(url)

    threading.Thread(target=announce, daemon=True).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it shut down on
        pass
    finally:
        application.state.session.reset()
    print("reseau playground: stopped", flush=True)
    return 0
