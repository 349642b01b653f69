# Sourced by the quick-start scripts: they need root (network namespaces,
# nftables). As root they just go on; otherwise they run again under sudo
# when there is one, or say how to run them.
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo --preserve-env=CI,CNM_TEST_FILTER,CNM_TEST_CONCURRENCY,CNM_TEST_LOG "$0" "$@"
  fi
  echo "$(basename "$0"): needs root (it creates network namespaces); run it as root" >&2
  exit 1
fi
