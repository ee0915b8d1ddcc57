"""Placeholder: in-place ops are being written."""
__all__: list = []
