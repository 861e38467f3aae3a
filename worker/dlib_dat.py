"""Reader for the .dat files dlib's ``serialize()`` writes, as far as the face ResNet needs.

Pure numpy, so the weights can be taken to ONNX Runtime without compiling dlib.
The face ResNet file (2017) uses old layer versions (``con_4``, ``fc_2``, ...)
that lack fields today's dlib writes, so the layouts below follow that file,
and anything else is refused with a message rather than read as garbage.

Encoding (dlib/serialize.h, dlib/dnn/tensor.h):
- integer: a control byte (low 4 bits: byte count; 0x80: negative), then the
  little-endian magnitude;
- string: its length as an integer, then the bytes;
- float: mantissa and base-2 exponent, both integers;
- bool: the character '0' or '1';
- tensor: version 2, four dimensions (n, k, nr, nc), then raw little-endian float32.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


class DatFormatError(ValueError):
    """The file is not a dlib network this reader understands."""


@dataclass(frozen=True)
class InputLayer:
    mean: tuple[float, float, float]  # R, G, B subtracted before dividing by 256
    size: tuple[int, int]             # rows, columns of the chip


@dataclass(frozen=True)
class Conv:
    weights: np.ndarray  # (out, in, rows, cols) float32
    bias: np.ndarray     # (out,)
    stride: tuple[int, int]
    padding: tuple[int, int]


@dataclass(frozen=True)
class Affine:
    """Batch norm folded into a per-channel scale and shift."""
    gamma: np.ndarray
    beta: np.ndarray


@dataclass(frozen=True)
class Relu:
    pass


@dataclass(frozen=True)
class Pool:
    kind: str                # "max" or "avg"
    window: tuple[int, int]  # (0, 0): the whole image
    stride: tuple[int, int]
    padding: tuple[int, int]


@dataclass(frozen=True)
class AddPrev:
    pass


@dataclass(frozen=True)
class FullyConnected:
    weights: np.ndarray  # (inputs, outputs): the output is x @ weights
    bias: np.ndarray | None


Layer = Conv | Affine | Relu | Pool | AddPrev | FullyConnected


@dataclass(frozen=True)
class Network:
    """A parsed file: layer versions as written (outermost first), input, layers innermost first."""
    loss: str
    versions: str
    input: InputLayer
    layers: list[Layer]


class Reader:
    """A cursor over the bytes; every read checks that the bytes are there."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise DatFormatError(f"truncated file: needed {n} bytes at offset {self.pos}, "
                                 f"{len(self.data) - self.pos} left")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int(self) -> int:
        control = self.take(1)[0]
        size = control & 0x0F
        if size > 8 or control & 0x70:
            raise DatFormatError(f"bad integer control byte 0x{control:02x} at offset {self.pos - 1}")
        value = int.from_bytes(self.take(size), "little")
        return -value if control & 0x80 else value

    def string(self) -> str:
        size = self.int()
        if not 0 <= size <= 256:
            raise DatFormatError(f"implausible string length {size} at offset {self.pos}")
        return bytes(self.take(size)).decode("latin-1")

    def float(self) -> float:
        mantissa = self.int()
        return math.ldexp(mantissa, self.int())

    def bool(self) -> bool:
        char = bytes(self.take(1))
        if char not in (b"0", b"1"):
            raise DatFormatError(f"bad bool {char!r} at offset {self.pos - 1}")
        return char == b"1"

    def tensor(self) -> np.ndarray:
        version = self.int()
        if version != 2:
            raise DatFormatError(f"tensor version {version} at offset {self.pos}, expected 2")
        dims = tuple(self.int() for _ in range(4))
        if any(d < 0 for d in dims):
            raise DatFormatError(f"negative tensor dimensions {dims} at offset {self.pos}")
        count = math.prod(dims)
        raw = self.take(4 * count)
        return np.frombuffer(raw, dtype="<f4", count=count).astype(np.float32).reshape(dims)

    def alias(self) -> tuple[int, int, int, int]:
        """An alias_tensor: a view's shape into the layer's params (version 1)."""
        version = self.int()
        if version != 1:
            raise DatFormatError(f"alias_tensor version {version} at offset {self.pos}, expected 1")
        return tuple(self.int() for _ in range(4))  # type: ignore[return-value]

    def expect(self, name: str) -> None:
        found = self.string()
        if found != name:
            raise DatFormatError(f"expected {name!r} at offset {self.pos}, found {found!r}")

    def finish(self) -> None:
        left = len(self.data) - self.pos
        if left:
            raise DatFormatError(f"{left} bytes left over after the network at offset {self.pos}")


