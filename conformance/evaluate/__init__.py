"""The evaluator: pure functions from a Definition and plain dicts (objects) to readings.

Nothing here talks to a cluster. Inputs are the root object and Pods as the
API server returns them (``dict``), outputs are plain values or
:class:`EvaluationError` with the definition field that failed.
"""

from conformance.errors import EvaluationError

__all__ = ["EvaluationError"]
