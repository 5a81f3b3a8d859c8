"""ONNX export of a style network with dynamic batch and H/W (for onnxruntime / TensorRT trtexec).

Uses the torch.export-based exporter (``torch.onnx.export(..., dynamo=True)``, needs the
``onnx`` and ``onnxscript`` packages). H and W are exported as ``4*h4`` / ``4*w4``: the
TransformerNet pads to a multiple of 4 with a shape-dependent branch, which torch.export can only
resolve statically when the size is known to be a multiple of 4. So the exported graph accepts
any batch and any H, W that are multiples of 4 (pad/crop other sizes outside the graph).
The file is written to a temporary name, checked, then renamed: no partial output on failure.
"""
from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import torch
from torch import nn

from models.backends.base import BackendUnavailable
from models.io.atomic import atomic_path


def onnx_unavailable_reason() -> str | None:
    """Why ONNX export cannot run here (missing packages), or None when it can."""
    missing = [m for m in ("onnx", "onnxscript") if importlib.util.find_spec(m) is None]
    return f"missing package(s): {', '.join(missing)}" if missing else None


def export_onnx(
    model: nn.Module,
    path: str | Path,
    *,
    height: int = 256,
    width: int = 256,
    opset: int = 18,
    dynamic: bool = True,
) -> Path:
    """Export ``model`` (RGB [0,1] -> RGB [0,1]) to ``path``; input ``frames``, output ``stylized``."""
    reason = onnx_unavailable_reason()
    if reason:
        raise BackendUnavailable("onnx", reason)
    if dynamic and (height % 4 or width % 4):
        raise ValueError(f"dynamic export: example height/width must be multiples of 4, got {height}x{width}")
    from torch.export import Dim

    path = Path(path)
    m = copy.deepcopy(model).float().eval().requires_grad_(False).cpu()
    example = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))
    shapes = None
    if dynamic:
        h4, w4 = Dim("h4", min=2, max=2048), Dim("w4", min=2, max=2048)
        arg = next(iter(_forward_arg_names(m)), "x")
        shapes = {arg: {0: Dim("batch", min=1, max=256), 2: 4 * h4, 3: 4 * w4}}
    with atomic_path(path, keep_suffix=True) as tmp:
        torch.onnx.export(m, (example,), str(tmp), dynamo=True, input_names=["frames"], output_names=["stylized"],
                          dynamic_shapes=shapes, opset_version=opset, external_data=False)
        import onnx

        onnx.checker.check_model(onnx.load(str(tmp)))
    return path


def _forward_arg_names(m: nn.Module) -> list[str]:
    import inspect

    return [p for p in inspect.signature(m.forward).parameters if p != "self"]


def describe_onnx(path: str | Path) -> dict:
    """Structure of an exported file (onnx package): opset, inputs/outputs with symbolic dims, op counts."""
    import onnx

    mo = onnx.load(str(path))
    onnx.checker.check_model(mo)

    def dims(v: "onnx.ValueInfoProto") -> list[str | int]:
        return [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]

    ops: dict[str, int] = {}
    for node in mo.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    return {
        "opset": max(o.version for o in mo.opset_import if o.domain in ("", "ai.onnx")),
        "inputs": {i.name: dims(i) for i in mo.graph.input},
        "outputs": {o.name: dims(o) for o in mo.graph.output},
        "ops": ops,
    }


def run_onnxruntime(path: str | Path, frames: torch.Tensor) -> torch.Tensor:
    """Run the exported file on CPU with onnxruntime (raises BackendUnavailable without it)."""
    if importlib.util.find_spec("onnxruntime") is None:
        raise BackendUnavailable("onnx", "onnxruntime is not installed")
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = sess.run(None, {"frames": frames.detach().float().cpu().numpy()})[0]
    return torch.from_numpy(out)