def _split(params: np.ndarray, *shapes: tuple[int, ...]) -> list[np.ndarray]:
    """Cut a layer's flat params into the views its alias_tensors describe, in order."""
    flat = params.reshape(-1)
    sizes = [math.prod(s) for s in shapes]
    if sum(sizes) != flat.size:
        raise DatFormatError(f"params hold {flat.size} values, the views {shapes} need {sum(sizes)}")
    out, start = [], 0
    for shape, size in zip(shapes, sizes):
        out.append(flat[start:start + size].reshape(shape))
        start += size
    return out


def _conv(r: Reader) -> Conv:
    params = r.tensor()
    filters, rows, cols, stride_y, stride_x, pad_y, pad_x = (r.int() for _ in range(7))
    w_shape, b_shape = r.alias(), r.alias()
    for _ in range(4):  # learning-rate and weight-decay multipliers
        r.float()
    weights, bias = _split(params, w_shape, b_shape)
    if w_shape[0] != filters or w_shape[2:] != (rows, cols) or b_shape[1] != filters:
        raise DatFormatError(f"con_4 views {w_shape}, {b_shape} do not match {filters} {rows}x{cols} filters")
    return Conv(weights, bias.reshape(-1), (stride_y, stride_x), (pad_y, pad_x))


def _affine(r: Reader) -> Affine:
    params = r.tensor()
    g_shape, b_shape = r.alias(), r.alias()
    mode = r.int()
    if mode != 0:
        raise DatFormatError(f"affine_ in mode {mode}; only the per-channel (conv) mode 0 is supported")
    gamma, beta = _split(params, g_shape, b_shape)
    return Affine(gamma.reshape(-1), beta.reshape(-1))


def _pool(kind: str, r: Reader) -> Pool:
    rows, cols, stride_y, stride_x, pad_y, pad_x = (r.int() for _ in range(6))
    return Pool(kind, (rows, cols), (stride_y, stride_x), (pad_y, pad_x))


def _fc(r: Reader) -> FullyConnected:
    outputs, inputs = r.int(), r.int()
    params = r.tensor()
    w_shape, b_shape = r.alias(), r.alias()
    bias_mode = r.int()  # 0: with bias, 1: FC_NO_BIAS
    for _ in range(4):
        r.float()
    if bias_mode not in (0, 1):
        raise DatFormatError(f"fc_2 bias mode {bias_mode}")
    views = (w_shape,) if bias_mode == 1 else (w_shape, b_shape)
    parts = _split(params, *views)
    weights = parts[0].reshape(inputs, outputs)
    return FullyConnected(weights, parts[1].reshape(-1) if bias_mode == 0 else None)


LAYER_READERS = {
    "con_4": _conv,
    "affine_": _affine,
    "relu_": lambda r: Relu(),
    "max_pool_2": lambda r: _pool("max", r),
    "avg_pool_2": lambda r: _pool("avg", r),
    "add_prev_": lambda r: AddPrev(),
    "fc_2": _fc,
}


def _layer_trailer(r: Reader, *, input_layer: bool) -> None:
    """What add_layer writes after its layer: state flags and (empty) work tensors."""
    for _ in range(3):  # setup called, gradient stale, output/gradient disabled
        r.bool()
    for name in ("x_grad", "cached_output", "grad_final" if input_layer else "params_grad"):
        t = r.tensor()
        if t.size:
            raise DatFormatError(f"{name} holds {t.size} values; expected a network saved after clean()")
    if input_layer:
        r.int()  # sample expansion factor


def parse_network(data: bytes) -> Network:
    """Every layer of a dlib loss_metric network with an input_rgb_image_sized input."""
    r = Reader(data)
    version = r.int()
    if version != 1:
        raise DatFormatError(f"add_loss_layer version {version}, expected 1")
    loss = r.string()
    if loss != "loss_metric_2":
        raise DatFormatError(f"loss layer {loss!r}, expected 'loss_metric_2' (the face ResNet)")
    r.float(), r.float()  # margin, distance threshold: training only
    versions = []
    while True:  # add_layer (2), tag/skip (1) ... down to the add_layer on the input (3)
        v = r.int()
        if v not in (1, 2, 3) or len(versions) > 10_000:
            raise DatFormatError(f"unexpected layer version {v} at offset {r.pos}")
        versions.append(str(v))
        if v == 3:
            break
    r.expect("input_rgb_image_sized")
    mean = (r.float(), r.float(), r.float())
    size = (r.int(), r.int())
    layers: list[Layer] = []
    for i in range(versions.count("2") + 1):
        name = r.string()
        reader = LAYER_READERS.get(name)
        if reader is None:
            raise DatFormatError(f"unknown layer {name!r} at offset {r.pos} (known: {', '.join(LAYER_READERS)})")
        layers.append(reader(r))
        _layer_trailer(r, input_layer=i == 0)
    r.finish()
    return Network(loss, "".join(versions), InputLayer(mean, size), layers)
