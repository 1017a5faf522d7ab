// What `bwrap --help` and `bwrap --version` print. The installed shim
// (install.ts) answers both without starting Node, from the same text.

/** The bubblewrap release whose command line and semantics the front end follows. */
export const BUBBLEWRAP_VERSION = '0.11.1';

export const VERSION = `bubblewrap ${BUBBLEWRAP_VERSION}\n`;

const OPTIONS: [string, string][] = [
  ['--help', 'Print this help'],
  ['--version', 'Print version'],
  ['--args FD', 'Parse NUL-separated args from FD'],
  ['--argv0 VALUE', 'Set argv[0] to the value VALUE before running the program'],
  ['--level-prefix', 'Prepend e.g. <3> to diagnostic messages'],
  ['--unshare-all', 'Unshare every namespace we support by default'],
  ['--share-net', 'Retain the network namespace (can only combine with --unshare-all)'],
  ['--unshare-user', 'Create new user namespace (always: sbx-native)'],
  ['--unshare-user-try', 'Create new user namespace if possible else continue by skipping it'],
  ['--unshare-ipc', 'Create new ipc namespace (always: sbx-native)'],
  ['--unshare-pid', 'Create new pid namespace (always: sbx-native)'],
  ['--unshare-net', 'Create new network namespace'],
  ['--unshare-uts', 'Create new uts namespace (always: sbx-native)'],
  ['--unshare-cgroup', 'Create new cgroup namespace'],
  ['--unshare-cgroup-try', 'Create new cgroup namespace if possible else continue by skipping it'],
  ['--disable-userns', 'Disable further use of user namespaces inside sandbox (always: sbx-native)'],
  ['--assert-userns-disabled', 'Fail unless further use of user namespace inside sandbox is disabled'],
  ['--uid UID', "Custom uid in the sandbox (only the caller's own)"],
  ['--gid GID', "Custom gid in the sandbox (only the caller's own)"],
  ['--chdir DIR', 'Change directory to DIR'],
  ['--clearenv', 'Unset all environment variables'],
  ['--setenv VAR VALUE', 'Set an environment variable'],
  ['--unsetenv VAR', 'Unset an environment variable'],
  ['--userns FD', 'Use this user namespace (refused by sbx-native)'],
  ['--userns2 FD', 'After setup switch to this user namespace (refused by sbx-native)'],
  ['--pidns FD', 'Use this pid namespace (refused by sbx-native)'],
  ['--hostname NAME', 'Custom hostname in the sandbox (requires --unshare-uts)'],
  ['--lock-file DEST', 'Take a lock on DEST while sandbox is running'],
  ['--sync-fd FD', 'Keep this fd open while sandbox is running'],
  ['--bind SRC DEST', 'Bind mount the host path SRC on DEST (SRC = DEST)'],
  ['--bind-try SRC DEST', 'Equal to --bind but ignores non-existent SRC'],
  ['--dev-bind SRC DEST', 'Bind mount the host path SRC on DEST, allowing device access (/ and /dev only)'],
  ['--dev-bind-try SRC DEST', 'Equal to --dev-bind but ignores non-existent SRC'],
  ['--ro-bind SRC DEST', 'Bind mount the host path SRC readonly on DEST (SRC = DEST, or /dev/null or an empty dir)'],
  ['--ro-bind-try SRC DEST', 'Equal to --ro-bind but ignores non-existent SRC'],
  ['--bind-fd FD DEST', 'Bind open directory or path fd on DEST (its own path only)'],
  ['--ro-bind-fd FD DEST', 'Bind open directory or path fd read-only on DEST (its own path only)'],
  ['--remount-ro DEST', 'Remount DEST as readonly; does not recursively remount'],
  ['--proc DEST', 'Mount new procfs on DEST (/proc)'],
  ['--dev DEST', 'Mount new dev on DEST (/dev)'],
  ['--tmpfs DEST', 'Mount new tmpfs on DEST'],
  ['--mqueue DEST', 'Mount new mqueue on DEST (refused by sbx-native)'],
  ['--dir DEST', 'Create dir at DEST (existing only)'],
  ['--file FD DEST', 'Copy from FD to destination DEST (refused by sbx-native)'],
  ['--bind-data FD DEST', 'Copy from FD to file which is bind-mounted on DEST (refused by sbx-native)'],
  ['--ro-bind-data FD DEST', 'Copy from FD to file which is readonly bind-mounted on DEST (empty data only)'],
  ['--symlink SRC DEST', 'Create symlink at DEST with target SRC (existing only)'],
  ['--seccomp FD', 'Load and use seccomp rules from FD (refused by sbx-native)'],
  ['--add-seccomp-fd FD', 'Load and use seccomp rules from FD (refused by sbx-native)'],
  ['--block-fd FD', 'Block on FD until some data to read is available'],
  ['--info-fd FD', 'Write information about the running container to FD'],
  ['--json-status-fd FD', 'Write container status to FD as multiple JSON documents'],
  ['--new-session', 'Create a new terminal session (always: sbx-native)'],
  [
    '--die-with-parent',
    "Kills with SIGKILL child process (COMMAND) when bwrap or bwrap's parent dies (sbx-native: the sandbox always dies with bwrap)",
  ],
  ['--as-pid-1', 'Do not install a reaper process with PID=1 (sbx-native: the command is pid 2 under its init)'],
  ['--cap-add CAP', 'Add cap CAP when running as privileged user (refused by sbx-native)'],
  ['--cap-drop CAP', 'Drop cap CAP when running as privileged user (no caps are ever kept)'],
  ['--perms OCTAL', 'Set permissions of next argument (--bind-data, --file, etc.)'],
  ['--size BYTES', 'Set size of next argument (only for --tmpfs)'],
  ['--chmod OCTAL PATH', 'Change permissions of PATH (refused by sbx-native)'],
];

/** bubblewrap's usage text, with sbx-native's limits in brackets; options it refuses are not listed (docs/bwrap.md). */
export function HELP(argv0: string): string {
  return (
    `usage: ${argv0} [OPTIONS...] [--] COMMAND [ARGS...]\n\n` +
    OPTIONS.map(([o, d]) => `    ${o.padEnd(28)} ${d}\n`).join('') +
    `\nsbx-native's bubblewrap-compatible front end (bubblewrap ${BUBBLEWRAP_VERSION} semantics; the differences are in sbx-native's docs/bwrap.md).\n`
  );
}
