// A temp directory for the tests of repositories inside a root: a source
// repository with one commit to clone from (T/src), an empty project (T/proj,
// the root), a marker path that attacker code would create (T/pwned), and
// git's environment (no system config, HOME in T, a fixed identity).
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { tempDir } from './helpers';

const ID = { GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@b', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@b' };

export function runGit(env: NodeJS.ProcessEnv, cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'init.defaultBranch=main', '-c', 'protocol.file.allow=always', ...args], {
    cwd,
    encoding: 'utf8',
    env,
  });
}

export function gitWorld(prefix: string): { T: string; R: string; src: string; pwned: string; env: NodeJS.ProcessEnv } {
  const T = tempDir(prefix);
  const R = path.join(T, 'proj');
  const pwned = path.join(T, 'pwned');
  const env = { PATH: process.env.PATH, HOME: T, GIT_CONFIG_NOSYSTEM: '1', LANG: 'C', ...ID };
  const src = path.join(T, 'src');
  fs.mkdirSync(src);
  runGit(env, src, 'init', '-q');
  fs.writeFileSync(path.join(src, 'f'), 'one\n');
  runGit(env, src, 'add', 'f');
  runGit(env, src, 'commit', '-qm', 'one');
  fs.mkdirSync(R);
  return { T, R, src, pwned, env };
}

/** A config that makes git outside run `touch pwned` at its next status. */
export const fsmonitorConfig = (pwned: string) => `[core]\n\tfsmonitor = touch ${pwned}\n`;
/** A hook that does the same when git runs it. */
export const hookScript = (pwned: string) => `#!/bin/sh\ntouch ${pwned}\n`;
