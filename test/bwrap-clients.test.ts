// The real clients on the front end: sandbox-runtime (CLI and library) and
// Codex's `codex sandbox`, from the npm registry (test/clients.ts), finding
// the installed `bwrap` first on PATH. Run as root and as nobody.
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { installNpmPackage } from './clients';
import { repoRoot, rmTree, snapshot, tempDir } from './helpers';

const made: string[] = [];
afterAll(() => made.forEach(rmTree));
const uid = process.getuid!();
const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** A directory outside /tmp, $TMPDIR and the roots below, where Codex accepts a bwrap (docs/bwrap.md). */
function outsideTmp(prefix: string): string {
  const base = fs.mkdtempSync(path.join('/var/tmp', prefix));
  fs.chmodSync(base, 0o755);
  made.push(base);
  return fs.realpathSync(base);
}

const binDir = outsideTmp('sbx-bwrap-bin-');
const install = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'sbx-native.js'), 'bwrap', '--install', binDir], {
  encoding: 'utf8',
});
const PATH = `${binDir}:/usr/local/bin:/usr/bin:/bin`;

function roots() {
  const H = tempDir();
  made.push(H);
  for (const d of ['a', 'b', 'outside']) fs.mkdirSync(path.join(H, d));
  return { H, A: path.join(H, 'a'), B: path.join(H, 'b') };
}

const srt = installNpmPackage('@anthropic-ai/sandbox-runtime', '0.0.83');
const srtMissing =
  'why' in srt
    ? srt.why
    : !have('socat')
      ? 'socat is not installed (apt-get install socat)'
      : !have('rg')
        ? 'ripgrep is not installed (apt-get install ripgrep)'
        : undefined;

