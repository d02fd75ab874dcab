#!/usr/bin/python3
"""Independent PyTorch reference for gcam's saliency maps.

Builds the network described by a Darknet cfg with PyTorch modules written from the
layers' definitions, loads the Darknet .weights file, and computes Grad-CAM and Group-CAM
(the published Group-CAM, pytorch-grad-cam's Grad-CAM family, RISE) with autograd. Writes fixtures that tests/test_reference.c
compares against gcam's C implementation. Needs Debian's python3-torch; CI does not run
it: the fixtures it wrote are committed.

usage: scripts/torch_reference.py CFG WEIGHTS OUT_PREFIX [--images N] [--seed S]
Writes OUT_PREFIX.{input,logits,grad}.npy, one OUT_PREFIX.<method>.npy per method
(groupcam, gradcam, gradcampp, igcam, scorecam, rise) and OUT_PREFIX.meta (target
layer, groups, steps, RISE settings, classes used).
"""
import argparse
import struct

import numpy as np
import torch
import torch.nn.functional as F

from darknet_cfg import conv_geometry, maxpool_geometry, read_cfg

torch.set_grad_enabled(True)
DTYPE = torch.float64  # the reference runs in double precision


def activate(x, name):
    if name == "linear":
        return x
    if name == "relu":
        return torch.relu(x)
    if name == "leaky":
        return torch.where(x > 0, x, 0.1 * x)
    if name == "logistic":
        return torch.sigmoid(x)
    raise ValueError("activation " + name)


