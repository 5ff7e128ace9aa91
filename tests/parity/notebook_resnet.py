"""The notebook's ResNet in PyTorch, for the parity test (solution/tests/pytorch_parity.rs).

Usage: python notebook_resnet.py DIR
DIR holds, for each NAME in {basic_block, bottleneck, resnet18}, NAME.weights.safetensors (a
state_dict written by the Rust solution) and NAME.io.safetensors (tensors "input" and "output": the
Rust model's eval-mode output). Loads each into the PyTorch module below by name, runs it in eval
mode on the same input, and exits 1 unless every output agrees within 1e-5 (relative to the
output's largest magnitude).
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + identity)


def downsample(in_channels, out_channels, stride):
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels))


class ResNet(nn.Module):
    """CIFAR ResNet: 3x3 stem without max-pool, stages of 64/128/256/512 planes."""

    def __init__(self, block, layers, num_classes=10):
        super().__init__()
        self.in_channels = 64
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = self._make_layer(block, 64, layers[0], 1)
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        self.layer4 = self._make_layer(block, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride):
        ds = None
        if stride != 1 or self.in_channels != planes * block.expansion:
            ds = downsample(self.in_channels, planes * block.expansion, stride)
        layers = [block(self.in_channels, planes, stride, ds)]
        self.in_channels = planes * block.expansion
        layers += [block(self.in_channels, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


MODELS = {
    "basic_block": lambda: BasicBlock(64, 128, 2, downsample(64, 128, 2)),
    "bottleneck": lambda: Bottleneck(256, 128, 2, downsample(256, 512, 2)),
    "resnet18": lambda: ResNet(BasicBlock, [2, 2, 2, 2]),
}


def main(folder):
    torch.manual_seed(0)
    worst = 0.0
    for name, build in MODELS.items():
        model = build()
        missing, unexpected = model.load_state_dict(load_file(f"{folder}/{name}.weights.safetensors"), strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        if missing or unexpected:
            print(f"{name}: names differ from PyTorch's: missing {missing}, unexpected {unexpected}")
            return 1
        io = load_file(f"{folder}/{name}.io.safetensors")
        model.eval()
        with torch.no_grad():
            got = model(io["input"])
        expected = io["output"]
        if got.shape != expected.shape:
            print(f"{name}: PyTorch output shape {tuple(got.shape)}, Rust {tuple(expected.shape)}")
            return 1
        relative = ((got - expected).abs().max() / expected.abs().max()).item()
        worst = max(worst, relative)
        print(f"{name}: max relative difference {relative:.2e}")
    return 0 if worst <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
