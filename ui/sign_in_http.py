"""The HTTP side of sign-in: `/login` and `/logout` in front of Gradio's, and the check of
every request's session before Gradio sees it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from ui.auth import mounted_gradio_app
from ui.client_address import Network, client_address
from ui.sign_in import SignInGate, locked_message

# The login form knows only "Incorrect Credentials" (for a 400); a lock (429) is shown under
# the form's title with its own words. Gradio loads no `head` before sign-in, so the login
# message loads this script (`LOGIN_MESSAGE`).
LOGIN_NOTICE_JS = r"""
(() => {
  const send = window.fetch.bind(window);
  window.fetch = async (...args) => {
    const response = await send(...args);
    const url = String(args[0] instanceof Request ? args[0].url : args[0]);
    if (response.status === 429 && /\/login\/?$/.test(new URL(url, location.href).pathname)) {
      const { detail } = await response.clone().json().catch(() => ({}));
      const title = document.querySelector('h2');
      let note = document.getElementById('od-login-locked');
      if (!note && title) {
        note = document.createElement('p');
        note.id = 'od-login-locked';
        note.setAttribute('role', 'alert');
        title.after(note);
      }
      if (note) note.textContent = detail || 'too many failed sign-ins; try again later';
    }
    return response;
  };
})();
"""
LOGIN_MESSAGE = (
    "Sign in to OpenDeep"
    # A script in the message would not run (it is inserted as HTML); an image's error does.
    '<img src="data:," alt="" hidden onerror="if(!window.odLoginNotice){window.odLoginNotice=1;'
    "const s=document.createElement('script');s.src='login-notice.js';document.head.append(s)}\">"
)


def _cookie_names(gradio_app: Any) -> tuple[str, str]:
    # Gradio's own names: its pages and `gr.Request.username` read these cookies.
    return f"access-token-{gradio_app.cookie_id}", f"access-token-unsecure-{gradio_app.cookie_id}"


def request_address(request: HTTPConnection, proxies: Sequence[Network]) -> str:
    peer = request.client.host if request.client else None
    forwarded = ",".join(request.headers.getlist("x-forwarded-for")) or None
    return client_address(peer, forwarded, proxies)


async def refuse_direct_login(username: str, password: str) -> bool:
    """Gradio's own `/login` is shadowed by ours; a request that reached it anyway signs
    nobody in (it would skip the throttle)."""
    return False


def add_sign_in(app: FastAPI, gate: SignInGate, proxies: Sequence[Network]) -> None:
    """Register `/login` and `/logout` (before Gradio is mounted at `/`) and the session check."""

    async def login(request: Request) -> Response:
        form = await request.form()
        username = str(form.get("username") or "").strip()
        password = str(form.get("password") or "")
        attempt = await gate.attempt(username, password, request_address(request, proxies))
        gradio_app = mounted_gradio_app(app)
        if attempt.token is None or attempt.username is None or gradio_app is None:
            if attempt.wait_s:
                return JSONResponse(
                    {"detail": locked_message(attempt.wait_s)},
                    status_code=429,
                    headers={"Retry-After": str(attempt.wait_s)},
                )
            return JSONResponse({"detail": "Incorrect credentials."}, status_code=400)
        gradio_app.tokens[attempt.token] = attempt.username
        secure_name, plain_name = _cookie_names(gradio_app)
        response = JSONResponse({"success": True})
        response.set_cookie(secure_name, attempt.token, httponly=True, samesite="none", secure=True)
        response.set_cookie(plain_name, attempt.token, httponly=True, samesite="lax")
        return response

    async def logout(request: Request) -> Response:
        response = RedirectResponse(url=request.scope.get("root_path", "") + "/", status_code=302)
        gradio_app = mounted_gradio_app(app)
        if gradio_app is None:
            return response
        for name in _cookie_names(gradio_app):
            token = request.cookies.get(name)
            if token:
                await gate.sign_out(token)
                gradio_app.tokens.pop(token, None)
            response.delete_cookie(name, path="/")
        return response

    async def login_notice() -> Response:
        return Response(LOGIN_NOTICE_JS, media_type="text/javascript")

    app.add_api_route("/login-notice.js", login_notice, methods=["GET"], include_in_schema=False)
    for path in ("/login", "/login/"):
        app.add_api_route(path, login, methods=["POST"], include_in_schema=False)
    for path in ("/logout", "/logout/"):
        app.add_api_route(path, logout, methods=["GET"], include_in_schema=False)
    app.add_middleware(SessionCheck, host=app, gate=gate)


class SessionCheck:
    """Before each request reaches Gradio, make its map agree with the session's row: a
    session that ended (sign-out, lifetime, idle, password change) is not signed in."""

    def __init__(self, app: ASGIApp, *, host: FastAPI, gate: SignInGate) -> None:
        self._app = app
        self._host = host
        self._gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            gradio_app = mounted_gradio_app(self._host)
            if gradio_app is not None:
                cookies = HTTPConnection(scope).cookies
                tokens = {cookies.get(name) for name in _cookie_names(gradio_app)}
                for token in tokens - {None, ""}:
                    assert token is not None
                    user = await self._gate.session_user(token)
                    if user is None:
                        gradio_app.tokens.pop(token, None)
                    else:
                        gradio_app.tokens[token] = user
        await self._app(scope, receive, send)
