#!/usr/bin/python3
"""Golden values for sinapsis' optimizers, LR schedulers and gradient clipping, from PyTorch
1.13.1 (Debian's python3-torch). Writes tests/golden/optim.json, read by tests/optim/*_test.cpp.

Run with /usr/bin/python3 tests/golden/gen_optim.py from the repository root. Every trajectory
is 20 steps on one small fixed problem (a linear model under mean squared error, and the
Rosenbrock function for LBFGS); the data go into the JSON so the C++ side uses the same numbers.
Option names are sinapsis' (betas split into beta1/beta2)."""
import json
import math
import os

import torch

assert torch.__version__.startswith("1.13"), torch.__version__
torch.manual_seed(1234)

STEPS = 20
N, IN, OUT = 8, 4, 3
X = torch.randn(N, IN, dtype=torch.float64) * torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=torch.float64)
Y = torch.randn(N, OUT, dtype=torch.float64)
W0 = torch.randn(OUT, IN, dtype=torch.float64) * 0.5
B0 = torch.randn(OUT, dtype=torch.float64) * 0.5


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def make_params(dtype):
    w = W0.clone().to(dtype).requires_grad_(True)
    b = B0.clone().to(dtype).requires_grad_(True)
    return w, b


def regression_loss(w, b, sign=1.0):
    x, y = X.to(w.dtype), Y.to(w.dtype)
    r = x @ w.t() + b - y
    return sign * (r * r).mean()


def torch_options(kind, opts):
    """sinapsis option names -> torch keyword arguments."""
    o = dict(opts)
    if "beta1" in o or "beta2" in o:
        o["betas"] = (o.pop("beta1", 0.9), o.pop("beta2", 0.999))
    return o


OPTIMIZERS = {
    "SGD": torch.optim.SGD,
    "Adam": torch.optim.Adam,
    "AdamW": torch.optim.AdamW,
    "Adagrad": torch.optim.Adagrad,
    "Adadelta": torch.optim.Adadelta,
    "RMSprop": torch.optim.RMSprop,
}


