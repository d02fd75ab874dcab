#!/usr/bin/python3
"""How much of a Group-CAM masked forward incremental inference could skip.

A blend x*M + blur(x)*(1-M) equals the blurred baseline wherever the mask M is zero, so
a layer's output can be copied from the baseline's forward at every position whose
receptive field sees no pixel with M > 0 (Krypton's incremental inference). This script
propagates the set of changed pixels through a Darknet cfg's layer geometry (each
convolution or pooling window, Darknet's shortcut rule) and sums the multiply-adds of the
convolutions at the positions that change: the work incremental inference must still do.

Masks are Group-CAM's: a u x v group map with `cells` nonzero cells (after the
theta-percentile threshold), upsampled bilinearly (half-pixel centres) to the input, so a
nonzero cell reaches half a cell beyond its own square. Two layouts: the cells as one
compact square-ish blob in the image's centre (the most favourable case for reuse), and
scattered over the map. Needs numpy only.

With --measure WEIGHTS LIST N, it also measures real group masks: Group-CAM's group maps
(Grad-CAM weights at the predicted class, G = 32 contiguous channel groups, theta = 70,
at the last spatial layer with at least 32 channels) of the trained network on the first N images of LIST, computed with the independent
PyTorch rebuild of scripts/torch_reference.py (needs python3-torch and python3-pil), and
the work each of their blends would still need.

usage: scripts/groupcam_reuse.py CFG [SIZE] [--measure WEIGHTS LIST N]
(Debian's resnet50.cfg at 224 by default)
"""
import sys

import numpy as np

from darknet_cfg import conv_geometry, maxpool_geometry, read_cfg


def window_any(changed, size, stride, pad_lo, out_h, out_w):
    """out[y, x] = any changed input in the window at (y*stride - pad_lo, x*stride - pad_lo)."""
    h, w = changed.shape
    padded = np.zeros((h + 2 * size + 2 * pad_lo, w + 2 * size + 2 * pad_lo), bool)
    padded[pad_lo : pad_lo + h, pad_lo : pad_lo + w] = changed
    out = np.zeros((out_h, out_w), bool)
    for i in range(size):
        for j in range(size):
            out |= padded[i : i + out_h * stride : stride, j : j + out_w * stride : stride][:out_h, :out_w]
    return out


