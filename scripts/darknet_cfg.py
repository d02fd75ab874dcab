"""Darknet cfg files for gcam's Python scripts (the PyTorch reference, the benchmark
against PyTorch, the Group-CAM reuse analysis): the sections, and the geometry of the
layers that have one, with Darknet's defaults."""


def read_cfg(path):
    """[(section name, {key: value})] in file order, comments and blank lines dropped, and
    gcam's own [gcam] section too (settings, not a layer)."""
    sections = []
    for raw in open(path):
        line = "".join(raw.split())
        if "#" in line:
            line = line[: line.index("#")]
        if not line or line[0] == ";":
            continue
        if line.startswith("["):
            sections.append((line[1:-1], {}))
        else:
            key, value = line.split("=", 1)
            sections[-1][1][key] = value
    return [s for s in sections if s[0] != "gcam"]


def conv_geometry(o):
    """(filters, size, stride, pad on each side, groups, batch_normalize) of a
    [convolutional] section: pad=1 means size / 2, else padding= (default 0)."""
    size = int(o.get("size", 1))
    pad = size // 2 if int(o.get("pad", 0)) else int(o.get("padding", 0))
    return (int(o.get("filters", 1)), size, int(o.get("stride", 1)), pad,
            int(o.get("groups", 1)), int(o.get("batch_normalize", 0)))


def maxpool_geometry(o):
    """(size, stride, padding) of a [maxpool] section. padding is Darknet's total: the
    window starts padding / 2 before the image, and the output side is
    (side + padding - size) / stride + 1."""
    stride = int(o.get("stride", 1))
    size = int(o.get("size", stride))
    return size, stride, int(o.get("padding", size - 1))
