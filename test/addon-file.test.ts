// The addon's file without node-gyp-build (lib/addon-file.ts): the same choice
// node-gyp-build makes wherever the shortcut answers, node-gyp-build itself
// wherever it does not, and the CLI's path loads the addon without it.
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localBuild } from '../lib/addon-file';
import { repoRoot, rmTree, tempDir, userLabel } from './helpers';

const gyp = require('node-gyp-build') as { resolve(dir: string): string };
const env = (extra: NodeJS.ProcessEnv) => ({ ...process.env, SBX_NATIVE_PREBUILD: '', PREBUILDS_ONLY: '', ...extra });

describe(`the addon's file (as ${userLabel})`, () => {
  let H: string;
  beforeAll(() => {
    H = tempDir('sbx-addon-file-');
  });
  afterAll(() => rmTree(H));

  const pkg = (name: string, files: string[]) => {
    const dir = path.join(H, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'sbx-native' }));
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), '');
    }
    return dir;
  };

  it("picks build/Release's first .node file, as node-gyp-build does", () => {
    const dir = pkg('release', ['build/Release/b.node', 'build/Release/a.node', 'build/Release/c.node.txt', 'build/Debug/d.node']);
    const chosen = localBuild(dir, env({}));
    expect(chosen).toBe(gyp.resolve(dir));
    expect(path.dirname(chosen!)).toBe(path.join(dir, 'build', 'Release'));
  });

  it('leaves every other case to node-gyp-build: no build/Release, none of its files a .node, an override, PREBUILDS_ONLY', () => {
    expect(localBuild(pkg('none', []), env({}))).toBeUndefined();
    expect(localBuild(pkg('debug', ['build/Release/x.txt', 'build/Debug/d.node']), env({}))).toBeUndefined();
    const release = pkg('overridden', ['build/Release/r.node']);
    expect(localBuild(release, env({ SBX_NATIVE_PREBUILD: H }))).toBeUndefined();
    expect(localBuild(release, env({ PREBUILDS_ONLY: '1' }))).toBeUndefined();
  });

  const load = (extra: NodeJS.ProcessEnv) => {
    const script = `const n = require(${JSON.stringify(path.join(repoRoot, 'dist', 'native.js'))});
      let out;
      try { out = { addon: n.native().addon }; } catch (e) { out = { code: e.code, reason: e.reason, message: e.message }; }
      out.gyp = Object.keys(require.cache).some((k) => k.includes('node-gyp-build'));
      process.stdout.write(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['-e', script], { env: env(extra), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { addon?: string; code?: string; reason?: string; message?: string; gyp: boolean };
  };

  it("loads this clone's build/Release addon without loading node-gyp-build", () => {
    expect(load({})).toEqual({ addon: path.join(repoRoot, 'build', 'Release', 'sbx_native.node'), gyp: false });
  });

  it('with SBX_NATIVE_PREBUILD naming an empty directory, node-gyp-build decides and the error says there is no build', () => {
    const empty = path.join(H, 'empty-prebuild');
    fs.mkdirSync(empty);
    const r = load({ SBX_NATIVE_PREBUILD: empty });
    expect(r).toMatchObject({ code: 'SBX_LOAD_FAILED', reason: 'no-prebuild', gyp: true });
    expect(r.message).toMatch(/no prebuilt binary for linux-.* and no local build \(No native build was found for platform=linux/);
  });
});
