// The variable that tells a command it runs in sbx-native (like
// sandbox-runtime's SANDBOX_RUNTIME=1). The bwrap front end leaves it out
// after `--clearenv`, whose caller asked for an environment of its own
// making only, as bubblewrap gives it. Not a public policy key.

export const MARKER_PREFIX = 'SBX_NATIVE_SANDBOX=';
export const MARKER = `${MARKER_PREFIX}1`;

export const EXTRA_NO_MARKER = Symbol.for('sbx-native.no-marker');
