// Private scratch directories: an empty tmpfs mounted over an existing
// directory, writable by the command, gone with the sandbox (bubblewrap's
// `--tmpfs P`). Not a public policy key: the bwrap front end passes them under
// this symbol, as it passes its extra guards. Nothing written there reaches
// the host, so nothing there can decide what a later sandbox allows.

export interface Scratch {
  /** Absolute, resolved: the directory the tmpfs covers. */
  path: string;
  /** The tmpfs root's mode (bubblewrap's default 0755). */
  mode: number;
  /** A size limit in bytes; undefined: the kernel's default (half of RAM). */
  size?: number;
}

export const EXTRA_SCRATCH = Symbol.for('sbx-native.scratch');
