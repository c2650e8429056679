"""The ceiling: a bare FastAPI endpoint that reads nothing and returns a constant."""

import inspect

from fastapi import FastAPI

# Configured as pdp's app is: FastAPI's native OpenTelemetry off (where this FastAPI has it).
app = FastAPI(**({"telemetry": {"tracing": False, "metrics": False, "logs": False}}
                 if "telemetry" in inspect.signature(FastAPI.__init__).parameters else {}))
CONSTANT = {"decision": "allow"}


@app.post("/const")
async def const():
    return CONSTANT


# Below the framework: uvicorn's own ceiling, a raw ASGI app answering the same constant.
# pdp's decision endpoints skip FastAPI's middleware and router (pdp.server.hot_path),
# so this row shows how much of the remaining time is uvicorn's.
_CONSTANT_BYTES = b'{"decision":"allow"}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(_CONSTANT_BYTES)).encode())]


async def raw(scope, receive, send):
    if scope["type"] != "http":  # lifespan: nothing to set up
        message = await receive()
        await send({"type": message["type"] + ".complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _CONSTANT_BYTES})
