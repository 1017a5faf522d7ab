// Nodes the helper makes inside a fresh tmpfs (a private /tmp, a writable
// `--tmpfs P`) right after mounting it: bubblewrap's `--dir`, `--file` and
// `--symlink` there. The tmpfs is new and the command has not started, so
// nothing is made on the host and nothing can race; the helper resolves each
// path beneath the tmpfs without following symlinks or crossing mounts
// (native/helper/ops_mount.cc, fresh_node). Not a public policy key: the bwrap
// front end passes them under this symbol, as it passes scratch.

export interface FreshNode {
  /** Absolute, normalized, inside a fresh tmpfs of the same policy. */
  path: string;
  kind: 'dir' | 'file' | 'symlink';
  /** dir: 0755 unless given; file: 0666 unless given (bubblewrap's defaults). */
  mode?: number;
  /** file: its bytes, hex. */
  data?: string;
  /** symlink: its target, as given. */
  target?: string;
}

export const EXTRA_FRESH_NODES = Symbol.for('sbx-native.fresh-nodes');