def recompute_fraction(sections, changed):
    """(multiply-adds at changed positions) / (all multiply-adds) over the convolutions."""
    c = int(sections[0][1]["channels"])
    maps = []
    total = work = 0.0
    for name, o in sections[1:]:
        if name in ("convolutional", "conv"):
            n, size, stride, pad, _, _ = conv_geometry(o)
            h, w = changed.shape
            oh, ow = (h + 2 * pad - size) // stride + 1, (w + 2 * pad - size) // stride + 1
            changed = window_any(changed, size, stride, pad, oh, ow)
            macs = n * c * size * size
            total += macs * oh * ow
            work += macs * changed.sum()
            c = n
        elif name in ("maxpool", "max"):
            size, stride, pad = maxpool_geometry(o)
            h, w = changed.shape
            oh, ow = (h + pad - size) // stride + 1, (w + pad - size) // stride + 1
            changed = window_any(changed, size, stride, pad // 2, oh, ow)
        elif name in ("avgpool", "avg"):
            changed = np.full((1, 1), changed.any())
        elif name == "shortcut":
            f = int(o["from"])
            src = maps[f if f >= 0 else len(maps) + f]
            stride = max(src.shape[0] // changed.shape[0], 1)
            sample = max(changed.shape[0] // src.shape[0], 1)
            part = src[::stride, ::stride]
            grown = np.zeros_like(changed)
            grown[: part.shape[0] * sample : sample, : part.shape[1] * sample : sample] = part[
                : changed.shape[0], : changed.shape[1]]
            changed = changed | grown
        elif name == "route":
            idx = [int(v) for v in o["layers"].split(",")]
            changed = np.logical_or.reduce([maps[i if i >= 0 else len(maps) + i] for i in idx])
        maps.append(changed)
    return work / total


def last_spatial_side(sections, size):
    """The side of the last map before global average pooling (Group-CAM's u)."""
    side = size
    for name, o in sections[1:]:
        if name in ("avgpool", "avg"):
            break
        if name in ("convolutional", "conv"):
            _, k, stride, pad, _, _ = conv_geometry(o)
            side = (side + 2 * pad - k) // stride + 1
        elif name in ("maxpool", "max"):
            k, stride, pad = maxpool_geometry(o)
            side = (side + pad - k) // stride + 1
    return side


def mask_support(cells, u, size):
    """Pixels where the bilinear upsampling of a u x u map with nonzero `cells` is nonzero."""
    scale = size / u
    coords = (np.arange(size) + 0.5) / scale - 0.5
    lo = np.clip(np.floor(coords).astype(int), 0, u - 1)
    hi = np.clip(lo + 1, 0, u - 1)
    frac = coords - np.floor(coords)
    near = [(lo, 1 - frac), (hi, frac)]
    support = np.zeros((size, size), bool)
    for ys, wy in near:
        for xs, wx in near:
            weight = (wy[:, None] > 0) & (wx[None, :] > 0)
            support |= cells[ys[:, None], xs[None, :]] & weight
    return support


def blob(u, k):
    """k cells as a compact square-ish blob in the centre of a u x u map."""
    cells = np.zeros((u, u), bool)
    side = int(np.ceil(np.sqrt(k)))
    y0 = x0 = (u - side) // 2
    for i in range(k):
        cells[y0 + i // side, x0 + i % side] = True
    return cells


def scattered(u, k, rng):
    cells = np.zeros(u * u, bool)
    cells[rng.choice(u * u, k, replace=False)] = True
    return cells.reshape(u, u)


def measure(cfg, weights, list_path, count, sections, groups=32, theta=70.0):
    """Nonzero cells and recompute fractions of real Group-CAM group masks."""
    import torch
    from PIL import Image

    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    import torch_reference as ref

    net = ref.DarknetNet(cfg, weights)
    paths = [line.strip() for line in open(list_path) if line.strip()][:count]
    cells, works, areas = [], [], []
    for path in paths:
        image = Image.open(path).convert("L" if net.c == 1 else "RGB").resize((net.w, net.h))
        x = torch.tensor(np.asarray(image, dtype=np.float64) / 255.0, dtype=ref.DTYPE)
        x = x[None, None] if net.c == 1 else x.permute(2, 0, 1)[None]
        if net.c == 3 and x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        _, outputs = net.forward(x)
        target = ref.default_target_layer(net, outputs)
        # a class-map head (a 1x1 convolution to the classes before the pooling) has one
        # channel per class: take the last layer below it with at least G channels
        while outputs[target].dim() != 4 or outputs[target].shape[1] < groups:
            target -= 1
        logits, outputs = net.forward(x.clone().requires_grad_(True), keep=target)
        logits[0, int(logits.argmax())].backward()
        A, g = outputs[target].detach()[0], outputs[target].grad.detach()[0]
        weighted = g.mean(dim=(1, 2), keepdim=True) * A
        K, G = A.shape[0], min(groups, A.shape[0])
        for grp in range(G):
            m = torch.relu(weighted[grp * K // G : (grp + 1) * K // G].sum(0))
            t = torch.quantile(m.flatten(), theta / 100)
            nonzero = (m > t).numpy()
            if not nonzero.any():
                continue  # a constant mask: Group-CAM runs no forward for it
            support = mask_support(nonzero, nonzero.shape[0], net.h)
            cells.append(nonzero.sum())
            areas.append(support.mean())
            works.append(recompute_fraction(sections, support))
    cells, works, areas = np.array(cells), np.array(works), np.array(areas)
    print("\nmeasured on %d images of %s (%d masks with a forward):" % (len(paths), list_path, len(cells)))
    print("  nonzero cells per mask: median %d, mean %.1f of %d (quartiles %d-%d)" % (
        np.median(cells), cells.mean(), nonzero.size, np.percentile(cells, 25), np.percentile(cells, 75)))
    print("  mask area: mean %.1f%% of the image" % (100 * areas.mean()))
    print("  work incremental inference must still do: mean %.1f%% (median %.1f%%, best mask %.1f%%)" % (
        100 * works.mean(), 100 * np.median(works), 100 * works.min()))
    print("  so at most %.2fx fewer multiply-adds for the masked forwards" % (1 / works.mean()))


def main():
    args = sys.argv[1:]
    measured = None
    if "--measure" in args:
        i = args.index("--measure")
        measured = args[i + 1 : i + 4]
        args = args[:i] + args[i + 4 :]
    cfg = args[0] if args else "/usr/share/darknet/cfg/resnet50.cfg"
    size = int(args[1]) if len(args) > 1 else 224
    sections = read_cfg(cfg)
    sections[0][1]["height"] = sections[0][1]["width"] = str(size)
    u = last_spatial_side(sections, size)
    rng = np.random.default_rng(1)
    print("%s at %dx%d: last spatial map %dx%d (%d cells)" % (cfg, size, size, u, u, u * u))
    print("%6s %10s %14s %16s %14s" % ("cells", "mask area", "work (blob)", "mask area", "work (scattered)"))
    for k in (1, 2, 4, 8, int(0.3 * u * u)):
        b = mask_support(blob(u, k), u, size)
        fb = recompute_fraction(sections, b)
        s_area, s_work = [], []
        for _ in range(20):
            s = mask_support(scattered(u, k, rng), u, size)
            s_area.append(s.mean())
            s_work.append(recompute_fraction(sections, s))
        print("%6d %9.1f%% %13.1f%% %15.1f%% %15.1f%%" % (k, 100 * b.mean(), 100 * fb,
                                                       100 * np.mean(s_area), 100 * np.mean(s_work)))
    if measured:
        measure(cfg, measured[0], measured[1], int(measured[2]), sections)


if __name__ == "__main__":
    main()
