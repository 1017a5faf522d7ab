#!/bin/sh
# What a sandboxed command sees, one "key: value" line each, for comparing
# bubblewrap with sbx-native's front end (test/bwrap-compare.test.ts).
# Arguments: the host's namespace ids as ns=ino pairs, then --, then paths.
hostns=
while [ "$1" != "--" ]; do hostns="$hostns $1"; shift; done
shift
for ns in cgroup ipc mnt net pid_for_children user uts; do
  mine=$(stat -L -c %i /proc/self/ns/$ns 2>/dev/null)
  case " $hostns " in *" $ns=$mine "*) echo "ns $ns: host" ;; *) echo "ns $ns: new" ;; esac
done
for f in NoNewPrivs Seccomp CapInh CapPrm CapEff CapBnd CapAmb; do
  echo "status $f: $(grep "^$f:" /proc/self/status | cut -f2)"
done
echo "uid: $(id -u) gid: $(id -g)"
echo "pid is 1: $([ $$ = 1 ] && echo yes || echo no)"
echo "fds: $(ls /proc/self/fd | sort -n | tr '\n' ' ')"
echo "network: $(grep -c : /proc/net/dev) interfaces"
echo "dev: $(ls -A /dev | tr '\n' ' ')"
for p in "$@"; do
  if [ -L "$p" ]; then t=symlink; elif [ -d "$p" ]; then t=dir; elif [ -e "$p" ]; then t=file; else echo "path $p: absent"; continue; fi
  if [ $t = dir ]; then
    n=$(ls -A "$p" 2>/dev/null | wc -l)
    if mkdir "$p/.sbx-probe-$$" 2>/dev/null; then rmdir "$p/.sbx-probe-$$"; w=writable; else w=read-only; fi
    echo "path $p: dir, $n entries, $w"
  elif [ $t = file ]; then
    s=$(sh -c 'wc -c < "$1"' _ "$p" 2>/dev/null) && s="$s bytes" || s=unreadable
    if sh -c ': >> "$1"' _ "$p" 2>/dev/null; then w=writable; else w=read-only; fi
    echo "path $p: file, $s, $w"
  else
    echo "path $p: symlink to $(readlink "$p")"
  fi
done
