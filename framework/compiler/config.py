"""Settings of ``framework.compile`` that a script may change (``torch._dynamo.config``'s names).

``cache_size_limit``: input signatures one compiled function traces before further new
signatures run eagerly (with a logged reason); also the rebinds of a global it reads
before it runs eagerly for good. Read at each call, so a change applies to functions
already compiled; a ``CompiledFunction`` given its own limit keeps that one.
"""
from __future__ import annotations

cache_size_limit: int = 8  # torch._dynamo's default
