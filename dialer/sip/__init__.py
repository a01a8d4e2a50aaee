"""The SIP softphone layer: a node supervisor (`node.SipNode`) driving pjsua2 worker processes.

Import `dialer.sip.node` for the asyncio API; `dialer.sip.worker` is the worker process itself.
Nothing here imports pjsua2 at package import time.
"""
