"""WebRTC server: stylize a browser's camera (mirror) or broadcast one stylized source to many viewers.

Layout: ``config`` (settings), ``styles`` (catalog + thumbnails), ``worker`` (the one compute
thread), ``temporal`` (per-stream blender), ``tracks`` (aiortc tracks), ``sources`` and
``broadcast`` (the broadcast pipeline), ``recorder``, ``peers`` (peer registry and cleanup),
``stats``, ``app`` (aiohttp routes, :func:`stream.server.app.create_app`), ``runner`` (serve
until SIGINT/SIGTERM).
"""
