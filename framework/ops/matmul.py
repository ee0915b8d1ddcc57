"""Placeholder: the matmul family is being written."""
__all__: list = []
