"""Placeholder: the reduce family is being written."""
__all__: list = []
