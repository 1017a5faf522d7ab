// Data files: a private file holding given bytes, bound over an existing path
// (bubblewrap's `--bind-data FD DEST` and `--ro-bind-data FD DEST`). The helper
// makes each in a tmpfs of its own that never appears in the sandbox's tree
// (native/helper/ops_mount.cc, data_file): a writable one is the command's to
// change, and nothing written there reaches the host or outlives the sandbox,
// so nothing there can decide what a later sandbox allows. Not a public policy
// key: the bwrap front end passes them under this symbol, as it passes scratch.

export interface DataFile {
  /** Absolute, resolved, existing and not a directory: sbx-native makes no mount points on the host. */
  path: string;
  /** The file's bytes, hex (the plan's encoding for bytes). */
  data: string;
  /** The file's mode (bubblewrap's default 0600). */
  mode: number;
  /** Writable by the command (--bind-data), or read-only (--ro-bind-data). */
  writable: boolean;
  /** Set by the policy: the path lies in a fresh tmpfs, where the helper makes its mount point (and the host's inode is not the sandbox's). */
  fresh?: boolean;
}

/** The most data one file may carry: it travels in the plan, hex-encoded. */
export const MAX_DATA_BYTES = 8 * 1024 * 1024;

export const EXTRA_DATA_FILES = Symbol.for('sbx-native.data-files');
