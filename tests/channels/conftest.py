from .helpers import provider, published  # noqa: F401  (fixtures)
