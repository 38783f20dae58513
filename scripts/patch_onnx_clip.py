#!/usr/bin/python3
"""Rewrites opset-11 Clip nodes (min/max given as inputs) into Clip nodes with min/max attributes.

OpenCV 4.6's ONNX importer rejects Clip with min/max inputs; with attributes it loads and runs.
Usage: patch_onnx_clip.py IN.onnx OUT.onnx   (needs Debian's python3-onnx)
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper


def constant_values(model):
    values = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    values[node.output[0]] = numpy_helper.to_array(attr.t)
    return values


def main(src, dst):
    model = onnx.load(src)
    values = constant_values(model)
    patched = 0
    for node in model.graph.node:
        if node.op_type != "Clip" or len(node.input) < 2:
            continue
        bounds = []
        for i, default in ((1, -np.inf), (2, np.inf)):
            name = node.input[i] if len(node.input) > i else ""
            if not name:
                bounds.append(default)
            elif name in values:
                bounds.append(float(np.asarray(values[name]).reshape(-1)[0]))
            else:
                sys.exit(f"{src}: Clip node {node.name!r} has a computed bound {name!r}; cannot patch")
        del node.input[1:]
        node.attribute.extend([helper.make_attribute("min", max(bounds[0], -3.4e38)),
                               helper.make_attribute("max", min(bounds[1], 3.4e38))])
        patched += 1
    # The opset stays as it is: OpenCV reads Clip's attributes whatever the opset, and lowering it would
    # change the meaning of other ops (Resize).
    onnx.save(model, dst)
    print(f"patched {patched} Clip nodes: {dst}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
