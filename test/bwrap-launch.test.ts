// How the installed bwrap starts the front end (lib/bwrap/install.ts,
// shim-env.ts, main.ts): Node's own start-up variables are kept from the
// front end's Node and given back to the command unchanged, and the front end
// runs from the CLI's bundle with its code cache. Run as root and as nobody.
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, rmTree, tempDir } from './helpers';

const cli = path.join(repoRoot, 'bin', 'sbx-native.js');
const dir = tempDir('sbx-bwrap-launch-');
afterAll(() => rmTree(dir));
const binDir = path.join(dir, 'bin');
fs.mkdirSync(binDir, { mode: 0o755 });
fs.chmodSync(binDir, 0o755);
const installed = spawnSync(process.execPath, [cli, 'bwrap', '--install', binDir], { encoding: 'utf8' });
const shim = path.join(binDir, 'bwrap');
const ws = path.join(dir, 'ws');
fs.mkdirSync(ws);
// A --require hook that says on stderr that it ran.
const hook = path.join(dir, 'hook.js');
fs.writeFileSync(hook, "process.stderr.write('HOOK RAN\\n');\n");
const base = ['--ro-bind', '/', '/', '--dev', '/dev', '--bind', ws, ws, '--unshare-all', '--proc', '/proc'];
// What the command sees of the two variables ("unset" when it has none) and any stash left over.
const show = 'printf "%s|%s|%s\\n" "${NODE_OPTIONS-unset}" "${NODE_EXTRA_CA_CERTS-unset}" "$(env | grep -c ^SBX_BWRAP_)"';

function run(args: string[], env: Record<string, string | undefined>) {
  const full: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: ws };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) full[k] = v;
  const r = spawnSync(shim, args, { encoding: 'utf8', env: full, cwd: ws, timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the installed bwrap and Node's start-up variables", () => {
  it('NODE_OPTIONS and NODE_EXTRA_CA_CERTS reach the command exactly as the caller set them, but not the front end: its Node runs no --require hook', () => {
    expect(installed.status, installed.stderr).toBe(0);
    const r = run([...base, '--', 'sh', '-c', show], {
      NODE_OPTIONS: `--require ${hook}`,
      NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt',
    });
    expect(r.stderr).not.toContain('HOOK RAN');
    expect(r.stdout).toBe(`--require ${hook}|/etc/ssl/certs/ca-certificates.crt|0\n`);
    expect(r.status).toBe(0);
    // The same hook given to a Node the command starts does run there: the variable is intact, not defused.
    const inner = run([...base, '--', process.execPath, '-e', '0'], { NODE_OPTIONS: `--require ${hook}` });
    expect(inner.stderr).toBe('HOOK RAN\n');
    expect(inner.status).toBe(0);
  });

  it('an unset variable stays unset, an empty one stays set and empty', () => {
    const r = run([...base, '--', 'sh', '-c', show], { NODE_OPTIONS: '' });
    expect(r.stdout).toBe('|unset|0\n');
    expect(r.status).toBe(0);
  });

  it('--unsetenv and --clearenv apply to them as to any other variable of the caller', () => {
    const env = { NODE_OPTIONS: '--no-warnings', NODE_EXTRA_CA_CERTS: '/nonexistent' };
    const unset = run([...base, '--unsetenv', 'NODE_OPTIONS', '--', 'sh', '-c', show], env);
    expect(unset.stdout).toBe('unset|/nonexistent|0\n');
    const clear = run([...base, '--clearenv', '--setenv', 'PATH', '/usr/bin:/bin', '--', 'sh', '-c', show], env);
    expect(clear.stdout).toBe('unset|unset|0\n');
  });
});

