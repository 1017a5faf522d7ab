// Config files: sbx-native JSON (and its discovery), Codex config.toml and
// sandbox-runtime settings, as the CLI reads them.
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, discoverConfig } from '../lib/config';
import { repoRoot, rmTree, tempDir, userLabel } from './helpers';

const bin = path.join(repoRoot, 'bin', 'sbx-native.js');
const env = { ...process.env, PATH: '/usr/local/bin:/usr/bin:/bin' };
const cli = (args: string[], cwd: string) => spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env });

describe(`config files (as ${userLabel})`, () => {
  let D: string;
  beforeEach(() => {
    D = tempDir();
    fs.mkdirSync(path.join(D, 'proj'));
    fs.mkdirSync(path.join(D, 'cache'));
  });
  afterEach(() => rmTree(D));

  it('reads its own JSON format, relative paths from the file, and warns about unknown keys', () => {
    const f = path.join(D, 'proj', 'sbx-native.json');
    fs.writeFileSync(f, JSON.stringify({ writableRoots: ['.', '../cache'], tmp: 'none', colour: 'blue' }));
    const c = loadConfig(f, D);
    expect(c.format).toBe('sbx-native');
    expect(c.policy).toEqual({ writableRoots: [path.join(D, 'proj'), path.join(D, 'cache')], tmp: 'none' });
    expect(c.warnings).toEqual([`${f}: unknown key "colour" ignored`]);
  });

  it('discovers sbx-native.json from the cwd upwards and applies it (narrowing only: config-trust.test.ts)', () => {
    fs.mkdirSync(path.join(D, 'proj', 'vendor'));
    fs.writeFileSync(path.join(D, '.sbx-native.json'), JSON.stringify({ readOnly: ['./proj/vendor'], tmp: 'none' }));
    expect(discoverConfig(path.join(D, 'proj'))).toBe(path.join(D, '.sbx-native.json'));
    const r = cli(['exec', '--', '/bin/sh', '-c', `echo a > ${D}/proj/ok; echo b > ${D}/proj/vendor/no`], path.join(D, 'proj'));
    expect(r.status).toBe(2);
    expect(fs.readFileSync(path.join(D, 'proj', 'ok'), 'utf8')).toBe('a\n');
    expect(fs.existsSync(path.join(D, 'proj', 'vendor', 'no'))).toBe(false);
  });

  it('reports a wrong type with the key and value, and exits 2', () => {
    const f = path.join(D, 'bad.json');
    fs.writeFileSync(f, JSON.stringify({ network: 'yes' }));
    const r = cli(['exec', '--config', f, '--', 'true'], D);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/network = "yes": expected true, false or \{ allowedDomains, deniedDomains \}/);
    fs.writeFileSync(f, '{ not json');
    expect(cli(['exec', '--config', f, '--', 'true'], D).stderr).toMatch(/invalid JSON/);
  });

  it("reads Codex's config.toml with Codex's meaning", () => {
    const f = path.join(D, 'config.toml');
    fs.writeFileSync(
      f,
      `model = "x"\nsandbox_mode = "workspace-write"\n[sandbox_workspace_write]\nwritable_roots = ["${D}/cache"]\nnetwork_access = true\nexclude_slash_tmp = true\nexclude_tmpdir_env_var = false\nfoo = 1\n`,
    );
    const c = loadConfig(f, path.join(D, 'proj'), { HOME: D, TMPDIR: `${D}/tmpdir` });
    expect(c.format).toBe('codex');
    expect(c.policy).toEqual({
      mode: 'workspace-write',
      writableRoots: [path.join(D, 'proj'), `${D}/cache`, `${D}/tmpdir`],
      tmp: 'none',
      network: true,
    });
    expect(c.warnings).toEqual([`${f}: unsupported key "sandbox_workspace_write.foo" ignored`]);
    fs.writeFileSync(f, 'sandbox_mode = "danger-full-access"\n');
    expect(loadConfig(f, D).policy).toEqual({ mode: 'full', network: true });
    fs.writeFileSync(f, 'sandbox_mode = "read-only"\n');
    expect(loadConfig(f, D).policy).toEqual({ mode: 'read-only', tmp: 'none' });
    fs.writeFileSync(f, 'sandbox_mode = "yolo"\n');
    expect(() => loadConfig(f, D)).toThrow(/sandbox_mode = "yolo"/);
  });

  it("refuses Codex's permission profiles (where its domain lists live) naming the key; beside sandbox_mode they are ignored, as Codex does", () => {
    const f = path.join(D, 'config.toml');
    fs.writeFileSync(
      f,
      `default_permissions = "net"\n[features]\nnetwork_proxy = true\n[permissions.net.network]\nenabled = true\ndomains = { "example.com" = "allow" }\n`,
    );
    expect(() => loadConfig(f, D)).toThrow(
      /default_permissions = "net": Codex permission profiles \(default_permissions, \[permissions.<name>\], their network domains\) are not supported yet/,
    );
    const r = cli(['exec', '--config', f, '--', 'true'], D);
    expect([r.status, r.stderr]).toEqual([2, expect.stringMatching(/default_permissions = "net": Codex permission profiles/)]);
    fs.writeFileSync(f, `sandbox_mode = "read-only"\n[permissions.net.network]\nenabled = true\n`);
    const c = loadConfig(f, D);
    expect(c.policy).toEqual({ mode: 'read-only', tmp: 'none' });
    expect(c.warnings).toEqual([`${f}: "permissions" ignored (Codex ignores permission profiles when sandbox_mode is set)`]);
  });

  it("reads sandbox-runtime's settings: deny-write wins, [] domains means no network", () => {
    const f = path.join(D, 'srt.json');
    fs.writeFileSync(
      f,
      JSON.stringify({
        filesystem: {
          allowWrite: [`${D}/proj`, `${D}/cache`],
          denyWrite: [`${D}/cache`, `${D}/proj/.env`],
          denyRead: ['~/.ssh'],
          allowRead: ['~/.ssh/known_hosts'],
        },
        network: { allowedDomains: [] },
        ignoreViolations: {},
      }),
    );
    const c = loadConfig(f, D, { HOME: '/home/u' });
    expect(c.format).toBe('sandbox-runtime');
    expect(c.policy).toEqual({
      writableRoots: [`${D}/proj`],
      readOnly: [`${D}/cache`, `${D}/proj/.env`],
      rules: { '/home/u/.ssh': 'none', '/home/u/.ssh/known_hosts': 'read' },
      network: false,
    });
    expect(c.warnings).toEqual([`${f}: unsupported key "ignoreViolations" ignored`]);
  });

  it("maps sandbox-runtime's network.allowUnixSockets and allowAllUnixSockets onto allowUnixSockets; sbx-native JSON has the key itself", () => {
    const f = path.join(D, 'srt.json');
    fs.writeFileSync(f, JSON.stringify({ network: { allowedDomains: [], allowUnixSockets: ['/run/docker.sock', '~/.ssh/agent'] } }));
    expect(loadConfig(f, D, { HOME: '/home/u' }).policy).toMatchObject({ allowUnixSockets: ['/run/docker.sock', '/home/u/.ssh/agent'] });
    expect(loadConfig(f, D, { HOME: '/home/u' }).warnings).toEqual([]);
    fs.writeFileSync(f, JSON.stringify({ network: { allowedDomains: [], allowAllUnixSockets: true } }));
    expect(loadConfig(f, D).policy).toMatchObject({ allowUnixSockets: ['/'] });
    fs.writeFileSync(f, JSON.stringify({ network: { allowedDomains: [], allowAllUnixSockets: 'yes' } }));
    expect(() => loadConfig(f, D)).toThrow(/network.allowAllUnixSockets = "yes": expected true or false/);
    fs.writeFileSync(f, JSON.stringify({ network: { allowedDomains: [] } }));
    expect(loadConfig(f, D).policy).not.toHaveProperty('allowUnixSockets');
    const own = path.join(D, 'own.json');
    fs.writeFileSync(own, JSON.stringify({ allowUnixSockets: ['sock', '/abs/sock'] }));
    expect(loadConfig(own, D).policy).toEqual({ allowUnixSockets: [path.join(D, 'sock'), '/abs/sock'] });
  });

  it("takes sandbox-runtime's domain lists to the proxy; a bad pattern is refused naming it (exit 2)", () => {
    const f = path.join(D, 'srt.json');
    fs.writeFileSync(
      f,
      JSON.stringify({
        filesystem: { allowWrite: ['.'] },
        network: { allowedDomains: ['github.com', '*.npmjs.org'], deniedDomains: ['gist.github.com'] },
      }),
    );
    expect(loadConfig(f, D).policy.network).toEqual({ allowedDomains: ['github.com', '*.npmjs.org'], deniedDomains: ['gist.github.com'] });
    fs.writeFileSync(f, JSON.stringify({ filesystem: { allowWrite: ['.'] }, network: { allowedDomains: ['git*hub.com'] } }));
    const r = cli(['exec', '--config', f, '--', 'true'], D);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/network\.allowedDomains\[0\] = "git\*hub\.com": a wildcard is only allowed as the first label/);
    fs.writeFileSync(f, JSON.stringify({ filesystem: { allowWrite: ['src/**'] } }));
    expect(cli(['exec', '--config', f, '--', 'true'], D).stderr).toMatch(/glob patterns are not supported/);
  });

  it('--verbose says what is enforced and what was dropped', () => {
    const r = cli(['exec', '-v', '--tmp', 'none', '-w', `${D}/proj`, '-w', `${D}/gone`, '--', 'true'], D);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/sbx-native: enforcement: level full, mode workspace-write, Landlock ABI \d+/);
    expect(r.stderr).toContain(`sbx-native: writable: ${D}/proj (one mount at ${D}/proj)`);
    expect(r.stderr).toContain(`sbx-native: dropped: writable root ${D}/gone (does not exist)`);
  });
});
