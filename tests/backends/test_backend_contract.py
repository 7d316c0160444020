"""Every backend implements the whole interface that :class:`Backend` declares -- the hot-path
kernel table included -- with Backend's signatures, and has nothing public beside it: the
contract in ``minigrad/backends/base.py`` is the complete interface of a backend."""

import ast
import inspect
import textwrap

import pytest

from minigrad.backends import get_backend
from minigrad.backends.base import Backend
from minigrad.backends.cpu import CPUBackend
from minigrad.backends.cuda import CUDABackend

# The hot-path kernel table, pinned here: adding or removing a kernel changes the contract of
# every backend, so it should be a deliberate edit of this list too.
KERNEL_TABLE = {
    "scatter_add",
    "im2col", "col2im",
    "batch_norm_backward_sums", "batch_norm_input_grad",
    "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
    "lstm_step_forward", "lstm_step_backward", "gru_step_forward", "gru_step_backward",
    "gru_reset_before_gates_forward", "gru_reset_before_candidate_forward",
    "gru_reset_before_candidate_backward", "gru_reset_before_gates_backward",
    "rnn_step_forward", "rnn_step_backward",
    "softmax_cross_entropy", "softmax_cross_entropy_backward",
    "sparse_softmax_cross_entropy", "sparse_softmax_cross_entropy_backward",
    "dropout", "dropout_backward",
    "sgd_step", "adam_step",
}
# The abstract methods that are not kernels: moving data and seeding.
DATA_METHODS = {"asarray", "to_numpy", "independent", "seed"}
# Public attributes a backend class may have beyond Backend's. ``load_kernel``: the CUDA
# backend's kernel loader (None: no kernels, the xp formulation), which the tests replace to
# run the kernels emulated or to record launches. Not a kernel.
EXTRA_ATTRIBUTES = {"load_kernel"}


def _raises_not_implemented(function):
    """True if ``function``'s body is (its docstring and) ``raise NotImplementedError``."""
    (definition,) = ast.parse(textwrap.dedent(inspect.getsource(function))).body
    body = definition.body[1:] if ast.get_docstring(definition) else definition.body
    return (len(body) == 1 and isinstance(body[0], ast.Raise)
            and getattr(body[0].exc, "id", None) == "NotImplementedError")


def public_methods(cls=Backend):
    """``{name: function}`` of the public methods that ``cls`` itself defines."""
    return {name: value for name, value in vars(cls).items()
            if not name.startswith("_") and inspect.isfunction(value)}


def declared():
    """``{name: function}`` of what Backend declares and a backend must implement."""
    return {name: f for name, f in public_methods().items() if _raises_not_implemented(f)}


def contract_problems(cls):
    """What ``cls`` (a Backend subclass) breaks of the contract, one line each; [] if nothing."""
    problems = []
    required = declared()
    for name, base_method in public_methods().items():
        method = inspect.getattr_static(cls, name)
        if method is base_method:
            if name in required:
                problems.append(f"{name}: not implemented")
            continue
        if not inspect.isfunction(method):
            problems.append(f"{name}: not a method ({type(method).__name__})")
        elif inspect.signature(method) != inspect.signature(base_method):
            problems.append(f"{name}{inspect.signature(method)}: Backend declares "
                            f"{name}{inspect.signature(base_method)}")
    for klass in cls.__mro__[:cls.__mro__.index(Backend)]:
        for name in vars(klass):
            if not name.startswith("_") and not hasattr(Backend, name) \
                    and name not in EXTRA_ATTRIBUTES:
                problems.append(f"{klass.__name__}.{name}: public, but Backend does not declare "
                                "it")
    return problems


# --- the contract itself ---------------------------------------------------------------------

def test_backend_declares_the_whole_kernel_table_and_nothing_else_abstract():
    assert set(declared()) == KERNEL_TABLE | DATA_METHODS


@pytest.mark.parametrize("name", sorted(KERNEL_TABLE))
def test_each_kernel_documents_its_arguments_and_results(name):
    doc = inspect.getdoc(getattr(Backend, name))
    assert "Args:" in doc and "Returns:" in doc, f"Backend.{name} states no full contract"


def test_a_bare_backend_refuses_every_kernel():
    bare = Backend()
    for name in KERNEL_TABLE:
        arguments = [None] * (len(inspect.signature(getattr(Backend, name)).parameters) - 1)
        with pytest.raises(NotImplementedError):
            getattr(bare, name)(*arguments)


# --- both backend classes keep it ------------------------------------------------------------

@pytest.mark.parametrize("cls", [CPUBackend, CUDABackend], ids=["cpu", "cuda"])
def test_backend_class_implements_the_whole_contract_and_nothing_more(cls):
    assert contract_problems(cls) == []


def test_the_cpu_backend_in_use_keeps_the_contract():
    backend = get_backend("cpu")
    assert contract_problems(type(backend)) == []
    assert not set(vars(backend)) & set(declared()), "an instance attribute hides a method"


def test_the_cuda_backend_under_test_runs_the_cuda_class_kernels(gpu):
    """``gpu``: the CUDA backend on the g++ emulation (or the real GPU): it keeps the contract,
    and each of its kernels is CUDABackend's own, so the kernel tests test the real code."""
    assert contract_problems(type(gpu)) == []
    assert not set(vars(gpu)) & set(declared()), "an instance attribute hides a method"
    for name in KERNEL_TABLE:
        assert getattr(gpu, name).__func__ is vars(CUDABackend)[name], name


# --- and the check catches what it should ----------------------------------------------------

@pytest.mark.parametrize("missing", sorted(KERNEL_TABLE | DATA_METHODS))
def test_a_backend_missing_one_method_is_caught(missing):
    methods = {name: inspect.getattr_static(CPUBackend, name)
               for name in declared() if name != missing}
    incomplete = type("Incomplete", (Backend,), methods)
    assert contract_problems(incomplete) == [f"{missing}: not implemented"]


def test_a_kernel_with_another_signature_is_caught():
    class RenamedArgument(CPUBackend):
        def dropout(self, x, rate):
            return super().dropout(x, 1 - rate)

    class DroppedArgument(CPUBackend):
        def im2col(self, x, window, strides, padding, out_hw):
            return super().im2col(x, window, strides, (1, 1), padding, out_hw)

    class WithADefault(CPUBackend):
        def adam_step(self, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step, lr,
                      betas, eps, weight_decay, decoupled, amsgrad=False):
            pass

    for cls, name in [(RenamedArgument, "dropout"), (DroppedArgument, "im2col"),
                      (WithADefault, "adam_step")]:
        (problem,) = contract_problems(cls)
        assert problem.startswith(f"{name}(") and "Backend declares" in problem


def test_a_public_method_outside_the_table_is_caught():
    class WithAnExtraKernel(CPUBackend):
        option = 1

        def fused_gelu(self, x):
            return x

        @staticmethod
        def helper():
            pass

    assert sorted(contract_problems(WithAnExtraKernel)) == [
        f"WithAnExtraKernel.{name}: public, but Backend does not declare it"
        for name in ("fused_gelu", "helper", "option")]


def test_a_kernel_that_is_not_a_method_is_caught():
    class StaticKernel(CPUBackend):
        @staticmethod
        def scatter_add(target, key, values):
            pass

    assert contract_problems(StaticKernel) == ["scatter_add: not a method (staticmethod)"]
