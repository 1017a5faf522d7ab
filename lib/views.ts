// Read-only views: a directory or file the sandbox shows at one path, shown
// again, read-only, at another (bubblewrap's `--ro-bind SRC DEST`). The helper
// clones what the sandbox itself shows at SRC once the layout is in place, so
// masks, read-only pins and guards inside SRC hold at DEST too. Not a public
// policy key: the bwrap front end passes them under this symbol.

export interface View {
  /** Absolute, resolved. */
  src: string;
  /** Absolute, resolved, existing: sbx-native makes no mount points on the host. */
  dest: string;
}

export const EXTRA_VIEWS = Symbol.for('sbx-native.views');