describe('the front end as the installed bwrap starts it', () => {
  it('runs from the bwrap bundle with the code cache trained on the front end (not dist/ module by module, not the exec bundle)', () => {
    // The shim's exec line, with a probe first: which code ran, and whether V8 took the cache.
    const probe = path.join(dir, 'probe.js');
    fs.writeFileSync(
      probe,
      `const vm = require('vm');
let rejected, bytes;
const Script = vm.Script;
const scripts = new Set();
vm.Script = function (text, opts) { const s = new Script(text, opts); scripts.add(opts.filename); if (opts && opts.cachedData) { rejected = s.cachedDataRejected; bytes = opts.cachedData.length; } return s; };
process.on('exit', () => process.stderr.write(JSON.stringify({ fromDist: !!require.cache[${JSON.stringify(path.join(repoRoot, 'dist', 'bwrap', 'run.js'))}], rejected, bytes, scripts: [...scripts], modules: Object.keys(require.cache).filter((f) => f.startsWith(${JSON.stringify(path.join(repoRoot, 'dist'))})) }) + '\\n'));
`,
    );
    // Node runs the entry itself, with bwrap first.
    const entry = path.join(repoRoot, 'dist', 'cli-entry.js');
    expect(fs.readFileSync(shim, 'utf8')).toContain(`'${entry}' bwrap "$@"`);
    const r = spawnSync(process.execPath, ['-r', probe, entry, 'bwrap', '--sbx-dry-run', ...base, '--', 'true'], {
      cwd: ws,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).plan.steps.length).toBeGreaterThan(0);
    // The bwrap cache, not exec's (the 17 bytes before V8's data are the bundle's id).
    const bytes = fs.statSync(path.join(repoRoot, 'dist', 'bwrap.bundle.cache')).size - 17;
    expect(bytes).not.toBe(fs.statSync(path.join(repoRoot, 'dist', 'cli.bundle.cache')).size - 17);
    const ran = JSON.parse(r.stderr.trim().split('\n').at(-1)!);
    expect(ran).toEqual({
      fromDist: false,
      rejected: false,
      bytes,
      scripts: [path.join(repoRoot, 'dist', 'bwrap.bundle.js')],
      modules: [entry],
    });
  });

  it("the bwrap bundle holds none of exec's own modules (its options, the config files)", () => {
    const text = fs.readFileSync(path.join(repoRoot, 'dist', 'bwrap.bundle.js'), 'latin1');
    const sources = JSON.parse(/^\/\/ sources: (.*)$/m.exec(text)![1]) as string[];
    expect(sources).toContain('bwrap/run.js');
    for (const m of ['cli.js', 'cli-args.js', 'config.js', 'config-trust.js']) expect(sources).not.toContain(m);
  });

  it('a shim from an earlier build (node dist/bwrap/main.js ARGS) starts the same front end', () => {
    const main = path.join(repoRoot, 'dist', 'bwrap', 'main.js');
    const r = spawnSync(process.execPath, [main, '--sbx-dry-run', ...base, '--', 'true'], { cwd: ws, encoding: 'utf8' });
    const now = spawnSync(
      process.execPath,
      [path.join(repoRoot, 'dist', 'cli-entry.js'), 'bwrap', '--sbx-dry-run', ...base, '--', 'true'],
      {
        cwd: ws,
        encoding: 'utf8',
      },
    );
    expect([r.status, now.status], r.stderr + now.stderr).toEqual([0, 0]);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(now.stdout));
  });
});

describe('bin/sbx-native.js run directly (npx, PATH), as sh starts it', () => {
  const direct = (args: string[], env: Record<string, string | undefined>) => {
    const full: NodeJS.ProcessEnv = { PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`, HOME: ws };
    for (const [k, v] of Object.entries(env)) if (v !== undefined) full[k] = v;
    const r = spawnSync(cli, args, { encoding: 'utf8', env: full, cwd: ws, timeout: 30_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it("moves aside exactly the variables shim-env.ts lists: the CLI's Node runs no --require hook, the command gets both unchanged", async () => {
    const { NODE_START_VARS } = await import('../lib/bwrap/shim-env');
    const shLine = fs.readFileSync(cli, 'utf8').split('\n')[1];
    expect(/for v in ([A-Z_ ]+);/.exec(shLine)?.[1].split(' ')).toEqual([...NODE_START_VARS]);
    const r = direct(['exec', '-w', ws, '--', 'sh', '-c', show], {
      NODE_OPTIONS: `--require ${hook}`,
      NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt',
    });
    expect(r.stderr).not.toContain('HOOK RAN');
    expect(r.stdout).toBe(`--require ${hook}|/etc/ssl/certs/ca-certificates.crt|0\n`);
    expect(r.status).toBe(0);
    const empty = direct(['exec', '-w', ws, '--', 'sh', '-c', show], { NODE_OPTIONS: '' });
    expect(empty.stdout).toBe('|unset|0\n');
  });

  it('as `node bin/sbx-native.js` the sh line is inert: the same CLI runs', () => {
    const r = spawnSync(process.execPath, [cli, 'exec', '-w', ws, '--', 'sh', '-c', show], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: ws, NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt' },
      cwd: ws,
    });
    expect(r.stdout).toBe('unset|/etc/ssl/certs/ca-certificates.crt|0\n');
    expect(r.status).toBe(0);
  });
});
