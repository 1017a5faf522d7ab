// Environment variables Node itself acts on when it starts. The installed
// shim (install.ts) moves each one that is set to SBX_BWRAP_ENV_<NAME> before
// it starts Node, and the front end (run.ts) moves it back before it reads
// the argv: the command's environment is the caller's, as under bubblewrap,
// while the front end's own Node neither pays for them (NODE_EXTRA_CA_CERTS
// makes every Node start parse each certificate of the bundle it names: with
// Debian's, most of a start) nor runs what they ask (NODE_OPTIONS=--require).
// One list for both sides.

export const NODE_START_VARS = ['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS'] as const;

const stashed = (name: string) => `SBX_BWRAP_ENV_${name}`;

/** The shim's lines that move the variables aside (POSIX sh; a set but empty variable is kept as set). */
export function stashLines(): string {
  return NODE_START_VARS.map((v) => `if [ "\${${v}+set}" = set ]; then ${stashed(v)}=$${v}; export ${stashed(v)}; unset ${v}; fi\n`).join(
    '',
  );
}

/** Puts the stashed variables back into `env` (the command's environment to be) and drops the stash. */
export function restoreStashed(env: Record<string, string | undefined>): void {
  for (const v of NODE_START_VARS) {
    const k = stashed(v);
    if (!(k in env)) continue;
    env[v] = env[k];
    delete env[k];
  }
}
