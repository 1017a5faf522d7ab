// Protected names that do not exist yet (issue 3, behaviour 2): `.codex`,
// `.vscode`, `.claude/commands` and the rest of the list cannot be created at
// the top of a writable root, by any syscall that makes a name, and nothing is
// put on the host to achieve it (no placeholder, no device node). Init
// performs the syscalls that create names for the command and refuses these
// (docs/supervisor.md). The host tree is compared before and after each run.
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../lib';
import { rmTree, sh, snapshot, tempDir, userLabel } from './helpers';
import { j, py } from './security/lib';

describe(`protected names that do not exist yet (as ${userLabel})`, () => {
  let P: string; // the project: a writable root with no protected name in it
  let other: string; // a second root
  beforeEach(() => {
    P = tempDir('sbx-protect-');
    other = tempDir('sbx-protect-other-');
    fs.mkdirSync(path.join(P, 'src'));
    fs.writeFileSync(path.join(P, 'src', 'main.c'), 'int main(){}');
  });
  afterEach(() => {
    rmTree(P);
    rmTree(other);
  });
  const sandbox = () => ({ writableRoots: [P, other], tmp: 'none' as const });
  // The tests make and remove their tools in src/, whose mtime moves; nothing else may change.
  const state = () => {
    const s = snapshot(P);
    delete s.src;
    return s;
  };
  const unchanged = async <T>(fn: () => Promise<T>): Promise<T> => {
    const before = state();
    const out = await fn();
    expect(state()).toEqual(before);
    return out;
  };

  it('every syscall that makes a name is refused with EROFS, and the host is unchanged', async () => {
    const out = await unchanged(() =>
      py(
        `
open('src/f', 'w').close()
os.mkdir('src/d')
out['mkdir'] = attempt(lambda: os.mkdir('.codex'))
out['open'] = attempt(lambda: os.open('.codex', os.O_CREAT | os.O_WRONLY, 0o644))
out['open-excl'] = attempt(lambda: os.open('.vscode', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
out['creat'] = sc(85, ctypes.c_char_p(b'.agents'), 0o644) if NR['ioctl'] == 16 else 'EROFS'
out['mkfifo'] = attempt(lambda: os.mkfifo('.idea'))
out['mknod'] = attempt(lambda: os.mknod('.mcp.json', 0o600 | 0o100000))
out['symlink'] = attempt(lambda: os.symlink('src', '.codex'))
out['link'] = attempt(lambda: os.link('src/f', '.bashrc'))
out['rename-file'] = attempt(lambda: os.rename('src/f', '.gitconfig'))
out['rename-dir'] = attempt(lambda: os.rename('src/d', '.codex'))
out['noreplace'] = sc(316 if NR['ioctl'] == 16 else 276, -100, ctypes.c_char_p(b'src/d'), -100, ctypes.c_char_p(b'.agents'), 1)
out['bind'] = attempt(lambda: socket.socket(socket.AF_UNIX).bind('.idea'))
os.unlink('src/f'); os.rmdir('src/d')`,
        sandbox(),
        { cwd: P },
      ),
    );
    expect(out).toEqual({
      mkdir: 'EROFS',
      open: 'EROFS',
      'open-excl': 'EROFS',
      creat: 'EROFS',
      mkfifo: 'EROFS',
      mknod: 'EROFS',
      symlink: 'EROFS',
      link: 'EROFS',
      'rename-file': 'EROFS',
      'rename-dir': 'EROFS',
      noreplace: 'EROFS',
      bind: 'EROFS',
    });
  });

  it('the roads to the same name: "..", an absolute path, /proc/self/cwd, a dirfd, a symlinked directory, a dangling symlink', async () => {
    const out = await unchanged(() =>
      py(
        `
os.symlink('.', 'src/top')
os.symlink('../.codex', 'src/dangling')
d = os.open('src', os.O_RDONLY)
out['dotdot'] = attempt(lambda: os.mkdir('src/../.codex'))
out['absolute'] = attempt(lambda: os.mkdir(${j(path.join(P, '.codex'))}))
out['double-slash'] = attempt(lambda: os.mkdir('//' + ${j(P.slice(1))} + '//.codex'))
out['proc-cwd'] = attempt(lambda: os.mkdir('/proc/self/cwd/.codex'))
out['dev-fd'] = attempt(lambda: os.mkdir('/dev/fd/%d/../.codex' % d))
out['dirfd'] = attempt(lambda: os.mkdir('../.codex', dir_fd=d))
out['via-symlink'] = attempt(lambda: os.mkdir('src/top/../.codex'))
out['dangling-open'] = attempt(lambda: open('src/dangling', 'w'))
out['chdir'] = attempt(lambda: (os.chdir('src'), os.mkdir('../.vscode')))
os.chdir(${j(P)})
os.unlink('src/top'); os.unlink('src/dangling')`,
        sandbox(),
        { cwd: P },
      ),
    );
    expect(out).toEqual({
      dotdot: 'EROFS',
      absolute: 'EROFS',
      'double-slash': 'EROFS',
      'proc-cwd': 'EROFS',
      'dev-fd': 'EROFS',
      dirfd: 'EROFS',
      'via-symlink': 'EROFS',
      'dangling-open': 'EROFS',
      chdir: 'EROFS',
    });
  });

  it('.claude/commands: .claude may be made, commands inside it may not, nor moved, symlinked or hard-linked (a link to a symlink) in whole', async () => {
    const out = await py(
      `
os.makedirs('work/commands')
out['mkdir-claude'] = attempt(lambda: os.mkdir('.claude'))
out['settings'] = attempt(lambda: open('.claude/settings.json', 'w').close())
out['commands'] = attempt(lambda: os.mkdir('.claude/commands'))
out['rename-in'] = attempt(lambda: os.rename('work/commands', '.claude/commands'))
os.unlink('.claude/settings.json')
os.rmdir('.claude')
out['rename-tree'] = attempt(lambda: os.rename('work', '.claude'))
out['symlink-tree'] = attempt(lambda: os.symlink('work', '.claude'))
os.symlink('work', 'tmp')
out['hardlink-symlink'] = attempt(lambda: os.link('tmp', '.claude', follow_symlinks=False))
os.unlink('tmp')
os.mkdir('.claude')
out['exchange'] = sc(316 if NR['ioctl'] == 16 else 276, -100, ctypes.c_char_p(b'work'), -100, ctypes.c_char_p(b'.claude'), 2)
os.rmdir('.claude')
os.rmdir('work/commands'); os.rmdir('work')`,
      sandbox(),
      { cwd: P },
    );
    expect(out).toEqual({
      'mkdir-claude': 'ok',
      settings: 'ok',
      commands: 'EROFS',
      'rename-in': 'EROFS',
      'rename-tree': 'EROFS',
      'symlink-tree': 'EROFS',
      'hardlink-symlink': 'EROFS',
      exchange: 'EROFS',
    });
    expect(fs.readdirSync(P).sort()).toEqual(['src']);
  });

  it('the shell way: mkdir, >, ln -s, mv, cp all fail and say "Read-only file system"', async () => {
    const r = await unchanged(() =>
      sh('mkdir .codex; echo x > .vscode; ln -s src .agents; mv src/main.c .mcp.json; cp src/main.c .bashrc; echo done', sandbox(), {
        cwd: P,
      }),
    );
    expect(r.stdout).toBe('done\n');
    expect(r.stderr.split('\n').filter((l) => /Read-only file system/.test(l))).toHaveLength(5);
  });

  it("the same names below the top, in the other root's subdirectories, and other names at the top still work", async () => {
    const r = await sh(
      'mkdir src/.codex && echo x > src/.vscode && mkdir .cache && echo y > notes.txt && ln -s src link && cd ' +
        other +
        ' && mkdir deep && mkdir deep/.codex && echo ok',
      sandbox(),
      { cwd: P },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ok\n');
    expect(fs.readdirSync(P).sort()).toEqual(['.cache', 'link', 'notes.txt', 'src']);
    expect(fs.existsSync(path.join(other, 'deep', '.codex'))).toBe(true);
  });

  it('the second root is protected too, and $HOME when it is writable', async () => {
    const home = tempDir('sbx-protect-home-');
    try {
      const r = await run(
        '/bin/sh',
        ['-c', `mkdir ${other}/.codex; echo x > ${home}/.bashrc; echo x > ${home}/.profile; mkdir ${home}/proj && echo ok`],
        {
          sandbox: { writableRoots: [P, other, home], tmp: 'none' },
          env: { ...process.env, HOME: home },
          cwd: P,
        },
      );
      expect(r.stdout).toBe('ok\n');
      expect(r.stderr.split('\n').filter((l) => /Read-only file system/.test(l))).toHaveLength(3);
      expect(fs.readdirSync(other)).toEqual([]);
      expect(fs.readdirSync(home)).toEqual(['proj']);
    } finally {
      rmTree(home);
    }
  });

  it('a writable root of / guards /.codex too', async () => {
    const r = await run('/bin/sh', ['-c', 'mkdir /.codex; echo x > /.vscode; echo done'], {
      sandbox: { writableRoots: ['/'], tmp: 'none' },
      cwd: P,
    });
    expect(r.stdout).toBe('done\n');
    expect(r.stderr.split('\n').filter((l) => /Read-only file system/.test(l))).toHaveLength(2);
    expect(fs.existsSync('/.codex') || fs.existsSync('/.vscode')).toBe(false);
  });

  it('a name added with protect is guarded the same way; mode full guards nothing', async () => {
    const r = await run('/bin/sh', ['-c', 'echo x > secrets.env; mkdir .codex; echo done'], {
      sandbox: { writableRoots: [P], tmp: 'none', protect: ['secrets.env'] },
      cwd: P,
    });
    expect(r.stdout).toBe('done\n');
    expect(r.stderr.split('\n').filter((l) => /Read-only file system/.test(l))).toHaveLength(2);
    expect(fs.readdirSync(P)).toEqual(['src']);
    const full = await run('/bin/sh', ['-c', 'mkdir .codex && echo ok'], { sandbox: { mode: 'full' }, cwd: P });
    expect(full.stdout).toBe('ok\n');
  });
});
