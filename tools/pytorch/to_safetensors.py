#!/usr/bin/env python3
"""Convert a PyTorch checkpoint (a state_dict saved with torch.save) to
safetensors or NumPy .npz for `edgerec import`, without the safetensors
package: floating-point tensors are written as little-endian float32,
names sorted.

Usage: python3 to_safetensors.py CHECKPOINT.pt OUT.safetensors|OUT.npz [--prefix P]

--prefix keeps only the tensors whose names start with P (a checkpoint
that holds a whole training state, say {"model": state_dict, ...}, is
unwrapped from its "model" or "state_dict" entry first).
"""

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from twotower import write_safetensors  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--prefix", default="")
    args = ap.parse_args()
    state = torch.load(args.checkpoint, map_location="cpu")
    for key in ("model", "state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        sys.exit(f"{args.checkpoint}: not a state_dict (a dict of tensors); save model.state_dict()")
    tensors = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in state.items()
               if torch.is_tensor(v) and v.is_floating_point() and k.startswith(args.prefix)}
    if not tensors:
        sys.exit(f"{args.checkpoint}: no floating-point tensors" + (f" under {args.prefix!r}" if args.prefix else ""))
    if args.out.endswith(".npz"):
        np.savez(args.out, **tensors)
    else:
        write_safetensors(args.out, tensors)
    print(f"wrote {args.out}: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
