"""Placeholder: the elementwise family is being written."""
__all__: list = []
