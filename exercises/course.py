"""The course: twelve exercises, in the order a student takes them.

Each exercise has one or more parts; a part ``name`` is the stub ``exercises/<name>.py`` that the
student writes and its grader ``exercises/test_<name>.py``. The docs page of exercise ``n`` is
``docs/course/<nn>_<slug>.rst``.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Exercise:
    """One step of the course."""

    number: int
    slug: str
    title: str
    parts: tuple

    @property
    def docs_page(self):
        return f"docs/course/{self.number:02d}_{self.slug}.rst"


COURSE = (
    Exercise(1, "scalar_autograd", "A scalar autograd engine", ("scalar_autograd",)),
    Exercise(2, "broadcasting", "Broadcasting in backward: sum_to, + and *", ("broadcasting",)),
    Exercise(3, "matmul_backward", "The backward of a batched matmul", ("matmul_backward",)),
    Exercise(4, "softmax_cross_entropy", "A stable softmax cross-entropy",
             ("softmax_cross_entropy",)),
    Exercise(5, "mlp_training", "Training an MLP with your own loop", ("mlp_training",)),
    Exercise(6, "swish", "The backward pass of an activation: Swish", ("swish",)),
    Exercise(7, "convolution", "Convolution by im2col, and its backward by col2im",
             ("conv2d_im2col", "col2im")),
    Exercise(8, "max_pooling", "Max pooling with argmax, forward and backward",
             ("max_pooling",)),
    Exercise(9, "lstm", "An LSTM cell and backpropagation through time", ("lstm_cell",)),
    Exercise(10, "optimizers", "Optimizers: SGD with momentum and Nesterov, then Adam",
             ("sgd_momentum", "adam")),
    Exercise(11, "batch_norm", "Batch normalization: training, inference and backward",
             ("batch_norm",)),
    Exercise(12, "serving", "Serve it: the Open Inference Protocol's infer route",
             ("serve_infer",)),
)


def exercise(number):
    """The exercise numbered ``number`` (1 to 12)."""
    for item in COURSE:
        if item.number == int(number):
            return item
    raise ValueError(f"there is no exercise {number}: the course has exercises 1 to "
                     f"{len(COURSE)}")
