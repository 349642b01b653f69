#!/bin/sh
# Runs as PID 1 of a sandbox (new UTS, mount and PID namespaces, network
# namespace chosen by the daemon). $1 is the sandbox's run directory holding
# hostname, hosts and resolv.conf; the rest is the command.
# It forwards SIGTERM to the command and records its exit status in $dir/exit,
# so the status survives a restart of the daemon that started it.
dir=$1
shift
hostname "$(cat "$dir/hostname")" 2>/dev/null
mount --bind "$dir/hosts" /etc/hosts
mount --bind "$dir/resolv.conf" /etc/resolv.conf
[ -e /etc/hostname ] && mount --bind "$dir/hostname" /etc/hostname
"$@" &
child=$!
trap 'kill -TERM $child 2>/dev/null' TERM INT
while :; do
  wait $child
  rc=$?
  kill -0 $child 2>/dev/null || break
done
echo "$rc" > "$dir/exit.tmp" && mv "$dir/exit.tmp" "$dir/exit"
exit "$rc"
