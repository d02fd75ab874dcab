#!/usr/bin/python3
"""PyTorch's side of bench/bench_torch.sh: the same Darknet cfgs as gcam's benchmarks,
built from standard PyTorch modules (Conv2d, BatchNorm2d, LeakyReLU, max and average
pooling, Darknet's shortcut rule) in float32, timed on the CPU with a given thread count.

Workloads (all 224x224, random weights, the names bench_profile uses):
  r50-forward-1, r50-forward-32   ResNet-50 inference forward, seconds per batch
  r18-train-8, r50-train-8        one SGD step (forward, cross-entropy, backward, update)
  r50-groupcam-32                 Group-CAM with G = 32 groups on one image: forward,
                                  backward of the logit to the last convolution, the
                                  51x51 blur baseline and the masked forwards as one
                                  batch, as the published algorithm describes it

usage: bench/torch_bench.py THREADS RUNS WORKLOAD...
Prints one line per workload: "<workload> <median seconds>".
"""
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/scripts")
from darknet_cfg import conv_geometry, maxpool_geometry, read_cfg  # noqa: E402

CFG = {"r50": "/usr/share/darknet/cfg/resnet50.cfg", "r18": "/usr/share/darknet/cfg/resnet18.cfg"}


def activation(name):
    return {"leaky": nn.LeakyReLU(0.1, inplace=True), "relu": nn.ReLU(inplace=True),
            "linear": nn.Identity(), "logistic": nn.Sigmoid()}[name]


class Shortcut(nn.Module):
    """Darknet's shortcut: out = act(x + from); between shapes, the overlap only."""

    def __init__(self, source, act):
        super().__init__()
        self.source, self.act = source, activation(act)

    def forward(self, x, add):
        if add.shape == x.shape:
            return self.act(x + add)
        stride = max(add.shape[2] // x.shape[2], 1)
        sample = max(x.shape[2] // add.shape[2], 1)
        c = min(x.shape[1], add.shape[1])
        out = x.clone()
        part = add[:, :c, ::stride, ::stride]
        h, w = min(part.shape[2], x.shape[2]), min(part.shape[3], x.shape[3])
        out[:, :c, : h * sample : sample, : w * sample : sample] += part[:, :, :h, :w]
        return self.act(out)


class DarknetModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        sections = read_cfg(cfg)
        c = int(sections[0][1]["channels"])
        self.kinds, self.blocks, shapes = [], nn.ModuleList(), []
        for name, o in sections[1:]:
            if name in ("convolutional", "conv"):
                n, size, stride, pad, groups, bn = conv_geometry(o)
                layers = [nn.Conv2d(c, n, size, stride, pad, groups=groups, bias=not bn)]
                if bn:
                    layers.append(nn.BatchNorm2d(n))
                layers.append(activation(o.get("activation", "logistic")))
                block, c = nn.Sequential(*layers), n
            elif name in ("maxpool", "max"):
                size, stride, pad = maxpool_geometry(o)
                lo = pad // 2
                block = nn.Sequential(nn.ConstantPad2d((lo, pad - lo, lo, pad - lo), float("-inf")),
                                      nn.MaxPool2d(size, stride))
            elif name in ("avgpool", "avg"):
                block = nn.AdaptiveAvgPool2d(1)
            elif name == "shortcut":
                f = int(o["from"])
                block = Shortcut(f if f >= 0 else len(shapes) + f, o.get("activation", "linear"))
            elif name in ("softmax", "soft"):
                block = nn.Flatten()  # the loss applies the softmax
            else:
                raise ValueError("layer " + name)
            self.kinds.append(name)
            self.blocks.append(block)
            shapes.append(c)
        spatial = [i for i, k in enumerate(self.kinds) if k in ("avgpool", "avg")]
        self.cam_layer = spatial[0] - 1 if spatial else len(self.kinds) - 1

    def forward(self, x, keep_cam=False):
        outputs, cam = [], None
        for i, (kind, block) in enumerate(zip(self.kinds, self.blocks)):
            x = block(x, outputs[block.source]) if kind == "shortcut" else block(x)
            if keep_cam and i == self.cam_layer:
                cam = x
                cam.retain_grad()
            outputs.append(x)
        return (x.flatten(1), cam) if keep_cam else x.flatten(1)


def gaussian_blur(x, size=51, sigma=50.0):
    t = torch.arange(size, dtype=x.dtype) - size // 2
    k = torch.exp(-(t * t) / (2 * sigma * sigma))
    k = (k / k.sum()).view(1, 1, 1, size).repeat(x.shape[1], 1, 1, 1)
    p = size // 2
    x = F.conv2d(F.pad(x, (p, p, 0, 0), mode="reflect"), k, groups=x.shape[1])
    return F.conv2d(F.pad(x, (0, 0, p, p), mode="reflect"), k.transpose(2, 3), groups=x.shape[1])


def groupcam(model, x, groups=32, theta=70.0):
    logits, cam = model(x, keep_cam=True)
    c = int(logits.argmax(1))
    model.zero_grad()
    logits[0, c].backward()
    with torch.no_grad():
        weights = cam.grad.mean(dim=(2, 3), keepdim=True)
        maps = F.relu((weights * cam)[0].reshape(groups, -1, *cam.shape[2:]).sum(1))
        t = torch.quantile(maps.flatten(1), theta / 100, dim=1).view(-1, 1, 1)
        maps = torch.where(maps > t, maps, torch.zeros_like(maps))
        maps = F.interpolate(maps[:, None], size=x.shape[2:], mode="bilinear", align_corners=False)
        lo = maps.flatten(1).min(1)[0].view(-1, 1, 1, 1)
        hi = maps.flatten(1).max(1)[0].view(-1, 1, 1, 1)
        keep = (hi > lo).flatten()
        masks = ((maps - lo) / (hi - lo).clamp_min(1e-12))[keep]
        blurred = gaussian_blur(x)
        base = F.softmax(model(blurred), 1)[0, c]
        blends = x * masks + blurred * (1 - masks)
        scores = F.softmax(model(blends), 1)[:, c] - base
        saliency = F.relu((scores.view(-1, 1, 1, 1) * masks).sum(0))
        return (saliency - saliency.min()) / (saliency.max() - saliency.min()).clamp_min(1e-12)


def timed(fn, runs):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(workload, runs):
    net, kind, batch = workload.split("-")
    batch = int(batch)
    torch.manual_seed(1)
    model = DarknetModel(CFG[net])
    x = torch.rand(batch, 3, 224, 224)
    if kind == "forward":
        model.eval()

        def step():
            with torch.no_grad():
                model(x)

    elif kind == "train":
        model.train()
        labels = torch.arange(batch) % 1000
        opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9, weight_decay=5e-4)

        def step():
            opt.zero_grad()
            F.cross_entropy(model(x), labels).backward()
            opt.step()

    elif kind == "groupcam":
        model.eval()
        x = x[:1]

        def step():
            groupcam(model, x, groups=batch)

    else:
        raise ValueError(workload)
    return timed(step, runs)


def main():
    threads, runs = int(sys.argv[1]), int(sys.argv[2])
    torch.set_num_threads(threads)
    for workload in sys.argv[3:]:
        print(workload, "%.4f" % run(workload, runs), flush=True)


if __name__ == "__main__":
    main()