class DarknetNet:
    """The layers of a Darknet classifier cfg, with parameters from a .weights file."""

    def __init__(self, cfg_path, weights_path):
        sections = read_cfg(cfg_path)
        net = sections[0][1]
        self.h, self.w, self.c = int(net["height"]), int(net["width"]), int(net["channels"])
        self.layers = sections[1:]
        data = open(weights_path, "rb").read()
        major, minor, _ = struct.unpack("<3i", data[:12])
        offset = 20 if major * 10 + minor >= 2 else 16
        floats = np.frombuffer(data[offset:], dtype="<f4").astype(np.float64)
        self.params = []
        self.bn_offsets = []  # (float offset of scales, channels) of each batch norm
        shapes = []  # (c, h, w) output of each layer
        c, h, w = self.c, self.h, self.w
        pos = 0

        def take(n):
            nonlocal pos
            out = torch.tensor(floats[pos : pos + n], dtype=DTYPE)
            pos += n
            return out

        for name, o in self.layers:
            p = {}
            if name in ("convolutional", "conv"):
                n, size, stride, pad, groups, batch_normalize = conv_geometry(o)
                p["bias"] = take(n)
                if batch_normalize:
                    self.bn_offsets.append((pos, n))
                    p["scales"], p["mean"], p["var"] = take(n), take(n), take(n)
                p["weight"] = take(n * (c // groups) * size * size).reshape(n, c // groups, size, size)
                p.update(stride=stride, pad=pad, groups=groups)
                h, w, c = (h + 2 * pad - size) // stride + 1, (w + 2 * pad - size) // stride + 1, n
            elif name in ("connected", "conn"):
                out = int(o.get("output", 1))
                inputs = c * h * w
                p["bias"] = take(out)
                p["weight"] = take(out * inputs).reshape(out, inputs)
                if int(o.get("batch_normalize", 0)):
                    self.bn_offsets.append((pos, out))
                    p["scales"], p["mean"], p["var"] = take(out), take(out), take(out)
                c, h, w = out, 1, 1
            elif name in ("maxpool", "max"):
                size, stride, pad = maxpool_geometry(o)
                p.update(size=size, stride=stride, pad=pad)
                h, w = (h + pad - size) // stride + 1, (w + pad - size) // stride + 1
            elif name in ("avgpool", "avg"):
                h = w = 1
            elif name == "route":
                idx = [int(v) for v in o["layers"].split(",")]
                idx = [i if i >= 0 else len(shapes) + i for i in idx]
                p["from"] = idx
                c = sum(shapes[i][0] for i in idx)
                h, w = shapes[idx[0]][1], shapes[idx[0]][2]
            elif name == "shortcut":
                f = int(o["from"])
                p["from"] = f if f >= 0 else len(shapes) + f
            shapes.append((c, h, w))
            self.params.append(p)
        if pos != len(floats):
            raise ValueError("weights file has %d floats, the cfg %d" % (len(floats), pos))
        self.logits_layer = len(self.layers) - 1
        while self.layers[self.logits_layer][0] in ("softmax", "soft", "cost"):
            self.logits_layer -= 1

    def forward(self, x, keep=None):
        """Returns (logits, outputs), outputs[i] is layer i's output."""
        outputs = []
        for (name, o), p in zip(self.layers, self.params):
            if name in ("convolutional", "conv", "connected", "conn"):
                if name.startswith("conv"):
                    x = F.conv2d(x, p["weight"], None, p["stride"], p["pad"], 1, p["groups"])
                    shape = (1, -1, 1, 1)
                else:
                    x = x.reshape(x.shape[0], -1) @ p["weight"].T
                    shape = (1, -1)
                if "scales" in p:  # Darknet's batch norm: eps outside the square root
                    x = (x - p["mean"].reshape(shape)) / (torch.sqrt(p["var"]).reshape(shape) + 1e-6)
                    x = x * p["scales"].reshape(shape)
                x = x + p["bias"].reshape(shape)
                x = activate(x, o.get("activation", "logistic"))
            elif name in ("maxpool", "max"):
                lo = p["pad"] // 2
                x = F.pad(x, (lo, p["pad"] - lo, lo, p["pad"] - lo), value=-float("inf"))
                x = F.max_pool2d(x, p["size"], p["stride"])
            elif name in ("avgpool", "avg"):
                x = x.mean(dim=(2, 3), keepdim=True)
            elif name == "route":
                x = torch.cat([outputs[i] for i in p["from"]], dim=1)
            elif name == "shortcut":
                x = float(o.get("alpha", 1)) * x + float(o.get("beta", 1)) * outputs[p["from"]]
                x = activate(x, o.get("activation", "linear"))
            elif name in ("softmax", "soft"):
                x = torch.softmax(x.reshape(x.shape[0], -1), dim=1)
            if keep is not None and len(outputs) == keep:
                x.retain_grad()
            outputs.append(x)
        return outputs[self.logits_layer].reshape(x.shape[0], -1), outputs


def default_target_layer(net, outputs):
    pool = next(i for i, (name, _) in enumerate(net.layers) if name in ("avgpool", "avg"))
    i = pool - 1
    while outputs[i].dim() != 4 or outputs[i].shape[2] * outputs[i].shape[3] <= 1:
        i -= 1
    return i


def gaussian_blur(x, size, sigma):
    r = size // 2
    t = torch.arange(-r, r + 1, dtype=DTYPE)
    k = torch.exp(-(t * t) / (2 * sigma * sigma))
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (r, r, 0, 0), mode="reflect")
    x = F.conv2d(x, k.reshape(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    x = F.pad(x, (0, 0, r, r), mode="reflect")
    return F.conv2d(x, k.reshape(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def minmax(m):
    lo, hi = m.min(), m.max()
    return (m - lo) / (hi - lo) if hi > lo else torch.zeros_like(m)


def cam_from_weights(weights, A, H, W):
    cam = torch.relu((weights * A).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=(H, W), mode="bilinear", align_corners=False)[:, 0]
    return torch.stack([minmax(m) for m in cam])


def gradients_at(net, x, target, classes):
    logits, outputs = net.forward(x.clone().requires_grad_(True), keep=target)
    logits.gather(1, classes[:, None]).sum().backward()
    return outputs[target].detach(), outputs[target].grad.detach()


def gradcampp(A, g, H, W):
    g2 = g * g
    denom = 2 * g2 + g2 * g * A.sum(dim=(2, 3), keepdim=True)
    alpha = torch.where(denom != 0, g2 / torch.where(denom != 0, denom, torch.ones_like(denom)),
                        torch.zeros_like(g))
    weights = (alpha * torch.relu(g)).sum(dim=(2, 3), keepdim=True)
    return cam_from_weights(weights, A, H, W)


def igcam(net, x, target, classes, steps, H, W):
    total = 0
    for t in range(steps):
        A, g = gradients_at(net, x * (t / steps), target, classes)
        total = total + torch.relu((g.mean(dim=(2, 3), keepdim=True) * A).sum(1, keepdim=True))
    cam = F.interpolate(total, size=(H, W), mode="bilinear", align_corners=False)[:, 0]
    return torch.stack([minmax(m) for m in cam])


def scorecam(net, x, A, classes, H, W):
    maps = []
    with torch.no_grad():
        for i in range(x.shape[0]):
            up = F.interpolate(A[i : i + 1], size=(H, W), mode="bilinear", align_corners=False)[0]
            total = torch.zeros(H, W, dtype=DTYPE)
            for k in range(up.shape[0]):
                mask = minmax(up[k])
                p = torch.softmax(net.forward(x[i : i + 1] * mask)[0], dim=1)[0, classes[i]]
                total += p * up[k]
            maps.append(minmax(torch.relu(total)))
    return torch.stack(maps)


class Pcg32:
    """gcam's generator (src/rng.h), so that RISE can be fed the same masks."""

    MASK = (1 << 64) - 1

    def __init__(self, seed, stream):
        self.state, self.inc = 0, ((stream << 1) | 1) & self.MASK
        self.next()
        self.state = (self.state + seed) & self.MASK
        self.next()

    def next(self):
        old = self.state
        self.state = (old * 6364136223846793005 + self.inc) & self.MASK
        xorshifted = (((old >> 18) ^ old) >> 27) & 0xFFFFFFFF
        rot = old >> 59
        return ((xorshifted >> rot) | (xorshifted << ((-rot) & 31))) & 0xFFFFFFFF

    def uniform(self):
        return (self.next() >> 8) * (1.0 / 16777216.0)


def rise_masks(first, count, H, W, s, p, seed):
    """Masks first..first+count-1: an s x s grid of cells on with probability p, upsampled
    bilinearly (half-pixel) to (s+1)*ceil(H/s) and cropped at a random shift."""
    ch, cw = -(-H // s), -(-W // s)
    grids, shifts = [], []
    for index in range(first, first + count):
        rng = Pcg32(seed, index)
        grids.append([1.0 if rng.uniform() < p else 0.0 for _ in range(s * s)])
        dy = rng.next() % ch
        dx = rng.next() % cw
        shifts.append((dy, dx))
    big = F.interpolate(torch.tensor(grids, dtype=DTYPE).reshape(count, 1, s, s),
                        size=((s + 1) * ch, (s + 1) * cw), mode="bilinear", align_corners=False)
    return torch.stack([big[j, 0, dy : dy + H, dx : dx + W] for j, (dy, dx) in enumerate(shifts)])


def rise(net, x, classes, N, s, p, seed):
    """S = sum_i p_c(x * M_i) M_i / (N p) with the masks gcam draws for `seed`."""
    n, _, H, W = x.shape
    maps = torch.zeros(n, H, W, dtype=DTYPE)
    with torch.no_grad():
        for start in range(0, N, 200):
            masks = rise_masks(start, min(200, N - start), H, W, s, p, seed)
            for i in range(n):
                probs = torch.softmax(net.forward(x[i : i + 1] * masks[:, None])[0], dim=1)
                maps[i] += (probs[:, classes[i]][:, None, None] * masks).sum(0)
    return torch.stack([minmax(m / (N * p)) for m in maps])


def saliency(net, x, groups=32, theta=70.0, rise_n=4000):
    n, _, H, W = x.shape
    logits, outputs = net.forward(x)
    target = default_target_layer(net, outputs)
    logits, outputs = net.forward(x.clone().requires_grad_(True), keep=target)
    classes = logits.argmax(dim=1)
    logits.gather(1, classes[:, None]).sum().backward()
    A, g = outputs[target].detach(), outputs[target].grad.detach()
    weights = g.mean(dim=(2, 3), keepdim=True)
    weighted = weights * A
    gradcam = F.interpolate(torch.relu(weighted.sum(1, keepdim=True)), size=(H, W),
                            mode="bilinear", align_corners=False)[:, 0]
    gradcam = torch.stack([minmax(m) for m in gradcam])

    K = A.shape[1]
    G = min(groups, K)
    scale = min(H, W) / 224
    size, sigma = int(round(51 * scale)) | 1, 50 * scale
    groupcam = []
    with torch.no_grad():
        for i in range(n):
            c = int(classes[i])
            blurred = gaussian_blur(x[i : i + 1], size, sigma)
            base = torch.softmax(net.forward(blurred)[0], dim=1)[0, c]
            total = torch.zeros(H, W, dtype=DTYPE)
            for grp in range(G):
                k0, k1 = grp * K // G, (grp + 1) * K // G
                m = torch.relu(weighted[i, k0:k1].sum(0))
                t = torch.quantile(m.flatten(), theta / 100)  # linear, as numpy
                m = torch.where(m > t, m, torch.zeros_like(m))
                m = F.interpolate(m[None, None], size=(H, W), mode="bilinear", align_corners=False)[0, 0]
                if not m.max() > m.min():
                    continue
                m = minmax(m)
                blend = x[i : i + 1] * m + blurred * (1 - m)
                s = torch.softmax(net.forward(blend)[0], dim=1)[0, c] - base
                total += s * m
            groupcam.append(minmax(torch.relu(total)))
    extra = {
        "gradcampp": gradcampp(A, g, H, W),
        "igcam": igcam(net, x, target, classes, 20, H, W),
        "scorecam": scorecam(net, x, A, classes, H, W),
        "rise": rise(net, x, classes, rise_n, 7, 0.5, 5),  # gcam seed 5
    }
    return target, classes, logits.detach(), g, gradcam.detach(), torch.stack(groupcam), extra


def save_npy(path, array):
    np.save(path, np.ascontiguousarray(array, dtype=np.float32))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cfg")
    ap.add_argument("weights")
    ap.add_argument("out")
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--groups", type=int, default=32)
    ap.add_argument("--rise-n", type=int, default=2000)
    args = ap.parse_args()
    net = DarknetNet(args.cfg, args.weights)
    rng = np.random.default_rng(args.seed)
    # Smooth random images: a few Gaussian blobs of random colour on a grey background.
    yy, xx = np.mgrid[0 : net.h, 0 : net.w]
    images = np.full((args.images, net.c, net.h, net.w), 0.5)
    for i in range(args.images):
        for _ in range(3):
            cy, cx, r = rng.uniform(0, net.h), rng.uniform(0, net.w), rng.uniform(2, net.h / 3)
            blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
            images[i] += rng.uniform(-0.5, 0.5, size=(net.c, 1, 1)) * blob
    images = np.clip(images, 0, 1).astype(np.float32)
    x = torch.tensor(images, dtype=DTYPE)
    target, classes, logits, grad, gradcam, groupcam, extra = saliency(net, x, groups=args.groups, rise_n=args.rise_n)
    for name, maps in extra.items():
        save_npy(args.out + "." + name + ".npy", maps.numpy())
    save_npy(args.out + ".input.npy", images)
    save_npy(args.out + ".logits.npy", logits.numpy())
    save_npy(args.out + ".grad.npy", grad.numpy())
    save_npy(args.out + ".gradcam.npy", gradcam.numpy())
    save_npy(args.out + ".groupcam.npy", groupcam.numpy())
    with open(args.out + ".meta", "w") as f:
        f.write("layer %d\ngroups %d\nig_steps 20\nrise %d 7 0.5\nclasses %s\n" % (target, args.groups, args.rise_n,
                                                     " ".join(str(int(c)) for c in classes)))
    print("%s: target layer %d, classes %s" % (args.out, target, classes.tolist()))


if __name__ == "__main__":
    main()
