"""minigrad's file format, independent of what is stored in it: named arrays plus JSON
metadata in one safetensors file, with a checksum, written atomically, read without executing
anything from the file. Models are written in it by :mod:`minigrad.train.saving`.

``mg.io.load_model``, ``mg.io.save_model``, ``mg.io.save_weights`` and ``mg.io.load_weights``
are the model functions of :mod:`minigrad.train.saving` and :mod:`minigrad.train.loading`
(``import minigrad`` puts them here, where earlier versions had them; ``io`` itself imports
nothing above :mod:`minigrad.autograd`).
"""

from .atomic import atomic_write_bytes, remove_stale_temporaries
from .regular_file import UnreadableFileError, open_regular_file, read_regular_file
from .tensor_file import (ModelFileError, ModelFileWarning, checksum, file_errors, host_array,
                          join_arrays, peek_metadata, read_tensor_file, split_arrays,
                          write_tensor_file)

__all__ = ["atomic_write_bytes", "remove_stale_temporaries", "ModelFileError",
           "ModelFileWarning", "file_errors", "write_tensor_file", "read_tensor_file",
           "checksum", "host_array", "peek_metadata", "split_arrays", "join_arrays",
           "read_regular_file", "open_regular_file", "UnreadableFileError"]
