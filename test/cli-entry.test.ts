// The CLI's start (lib/cli-entry.ts): it runs from dist/cli.bundle.js with its
// code cache when the build made them and they are current, and from dist/
// otherwise; either way the same CLI. A copy of dist/ in a temporary
// directory, so making it stale leaves the checkout alone.
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, rmTree, tempDir } from './helpers';

describe('the CLI entry', () => {
  let pkg: string, dist: string;
  /** A copy of the package at `dir` (dist/, bin/, package.json; node_modules and build linked). */
  const copy = (dir: string) => {
    fs.mkdirSync(dir, { recursive: true });
    fs.cpSync(path.join(repoRoot, 'dist'), path.join(dir, 'dist'), { recursive: true, preserveTimestamps: true });
    fs.cpSync(path.join(repoRoot, 'bin'), path.join(dir, 'bin'), { recursive: true });
    fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(dir, 'package.json'));
    for (const d of ['node_modules', 'build']) fs.symlinkSync(path.join(repoRoot, d), path.join(dir, d));
  };
  beforeAll(() => {
    for (const f of ['cli.bundle.js', 'cli.bundle.cache', 'bwrap.bundle.js', 'bwrap.bundle.cache', 'cli-entry.js']) {
      if (!fs.existsSync(path.join(repoRoot, 'dist', f)))
        throw new Error(`dist/${f} is missing: run \`npm run build:ts\` (tsc, then scripts/bundle-cli.js)`);
    }
    pkg = tempDir('sbx-entry-');
    dist = path.join(pkg, 'dist');
    copy(pkg);
  });
  afterAll(() => rmTree(pkg));

  // Runs the CLI's main in a node process and says which copy of the code ran and whether V8 took the cache.
  const start = (args: string[], dist = path.join(pkg, 'dist')) => {
    const probe = `
      const vm = require('vm');
      let rejected;
      const Script = vm.Script;
      vm.Script = function (text, opts) { const s = new Script(text, opts); if (opts && opts.cachedData) rejected = s.cachedDataRejected; return s; };
      process.on('exit', () => process.stderr.write('\\n' + JSON.stringify({ fromDist: !!require.cache[${JSON.stringify(path.join(dist, 'cli.js'))}], rejected }) + '\\n'));
      require(${JSON.stringify(path.join(dist, 'cli-entry.js'))}).main(${JSON.stringify(args)});`;
    const r = spawnSync(process.execPath, ['-e', probe], { cwd: path.dirname(dist), encoding: 'utf8' });
    const lines = r.stderr.trim().split('\n');
    return {
      status: r.status,
      stdout: r.stdout,
      stderr: lines.slice(0, -1).join('\n'),
      ran: JSON.parse(lines.at(-1)!) as { fromDist: boolean; rejected?: boolean },
    };
  };
  const dryRun = ['exec', '--dry-run', '--no-config', '-w', '.', '--', 'true'];

  it('runs from the bundle with its code cache, and plans what dist/cli.js plans', () => {
    const bundled = start(dryRun);
    expect(bundled.status, bundled.stderr).toBe(0);
    expect(bundled.ran).toEqual({ fromDist: false, rejected: false });
    const direct = spawnSync(
      process.execPath,
      ['-e', `require(${JSON.stringify(path.join(dist, 'cli.js'))}).main(${JSON.stringify(dryRun)})`],
      { cwd: pkg, encoding: 'utf8' },
    );
    expect(direct.status, direct.stderr).toBe(0);
    expect(JSON.parse(bundled.stdout)).toEqual(JSON.parse(direct.stdout));
  });

  it("holds in each code cache only the seccomp programs its training run looked up, not the generated table's 64", async () => {
    const { SECCOMP_PROGRAMS } = await import('../lib/gen/seccomp-programs');
    const programs = Object.values(SECCOMP_PROGRAMS).flatMap((byClass) => Object.values(byClass).map((p) => p()));
    expect(programs).toHaveLength(64);
    for (const f of ['cli.bundle.cache', 'bwrap.bundle.cache']) {
      const cache = fs.readFileSync(path.join(repoRoot, 'dist', f));
      // V8 keeps a one-byte string constant as its bytes: a program compiled into the cache is found whole.
      const held = programs.filter((p) => cache.includes(Buffer.from(p, 'latin1')));
      // The dry run's own (one or two classes: exec may look up two) is there, so the search finds one; the rest are not.
      expect(held.length, f).toBeGreaterThanOrEqual(1);
      expect(held.length, f).toBeLessThanOrEqual(2);
    }
  });

  it("plans without loading Node's 'module' builtin (its ESM loader is ~0.6 ms of a cold start)", () => {
    const preload = path.join(pkg, 'loaded.js');
    fs.writeFileSync(preload, "process.on('exit', () => process.stderr.write('\\n' + JSON.stringify(process.moduleLoadList) + '\\n'));");
    const r = spawnSync(process.execPath, ['-r', preload, path.join(pkg, 'bin', 'sbx-native.js'), ...dryRun], {
      cwd: pkg,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const loaded = JSON.parse(r.stderr.trim().split('\n').at(-1)!) as string[];
    expect(loaded).toContain('NativeModule vm'); // the list is the process's
    expect(loaded).not.toContain('NativeModule module');
  });

  it('ignores a code cache made for another bundle', () => {
    const cache = path.join(dist, 'cli.bundle.cache');
    const good = fs.readFileSync(cache);
    try {
      fs.writeFileSync(cache, Buffer.concat([Buffer.from('0000000000000000\n'), good.subarray(17)]));
      const r = start(['--version']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.ran).toEqual({ fromDist: false }); // compiled without a cache: V8 was never handed it
    } finally {
      fs.writeFileSync(cache, good);
    }
  });

  it('an installed copy (under node_modules) runs from its bundle although npm unpacked the sources after it', () => {
    const installed = path.join(pkg, 'project', 'node_modules', 'sbx-native');
    copy(installed);
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(path.join(installed, 'dist', 'plan.js'), later, later);
    const r = start(['--version'], path.join(installed, 'dist'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.ran).toEqual({ fromDist: false, rejected: false });
  });

  it('runs from dist/ when a file the bundle was made from is newer (tsc ran after the bundle)', () => {
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(path.join(dist, 'plan.js'), later, later);
    const r = start(dryRun);
    expect(r.status, r.stderr).toBe(0);
    expect(r.ran.fromDist).toBe(true);
    expect(JSON.parse(r.stdout).plan.steps.length).toBeGreaterThan(10);
  });
});