def optimizer_case(name, kind, groups, dtype="float64"):
    """groups: list of (param names, options); one group may hold both 'W' and 'b'."""
    dt = getattr(torch, dtype)
    w, b = make_params(dt)
    by_name = {"W": w, "b": b}
    maximize = any(g[1].get("maximize", False) for g in groups)
    if len(groups) == 1:
        # constructor keywords: torch's Adagrad reads initial_accumulator_value only from them
        names, o = groups[0]
        opt = OPTIMIZERS[kind]([by_name[n] for n in names], **torch_options(kind, o))
    else:
        opt = OPTIMIZERS[kind]([dict(params=[by_name[n] for n in names],
                                     **torch_options(kind, o)) for names, o in groups])
    losses, ws, bs = [], [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = regression_loss(w, b, -1.0 if maximize else 1.0)
        loss.backward()
        opt.step()
        losses.append(float(loss))
        ws.append(flat(w))
        bs.append(flat(b))
    return dict(name=name, optimizer=kind, dtype=dtype,
                groups=[dict(params=names, options=o) for names, o in groups],
                loss=losses, W=ws, b=bs)


def optimizer_cases():
    both = ["W", "b"]
    c = []
    c.append(optimizer_case("sgd_plain", "SGD", [(both, dict(lr=0.05))]))
    c.append(optimizer_case("sgd_momentum", "SGD", [(both, dict(lr=0.02, momentum=0.9))]))
    c.append(optimizer_case("sgd_dampening", "SGD",
                            [(both, dict(lr=0.02, momentum=0.8, dampening=0.5))]))
    c.append(optimizer_case("sgd_nesterov", "SGD",
                            [(both, dict(lr=0.02, momentum=0.9, nesterov=True))]))
    c.append(optimizer_case("sgd_weight_decay", "SGD",
                            [(both, dict(lr=0.02, momentum=0.5, weight_decay=0.1))]))
    c.append(optimizer_case("sgd_maximize", "SGD",
                            [(both, dict(lr=0.02, momentum=0.9, maximize=True))]))
    c.append(optimizer_case("sgd_momentum_f32", "SGD", [(both, dict(lr=0.02, momentum=0.9))],
                            "float32"))
    c.append(optimizer_case("sgd_groups", "SGD",
                            [(["W"], dict(lr=0.03, momentum=0.9, nesterov=True)),
                             (["b"], dict(lr=0.1, weight_decay=0.01))]))
    c.append(optimizer_case("adam", "Adam", [(both, dict(lr=0.05))]))
    c.append(optimizer_case("adam_betas_eps", "Adam",
                            [(both, dict(lr=0.05, beta1=0.8, beta2=0.9, eps=1e-3))]))
    c.append(optimizer_case("adam_amsgrad", "Adam", [(both, dict(lr=0.05, amsgrad=True))]))
    c.append(optimizer_case("adam_weight_decay", "Adam",
                            [(both, dict(lr=0.05, weight_decay=0.1))]))
    c.append(optimizer_case("adam_maximize", "Adam", [(both, dict(lr=0.05, maximize=True))]))
    c.append(optimizer_case("adam_f32", "Adam", [(both, dict(lr=0.05, amsgrad=True))],
                            "float32"))
    c.append(optimizer_case("adam_groups", "Adam",
                            [(["W"], dict(lr=0.05)), (["b"], dict(lr=0.01, beta1=0.5))]))
    c.append(optimizer_case("adamw", "AdamW", [(both, dict(lr=0.05))]))
    c.append(optimizer_case("adamw_amsgrad_decay", "AdamW",
                            [(both, dict(lr=0.05, weight_decay=0.3, amsgrad=True))]))
    c.append(optimizer_case("adamw_f32", "AdamW", [(both, dict(lr=0.05, weight_decay=0.1))],
                            "float32"))
    c.append(optimizer_case("adagrad", "Adagrad", [(both, dict(lr=0.1))]))
    c.append(optimizer_case("adagrad_options", "Adagrad",
                            [(both, dict(lr=0.2, lr_decay=0.05, initial_accumulator_value=0.1,
                                         eps=1e-3, weight_decay=0.05))]))
    c.append(optimizer_case("adagrad_maximize", "Adagrad", [(both, dict(lr=0.1, maximize=True))]))
    c.append(optimizer_case("adadelta", "Adadelta", [(both, dict())]))
    c.append(optimizer_case("adadelta_options", "Adadelta",
                            [(both, dict(lr=0.5, rho=0.5, eps=1e-4, weight_decay=0.01))]))
    c.append(optimizer_case("adadelta_f32", "Adadelta", [(both, dict(lr=2.0, rho=0.8))],
                            "float32"))
    c.append(optimizer_case("rmsprop", "RMSprop", [(both, dict(lr=0.01))]))
    c.append(optimizer_case("rmsprop_centered", "RMSprop",
                            [(both, dict(lr=0.01, alpha=0.9, centered=True))]))
    c.append(optimizer_case("rmsprop_momentum", "RMSprop",
                            [(both, dict(lr=0.005, momentum=0.9, eps=1e-6))]))
    c.append(optimizer_case("rmsprop_all", "RMSprop",
                            [(both, dict(lr=0.005, alpha=0.95, momentum=0.5, centered=True,
                                         weight_decay=0.05, maximize=True))]))
    c.append(optimizer_case("rmsprop_f32", "RMSprop",
                            [(both, dict(lr=0.01, centered=True, momentum=0.3))], "float32"))
    return c


# ------------------------------------------------------------------------------ schedulers

def scheduler_case(name, kind, options, opt_kind="SGD", groups=None, metrics=None):
    w, b = make_params(torch.float64)
    groups = groups or [(["W", "b"], dict(lr=0.1, momentum=0.9))]
    by_name = {"W": w, "b": b}
    opt = OPTIMIZERS[opt_kind]([dict(params=[by_name[n] for n in names],
                                     **torch_options(opt_kind, o)) for names, o in groups])
    S = torch.optim.lr_scheduler
    o = dict(options)
    if kind == "StepLR":
        sched = S.StepLR(opt, **o)
    elif kind == "MultiStepLR":
        sched = S.MultiStepLR(opt, **o)
    elif kind == "ExponentialLR":
        sched = S.ExponentialLR(opt, **o)
    elif kind == "CosineAnnealingLR":
        sched = S.CosineAnnealingLR(opt, **o)
    elif kind == "LinearWarmup":
        sched = S.LinearLR(opt, **o)
    elif kind == "OneCycleLR":
        t = dict(o)
        if "anneal" in t:
            t["anneal_strategy"] = t.pop("anneal")
        sched = S.OneCycleLR(opt, **t)
    elif kind == "ReduceLROnPlateau":
        sched = S.ReduceLROnPlateau(opt, **o)
    else:
        raise ValueError(kind)

    def momenta():
        out = []
        for g in opt.param_groups:
            out.append(g["betas"][0] if "betas" in g else g.get("momentum", 0.0))
        return out

    lr0 = [g["lr"] for g in opt.param_groups]
    mom0 = momenta()
    lrs, moms, ws, bs = [], [], [], []
    for epoch in range(STEPS):
        opt.zero_grad()
        loss = regression_loss(w, b)
        loss.backward()
        opt.step()
        if kind == "ReduceLROnPlateau":
            sched.step(metrics[epoch])
            lrs.append([g["lr"] for g in opt.param_groups])
        else:
            sched.step()
            lrs.append(list(sched.get_last_lr()))
        moms.append(momenta())
        ws.append(flat(w))
        bs.append(flat(b))
    case = dict(name=name, scheduler=kind, options=options, optimizer=opt_kind,
                groups=[dict(params=names, options=o) for names, o in groups],
                lr0=lr0, momentum0=mom0, lr=lrs, momentum=moms, W=ws, b=bs)
    if metrics is not None:
        case["metrics"] = metrics
    return case


def scheduler_cases():
    c = []
    c.append(scheduler_case("step", "StepLR", dict(step_size=5, gamma=0.5)))
    c.append(scheduler_case("multistep", "MultiStepLR", dict(milestones=[3, 7, 7, 12], gamma=0.3)))
    c.append(scheduler_case("exponential", "ExponentialLR", dict(gamma=0.85)))
    c.append(scheduler_case("cosine", "CosineAnnealingLR", dict(T_max=6, eta_min=0.005)))
    c.append(scheduler_case("warmup", "LinearWarmup",
                            dict(start_factor=0.25, end_factor=1.0, total_iters=6)))
    c.append(scheduler_case("linear_decay", "LinearWarmup",
                            dict(start_factor=1.0, end_factor=0.1, total_iters=10)))
    c.append(scheduler_case("onecycle", "OneCycleLR", dict(max_lr=0.2, total_steps=20)))
    c.append(scheduler_case("onecycle_adam_three_phase", "OneCycleLR",
                            dict(max_lr=0.1, total_steps=21, pct_start=0.25, anneal="linear",
                                 three_phase=True, base_momentum=0.8, max_momentum=0.9),
                            opt_kind="Adam", groups=[(["W", "b"], dict(lr=0.01))]))
    c.append(scheduler_case("onecycle_epochs_groups", "OneCycleLR",
                            dict(max_lr=0.05, epochs=4, steps_per_epoch=5, div_factor=10.0,
                                 final_div_factor=100.0, pct_start=0.4),
                            groups=[(["W"], dict(lr=0.1, momentum=0.9)), (["b"], dict(lr=0.01))]))
    c.append(scheduler_case("step_groups", "StepLR", dict(step_size=3, gamma=0.7),
                            groups=[(["W"], dict(lr=0.1, momentum=0.9)), (["b"], dict(lr=0.02))]))
    c.append(scheduler_case("cosine_groups", "CosineAnnealingLR", dict(T_max=7),
                            groups=[(["W"], dict(lr=0.05)), (["b"], dict(lr=0.2))]))
    metrics = [5.0, 4.0, 4.0, 3.9999, 4.1, 3.0, 3.0, 3.0, 3.0, 2.9999, 3.5, 2.0, 2.0, 2.0,
               2.0, 2.0, 2.0, 2.0, 1.0, 1.0]
    c.append(scheduler_case("plateau_min_rel", "ReduceLROnPlateau",
                            dict(mode="min", factor=0.5, patience=2, threshold=1e-3,
                                 threshold_mode="rel", cooldown=1, min_lr=0.01),
                            groups=[(["W", "b"], dict(lr=0.1))], metrics=metrics))
    up = [0.1, 0.2, 0.25, 0.25, 0.31, 0.3, 0.5, 0.55, 0.58, 0.6, 0.6, 0.6, 0.9, 0.9, 0.9,
          0.95, 1.0, 1.0, 1.0, 1.0]
    c.append(scheduler_case("plateau_max_abs", "ReduceLROnPlateau",
                            dict(mode="max", factor=0.3, patience=1, threshold=0.05,
                                 threshold_mode="abs", min_lr=[0.02, 0.001]),
                            groups=[(["W"], dict(lr=0.1)), (["b"], dict(lr=0.05))], metrics=up))
    return c


# ------------------------------------------------------------------------------ LBFGS

def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def lbfgs_case(name, problem, options, steps=STEPS):
    t = dict(options)
    if t.pop("line_search", "none") == "strong_wolfe":
        t["line_search_fn"] = "strong_wolfe"
    if problem == "rosenbrock":
        x = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
        params = [x]
        f = lambda: rosenbrock(x)  # noqa: E731
    else:
        w, b = make_params(torch.float64)
        params = [w, b]
        f = lambda: regression_loss(w, b)  # noqa: E731
    opt = torch.optim.LBFGS(params, **t)

    def closure():
        opt.zero_grad()
        loss = f()
        loss.backward()
        return loss

    losses, traj, n_iter, evals = [], [], [], []
    for _ in range(steps):
        losses.append(float(opt.step(closure)))
        traj.append([v for p in params for v in flat(p)])
        st = opt.state[params[0]]
        n_iter.append(st.get("n_iter", 0))
        evals.append(st.get("func_evals", 0))
    final = [v for p in params for v in flat(p)]
    assert all(math.isfinite(v) for v in final), (name, final)
    return dict(name=name, problem=problem, options=options, loss=losses, x=traj,
                n_iter=n_iter, func_evals=evals)


def lbfgs_cases():
    c = []
    # A quadratic converges to rounding noise within a few dozen iterations, and past that
    # point trajectories are chaotic (differences of 1e-16 grow to 1e-5), so these cases stop
    # before it: a history shorter than the run, and few iterations per step.
    c.append(lbfgs_case("regression_fixed", "regression",
                        dict(lr=0.5, max_iter=2, history_size=4)))
    c.append(lbfgs_case("regression_wolfe", "regression",
                        dict(max_iter=1, history_size=3, line_search="strong_wolfe")))
    c.append(lbfgs_case("rosenbrock_wolfe", "rosenbrock",
                        dict(max_iter=5, history_size=10, line_search="strong_wolfe")))
    c.append(lbfgs_case("rosenbrock_fixed", "rosenbrock",
                        dict(lr=0.01, max_iter=10, max_eval=8, history_size=4)))
    return c


# ------------------------------------------------------------------------------ clipping

def clip_cases():
    g = torch.Generator().manual_seed(7)
    gw = torch.randn(3, 4, generator=g, dtype=torch.float64)
    gb = torch.randn(3, generator=g, dtype=torch.float64) * 3
    c = []
    for norm_type, max_norm, dtype in [(2.0, 1.0, "float64"), (2.0, 100.0, "float64"),
                                       (1.0, 2.0, "float64"), ("inf", 0.5, "float64"),
                                       (3.0, 1.5, "float64"), (0.5, 10.0, "float64"),
                                       (2.0, 0.7, "float32")]:
        dt = getattr(torch, dtype)
        w = torch.zeros(3, 4, dtype=dt, requires_grad=True)
        b = torch.zeros(3, dtype=dt, requires_grad=True)
        w.grad = gw.to(dt).clone()
        b.grad = gb.to(dt).clone()
        nt = math.inf if norm_type == "inf" else norm_type
        total = torch.nn.utils.clip_grad_norm_([w, b], max_norm, norm_type=nt)
        c.append(dict(norm_type=norm_type, max_norm=max_norm, dtype=dtype,
                      grad_W=flat(gw), grad_b=flat(gb), total=float(total),
                      clipped_W=flat(w.grad), clipped_b=flat(b.grad)))
    return c


def main():
    out = dict(
        generator="tests/golden/gen_optim.py",
        torch=torch.__version__,
        steps=STEPS,
        problem=dict(N=N, IN=IN, OUT=OUT, X=flat(X), Y=flat(Y), W0=flat(W0), b0=flat(B0),
                     loss="mean((X @ W.T + b - Y)^2); maximize cases use its negative"),
        optimizers=optimizer_cases(),
        schedulers=scheduler_cases(),
        lbfgs=lbfgs_cases(),
        clip=clip_cases(),
    )
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
