"""The cluster calls the AIStore SDK makes: health, and the cluster map.

The map shows one proxy and one target, both this server at the address the request
came to: ``cluster().is_ready()`` asks the primary proxy's health, and
``get_reader(direct=True)`` reads from the target the map names.
"""

from __future__ import annotations

from aiohttp import web

from ..call import Call
from .wire import AisFault, json_reply

__all__ = ["daemon", "health"]

NODE_ID = "s3aio"


async def health(call: Call) -> web.StreamResponse:
    return web.Response(status=200)


def _node(kind: str, url: str, host: str, port: str) -> dict[str, object]:
    net = {"node_hostname": host, "daemon_port": port, "direct_url": url}
    return {
        "daemon_id": f"{NODE_ID}-{kind}",
        "daemon_type": kind,
        "public_net": net,
        "intra_control_net": net,
        "intra_data_net": net,
        "flags": 0,
        "id_digest": 0,
    }


async def daemon(call: Call) -> web.StreamResponse:
    what = call.query.get("what", "")
    if what != "smap":
        raise AisFault(400, f"daemon?what={what!r} is not supported by this server (only smap)")
    request = call.request
    url = f"{request.scheme}://{request.host}"
    host, port = request.url.host or "", str(request.url.port or "")
    proxy, target = _node("proxy", url, host, port), _node("target", url, host, port)
    return json_reply(
        {
            "tmap": {target["daemon_id"]: target},
            "pmap": {proxy["daemon_id"]: proxy},
            "proxy_si": proxy,
            "version": 1,
            "uuid": NODE_ID,
            "creation_time": "",
        }
    )
