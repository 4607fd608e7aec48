#!/usr/bin/env bash
# What the tests need from /usr/bin/python3 (npm test runs this first, as its pretest): PyTorch and NumPy for
# the parity references, PIL for the PNG masks and photos the image and dataset tests write, torchvision for
# sigmoid_focal_loss, debugpy for the debug-session tests (the real adapter), venv and setuptools to pip-install python/ offline into a venv (the notebook helper's
# package test). As root, Debian's packages are installed when missing; otherwise the apt-get line to run
# is printed (and the tests that need them fail saying so).
set -euo pipefail
need_apt=()
/usr/bin/python3 -c 'import torch, numpy' 2>/dev/null || need_apt+=(python3-torch python3-numpy)
/usr/bin/python3 -c 'import PIL' 2>/dev/null || need_apt+=(python3-pil)
/usr/bin/python3 -c 'import torchvision' 2>/dev/null || need_apt+=(python3-torchvision)
/usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
/usr/bin/python3 -c 'import setuptools' 2>/dev/null || need_apt+=(python3-setuptools)
/usr/bin/python3 -c 'import debugpy' 2>/dev/null || need_apt+=(python3-debugpy)
[ ${#need_apt[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  echo "provision: apt-get install ${need_apt[*]}"
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null
else
  echo "provision: not root; run apt-get install -y ${need_apt[*]} for the PyTorch parity, image and Python package tests" >&2
fi
