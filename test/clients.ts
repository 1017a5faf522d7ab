// Real client programs and native libraries the tests drive (node-pty, ...),
// installed from the npm registry into a cache outside the repository, once
// per machine, readable by every user (the suite runs again as `nobody`).
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';

export const clientCache = process.env.SBX_TEST_CLIENTS ?? path.join(os.tmpdir(), 'sbx-native-clients');

/** Node's headers for node-gyp without a download (the machines reach no nodejs.org): the same search as scripts/build-native.js. */
function nodedir(): string | undefined {
  for (const dir of [process.env.npm_config_nodedir, '/usr', path.join(path.dirname(process.execPath), '..')]) {
    if (dir && fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) return dir;
  }
  return undefined;
}

/**
 * The directory holding node_modules/<name> at `version`, or why it could not
 * be installed. Packages with install scripts (node-pty builds its addon) are
 * allowed to run them.
 */
export function installNpmPackage(name: string, version: string): { dir: string } | { why: string } {
  const dir = path.join(clientCache, `${name.replace('/', '+')}@${version}`);
  if (fs.existsSync(path.join(dir, '.complete'))) return { dir };
  fs.mkdirSync(clientCache, { recursive: true, mode: 0o755 });
  const tmp = fs.mkdtempSync(`${dir}.tmp-`);
  try {
    fs.chmodSync(tmp, 0o755);
    fs.writeFileSync(path.join(tmp, 'package.json'), JSON.stringify({ name: 'sbx-test-client', private: true, allowScripts: { [name]: true } }));
    const env = { ...process.env, npm_config_nodedir: nodedir() ?? '', npm_config_update_notifier: 'false' };
    const r = spawnSync('npm', ['install', `${name}@${version}`, '--no-audit', '--no-fund', '--foreground-scripts'], { cwd: tmp, env, encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) return { why: `npm install ${name}@${version} failed: ${(r.stderr || r.error?.message || '').split('\n').slice(-5).join(' ')}` };
    fs.writeFileSync(path.join(tmp, '.complete'), '');
    try {
      fs.renameSync(tmp, dir);
    } catch {
      /* another run installed it meanwhile */
    }
    return { dir };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
