"""Data-parallel communication between processes (``torch.distributed``).

Two backends, both thin layers over existing engines (no transport of our own):

- ``"mpi"``: cpu tensors, through ``mpi4py`` (install ``framework[distributed]``; the ``mpich``
  wheel brings the MPI library and ``mpiexec``);
- ``"nccl"``: cuda tensors on a GPU, through NVIDIA's NCCL (``libnccl`` from the
  ``nvidia-nccl-cu12``/``-cu13`` wheels) called with ctypes on device pointers, no host copies.

Launch one process per rank with ``framework run --nproc N script.py`` or
``mpiexec -n N python script.py``; see ``docs/distributed.md``. Nothing here imports mpi4py or
loads libnccl until ``init_process_group`` asks for that backend.
"""
from __future__ import annotations

from .c10d import (Backend, DistBackendError, DistError, GroupMember, ProcessGroup, ReduceOp,
                   Work, all_gather, all_gather_into_tensor, all_gather_object, all_reduce,
                   barrier, broadcast, broadcast_object_list, destroy_process_group, gather,
                   get_backend, get_rank, get_world_size, group, init_process_group, irecv,
                   is_available, is_initialized, is_mpi_available, is_nccl_available, isend,
                   new_group, recv, reduce, reduce_scatter, reduce_scatter_tensor, scatter, send)

__all__ = ["Backend", "DistBackendError", "DistError", "GroupMember", "ProcessGroup", "ReduceOp",
           "Work", "all_gather", "all_gather_into_tensor", "all_gather_object", "all_reduce",
           "barrier", "broadcast", "broadcast_object_list", "destroy_process_group", "gather",
           "get_backend", "get_rank", "get_world_size", "group", "init_process_group", "irecv",
           "is_available", "is_initialized", "is_mpi_available", "is_nccl_available", "isend",
           "new_group", "recv", "reduce", "reduce_scatter", "reduce_scatter_tensor", "scatter",
           "send"]
