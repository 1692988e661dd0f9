#!/usr/bin/python3
"""Golden values for the conv / pooling / normalisation ops (tests/conv/), from PyTorch 1.13.1.

Run with Debian's python3-torch:  /usr/bin/python3 tests/golden/gen_conv.py
Writes tests/golden/conv.json. Inputs are float32-representable values; every result (output and
the gradient of sum(y * gy) for each input) is computed in float64 by PyTorch, so the C++ tests can
check their float64 path tightly and their float32 path loosely against the same numbers.
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(1234)


def rnd(*shape):
    return torch.randn(*shape).float().double()


def enc(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def grads(y, inputs, gy):
    """Gradients of sum(y * gy) w.r.t. the inputs that require grad (None for the others)."""
    need = [t for t in inputs if t is not None and t.requires_grad]
    gs = torch.autograd.grad(y, need, gy)
    out, k = [], 0
    for t in inputs:
        if t is not None and t.requires_grad:
            out.append(gs[k])
            k += 1
        else:
            out.append(None)
    return out


def case(name, tensors, params, y, gy, names, gs):
    c = {"name": name, **params, "y": enc(y), "gy": enc(gy)}
    for n, t in tensors.items():
        if t is not None:
            c[n] = enc(t)
    for n, g in zip(names, gs):
        if g is not None:
            c["d" + n] = enc(g)
    return c


def conv_cases(dim):
    fn = F.conv1d if dim == 1 else F.conv2d
    specs = dim == 1 and [
        # name, N, C, L, O, k, stride, padding, dilation, groups, bias
        ("basic", 2, 3, 11, 4, 3, 1, 0, 1, 1, True),
        ("stride2_pad1_dil2_groups2", 2, 4, 13, 2, 3, 2, 1, 2, 2, True),
        ("same_even_kernel", 1, 2, 9, 3, 4, 1, "same", 1, 1, False),
        ("pointwise", 3, 5, 7, 2, 1, 1, 0, 1, 1, True),
    ] or [
        ("basic", 2, 3, (7, 6), 4, (3, 3), 1, 0, 1, 1, True),
        ("odd_stride_padding", 2, 2, (9, 8), 3, (3, 2), (2, 3), (1, 2), 1, 1, True),
        ("dilation", 1, 2, (8, 9), 2, (3, 3), 1, (2, 1), (2, 1), 1, True),
        ("groups2", 2, 4, (5, 5), 6, (3, 3), 1, 1, 1, 2, True),
        ("depthwise_stride2", 2, 3, (7, 7), 6, (3, 3), 2, 1, 1, 3, False),
        ("pointwise", 2, 5, (4, 3), 3, (1, 1), 1, 0, 1, 1, True),
        ("pointwise_stride2", 1, 3, (5, 6), 2, (1, 1), 2, 0, 1, 1, True),
        ("same_even_kernel", 2, 2, (6, 7), 3, (4, 2), 1, "same", 1, 1, True),
        ("same_dilated", 1, 2, (7, 6), 2, (3, 2), 1, "same", (2, 3), 1, False),
        ("lenet_conv1", 2, 1, (12, 12), 3, (5, 5), 1, 2, 1, 1, True),
        ("kernel_equals_input", 2, 2, (3, 4), 3, (3, 4), 1, 0, 1, 1, True),
    ]
    out = []
    for name, N, C, sp, O, k, stride, padding, dil, groups, bias in specs:
        sp = sp if isinstance(sp, tuple) else (sp,)
        k = k if isinstance(k, tuple) else (k,)
        x = rnd(N, C, *sp).requires_grad_()
        w = (rnd(O, C // groups, *k) * 0.5).requires_grad_()
        b = rnd(O).requires_grad_() if bias else None
        y = fn(x, w, b, stride=stride, padding=padding, dilation=dil, groups=groups)
        gy = rnd(*y.shape)
        g = grads(y, [x, w, b], gy)
        lst = lambda v: v if isinstance(v, (str,)) else (list(v) if isinstance(v, tuple) else [v])
        params = {"stride": lst(stride), "padding": lst(padding), "dilation": lst(dil),
                  "groups": groups, "relu": False}
        out.append(case(name, {"x": x, "w": w, "b": b}, params, y, gy, ["x", "w", "b"], g))
        if dim == 2 and name in ("basic", "groups2", "lenet_conv1"):
            # the fused ReLU: relu(conv(x))
            y = torch.relu(fn(x, w, b, stride=stride, padding=padding, dilation=dil, groups=groups))
            gy = rnd(*y.shape)
            g = grads(y, [x, w, b], gy)
            out.append(case(name + "_relu", {"x": x, "w": w, "b": b}, {**params, "relu": True}, y,
                            gy, ["x", "w", "b"], g))
    return out


def max_pool_cases():
    out = []
    specs = [
        # name, dim, shape, kernel, stride, padding, dilation, ceil_mode, ties
        ("k2_odd", 2, (2, 3, 7, 9), 2, None, 0, 1, False, False),
        ("k2_even", 2, (2, 2, 8, 6), 2, None, 0, 1, False, False),
        ("k3_s2_p1", 2, (2, 2, 9, 8), 3, 2, 1, 1, False, False),
        ("rect_dilated", 2, (1, 3, 8, 9), (3, 2), (2, 1), (1, 0), (1, 2), False, False),
        ("ceil_mode", 2, (2, 2, 8, 7), 3, 2, 0, 1, True, False),
        ("k2_ceil_odd", 2, (1, 2, 7, 7), 2, None, 0, 1, True, False),
        ("ties", 2, (2, 2, 6, 6), 3, 1, 1, 1, False, True),
        ("1d_k3_s2_p1", 1, (2, 3, 11), 3, 2, 1, 1, False, False),
        ("1d_k2", 1, (2, 2, 9), 2, None, 0, 1, False, False),
        ("1d_dilated_ceil", 1, (1, 2, 12), 3, 2, 1, 2, True, False),
    ]
    for name, dim, shape, k, s, p, d, ceil, ties in specs:
        x = (torch.randint(0, 3, shape).double() if ties else rnd(*shape)).requires_grad_()
        fn = F.max_pool1d if dim == 1 else F.max_pool2d
        y = fn(x, k, stride=s, padding=p, dilation=d, ceil_mode=ceil)
        gy = rnd(*y.shape)
        (dx,) = grads(y, [x], gy)
        lst = lambda v: [] if v is None else (list(v) if isinstance(v, tuple) else [v])
        params = {"dim": dim, "kernel": lst(k), "stride": lst(s), "padding": lst(p),
                  "dilation": lst(d), "ceil_mode": ceil}
        out.append(case(name, {"x": x}, params, y, gy, ["x"], [dx]))
    return out


def avg_pool_cases():
    out = []
    specs = [
        # name, dim, shape, kernel, stride, padding, ceil_mode, count_include_pad
        ("k2", 2, (2, 3, 6, 7), 2, None, 0, False, True),
        ("k3_s2_p1_include_pad", 2, (2, 2, 7, 8), 3, 2, 1, False, True),
        ("k3_s2_p1_exclude_pad", 2, (2, 2, 7, 8), 3, 2, 1, False, False),
        ("rect_ceil_include_pad", 2, (1, 2, 8, 7), (3, 2), (2, 3), (1, 1), True, True),
        ("rect_ceil_exclude_pad", 2, (1, 2, 8, 7), (3, 2), (2, 3), (1, 1), True, False),
        ("1d_k3_s2_p1", 1, (2, 3, 10), 3, 2, 1, False, True),
        ("1d_ceil_exclude_pad", 1, (2, 2, 9), 4, 3, 2, True, False),
    ]
    for name, dim, shape, k, s, p, ceil, cip in specs:
        x = rnd(*shape).requires_grad_()
        fn = F.avg_pool1d if dim == 1 else F.avg_pool2d
        y = fn(x, k, stride=s, padding=p, ceil_mode=ceil, count_include_pad=cip)
        gy = rnd(*y.shape)
        (dx,) = grads(y, [x], gy)
        lst = lambda v: [] if v is None else (list(v) if isinstance(v, tuple) else [v])
        params = {"dim": dim, "kernel": lst(k), "stride": lst(s), "padding": lst(p),
                  "ceil_mode": ceil, "count_include_pad": cip}
        out.append(case(name, {"x": x}, params, y, gy, ["x"], [dx]))
    return out


def adaptive_cases():
    out = []
    for name, shape, os_ in [("uneven", (2, 3, 7, 5), (3, 2)), ("global", (2, 4, 5, 6), (1, 1)),
                             ("identity", (1, 2, 4, 3), (4, 3)), ("upsample", (1, 2, 3, 5), (4, 7)),
                             ("unbatched", (3, 6, 6), (4, 4))]:
        x = rnd(*shape).requires_grad_()
        y = F.adaptive_avg_pool2d(x, os_)
        gy = rnd(*y.shape)
        (dx,) = grads(y, [x], gy)
        out.append(case(name, {"x": x}, {"output_size": list(os_)}, y, gy, ["x"], [dx]))
    return out


def batch_norm_cases():
    out = []
    specs = [
        # name, shape, training, affine, running, momentum, eps
        ("train_2d", (4, 3), True, True, True, 0.1, 1e-5),
        ("train_4d", (3, 2, 4, 5), True, True, True, 0.3, 1e-3),
        ("train_3d", (2, 3, 6), True, True, True, 0.1, 1e-5),
        ("train_no_affine_no_running", (3, 4, 2, 2), True, False, False, 0.1, 1e-5),
        ("eval_4d", (2, 3, 3, 3), False, True, True, 0.1, 1e-5),
        ("eval_2d_no_affine", (5, 4), False, False, True, 0.1, 1e-4),
    ]
    for name, shape, training, affine, running, mom, eps in specs:
        C = shape[1]
        x = (rnd(*shape) * 2 + 0.5).requires_grad_()
        w = (rnd(C) * 0.5 + 1).requires_grad_() if affine else None
        b = rnd(C).requires_grad_() if affine else None
        rm = rnd(C) * 0.1 if running else None
        rv = (torch.rand(C).float().double() + 0.5) if running else None
        rm0 = rm.clone() if running else None
        rv0 = rv.clone() if running else None
        y = F.batch_norm(x, rm, rv, w, b, training=training, momentum=mom, eps=eps)
        gy = rnd(*y.shape)
        g = grads(y, [x, w, b], gy)
        params = {"training": training, "momentum": mom, "eps": eps}
        c = case(name, {"x": x, "w": w, "b": b, "running_mean": rm0, "running_var": rv0}, params,
                 y, gy, ["x", "w", "b"], g)
        if running:
            c["new_running_mean"] = enc(rm)
            c["new_running_var"] = enc(rv)
        out.append(c)
    return out


def layer_norm_cases():
    out = []
    for name, shape, ns, affine, eps in [("last_dim", (3, 4, 5), (5,), True, 1e-5),
                                         ("last_two_dims", (2, 3, 4), (3, 4), True, 1e-5),
                                         ("no_affine", (4, 6), (6,), False, 1e-3),
                                         ("vector", (7,), (7,), True, 1e-5)]:
        x = (rnd(*shape) * 3 - 1).requires_grad_()
        w = (rnd(*ns) * 0.5 + 1).requires_grad_() if affine else None
        b = rnd(*ns).requires_grad_() if affine else None
        y = F.layer_norm(x, ns, w, b, eps)
        gy = rnd(*y.shape)
        g = grads(y, [x, w, b], gy)
        out.append(case(name, {"x": x, "w": w, "b": b}, {"normalized_shape": list(ns), "eps": eps},
                        y, gy, ["x", "w", "b"], g))
    return out


def group_norm_cases():
    out = []
    for name, shape, groups, affine, eps in [("groups3", (2, 6, 3, 4), 3, True, 1e-5),
                                             ("groups1", (2, 4, 3), 1, True, 1e-5),
                                             ("instance", (2, 3, 2, 5), 3, False, 1e-4),
                                             ("no_spatial", (3, 4), 2, True, 1e-5)]:
        x = (rnd(*shape) * 2 + 1).requires_grad_()
        C = shape[1]
        w = (rnd(C) * 0.5 + 1).requires_grad_() if affine else None
        b = rnd(C).requires_grad_() if affine else None
        y = F.group_norm(x, groups, w, b, eps)
        gy = rnd(*y.shape)
        g = grads(y, [x, w, b], gy)
        out.append(case(name, {"x": x, "w": w, "b": b}, {"num_groups": groups, "eps": eps}, y, gy,
                        ["x", "w", "b"], g))
    return out


def main():
    data = {
        "generator": "tests/golden/gen_conv.py",
        "torch": torch.__version__,
        "conv1d": conv_cases(1),
        "conv2d": conv_cases(2),
        "max_pool": max_pool_cases(),
        "avg_pool": avg_pool_cases(),
        "adaptive_avg_pool2d": adaptive_cases(),
        "batch_norm": batch_norm_cases(),
        "layer_norm": layer_norm_cases(),
        "group_norm": group_norm_cases(),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conv.json")
    with open(path, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", path, sum(len(v) for v in data.values() if isinstance(v, list)), "cases")


if __name__ == "__main__":
    main()
