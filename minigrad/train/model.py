"""``Model``: a :class:`~minigrad.nn.Module` with the Keras training API."""

from ..nn.module import Module


class Model(Module):
    """A module that can be compiled and fitted, as a Keras model.

    Subclass it like a :class:`~minigrad.nn.Module` (define ``forward``), or use
    :class:`Sequential`.
    """

    def summary(self, print_fn=print):
        """Print a table of the layers, their output shapes and parameter counts (as Keras's
        ``model.summary()``); returns the text."""
        rows = [("Layer (type)", "Output Shape", "Param #")]
        for name, module in self.named_modules():
            if module is self or module._modules:
                continue
            label = f"{getattr(module, 'name', name)} ({type(module).__name__})"
            shape = getattr(module, "output_shape", None)
            count = sum(p.size for p in module._parameters.values() if p is not None)
            rows.append((label, str(shape) if shape is not None else "(not built)", f"{count:,}"))
        widths = [max(len(row[i]) for row in rows) + 2 for i in range(3)]
        rule = "-" * sum(widths)
        lines = [f'Model: "{getattr(self, "name", type(self).__name__)}"', rule,
                 "".join(cell.ljust(width) for cell, width in zip(rows[0], widths)), "=" * len(rule)]
        for row in rows[1:]:
            lines.append("".join(cell.ljust(width) for cell, width in zip(row, widths)))
        total = self.count_params()
        trainable = sum(p.size for p in self.parameters() if p.requires_grad)
        lines += ["=" * len(rule), f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}", rule]
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text
