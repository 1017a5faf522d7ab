// What a command can see of its sandbox, leaving out the numbers that differ
// between any two sandboxes (mount ids, namespace inodes): a sandbox begun
// ahead (pooled, or in a head start) must print what a fresh one prints.
export const FINGERPRINT = [
  'id',
  'umask',
  'pwd',
  'ulimit -a',
  'grep -E "^(Cap|NoNewPrivs|Seccomp|Sig(Blk|Ign|Cgt|Pnd)|ShdPnd|Landlock|Cpus_allowed_list|Mems_allowed_list)" /proc/self/status',
  'cut -d" " -f4-8 /proc/$$/stat', // ppid, process group, session, tty, foreground group (not the run state: timing)
  'cut -d" " -f18,19,41 /proc/$$/stat', // priority, nice, scheduling policy
  'cat /proc/self/oom_score_adj /proc/self/personality',
  'ls /proc/self/fd | tr "\\n" " "; echo',
  'cut -d" " -f4- /proc/self/mountinfo | sed "s/shared:[0-9]*//; s/master:[0-9]*//"',
  'ls -a / /dev | tr "\\n" " "; echo',
  'cat /proc/net/dev | cut -d: -f1',
  'env | grep -v "^_=" | sort',
  'cat /proc/sys/kernel/hostname',
  'trap',
].join('; echo --; ');
