"""Placeholder: shape ops are being written."""
__all__: list = []
