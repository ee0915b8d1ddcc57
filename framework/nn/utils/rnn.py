"""Variable-length sequences (``torch.nn.utils.rnn``): padding and packing.

``pad_sequence``/``unpad_sequence`` stack sequences of different lengths into one padded
tensor and back. ``pack_padded_sequence``/``pack_sequence`` build a ``PackedSequence``:
the valid time steps of every sequence, time-major, with the batch sorted by decreasing
length, so step ``t`` holds ``batch_sizes[t]`` rows (the sequences still running at ``t``).
``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` take a ``PackedSequence`` and return one, with each
sequence's hidden state at its own last step; ``pad_packed_sequence``/``unpack_sequence``
turn it back into a padded tensor (in the original batch order) or a list.

Packing and padding are each one ``index_select`` (gathers of rows), so gradients flow
back to the padded input. As in PyTorch, ``batch_sizes`` is a cpu int64 tensor and
``sorted_indices``/``unsorted_indices`` (None when the input was already sorted) live on
the data's device.
"""
from __future__ import annotations

from array import array
from itertools import accumulate
from typing import NamedTuple, Sequence

from ... import dtypes
from ...ops.creation import full, tensor
from ...ops.indexing import index_select
from ...ops.shape import cat, stack
from ...tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence",
           "pad_packed_sequence", "pad_sequence", "unpad_sequence", "pack_sequence",
           "unpack_sequence"]


class _PackedSequenceFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceFields):
    """The packed rows of a batch of variable-length sequences (made by
    ``pack_padded_sequence`` or ``pack_sequence``, not by hand).

    ``data`` (sum of lengths, *): step 0 of every sequence, then step 1 of those still
    running, and so on, sequences sorted by decreasing length. ``batch_sizes`` (cpu int64):
    the rows of each step. ``sorted_indices``: the original batch index of each sorted
    position; ``unsorted_indices``: its inverse (both None when no sort was needed)."""

    def __new__(cls, data, batch_sizes: Tensor | None = None,
                sorted_indices: Tensor | None = None, unsorted_indices: Tensor | None = None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes), ...)
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        elif batch_sizes.device.type != "cpu":
            raise ValueError(
                "batch_sizes should always be on CPU. Instances of PackedSequence should never "
                "be created manually. They should be instantiated by functions like "
                "pack_sequence and pack_padded_sequences in nn.utils.rnn. "
                "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> "PackedSequence":
        """``data.to(...)``, the indices following data's device (``batch_sizes`` stays on
        the cpu); ``self`` when data does not change."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        sorted_indices, unsorted_indices = (
            None if t is None else t.to(data.device)
            for t in (self.sorted_indices, self.unsorted_indices))
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def cuda(self, device=None) -> "PackedSequence":
        """On a ``cuda`` device."""
        return self.to("cuda" if device is None else device)

    def cpu(self) -> "PackedSequence":
        """On the cpu."""
        return self.to("cpu")

    def double(self) -> "PackedSequence":
        return self.to(dtype=dtypes.float64)

    def float(self) -> "PackedSequence":
        return self.to(dtype=dtypes.float32)

    def half(self) -> "PackedSequence":
        return self.to(dtype=dtypes.float16)

    def long(self) -> "PackedSequence":
        return self.to(dtype=dtypes.int64)

    def int(self) -> "PackedSequence":
        return self.to(dtype=dtypes.int32)

    def short(self) -> "PackedSequence":
        return self.to(dtype=dtypes.int16)

    def char(self) -> "PackedSequence":
        return self.to(dtype=dtypes.int8)

    def byte(self) -> "PackedSequence":
        return self.to(dtype=dtypes.uint8)

    @property
    def is_cuda(self) -> bool:
        """Whether ``data`` is on a ``cuda`` device."""
        return self.data.is_cuda


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a 1-D permutation tensor (None for None)."""
    if permutation is None:
        return None
    inverse = [0] * permutation.numel()
    for position, index in enumerate(permutation.tolist()):
        inverse[index] = position
    return tensor(inverse, dtype=permutation.dtype, device=permutation.device)


def _index_tensor(rows: list, device=None) -> Tensor:
    """An int64 tensor of the Python ints ``rows`` (through an ``array``: a flat buffer is
    several times quicker to convert than a list of ints)."""
    return tensor(array("q", rows), dtype=dtypes.int64, device=device)


def _lengths_list(lengths) -> list:
    """``lengths`` (a list or a 1-D cpu tensor) as Python ints."""
    if not isinstance(lengths, Tensor):
        return [int(length) for length in lengths]
    if lengths.dim() != 1 or lengths.device.type != "cpu":
        raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                           f"{lengths.dim()}D {lengths.device.type} Long tensor")
    return [int(length) for length in lengths.tolist()]


