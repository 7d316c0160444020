"""Planted mistakes in exercise 12 (serve_infer): each one is the reference
solution ``tests/exercises/solutions/serve_infer.py`` with a few lines
replaced by a typical error (``edits``), and ``expect``, a regex of what the grader
must say about it."""

MISTAKES = [
    dict(
        name='any_model_name',
        why='the model name in the path is never compared with the served name.',
        expect=r"POST /v2/models/nope/infer.*expected status 404, got 200",
        edits=[
            ("""\
        if match is None or match.group(1) != name:
""",
             """\
        if match is None:
"""),
        ]),
    dict(
        name='flat_output_shape',
        why=("the output's shape is given as the number of values, not the shape of "
             'the predictions.'),
        expect=r"output shape should be \[3, 3\], got \[9\]",
        edits=[
            ("""\
            "outputs": [{"name": "output", "shape": list(output.shape), "datatype": "FP32",
""",
             """\
            "outputs": [{"name": "output", "shape": [output.size], "datatype": "FP32",
"""),
        ]),
    dict(
        name='no_shape_check',
        why=("the shape is never checked against the model's input, so a wrong shape "
             'crashes the model (a 500) instead of a 400.'),
        expect=r"your app raised .*answered 500",
        edits=[
            ("""\
    expected = [-1, *model.build_input_shape]
""",
             """\
"""),
            ("""\
        if (len(shape) != len(expected) or shape[0] < 1
                or any(want not in (-1, got) for want, got in zip(expected, shape))):
            return fail(start_response, 400, f"expected shape {expected}, got {shape}")
""",
             """\
"""),
        ]),
    dict(
        name='plain_text_errors',
        why='errors answered as plain text instead of a JSON {"error": ...} object.',
        expect=r"the error should be JSON \(Content-Type application/json\)",
        edits=[
            ("""\
        return respond(start_response, status, {"error": message})
""",
             """\
        reasons = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
        start_response(f"{status} {reasons[status]}", [("Content-Type", "text/plain")])
        return [message.encode()]
"""),
        ]),
]
