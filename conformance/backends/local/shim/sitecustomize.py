"""Network shim for commands the local backend runs in place of a Pod's container (RayJob submitters).

In a real Pod, cluster DNS resolves ``<service>.<namespace>.svc.cluster.local``. Here names are
resolved by the routing proxy, handed over as HTTP_PROXY. ``requests`` honours HTTP_PROXY on its
own; aiohttp (used by ``ray job logs --follow``) only with ``trust_env=True``, which this sets.
"""

try:
    import aiohttp

    _original_init = aiohttp.ClientSession.__init__

    def _trusting_init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("trust_env", True)
        _original_init(self, *args, **kwargs)

    aiohttp.ClientSession.__init__ = _trusting_init  # type: ignore[method-assign]
except ImportError:  # no aiohttp, nothing to adjust
    pass
