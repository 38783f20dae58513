#!/usr/bin/python3
"""Freezes a PaddleOCR (paddle2onnx) text-recognition model to input [1, 3, 48, WIDTH] for OpenCV 4.6.

OpenCV 4.6's ONNX importer rejects Shape nodes on inputs with dynamic dimensions
("!isDynamicShape in function 'parseShape'"). This script fixes the input shape, runs ONNX shape
inference, folds every integer shape computation (Shape -> Cast -> Slice -> Concat -> Reshape shape
input, ...) into initializers, writes the inferred explicit shape into each Reshape, and drops the
nodes that are no longer used. A constant vector broadcast by Mul/Div/Add/Sub (layer-norm weights,
MatMul biases) is expanded to the full output shape: OpenCV 4.6 loads it otherwise but fails at forward.
Clip nodes with min/max inputs (opset >= 11) get attributes, as in patch_onnx_clip.py.
The result is batch 1 only. Output [1, WIDTH/8, classes] (softmax), for greedy CTC decoding.
Usage: patch_onnx_rec.py IN.onnx OUT.onnx WIDTH   (needs Debian's python3-onnx; WIDTH a multiple of 8)
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

HEIGHT = 48


def np_dtype(onnx_type):
    if hasattr(helper, "tensor_dtype_to_np_dtype"):  # onnx >= 1.13
        return helper.tensor_dtype_to_np_dtype(onnx_type)
    return onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[onnx_type]


def attrs_of(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def slice_array(data, starts, ends, axes, steps):
    index = [slice(None)] * data.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        index[int(axis)] = slice(int(start), int(end), int(step))
    return data[tuple(index)]


def evaluate(node, inputs, opset):
    """Evaluates the small set of ops a shape computation uses; None when unsupported."""
    op, attrs = node.op_type, attrs_of(node)
    if op == "Cast":
        return inputs[0].astype(np_dtype(attrs["to"]))
    if op == "Identity":
        return inputs[0]
    if op == "Slice":
        data = inputs[0]
        if opset < 10:
            starts, ends = attrs["starts"], attrs["ends"]
            axes = attrs.get("axes", list(range(len(starts))))
            steps = [1] * len(starts)
        else:
            starts, ends = inputs[1], inputs[2]
            axes = inputs[3] if len(inputs) > 3 and inputs[3] is not None else range(len(starts))
            steps = inputs[4] if len(inputs) > 4 and inputs[4] is not None else [1] * len(starts)
        return slice_array(data, starts, ends, axes, steps)
    if op == "Concat":
        return np.concatenate([np.asarray(x).reshape(-1) if x.ndim == 0 else x for x in inputs],
                              axis=attrs["axis"])
    if op == "Gather":
        return np.take(inputs[0], inputs[1], axis=attrs.get("axis", 0))
    if op == "Unsqueeze":
        axes = attrs["axes"] if "axes" in attrs else list(inputs[1])
        out = inputs[0]
        for axis in sorted(int(a) % (out.ndim + len(axes)) for a in axes):
            out = np.expand_dims(out, axis)
        return out
    if op == "Squeeze":
        axes = attrs.get("axes") if "axes" in attrs else (list(inputs[1]) if len(inputs) > 1 else None)
        return np.squeeze(inputs[0], axis=None if axes is None else tuple(int(a) for a in axes))
    if op == "Reshape":
        return inputs[0].reshape([int(d) for d in inputs[1]])
    binary = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply}
    if op in binary:
        return binary[op](inputs[0], inputs[1]).astype(inputs[0].dtype)
    if op == "Div":
        return (inputs[0] // inputs[1]).astype(inputs[0].dtype)
    return None


def static_shapes(model):
    inferred = shape_inference.infer_shapes(model, strict_mode=True)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if vi.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
            shapes[vi.name] = [d.dim_value for d in dims]
    return shapes


def set_dims(value_info, dims):
    shape = value_info.type.tensor_type.shape
    del shape.dim[:]
    for d in dims:
        shape.dim.add().dim_value = d


def fold_round(model, opset):
    """Folds what the current static shapes allow; rewrites the graph; returns the number folded."""
    graph = model.graph
    del graph.value_info[:]
    shapes = static_shapes(model)
    values = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute[0].name == "value":
            values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    folded_from = set()
    for node in graph.node:
        if node.op_type == "Constant":
            continue
        result = None
        if node.op_type == "Shape":
            if node.input[0] in shapes:
                result = np.array(shapes[node.input[0]], dtype=np.int64)
        elif all(name == "" or name in values for name in node.input) and len(node.output) == 1:
            inputs = [values.get(name) if name else None for name in node.input]
            # Only integer (shape) arithmetic is folded; float layers on weights stay as they are.
            if all(x is None or np.issubdtype(x.dtype, np.integer) for x in inputs):
                result = evaluate(node, inputs, opset)
        if result is not None:
            values[node.output[0]] = np.asarray(result)
            folded_from.add(node.output[0])
    if not folded_from:
        return 0
    # Drop folded nodes and whatever is no longer reachable from the outputs; folded values still
    # consumed become initializers.
    needed = {o.name for o in graph.output}
    keep = []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output) and not all(o in folded_from for o in node.output):
            keep.append(node)
            needed.update(i for i in node.input if i)
    keep.reverse()
    del graph.node[:]
    graph.node.extend(keep)
    inits = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    graph.initializer.extend(numpy_helper.from_array(values[name], name)
                             for name in sorted(needed & folded_from))
    return len(folded_from)


def main(src, dst, width):
    if width <= 0 or width % 8:
        sys.exit(f"WIDTH must be a positive multiple of 8, got {width}")
    model = onnx.load(src)
    graph = model.graph
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if len(graph.input) != 1:
        sys.exit(f"{src}: expected one input, found {len(graph.input)}")
    set_dims(graph.input[0], [1, 3, HEIGHT, width])
    for out in graph.output:  # stale symbolic dims; shape inference fills them in again
        out.type.tensor_type.ClearField("shape")
    del graph.value_info[:]
    total = 0
    while True:  # shape inference stops at a Reshape whose shape is computed, so fold in rounds
        folded = fold_round(model, opset)
        total += folded
        if not folded:
            break
    graph = model.graph
    values = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute[0].name == "value":
            values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)

    # Reshape: use the inferred output shape, explicit in every dimension, as a constant shape input.
    shapes = static_shapes(model)
    new_inits = {}
    for node in graph.node:
        if node.op_type == "Reshape" and node.input[0] not in values:
            if node.input[1] not in values:
                sys.exit(f"{src}: Reshape {node.name!r} has a shape input that could not be folded")
            out_shape = shapes.get(node.output[0])
            if out_shape is None:
                sys.exit(f"{src}: output shape of Reshape {node.name!r} is not static")
            name = node.output[0] + ".frozen_shape"
            new_inits[name] = np.array(out_shape, dtype=np.int64)
            node.input[1] = name

    # Clip with min/max inputs (opset >= 11) -> attributes; OpenCV 4.6 only reads the attributes.
    for node in graph.node:
        if node.op_type == "Clip" and len(node.input) > 1:
            bounds = []
            for i, default in ((1, -3.4e38), (2, 3.4e38)):
                name = node.input[i] if len(node.input) > i else ""
                if name and name not in values:
                    sys.exit(f"{src}: Clip node {node.name!r} has a computed bound {name!r}")
                bounds.append(float(np.asarray(values[name]).reshape(-1)[0]) if name else default)
            del node.input[1:]
            node.attribute.extend([helper.make_attribute("min", bounds[0]),
                                   helper.make_attribute("max", bounds[1])])

    # Mul/Div/Add/Sub with a constant vector that only broadcasts (layer-norm weight and bias, MatMul
    # bias: [C] on [1, T, C]) becomes OpenCV's Scale layer on axis 1 and fails at forward
    # ("start <= (int)shape.size() ... in function 'total'"); a constant of the full output shape works.
    for node in graph.node:
        if node.op_type not in ("Mul", "Div", "Add", "Sub"):
            continue
        out_shape = shapes.get(node.output[0])
        for i, name in enumerate(node.input):
            if name in values and values[name].size > 1 and out_shape \
                    and list(values[name].shape) != out_shape:
                full = name + ".broadcast_" + node.output[0]
                new_inits[full] = np.ascontiguousarray(np.broadcast_to(values[name], out_shape))
                node.input[i] = full

    # Initializers the Reshape rewrite left unused go; the explicit shapes come in.
    used = {i for node in graph.node for i in node.input}
    inits = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    graph.initializer.extend(numpy_helper.from_array(v, name) for name, v in new_inits.items())
    del graph.value_info[:]

    model = shape_inference.infer_shapes(model, strict_mode=True)
    onnx.checker.check_model(model)
    shape_nodes = [node.name for node in model.graph.node if node.op_type == "Shape"]
    if shape_nodes:
        sys.exit(f"{src}: Shape nodes remain after folding: {shape_nodes}")
    out_dims = [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim]
    onnx.save(model, dst)
    print(f"folded {total} nodes, {len(model.graph.node)} nodes left, input [1, 3, {HEIGHT}, {width}], "
          f"output {out_dims}: {dst}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
