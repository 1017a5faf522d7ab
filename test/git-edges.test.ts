// The repository model's edges (issue 11): a directory that holds a HEAD but
// is no git directory (a remote's refs/remotes/NAME, logs/) takes any branch
// name and can never become a git directory; an existing hook cannot be made
// executable; a hard link or symlink to a protected control file made on the
// host before the sandbox gives no second way to write it. Each attack
// asserts the errno, that the host is unchanged, and that git run outside
// afterwards runs nothing the command planted. Real git, as root and as
// nobody.
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot, rmTree, sh, snapshot, tempDir, userLabel } from './helpers';
import { prepare, SandboxedProcess, SETUP_FAILED } from '../lib';
import { GIT_MODEL, gitModelArgs } from '../lib/repository';
import { MODE_SYSCALLS, SUPERVISED_NR } from '../lib/seccomp';
import { arch, j, py } from './security/lib';

const ID = { GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@b', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@b' };
/**
 * Branch names that are control names in a git directory, and `refs/x` (one
 * of git's set). (`commondir`, and `objects` beside `refs`, stay refused
 * beside a HEAD: each completes what makes a git directory, below.)
 */
const BRANCHES = ['config', 'gitdir', 'hooks/x', 'config.worktree', 'refs/x'];

describe(`the repository model's edges (as ${userLabel})`, () => {
  let T: string, R: string, remote: string, pwned: string, env: NodeJS.ProcessEnv;
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'init.defaultBranch=main', '-c', 'protocol.file.allow=always', ...args], {
      cwd,
      encoding: 'utf8',
      env,
    });
  /** Git outside that must fail (not a repository); its stderr. */
  const gitFails = (cwd: string, ...args: string[]) => {
    try {
      git(cwd, ...args);
    } catch (e) {
      return String((e as { stderr?: string }).stderr);
    }
    throw new Error(`git ${args.join(' ')} succeeded`);
  };
  const sandbox = (extra: object = {}) => ({ writableRoots: [R], tmp: 'none' as const, ...extra });
  const fsmonitor = () => `[core]\n\tfsmonitor = touch ${pwned}\n`;
  const hook = () => `#!/bin/sh\ntouch ${pwned}\n`;
  beforeEach(() => {
    T = tempDir('sbx-gite-');
    R = path.join(T, 'proj');
    pwned = path.join(T, 'pwned');
    env = { PATH: process.env.PATH, HOME: T, GIT_CONFIG_NOSYSTEM: '1', LANG: 'C', ...ID };
    const src = path.join(T, 'src');
    fs.mkdirSync(src);
    git(src, 'init', '-q');
    fs.writeFileSync(path.join(src, 'f'), 'one\n');
    git(src, 'add', 'f');
    git(src, 'commit', '-qm', 'one');
    remote = path.join(T, 'remote.git');
    git(T, 'clone', '-q', '--bare', src, remote);
    // A found repository (R itself) and one the layout does not find (R/vendor/lib).
    git(T, 'clone', '-q', remote, R);
    fs.mkdirSync(path.join(R, 'vendor'));
    git(R, 'clone', '-q', remote, 'vendor/lib');
    fs.appendFileSync(path.join(R, '.git', 'info', 'exclude'), 'vendor/\n');
  });
  afterEach(() => rmTree(T));

  it('branches named config, gitdir, hooks/x and config.worktree are fetched, into a found and an unfound repository', async () => {
    for (const b of BRANCHES) git(T, `--git-dir=${remote}`, 'branch', b, 'main');
    const r = await sh(
      `for d in . vendor/lib; do (cd $d && git fetch -q origin && for b in ${BRANCHES.join(' ')}; do git rev-parse -q --verify origin/$b; done | wc -l) || echo "fetch in $d failed"; done`,
      sandbox(),
      { cwd: R, env },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${BRANCHES.length}\n${BRANCHES.length}\n`);
    for (const g of [path.join(R, '.git'), path.join(R, 'vendor', 'lib', '.git')])
      for (const b of BRANCHES) expect(fs.existsSync(path.join(g, 'refs', 'remotes', 'origin', b)), b).toBe(true);
    git(R, 'status', '--short');
    git(path.join(R, 'vendor', 'lib'), 'status', '--short');
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it('a directory that holds a HEAD but is no git directory cannot be made into one, found or not', async () => {
    const dirs = {
      'found refs/remotes/origin': '.git/refs/remotes/origin',
      'unfound refs/remotes/origin': 'vendor/lib/.git/refs/remotes/origin',
      'unfound logs': 'vendor/lib/.git/logs',
    };
    for (const d of Object.values(dirs)) expect(fs.existsSync(path.join(R, d, 'HEAD')), d).toBe(true);
    // One name of git's set there already (a branch refs/x, a branch objects/x; logs/ has refs/): the other completes it.
    fs.mkdirSync(path.join(R, dirs['found refs/remotes/origin'], 'refs'));
    fs.mkdirSync(path.join(R, dirs['unfound refs/remotes/origin'], 'objects'));
    const before = Object.fromEntries(Object.values(dirs).map((d) => [d, snapshot(path.join(R, d))]));
    const out = await py(
      `
for name, d in json.loads(${j(j(dirs))}).items():
    m = 'refs' if os.path.exists(d + '/objects') else 'objects'
    out[name + ' mkdir'] = attempt(lambda: os.mkdir(d + '/' + m))
    out[name + ' symlink'] = attempt(lambda: os.symlink('/', d + '/' + m))
    open('new', 'w').close()
    os.mkdir('newdir')
    out[name + ' rename onto'] = attempt(lambda: os.rename('newdir', d + '/' + m))
    out[name + ' hard link'] = attempt(lambda: os.link('new', d + '/' + m))
    out[name + ' bind'] = attempt(lambda: socket.socket(socket.AF_UNIX).bind(d + '/' + m))
    out[name + ' commondir'] = attempt(lambda: open(d + '/commondir', 'w').write('../..'))
    out[name + ' link as commondir'] = attempt(lambda: os.link('new', d + '/commondir'))
    os.unlink('new'); os.rmdir('newdir')`,
      sandbox(),
      { cwd: R },
    );
    const expected: Record<string, string> = {};
    for (const name of Object.keys(dirs))
      for (const a of ['mkdir', 'symlink', 'rename onto', 'hard link', 'bind', 'commondir', 'link as commondir'])
        expected[`${name} ${a}`] = 'EROFS';
    expect(out).toEqual(expected);
    for (const d of Object.values(dirs)) expect(snapshot(path.join(R, d)), d).toEqual(before[d]);
    // Outside: git takes none of them for a repository.
    for (const d of Object.values(dirs)) expect(gitFails(R, `--git-dir=${path.join(R, d)}`, 'status')).toMatch(/not a git repository/);
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it('what such a directory takes (a ref named config, hooks/x) runs nothing: git does not take it for a repository', async () => {
    const d = 'vendor/lib/.git/refs/remotes/origin';
    const out = await py(
      `
out['config'] = attempt(lambda: open(${j(d)} + '/config', 'w').write(${j(fsmonitor())}))
os.makedirs(${j(d)} + '/hooks', exist_ok=True)
out['hook'] = attempt(lambda: open(${j(d)} + '/hooks/post-checkout', 'w').write(${j(hook())}))
os.mkdir(${j(d)} + '/refs')
out['objects'] = attempt(lambda: os.mkdir(${j(d)} + '/objects'))`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({ config: 'ok', hook: 'ok', objects: 'EROFS' });
    expect(fs.existsSync(path.join(R, d, 'objects'))).toBe(false);
    const wt = path.join(T, 'wt');
    fs.mkdirSync(wt);
    expect(gitFails(R, `--git-dir=${path.join(R, d)}`, `--work-tree=${wt}`, 'status')).toMatch(/not a git repository/);
    git(path.join(R, 'vendor', 'lib'), 'status', '--short');
    git(path.join(R, 'vendor', 'lib'), 'checkout', '-q', '-b', 'outside');
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it('an existing hook without +x cannot be made executable, by any chmod call, found or not; other files can', async () => {
    const hooks = { found: '.git/hooks/pre-commit', unfound: 'vendor/lib/.git/hooks/pre-commit' };
    for (const h of Object.values(hooks)) fs.writeFileSync(path.join(R, h), hook(), { mode: 0o644 });
    fs.writeFileSync(path.join(R, 'plain'), '');
    const out = await py(
      `
import json
NR.update(json.loads(${j(j(SUPERVISED_NR[arch]))}))
for name, h in json.loads(${j(j(hooks))}).items():
    out[name + ' chmod'] = attempt(lambda: os.chmod(h, 0o755))
    ro = os.open(h, os.O_RDONLY)
    out[name + ' fchmod'] = attempt(lambda: os.fchmod(ro, 0o755))
    if 'chmod' in NR:
        out[name + ' chmod(2)'] = sc('chmod', ctypes.c_char_p(h.encode()), 0o755)
    out[name + ' fchmodat'] = sc('fchmodat', -100, ctypes.c_char_p(h.encode()), 0o755)
    out[name + ' fchmodat2'] = sc('fchmodat2', -100, ctypes.c_char_p(h.encode()), 0o755, 0)
    op = os.open(h, os.O_PATH)
    out[name + ' fchmodat2 O_PATH'] = sc('fchmodat2', op, ctypes.c_char_p(b''), 0o755, 0x1000)
    os.symlink(h, name + '-link')
    out[name + ' through a symlink'] = attempt(lambda: os.chmod(name + '-link', 0o755))
    os.unlink(name + '-link')
out['a config'] = attempt(lambda: os.chmod('vendor/lib/.git/config', 0o777))
out['a plain file'] = attempt(lambda: os.chmod('plain', 0o755))`,
      sandbox(),
      { cwd: R },
    );
    const expected: Record<string, string> = { 'a config': 'EROFS', 'a plain file': 'ok' };
    for (const name of Object.keys(hooks))
      for (const a of ['chmod', 'fchmod', 'fchmodat', 'fchmodat2', 'fchmodat2 O_PATH', 'through a symlink'])
        expected[`${name} ${a}`] = 'EROFS';
    for (const name of Object.keys(hooks)) if (`${name} chmod(2)` in out) expected[`${name} chmod(2)`] = 'EROFS';
    expect(out).toEqual(expected);
    for (const h of Object.values(hooks)) expect(fs.statSync(path.join(R, h)).mode & 0o777, h).toBe(0o644);
    expect(fs.statSync(path.join(R, 'plain')).mode & 0o777).toBe(0o755);
    for (const dir of [R, path.join(R, 'vendor', 'lib')]) git(dir, 'commit', '-q', '--allow-empty', '-m', 'outside');
    expect(fs.existsSync(pwned)).toBe(false);
  });
  it('a hard link or symlink to a control file, made on the host before the sandbox, gives no way to write it', async () => {
    const g = path.join(R, '.git');
    const v = path.join(R, 'vendor', 'lib', '.git');
    for (const d of [g, v]) {
      fs.writeFileSync(path.join(d, 'hooks', 'pre-commit'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      fs.writeFileSync(path.join(d, 'hooks', 'post-checkout'), '#!/bin/sh\nexit 0\n', { mode: 0o644 });
    }
    fs.linkSync(path.join(g, 'config'), path.join(R, 'cfg-link'));
    fs.linkSync(path.join(g, 'hooks', 'pre-commit'), path.join(R, 'hook-link'));
    fs.linkSync(path.join(g, 'hooks', 'post-checkout'), path.join(R, 'hook-link-noexec'));
    fs.symlinkSync('.git/config', path.join(R, 'cfg-sym'));
    fs.symlinkSync('.git/hooks/pre-commit', path.join(R, 'hook-sym'));
    fs.symlinkSync('vendor/lib/.git/config', path.join(R, 'vcfg-sym'));
    fs.symlinkSync(path.join(v, 'hooks', 'pre-commit'), path.join(R, 'vhook-sym'));
    fs.symlinkSync('vendor/lib/.git/hooks/post-checkout', path.join(R, 'vhook-sym-noexec'));
    const state = () => [
      snapshot(path.join(g, 'hooks')),
      snapshot(path.join(v, 'hooks')),
      fs.readFileSync(path.join(g, 'config'), 'utf8'),
      fs.readFileSync(path.join(v, 'config'), 'utf8'),
    ];
    const before = state();
    const out = await py(
      `
for f in ('cfg-link', 'cfg-sym', 'vcfg-sym'):
    out[f + ' append'] = attempt(lambda: os.write(os.open(f, os.O_WRONLY | os.O_APPEND), ${j(fsmonitor())}.encode()))
    out[f + ' O_RDWR'] = attempt(lambda: os.open(f, os.O_RDWR))
    out[f + ' read'] = attempt(lambda: os.close(os.open(f, os.O_RDONLY)))
for f in ('hook-link', 'hook-sym', 'vhook-sym'):
    out[f + ' truncate-open'] = attempt(lambda: os.write(os.open(f, os.O_WRONLY | os.O_TRUNC), ${j(hook())}.encode()))
    out[f + ' O_CREAT'] = attempt(lambda: open(f, 'a'))
for f in ('hook-link-noexec', 'vhook-sym-noexec'):
    out[f + ' chmod'] = attempt(lambda: os.chmod(f, 0o755))
    out[f + ' fchmod'] = attempt(lambda: os.fchmod(os.open(f, os.O_RDONLY), 0o755))`,
      sandbox(),
      { cwd: R },
    );
    const expected: Record<string, string> = {};
    for (const f of ['cfg-link', 'cfg-sym', 'vcfg-sym'])
      Object.assign(expected, { [`${f} append`]: 'EROFS', [`${f} O_RDWR`]: 'EROFS', [`${f} read`]: 'ok' });
    for (const f of ['hook-link', 'hook-sym', 'vhook-sym'])
      Object.assign(expected, { [`${f} truncate-open`]: 'EROFS', [`${f} O_CREAT`]: 'EROFS' });
    for (const f of ['hook-link-noexec', 'vhook-sym-noexec'])
      Object.assign(expected, { [`${f} chmod`]: 'EROFS', [`${f} fchmod`]: 'EROFS' });
    expect(out).toEqual(expected);
    expect(state()).toEqual(before);
    for (const dir of [R, path.join(R, 'vendor', 'lib')]) {
      git(dir, 'status', '--short');
      git(dir, 'commit', '-q', '--allow-empty', '-m', 'outside');
      git(dir, 'checkout', '-q', '-b', 'outside');
    }
    expect(fs.existsSync(pwned)).toBe(false);
  });
  it('a hook of a found repository that is a symlink: its target cannot be written or made', async () => {
    const hooks = path.join(R, '.git', 'hooks');
    fs.mkdirSync(path.join(R, 'tools'));
    fs.writeFileSync(path.join(R, 'tools', 'pre-commit'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    fs.symlinkSync('../../tools/pre-commit', path.join(hooks, 'pre-commit'));
    fs.symlinkSync('../../tools/post-checkout', path.join(hooks, 'post-checkout')); // dangling
    // The files, not tools/ itself (a file is made and removed there).
    const files = () => [Object.entries(snapshot(path.join(R, 'tools'))).filter(([k]) => k !== '.'), snapshot(hooks)];
    const before = files();
    const out = await py(
      `
out['write the target'] = attempt(lambda: os.write(os.open('tools/pre-commit', os.O_WRONLY | os.O_TRUNC), ${j(hook())}.encode()))
out['make the dangling target'] = attempt(lambda: open('tools/post-checkout', 'w').write(${j(hook())}))
out['another file there'] = attempt(lambda: open('tools/other', 'w').write('x'))
os.unlink('tools/other')`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({ 'write the target': 'EROFS', 'make the dangling target': 'EROFS', 'another file there': 'ok' });
    expect(files()).toEqual(before);
    git(R, 'commit', '-q', '--allow-empty', '-m', 'outside');
    git(R, 'checkout', '-q', '-b', 'outside');
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it("a hard link to a submodule repository's config or hook under a found .git/modules (a nested one too), made before the sandbox, gives no way to write it", async () => {
    git(R, 'submodule', 'add', '-q', remote, 'sub');
    git(R, 'commit', '-qm', 'sub');
    git(path.join(R, 'sub'), 'submodule', 'add', '-q', remote, 'deep/inner');
    const m = path.join(R, '.git', 'modules', 'sub');
    const inner = path.join(m, 'modules', 'deep', 'inner');
    expect(fs.existsSync(path.join(inner, 'config'))).toBe(true);
    for (const d of [m, inner]) fs.writeFileSync(path.join(d, 'hooks', 'pre-commit'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    fs.linkSync(path.join(m, 'config'), path.join(R, 'mcfg-link'));
    fs.linkSync(path.join(m, 'hooks', 'pre-commit'), path.join(R, 'mhook-link'));
    fs.linkSync(path.join(inner, 'config'), path.join(R, 'icfg-link'));
    fs.linkSync(path.join(inner, 'hooks', 'pre-commit'), path.join(R, 'ihook-link'));
    const state = () => [snapshot(m), fs.readFileSync(path.join(m, 'config'), 'utf8'), fs.readFileSync(path.join(inner, 'config'), 'utf8')];
    const before = state();
    const out = await py(
      `
for f in ('mcfg-link', 'icfg-link'):
    out[f] = attempt(lambda: os.write(os.open(f, os.O_WRONLY | os.O_APPEND), ${j(fsmonitor())}.encode()))
for f in ('mhook-link', 'ihook-link'):
    out[f] = attempt(lambda: os.write(os.open(f, os.O_WRONLY | os.O_TRUNC), ${j(hook())}.encode()))
out['own name'] = attempt(lambda: os.open('.git/modules/sub/config', os.O_WRONLY | os.O_APPEND))`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({ 'mcfg-link': 'EROFS', 'icfg-link': 'EROFS', 'mhook-link': 'EROFS', 'ihook-link': 'EROFS', 'own name': 'EROFS' });
    expect(state()).toEqual(before);
    for (const dir of [path.join(R, 'sub'), path.join(R, 'sub', 'deep', 'inner')]) {
      git(dir, 'status', '--short');
      git(dir, 'commit', '-q', '--allow-empty', '-m', 'outside');
    }
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it("a hard link to a hook in a found repository's core.hooksPath, made before the sandbox, gives no way to write it", async () => {
    const gh = path.join(R, '.githooks');
    fs.mkdirSync(gh);
    fs.writeFileSync(path.join(gh, 'pre-commit'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    fs.writeFileSync(path.join(gh, 'post-checkout'), '#!/bin/sh\nexit 0\n', { mode: 0o644 });
    git(R, 'config', 'core.hooksPath', '.githooks');
    fs.linkSync(path.join(gh, 'pre-commit'), path.join(R, 'gh-link'));
    fs.linkSync(path.join(gh, 'post-checkout'), path.join(R, 'gh-link-noexec'));
    const before = snapshot(gh);
    const out = await py(
      `
out['write'] = attempt(lambda: os.write(os.open('gh-link', os.O_WRONLY | os.O_TRUNC), ${j(hook())}.encode()))
out['chmod'] = attempt(lambda: os.chmod('gh-link-noexec', 0o755))`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({ write: 'EROFS', chmod: 'EROFS' });
    expect(snapshot(gh)).toEqual(before);
    git(R, 'commit', '-q', '--allow-empty', '-m', 'outside');
    git(R, 'checkout', '-q', '-b', 'outside');
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it('the plan carries the model; init names none of it', () => {
    const sup = prepare('/bin/true', [], { sandbox: sandbox(), cwd: R }).plan.steps.find((s) => s.op === 'supervise')!;
    // git-state-at= names each found git directory (the plan's, not the model's).
    expect(sup.args.filter((a) => a.startsWith('git-') && !a.startsWith('git-state-at='))).toEqual(gitModelArgs());
    expect(sup.args.some((a) => a.startsWith('git-state-at='))).toBe(true);
    expect(gitModelArgs()).toEqual(
      expect.arrayContaining(['git-control=config', 'git-control=hooks/', 'git-head=HEAD', 'git-dir=objects+refs', 'git-dir=commondir']),
    );
    // chmod goes to init wherever the model applies (an existing hook made executable).
    const sys = sup.args.filter((a) => a.startsWith('sys=')).map((a) => a.replace(/^sys=\d+:/, ''));
    expect(sys).toEqual(expect.arrayContaining(MODE_SYSCALLS.filter((n) => SUPERVISED_NR[arch][n] !== undefined)));
    // The hooks of the found repository are guarded by inode (a second name made before the sandbox).
    expect(sup.args.filter((a) => a.startsWith('protect-inode=')).length).toBeGreaterThan(
      fs.readdirSync(path.join(R, '.git', 'hooks')).length,
    );
    // No name of the model is written in the supervisor's C++.
    const dir = path.join(repoRoot, 'native', 'helper', 'supervisor');
    const names = [
      ...[...GIT_MODEL.control, ...GIT_MODEL.trees, GIT_MODEL.head, ...GIT_MODEL.dirs.flat(), GIT_MODEL.entry, GIT_MODEL.logs],
      ...GIT_MODEL.state.flatMap(([file]) => file.split('/')),
      ...GIT_MODEL.todoCommands.filter((w) => w.length > 1),
      ...GIT_MODEL.strategies,
    ];
    for (const f of fs.readdirSync(dir)) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8').replace(/\/\/.*$/gm, '');
      for (const n of names) expect(text.includes(`"${n}"`), `${f} names "${n}"`).toBe(false);
    }
  });
  it('half a model fails closed: init refuses to start, the command never runs', async () => {
    const marker = path.join(R, 'ran');
    const prepared = prepare('/bin/sh', ['-c', `touch ${marker}`], { sandbox: sandbox(), cwd: R, env: { PATH: '/usr/bin:/bin' } });
    const sup = prepared.plan.steps.find((s) => s.op === 'supervise')!;
    sup.args = sup.args.filter((a) => !a.startsWith('git-head='));
    const child = new SandboxedProcess(prepared, { stdio: 'ignore' });
    const err = await new Promise<any>((res) => child.on('error', res));
    expect(err).toMatchObject({ code: SETUP_FAILED, step: 'supervise' });
    expect(String(err.message)).toMatch(/repository model needs git-control, git-head/);
    expect(fs.existsSync(marker)).toBe(false);
  });
});
