// doctor's line about the bwrap front end: which `bwrap` is first on PATH,
// whether it is sbx-native's, and whether Codex would run it.
import fs from 'fs';
import path from 'path';
import { codexVerdict } from './codex-accept';

export function bwrapCheck(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): { name: string; ok: boolean | null; detail: string; fix?: string } {
  const name = 'bwrap front end';
  const first = (env.PATH ?? '')
    .split(':')
    .filter(Boolean)
    .map((d) => path.join(d, 'bwrap'))
    .find((c) => fs.existsSync(c));
  let ours = false;
  try {
    ours = first !== undefined && fs.readFileSync(first, 'utf8').slice(0, 300).includes('written by `sbx-native bwrap --install`');
  } catch {
    /* a binary */
  }
  if (!ours) {
    return {
      name,
      ok: null,
      detail: `${first ? `first bwrap on PATH: ${first} (not sbx-native's)` : 'no bwrap on PATH'}; \`sbx-native bwrap --install /usr/local/bin\` installs it`,
    };
  }
  const v = codexVerdict(first!, { cwd, env });
  return v.accepted
    ? { name, ok: true, detail: `${first} is sbx-native's; sandbox-runtime and Codex (from ${cwd}) would use it` }
    : {
        name,
        ok: false,
        detail: `${first} is sbx-native's; sandbox-runtime would use it, Codex would not: ${v.reasons.join('; ')}`,
        fix: 'install it into a root-owned directory outside /tmp, $TMPDIR and your projects (e.g. sudo sbx-native bwrap --install /usr/local/bin), first on PATH',
      };
}