describe.skipIf(srtMissing)(`sandbox-runtime 0.0.83 on the front end${srtMissing ? ` (skipped: ${srtMissing})` : ''}`, () => {
  const bin = () => path.join((srt as { dir: string }).dir, 'node_modules', '.bin', 'srt');
  const settings = (H: string, extra: { network?: object; filesystem?: object }) => {
    const file = path.join(H, `settings-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(
      file,
      JSON.stringify({
        network: { allowedDomains: [], deniedDomains: [], ...extra.network },
        filesystem: { denyRead: [], allowWrite: [path.join(H, 'a'), path.join(H, 'b')], denyWrite: [], ...extra.filesystem },
      }),
    );
    return file;
  };
  const run = (H: string, file: string, script: string) =>
    spawnSync(bin(), ['--settings', file, '--', 'sh', '-c', script], {
      cwd: path.join(H, 'a'),
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, PATH, HOME: H },
    });

  it('without its seccomp helper (allowAllUnixSockets): ln and rename between two allowWrite roots keep the inode; writes outside fail; the front end ran it', () => {
    expect(install.status).toBe(0);
    const { H, A, B } = roots();
    fs.writeFileSync(path.join(A, 'f'), 'data');
    fs.writeFileSync(path.join(A, 'g'), 'data');
    const ino = fs.statSync(path.join(A, 'g')).ino;
    const outside = snapshot(path.join(H, 'outside'));
    const r = run(
      H,
      settings(H, { network: { allowAllUnixSockets: true } }),
      `echo sbx=$SBX_NATIVE_SANDBOX; ln ${A}/f ${B}/f && stat -c %h ${B}/f; mv ${A}/g ${B}/g && echo moved; echo x > ${H}/outside/x`,
    );
    expect(r.stdout).toBe('sbx=1\n2\nmoved\n');
    expect(r.stderr).toContain(`${H}/outside/x: Read-only file system`);
    expect(fs.statSync(path.join(B, 'f')).nlink).toBe(2);
    expect(fs.statSync(path.join(B, 'g')).ino).toBe(ino);
    expect(snapshot(path.join(H, 'outside'))).toEqual(outside);
  });

  it("with its seccomp helper (the default) the command does not run, and the reason reaches sandbox-runtime's stderr", () => {
    const { H, A } = roots();
    const r = run(H, settings(H, {}), `touch ${A}/ran`);
    expect(r.status).not.toBe(0);
    // uid 0: sandbox-runtime asks for CAP_SETFCAP for the helper; others: the helper's nested user namespace is refused.
    expect(r.stderr).toMatch(
      uid === 0
        ? /bwrap: --cap-add CAP_SETFCAP: not supported by sbx-native's bwrap front end .*allowAllUnixSockets/
        : /apply-seccomp: unshare\(CLONE_NEWUSER\): Operation not permitted/,
    );
    expect(fs.existsSync(path.join(A, 'ran'))).toBe(false);
  });

  const reach = spawnSync('curl', ['-s', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', 'https://registry.npmjs.org/'], {
    encoding: 'utf8',
  });
  const offline = reach.status !== 0 || reach.stdout === '000';
  it.skipIf(offline)(
    `its domain allowlist still works through its own relays: an allowed host is reached, another is refused by its proxy (403), no direct route${offline ? ' (skipped: the host cannot reach registry.npmjs.org)' : ''}`,
    () => {
      const { H } = roots();
      const file = settings(H, { network: { allowAllUnixSockets: true, allowedDomains: ['registry.npmjs.org'] } });
      const r = run(
        H,
        file,
        'curl -s -m 20 -o /dev/null -w "%{http_code} " https://registry.npmjs.org/; curl -s -m 20 -o /dev/null -w "%{http_connect}" https://pypi.org/simple/; echo; curl -s -m 5 --noproxy "*" https://registry.npmjs.org/ >/dev/null; echo direct=$?',
      );
      expect(r.stdout).toMatch(/^200 403\ndirect=(6|7)\n$/);
    },
  );

  it('a long profile (1500 allowWrite roots) goes through --args on an fd it reopens via /proc/PID/fd, and still works', () => {
    const { H, A, B } = roots();
    const many = Array.from({ length: 1500 }, (_, i) =>
      path.join(H, 'many', `a-rather-long-directory-name-to-make-the-profile-long-${String(i).padStart(4, '0')}`),
    );
    for (const d of many) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(A, 'f'), 'data');
    const file = settings(H, { network: { allowAllUnixSockets: true }, filesystem: { allowWrite: [A, B, ...many] } });
    // About 330 kB of bind arguments: past the 128 kB a single argument may hold, so sandbox-runtime can only pass them through --args.
    const r = run(H, file, `ln ${A}/f ${many[1499]}/f && stat -c %h ${A}/f; echo x > ${H}/outside/x`);
    expect(r.stdout).toBe('2\n');
    expect(r.stderr).toContain(`${H}/outside/x: Read-only file system`);
    expect(fs.statSync(path.join(many[1499], 'f')).nlink).toBe(2);
  });

  it('the library (SandboxManager.wrapWithSandbox) with two roots: a hard link keeps nlink 2', () => {
    const { H, A, B } = roots();
    fs.writeFileSync(path.join(A, 'f'), 'data');
    const script = path.join(H, 'lib.mjs');
    fs.writeFileSync(
      script,
      `
import { SandboxManager } from ${JSON.stringify(path.join((srt as { dir: string }).dir, 'node_modules', '@anthropic-ai', 'sandbox-runtime', 'dist', 'index.js'))};
import { spawnSync } from 'child_process';
await SandboxManager.initialize({ network: { allowedDomains: [], deniedDomains: [], allowAllUnixSockets: true }, filesystem: { denyRead: [], allowWrite: [${JSON.stringify(A)}, ${JSON.stringify(B)}], denyWrite: [] } });
const cmd = await SandboxManager.wrapWithSandbox(${JSON.stringify(`ln ${A}/f ${B}/f && stat -c %h ${B}/f; echo sbx=$SBX_NATIVE_SANDBOX`)});
const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
process.stdout.write(r.stdout); process.stderr.write(r.stderr);
await SandboxManager.reset();
`,
    );
    const r = spawnSync(process.execPath, [script], { cwd: A, encoding: 'utf8', timeout: 60_000, env: { ...process.env, PATH, HOME: H } });
    expect(r.stdout).toBe('2\nsbx=1\n');
    expect(fs.statSync(path.join(B, 'f')).nlink).toBe(2);
  });
});

const codex = installNpmPackage('@openai/codex', '0.171.0');
describe.skipIf('why' in codex)(`Codex 0.171.0 on the front end${'why' in codex ? ` (skipped: ${codex.why})` : ''}`, () => {
  it('codex sandbox (workspace-write, an extra writable root) runs the installed bwrap: cross-root ln gives nlink 2, .git and .codex stay protected, no network', () => {
    const home = outsideTmp('sbx-codex-home-'); // Codex refuses to make its helper alias under /tmp
    const { H, A, B } = roots();
    fs.mkdirSync(path.join(A, '.git'));
    fs.writeFileSync(path.join(A, '.git', 'config'), '[core]\n');
    fs.writeFileSync(path.join(B, 'f'), 'data');
    const gitBefore = snapshot(path.join(A, '.git'));
    const bin = path.join((codex as { dir: string }).dir, 'node_modules', '.bin', 'codex');
    const script = `echo sbx=$SBX_NATIVE_SANDBOX; ln ${B}/f ${A}/f && stat -c %h ${A}/f; echo x >> .git/config; mkdir .codex; curl -s -m 5 -o /dev/null https://registry.npmjs.org/ || echo no-network; grep -c : /proc/net/dev`;
    const r = spawnSync(
      bin,
      [
        'sandbox',
        '-c',
        'sandbox_mode="workspace-write"',
        '-c',
        `sandbox_workspace_write.writable_roots=[${JSON.stringify(B)}]`,
        '--',
        'sh',
        '-c',
        script,
      ],
      { cwd: A, encoding: 'utf8', timeout: 120_000, env: { ...process.env, PATH, CODEX_HOME: home, HOME: H } },
    );
    // No way out, and the network namespace beneath Codex's own filter has loopback only.
    expect(r.stdout).toBe('sbx=1\n2\nno-network\n1\n');
    expect(r.stderr).toContain('.git/config: Read-only file system');
    expect(r.stderr).toMatch(/cannot create directory '?.?\.codex.?'?: Read-only file system/);
    expect(fs.statSync(path.join(A, 'f')).nlink).toBe(2);
    expect(snapshot(path.join(A, '.git'))).toEqual(gitBefore);
    expect(fs.existsSync(path.join(A, '.codex'))).toBe(false);
    void os;
  });
});
