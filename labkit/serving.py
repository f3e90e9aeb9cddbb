"""How the course's JupyterLab sends the widgets' messages: at once, without Nagle's delay.

A widget's redraw is a burst of messages from the kernel (the incident lab's fix toggle: about
twenty, one of them ~150-200 kB, the timeline's boxes). jupyter_server writes them to the
browser's WebSocket with Nagle's algorithm on (tornado's default: ``WebSocketHandler.set_nodelay``
says "small messages may be delayed"; jupyter_server never calls it). After a large message the
small ones that follow wait for its acknowledgement, and the receiver (the browser, or the proxy
JupyterHub and Binder put in front of the server) delays its acknowledgements by up to 40 ms
(Linux's delayed-ACK timer). ``benchmarks/wire_timings.py`` measures it: the last of a fix
toggle's messages reached the client 56 ms after the click, 20 ms with TCP_NODELAY; through
configurable-http-proxy, 64 and 19 ms (medians of 11; benchmarks/README.md, "Sixth pass").

Every JupyterLab of the course sets ``ServerApp.kernel_websocket_connection_class`` to
:class:`NoDelayKernelConnection`, as ``course.LAB_SERVER_CONFIG`` says: ``python3 course.py lab``
(and so the browser tests and benchmarks, which start JupyterLab the same way), Binder
(``binder/postBuild`` writes it into the environment's server config) and the workshop's three
hubs (their learners' server arguments; workshop/consistency.py checks them). The module imports
jupyter_server, so only a Jupyter server (and its tests) imports it.
"""

from __future__ import annotations

import asyncio
import socket

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection


class NoDelayKernelConnection(ZMQChannelsWebsocketConnection):
    """jupyter_server's kernel WebSocket connection, with TCP_NODELAY on its socket: each
    message goes out when the kernel sends it, not when the browser acknowledged the last."""

    def connect(self) -> asyncio.Future[None] | None:
        self.websocket_handler.set_nodelay(True)
        # read back from the socket: a server started with --ServerApp.log_level=DEBUG says
        # whether the setting took (tests/test_lab_command.py reads this line)
        self.log.debug("kernel %s WebSocket: TCP_NODELAY %s", self.kernel_id, self.nodelay())
        return super().connect()

    def nodelay(self) -> int | None:
        """TCP_NODELAY as the WebSocket's socket has it (1 on), None where there is no TCP
        socket to ask (a Unix socket, a closed stream)."""
        try:
            sock = self.websocket_handler.ws_connection.stream.socket
            return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        except (AttributeError, OSError):
            return None
