// The repository model in git directories the layout does not find (issue
// 11): a clone below a root that is no submodule, a bare repository or
// cargo-like cache inside a root, a `.git` file below a root's top. Init
// tells a git directory from the file system at the time of the call (it
// holds a HEAD) and refuses writing its config and hooks, however the file
// is reached: a plain O_WRONLY|O_APPEND open, O_RDWR, O_TRUNC, a symlink
// made inside, /proc/self/fd reopening, a hard link, a rename onto it.
// Each attack asserts the errno, that the host is unchanged, and that git
// run outside afterwards runs nothing the command planted. Real git, as
// root and as nobody.
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from '../lib';
import { rmTree, sh, snapshot, userLabel } from './helpers';
import { j, py } from './security/lib';
import { fsmonitorConfig, gitWorld, hookScript, runGit } from './git-world';

describe(`git directories the layout does not find (as ${userLabel})`, () => {
  let T: string, R: string, src: string, pwned: string, env: NodeJS.ProcessEnv;
  const git = (cwd: string, ...args: string[]) => runGit(env, cwd, ...args);
  const sandbox = (extra: object = {}) => ({ writableRoots: [R], tmp: 'none' as const, ...extra });
  /** What makes git run code in a git directory `g`: config, config.worktree, commondir, hooks/, and the entry itself. */
  const controlState = (g: string) =>
    Object.fromEntries(Object.entries(snapshot(g)).filter(([k]) => /^(config|config\.worktree|commondir|gitdir|hooks)(\/|$)/.test(k)));
  const fsmonitor = () => fsmonitorConfig(pwned);
  const hook = () => hookScript(pwned);
  beforeEach(() => {
    ({ T, R, src, pwned, env } = gitWorld('sbx-gitu-'));
  });
  afterEach(() => rmTree(T));

  it('a clone below a root (R/vendor/lib, no submodule): its config and hooks cannot be written, however reached; commits in it work', async () => {
    fs.mkdirSync(path.join(R, 'vendor'));
    git(R, 'clone', '-q', src, 'vendor/lib');
    const g = path.join(R, 'vendor', 'lib', '.git');
    fs.chmodSync(path.join(g, 'hooks', 'pre-commit.sample'), 0o755);
    const before = controlState(g);
    const out = await py(
      `
c = 'vendor/lib/.git/config'
out['O_WRONLY|O_APPEND'] = attempt(lambda: os.write(os.open(c, os.O_WRONLY | os.O_APPEND), ${j(fsmonitor())}.encode()))
out['O_RDWR'] = attempt(lambda: os.open(c, os.O_RDWR))
out['O_RDONLY|O_TRUNC'] = attempt(lambda: os.open(c, os.O_RDONLY | os.O_TRUNC))
out['O_CREAT|O_APPEND'] = attempt(lambda: open(c, 'a'))
out['read'] = attempt(lambda: os.close(os.open(c, os.O_RDONLY)))
ro = os.open(c, os.O_RDONLY)
out['/proc/self/fd of a read-only fd'] = attempt(lambda: os.open('/proc/self/fd/%d' % ro, os.O_WRONLY | os.O_APPEND))
op = os.open(c, os.O_PATH)
out['/proc/self/fd of an O_PATH fd'] = attempt(lambda: os.open('/proc/self/fd/%d' % op, os.O_RDWR))
out['through a symlink made inside'] = attempt(lambda: (os.symlink('vendor/lib/.git/config', 'cfg'), os.open('cfg', os.O_WRONLY | os.O_APPEND))[1])
out['hard link'] = attempt(lambda: os.link(c, 'cfg2'))
out['hard link of an O_PATH fd'] = attempt(lambda: sc(265 if NR['ioctl'] == 16 else 37, op, ctypes.c_char_p(b''), -100, ctypes.c_char_p(b'cfg3'), 0x1000))
open('new', 'w').write(${j(fsmonitor())})
out['rename onto config'] = attempt(lambda: os.rename('new', c))
out['rename config away'] = attempt(lambda: os.rename(c, 'vendor/lib/.git/config.old'))
out['config.worktree'] = attempt(lambda: open('vendor/lib/.git/config.worktree', 'w'))
out['commondir'] = attempt(lambda: open('vendor/lib/.git/commondir', 'w'))
out['new hook'] = attempt(lambda: open('vendor/lib/.git/hooks/post-checkout', 'w'))
out['edit a hook'] = attempt(lambda: os.open('vendor/lib/.git/hooks/pre-commit.sample', os.O_WRONLY | os.O_TRUNC))
out['rename a hook into place'] = attempt(lambda: os.rename('vendor/lib/.git/hooks/pre-commit.sample', 'vendor/lib/.git/hooks/pre-commit'))
out['symlink as a hook'] = attempt(lambda: os.symlink('/bin/true', 'vendor/lib/.git/hooks/post-checkout'))
out['hard link as a hook'] = attempt(lambda: os.link('new', 'vendor/lib/.git/hooks/post-checkout'))
out['directory in hooks'] = attempt(lambda: os.mkdir('vendor/lib/.git/hooks/sub'))
out['move hooks away'] = attempt(lambda: os.rename('vendor/lib/.git/hooks', 'vendor/lib/.git/hooks.old'))
os.unlink('new'); os.unlink('cfg')`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({
      'O_WRONLY|O_APPEND': 'EROFS',
      O_RDWR: 'EROFS',
      'O_RDONLY|O_TRUNC': 'EROFS',
      'O_CREAT|O_APPEND': 'EROFS',
      read: 'ok',
      '/proc/self/fd of a read-only fd': 'EROFS',
      '/proc/self/fd of an O_PATH fd': 'EROFS',
      'through a symlink made inside': 'EROFS',
      'hard link': 'EROFS',
      'hard link of an O_PATH fd': 'EROFS',
      'rename onto config': 'EROFS',
      'rename config away': 'EROFS',
      'config.worktree': 'EROFS',
      commondir: 'EROFS',
      'new hook': 'EROFS',
      'edit a hook': 'EROFS',
      'rename a hook into place': 'EROFS',
      'symlink as a hook': 'EROFS',
      'hard link as a hook': 'EROFS',
      'directory in hooks': 'EROFS',
      'move hooks away': 'EROFS',
    });
    expect(controlState(g)).toEqual(before);
    expect(fs.readdirSync(R).sort()).toEqual(['vendor']);
    // Inside, the clone is still a repository to work in: commit, branch, a first reflog entry.
    const r = await sh(
      'cd vendor/lib && echo two >> f && git commit -qam two && git checkout -qb b && git config x.y z; echo cfg=$?; git log --format=%s | tr "\\n" " "',
      sandbox(),
      { cwd: R, env },
    );
    expect(r.stdout).toBe('cfg=4\ntwo one ');
    expect(r.stderr).toMatch(/could not write config file .*Read-only file system/);
    expect(controlState(g)).toEqual(before);
    git(path.join(R, 'vendor', 'lib'), 'status', '--short');
    git(path.join(R, 'vendor', 'lib'), 'commit', '-q', '--allow-empty', '-m', 'outside');
    expect(fs.existsSync(pwned)).toBe(false);
  });

  // Init takes the path of a directory it opened by a plainly spelled absolute
  // path from that spelling instead of asking the kernel (a readlink): the
  // spelling alone must still find a directory below hooks/.
  it('below hooks/ by absolute paths: nothing can be made, written, linked, moved in or made executable there', async () => {
    fs.mkdirSync(path.join(R, 'vendor'));
    git(R, 'clone', '-q', src, 'vendor/lib');
    const g = path.join(R, 'vendor', 'lib', '.git');
    const sub = path.join(g, 'hooks', 'sub');
    fs.mkdirSync(sub);
    fs.writeFileSync(path.join(sub, 'existing'), 'x\n');
    fs.chmodSync(path.join(sub, 'existing'), 0o644);
    const before = controlState(g);
    const out = await py(
      `
d = ${j(sub)}
new = ${j(path.join(R, 'new'))}
open(new, 'w').write(${j(hook())})
out['new file'] = attempt(lambda: open(d + '/post-checkout', 'w'))
out['O_CREAT|O_EXCL'] = attempt(lambda: os.open(d + '/x', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755))
out['O_CREAT|O_TRUNC of an existing file'] = attempt(lambda: open(d + '/existing', 'w'))
out['O_WRONLY of an existing file'] = attempt(lambda: os.open(d + '/existing', os.O_WRONLY))
out['mkdir'] = attempt(lambda: os.mkdir(d + '/dir'))
out['symlink'] = attempt(lambda: os.symlink('/bin/true', d + '/pre-commit'))
out['link'] = attempt(lambda: os.link(new, d + '/pre-push'))
out['rename'] = attempt(lambda: os.rename(new, d + '/pre-push'))
out['chmod +x'] = attempt(lambda: os.chmod(d + '/existing', 0o755))
out['a file beside the clone'] = attempt(lambda: open(${j(path.join(R, 'vendor', 'ok'))}, 'w'))
os.unlink(new)`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({
      'new file': 'EROFS',
      'O_CREAT|O_EXCL': 'EROFS',
      'O_CREAT|O_TRUNC of an existing file': 'EROFS',
      'O_WRONLY of an existing file': 'EROFS',
      mkdir: 'EROFS',
      symlink: 'EROFS',
      link: 'EROFS',
      rename: 'EROFS',
      'chmod +x': 'EROFS',
      'a file beside the clone': 'ok',
    });
    expect(controlState(g)).toEqual(before);
    expect(fs.readFileSync(path.join(sub, 'existing'), 'utf8')).toBe('x\n');
    expect(fs.statSync(path.join(sub, 'existing')).mode & 0o777).toBe(0o644);
    expect(fs.readdirSync(R).sort()).toEqual(['vendor']);
    expect(fs.readdirSync(path.join(R, 'vendor')).sort()).toEqual(['lib', 'ok']);
  });

  // An access ACL's owner, group-or-mask and other entries are the file's mode
  // bits: setfacl u::rwx on a hook is chmod u+x, and was let through where
  // chmod was refused (the xattr family was not checked as a mode change).
  it('an existing hook cannot be made executable through its access ACL (setfacl), nor through a second name; ACLs elsewhere work', async () => {
    fs.mkdirSync(path.join(R, 'vendor'));
    git(R, 'clone', '-q', src, 'vendor/lib');
    git(R, 'clone', '-q', src, 'found');
    for (const lib of ['vendor/lib', 'found']) {
      const h = path.join(R, lib, '.git', 'hooks', 'pre-commit');
      fs.writeFileSync(h, hook());
      fs.chmodSync(h, 0o644); // git skips a hook that is not executable
    }
    fs.linkSync(path.join(R, 'found', '.git', 'hooks', 'pre-commit'), path.join(R, 'hook-link'));
    fs.writeFileSync(path.join(R, 'plain'), 'x\n');
    fs.chmodSync(path.join(R, 'plain'), 0o644);
    const acl = `
def acl(u, g, o):
    return struct.pack('<I', 2) + b''.join(struct.pack('<HHI', t, p, 0xffffffff) for t, p in ((1, u), (4, g), (0x20, o)))
def mode(p): return oct(os.stat(p).st_mode & 0o7777)
`;
    // A budget of 3 entries: the walk stops before it finds vendor/lib, so only init's own look at the git directory guards it.
    const unfound = await py(
      `${acl}
h = 'vendor/lib/.git/hooks/pre-commit'
out['setxattr'] = attempt(lambda: os.setxattr(h, 'system.posix_acl_access', acl(7, 5, 5)))
out['lsetxattr'] = attempt(lambda: os.setxattr(h, 'system.posix_acl_access', acl(7, 5, 5), follow_symlinks=False))
fd = os.open(h, os.O_RDONLY)
out['fsetxattr'] = attempt(lambda: os.setxattr(fd, 'system.posix_acl_access', acl(7, 5, 5)))
out['removexattr'] = attempt(lambda: os.removexattr(h, 'system.posix_acl_access'))
out['chmod'] = attempt(lambda: os.chmod(h, 0o755))
out['hook mode'] = mode(h)
out['a plain file'] = attempt(lambda: os.setxattr('plain', 'system.posix_acl_access', acl(7, 5, 5)))
out['its mode'] = mode('plain')
out['user.* on the hook'] = attempt(lambda: os.setxattr(h, 'user.note', b'1'))`,
      sandbox({ repositoryScanBudget: 3 }),
      { cwd: R },
    );
    expect(unfound).toEqual({
      setxattr: 'EROFS',
      lsetxattr: 'EROFS',
      fsetxattr: 'EROFS',
      removexattr: 'EROFS',
      chmod: 'EROFS',
      'hook mode': '0o644',
      'a plain file': 'ok',
      'its mode': '0o755',
      'user.* on the hook': 'ok',
    });
    const c = spawn('true', [], { cwd: R, sandbox: sandbox({ repositoryScanBudget: 3 }), pool: false });
    await new Promise((r) => c.on('close', r));
    expect(c.enforcement.notScanned).toEqual([{ root: R, why: 'its walk passed the budget of 3 entries' }]);
    // A found repository's hooks are pinned read-only; a second name made before the sandbox is not below the pin.
    const found = await py(
      `${acl}
out['second name'] = attempt(lambda: os.setxattr('hook-link', 'system.posix_acl_access', acl(7, 5, 5)))
out['second name, chmod'] = attempt(lambda: os.chmod('hook-link', 0o755))
out['pinned name'] = attempt(lambda: os.setxattr('found/.git/hooks/pre-commit', 'system.posix_acl_access', acl(7, 5, 5)))
out['hook mode'] = mode('hook-link')`,
      sandbox(),
      { cwd: R },
    );
    expect(found).toEqual({ 'second name': 'EROFS', 'second name, chmod': 'EROFS', 'pinned name': 'EROFS', 'hook mode': '0o644' });
    for (const lib of ['vendor/lib', 'found']) {
      const h = path.join(R, lib, '.git', 'hooks', 'pre-commit');
      expect(fs.statSync(h).mode & 0o7777).toBe(0o644);
      const attrs = execFileSync('python3', ['-c', 'import os, sys; print(sorted(os.listxattr(sys.argv[1])))', h], { encoding: 'utf8' });
      expect(attrs).toBe(lib === 'vendor/lib' ? "['user.note']\n" : '[]\n'); // no system.posix_acl_access
      git(path.join(R, lib), 'commit', '-q', '--allow-empty', '-m', 'outside');
    }
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it('a bare repository and a cargo-like cache inside a root: config and hooks cannot be written; fetching into them works', async () => {
    const bare = path.join(R, 'cache.git');
    const db = path.join(R, '.cargo', 'git', 'db', 'lib-0123456789abcdef');
    git(T, 'clone', '-q', '--bare', src, bare);
    fs.mkdirSync(path.dirname(db), { recursive: true });
    git(T, 'clone', '-q', '--bare', src, db);
    const before = [controlState(bare), controlState(db)];
    const out = await py(
      `
for name, g in (('bare', ${j(bare)}), ('cargo db', ${j(db)})):
    out[name + ' config'] = attempt(lambda: os.write(os.open(g + '/config', os.O_WRONLY | os.O_APPEND), ${j(fsmonitor())}.encode()))
    out[name + ' hook'] = attempt(lambda: open(g + '/hooks/reference-transaction', 'w').write(${j(hook())}))
    out[name + ' config.worktree'] = attempt(lambda: open(g + '/config.worktree', 'w'))`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({
      'bare config': 'EROFS',
      'bare hook': 'EROFS',
      'bare config.worktree': 'EROFS',
      'cargo db config': 'EROFS',
      'cargo db hook': 'EROFS',
      'cargo db config.worktree': 'EROFS',
    });
    git(src, 'commit', '-q', '--allow-empty', '-m', 'two');
    const r = await sh(`git --git-dir=${db} fetch -q ${src} main:main && git --git-dir=${db} log --format=%s -1 main`, sandbox(), {
      cwd: R,
      env,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('two\n');
    expect([controlState(bare), controlState(db)]).toEqual(before);
    // Outside: a ref update runs reference-transaction; a status with a work tree runs core.fsmonitor.
    const wt = path.join(T, 'wt');
    fs.mkdirSync(wt);
    for (const g of [bare, db]) {
      git(T, `--git-dir=${g}`, 'update-ref', 'refs/heads/outside', 'main');
      git(T, `--git-dir=${g}`, `--work-tree=${wt}`, 'status', '--short');
    }
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it('an existing .git file below a root (a linked worktree) cannot be rewritten into a gitdir: pointer, replaced or linked', async () => {
    git(src, 'worktree', 'add', '-q', path.join(R, 'deep', 'wt'));
    const dotgit = path.join(R, 'deep', 'wt', '.git');
    const text = fs.readFileSync(dotgit, 'utf8');
    const before = snapshot(path.join(R, 'deep'));
    const out = await py(
      `
out['write'] = attempt(lambda: open('deep/wt/.git', 'w').write('gitdir: ${src}/.git'))
out['O_WRONLY'] = attempt(lambda: os.open('deep/wt/.git', os.O_WRONLY))
open('p', 'w').write('gitdir: ${src}/.git')
out['rename onto it'] = attempt(lambda: os.rename('p', 'deep/wt/.git'))
out['hard link'] = attempt(lambda: os.link('deep/wt/.git', 'q'))
os.unlink('p')`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({ write: 'EROFS', O_WRONLY: 'EROFS', 'rename onto it': 'EROFS', 'hard link': 'EROFS' });
    expect(fs.readFileSync(dotgit, 'utf8')).toBe(text);
    expect(snapshot(path.join(R, 'deep'))).toEqual(before);
    expect(fs.readdirSync(R).sort()).toEqual(['deep']);
    git(path.join(R, 'deep', 'wt'), 'status', '--short');
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it('allowGitWrites lifts it: the nested config can be written', async () => {
    git(R, 'clone', '-q', src, 'lib');
    const out = await py(
      `out['append'] = attempt(lambda: os.write(os.open('lib/.git/config', os.O_WRONLY | os.O_APPEND), b'[x]\\n\\ty = z\\n'))`,
      sandbox({ allowGitWrites: true }),
      { cwd: R },
    );
    expect(out).toEqual({ append: 'ok' });
    expect(git(path.join(R, 'lib'), 'config', 'x.y')).toBe('z\n');
  });
});
