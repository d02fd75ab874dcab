#!/usr/bin/python3
"""Where PyTorch's own training step spends its time, by operator: the reference for
what gcam's step can save outside the convolutions. The step is bench/torch_bench.py's
(the same Darknet cfg built from standard modules, SGD with momentum and decay), run
under torch.profiler after two warm-up steps.

usage: bench/torch_profile.py THREADS STEPS WORKLOAD      (e.g. 2 3 r18-train-8)
Prints PyTorch's operator table and the convolutions' share of the step's wall time. An
operator's self CPU time is counted on the calling thread, which waits while the intra-op
threads work, so it is the operator's wall time.
"""
import sys
import time

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import torch_bench  # noqa: E402


def main():
    threads, steps, workload = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    net, kind, batch = workload.split("-")
    if kind != "train":
        raise SystemExit("torch_profile: training workloads only (r18-train-8, r50-train-8)")
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = torch_bench.DarknetModel(torch_bench.CFG[net])
    model.train()
    x = torch.rand(int(batch), 3, 224, 224)
    labels = torch.arange(int(batch)) % 1000
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9, weight_decay=5e-4)

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), labels).backward()
        opt.step()

    for _ in range(2):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        wall = (time.perf_counter() - start) / steps
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=14))
    conv = sum(e.self_cpu_time_total for e in prof.key_averages()
               if e.key in ("aten::mkldnn_convolution", "aten::convolution_backward"))
    print("%s: %.4f s per step under the profiler, convolutions %.4f s of it (%.0f %%)"
          % (workload, wall, conv / 1e6 / steps, 100 * conv / 1e6 / steps / wall))


if __name__ == "__main__":
    main()