def _check_lengths(lengths: list, batch_size: int, steps: int) -> None:
    """PyTorch's checks of ``pack_padded_sequence``'s (sorted) lengths."""
    if len(lengths) != batch_size:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{len(lengths)} (batch_size={batch_size})")
    if lengths[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if any(later > earlier for earlier, later in zip(lengths, lengths[1:])):
        raise RuntimeError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
            "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
            "to sidestep this requirement if you do not need ONNX exportability.")
    if lengths[0] > steps:
        raise RuntimeError(f"pack_padded_sequence: a length of {lengths[0]} is longer than the "
                           f"{steps} time steps of the padded input")


def _batch_sizes(lengths: list) -> list:
    """Rows of each time step for lengths sorted in decreasing order."""
    sizes = [0] * lengths[0]
    for length in lengths:  # sequences ending at each step, then summed from the end
        sizes[length - 1] += 1
    for t in range(len(sizes) - 2, -1, -1):
        sizes[t] += sizes[t + 1]
    return sizes


def _sorted_lengths(batch_sizes: list) -> list:
    """The length of each sorted sequence of a packed batch (the inverse of ``_batch_sizes``)."""
    lengths = [0] * batch_sizes[0]
    for t, size in enumerate(batch_sizes):
        stopping = batch_sizes[t + 1] if t + 1 < len(batch_sizes) else 0
        for s in range(stopping, size):  # the sequences whose last step is t
            lengths[s] = t + 1
    return lengths


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with ``batch_first``) of sequences of
    the given ``lengths``. With ``enforce_sorted`` the lengths must be in decreasing order;
    otherwise the batch is sorted here and the order is kept in ``sorted_indices``."""
    lengths = _lengths_list(lengths)
    order = None
    if not enforce_sorted:
        order = sorted(range(len(lengths)), key=lambda i: -lengths[i])  # stable
        lengths = [lengths[i] for i in order]
    if input.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    batch_dim, time_dim = (0, 1) if batch_first else (1, 0)
    batch_size = input.size(batch_dim)
    steps = input.size(time_dim)
    _check_lengths(lengths, batch_size, steps)
    batch_sizes = _batch_sizes(lengths)
    source = list(range(batch_size)) if order is None else order
    # row of (t, b) in the input flattened over its first two dims
    stride_t, stride_b = (1, steps) if batch_first else (batch_size, 1)
    rows = [t * stride_t + source[s] * stride_b
            for t, size in enumerate(batch_sizes) for s in range(size)]
    flat = input.reshape((batch_size * steps,) + tuple(input.shape[2:]))
    data = index_select(flat, 0, _index_tensor(rows, input.device))
    sorted_indices = None if order is None else tensor(order, dtype=dtypes.int64,
                                                         device=input.device)
    return PackedSequence(data, tensor(batch_sizes, dtype=dtypes.int64), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None) -> tuple:
    """The inverse of ``pack_padded_sequence``: ``(padded, lengths)``, padded (T, B, *) (or
    (B, T, *)) in the original batch order with ``padding_value`` past each sequence's end,
    T the longest length or ``total_length``; lengths a cpu int64 tensor."""
    batch_sizes = [int(size) for size in sequence.batch_sizes.tolist()]
    steps = len(batch_sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             "sequence in input, but got total_length="
                             f"{total_length} and max sequence length being {steps}")
        steps = total_length
    data = sequence.data
    batch_size = batch_sizes[0]
    position = list(range(batch_size))  # sorted position of each output batch entry
    if sequence.unsorted_indices is not None:
        position = [int(i) for i in sequence.unsorted_indices.tolist()]
    lengths = _sorted_lengths(batch_sizes)
    offsets = [0, *accumulate(batch_sizes)]
    pad_row = data.size(0)

    def row(t: int, b: int) -> int:
        s = position[b]
        return offsets[t] + s if t < len(batch_sizes) and s < batch_sizes[t] else pad_row

    if batch_first:
        rows = [row(t, b) for b in range(batch_size) for t in range(steps)]
        shape = (batch_size, steps)
    else:
        rows = [row(t, b) for t in range(steps) for b in range(batch_size)]
        shape = (steps, batch_size)
    features = tuple(data.shape[1:])
    padding = full((1,) + features, padding_value, dtype=data.dtype, device=data.device)
    source = cat([data, padding], 0)
    padded = index_select(source, 0, _index_tensor(rows, data.device))
    out_lengths = tensor([lengths[s] for s in position], dtype=dtypes.int64)
    return padded.reshape(shape + features), out_lengths


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_i, *) tensors: ``pad_sequence`` then ``pack_padded_sequence``."""
    sequences = list(sequences)
    lengths = [s.size(0) for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of (L_i, *) tensors of a ``PackedSequence``, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack variable-length tensors (L_i, *) into (max L, B, *) (or (B, max L, *))."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            pad = full((missing,) + tuple(s.shape[1:]), padding_value, dtype=s.dtype,
                       device=s.device)
            parts = [s, pad] if padding_side == "right" else [pad, s]
            s = cat(parts, 0)
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor,
                   batch_first: bool = False) -> list:
    """The inverse of ``pad_sequence`` (right padding): a list of (L_i, *) tensors."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[i, :int(length)] for i, length in enumerate(lengths.tolist())]
