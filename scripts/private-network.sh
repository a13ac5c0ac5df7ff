# Runs a command in a private network namespace, where root may make one:
# loopback and one veth with a public-looking address and a default route
# (nothing answers there). A page served at that address is not a secure
# context, as a server reached across the internet over plain HTTP, and
# Firefox gathers ICE candidates on it (it leaves loopback out). Elsewhere the
# command runs as it is.
#   source scripts/private-network.sh; in_private_network CMD ARGS...
in_private_network() {
  if [ "$(id -u)" = "0" ] && unshare -n true 2>/dev/null; then
    unshare -n bash -c '
      set -e
      ip link set lo up
      ip link add e2e0 type veth peer name e2e1
      ip link set e2e0 up && ip link set e2e1 up
      ip addr add 10.77.0.1/24 dev e2e0
      ip route add default via 10.77.0.2 dev e2e0 onlink
      CINEMESH_E2E_PUBLIC_ADDRESS=10.77.0.1 exec "$@"' bash "$@"
  else
    "$@"
  fi
}
