"""Planted mistakes in exercise 9 (lstm_cell): each one is the reference
solution ``tests/exercises/solutions/lstm_cell.py`` with a few lines
replaced by a typical error (``edits``), and ``expect``, a regex of what the grader
must say about it."""

MISTAKES = [
    dict(
        name='forget_gate_missing_in_the_cell_gradient',
        why=("The cell state's gradient is carried back unchanged, dc_next = dc, "
             'forgetting that c_new = f * c_prev + ... scales it by the forget gate.'),
        expect=r"d_x\[:, 4\] with a gradient on the last output only",
        edits=[
            ("""\
        dc_next = dc * f
""",
             """\
        dc_next = dc
"""),
        ]),
    dict(
        name='gates_in_the_order_i_f_o_g',
        why=('The gates in the order i, f, o, g (as in some course notes) instead of '
             "Keras's i, f, c, o: the output gate and the candidate swap columns."),
        expect=r"are the gates in Keras's order i, f, c, o",
        edits=[
            ("""\
    g = np.tanh(z[:, 2 * units:3 * units])
    o = sigmoid(z[:, 3 * units:])
""",
             """\
    o = sigmoid(z[:, 2 * units:3 * units])
    g = np.tanh(z[:, 3 * units:])
"""),
            ("""\
        g = np.tanh(z[:, 2 * units:3 * units])
        o = sigmoid(z[:, 3 * units:])
""",
             """\
        o = sigmoid(z[:, 2 * units:3 * units])
        g = np.tanh(z[:, 3 * units:])
"""),
            ("""\
                             dc * i * (1 - g ** 2),           # g = tanh
                             dh * tanh_c * o * (1 - o)],      # o = sigmoid
""",
             """\
                             dh * tanh_c * o * (1 - o),       # o = sigmoid
                             dc * i * (1 - g ** 2)],          # g = tanh
"""),
        ]),
    dict(
        name='missing_the_derivative_of_tanh_c',
        why=('dh flows into the cell state without the derivative of tanh: dc += dh * '
             'o instead of dh * o * (1 - tanh(c)**2).'),
        expect=r"d_x differs from minigrad's LSTM backward",
        edits=[
            ("""\
        dc = dc_next + dh * o * (1 - tanh_c ** 2)
""",
             """\
        dc = dc_next + dh * o
"""),
        ]),
    dict(
        name='recurrent_gradient_uses_the_new_state',
        why=('d_recurrent_kernel multiplies dz by the state after the step, h_t, '
             'instead of the state h_prev that the step read.'),
        expect=r"d_recurrent_kernel differs from minigrad's LSTM backward",
        edits=[
            ("""\
        steps.append((h, c, i, f, g, o, tanh_c))
""",
             """\
        h_prev, c_prev = h, c
"""),
            ("""\
        h, c = o * tanh_c, c_new
""",
             """\
        h, c = o * tanh_c, c_new
        steps.append((h_prev, c_prev, i, f, g, o, tanh_c, h))
"""),
            ("""\
        h_prev, c_prev, i, f, g, o, tanh_c = steps[s]
""",
             """\
        h_prev, c_prev, i, f, g, o, tanh_c, h_new = steps[s]
"""),
            ("""\
        d_recurrent += h_prev.T @ dz
""",
             """\
        d_recurrent += h_new.T @ dz
"""),
        ]),
]
