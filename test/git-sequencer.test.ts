// Git's sequencer files (issue 11): a rebase's to-do list, a cherry-pick's,
// and the merge strategy they name decide what `git rebase --continue` (and
// `git cherry-pick --continue`) runs outside. Ordinary rebases and
// cherry-picks work inside; no way of planting an `exec` line or a strategy
// that is a program gets one into place, in a found repository or one the
// layout does not find. Each attack asserts the errno, that the host's files
// are unchanged, and that git run outside afterwards runs nothing planted.
// Real git, as root and as nobody.
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rmTree, sh, tempDir, userLabel } from './helpers';
import { arch, j, py } from './security/lib';
import { SUPERVISED_NR } from '../lib/seccomp';

const ID = { GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@b', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@b' };

describe(`git's sequencer files (as ${userLabel})`, () => {
  let T: string, R: string, V: string, pwned: string, env: NodeJS.ProcessEnv;
  const git = (cwd: string, args: string[], extra: NodeJS.ProcessEnv = {}) =>
    execFileSync('git', ['-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8', env: { ...env, ...extra } });
  const sandbox = () => ({ writableRoots: [R], tmp: 'none' as const });
  const commit = (dir: string, file: string, text: string, msg: string) => {
    fs.writeFileSync(path.join(dir, file), text);
    git(dir, ['add', file]);
    git(dir, ['commit', '-qm', msg]);
  };
  /** main: base, a, b, c; side (from base): a b that conflicts with main's; topic (from base): d. */
  const history = (dir: string) => {
    git(dir, ['init', '-q']);
    commit(dir, 'f', 'base\n', 'base');
    git(dir, ['branch', 'side']);
    git(dir, ['branch', 'topic']);
    for (const n of ['a', 'b', 'c']) commit(dir, n, `${n}\n`, n);
    git(dir, ['checkout', '-q', 'side']);
    commit(dir, 'b', 'side\n', 'side b');
    git(dir, ['checkout', '-q', 'topic']);
    commit(dir, 'd', 'd\n', 'd');
    git(dir, ['checkout', '-q', 'main']);
  };
  const files = (g: string, d: string) => {
    const out: Record<string, string> = {};
    const dir = path.join(g, d);
    if (!fs.existsSync(dir)) return out;
    for (const n of fs.readdirSync(dir).sort()) {
      const st = fs.lstatSync(path.join(dir, n));
      out[n] = st.isFile() ? fs.readFileSync(path.join(dir, n), 'utf8') : `(${st.mode.toString(8)})`;
    }
    return out;
  };
  const gitDirs = () => ({ found: path.join(R, '.git'), unfound: path.join(V, '.git') });
  beforeEach(() => {
    T = tempDir('sbx-gitseq-');
    R = path.join(T, 'proj');
    V = path.join(R, 'vendor', 'lib');
    pwned = path.join(T, 'pwned');
    env = { PATH: process.env.PATH, HOME: T, GIT_CONFIG_NOSYSTEM: '1', LANG: 'C', ...ID };
    fs.mkdirSync(V, { recursive: true });
    history(R);
    history(V);
    fs.appendFileSync(path.join(R, '.git', 'info', 'exclude'), 'vendor/\n');
  });
  afterEach(() => rmTree(T));

  it('rebases and cherry-picks work inside: plain, -i with a sed sequence editor, --continue after a conflict, --abort, a cherry-picked range', async () => {
    const script = `
set -e
for d in . vendor/lib; do (
  cd $d
  git checkout -q topic && git rebase -q main && echo $(git log --format=%s)
  git checkout -q main
  GIT_SEQUENCE_EDITOR="sed -i -e 2s/^pick/fixup/ -e 3s/^pick/drop/" git rebase -q -i HEAD~3 && echo $(git log --format=%s)
  git reset -q --hard ORIG_HEAD
  git checkout -q side
  if git rebase -q main >/dev/null 2>&1; then echo no conflict; fi
  echo resolved > b && git add b && GIT_EDITOR=true git rebase --continue >/dev/null && echo $(git log --format=%s)
  git reset -q --hard ORIG_HEAD
  if git rebase -q main >/dev/null 2>&1; then echo no conflict; fi
  git rebase --abort && echo $(git log --format=%s)
  git rebase -q -X theirs main && echo $(git log --format=%s) $(cat b)
  git reset -q --hard ORIG_HEAD
  if git cherry-pick main~2..main >/dev/null 2>&1; then echo no conflict; fi
  echo resolved > b && git add b && GIT_EDITOR=true git cherry-pick --continue >/dev/null && echo $(git log --format=%s)
) done`;
    const r = await sh(script, sandbox(), { cwd: R, env });
    expect(r.stderr).toBe('');
    const each = 'd c b a base\na base\nside b c b a base\nside b base\nside b c b a base side\nc b side b base\n';
    expect(r.stdout).toBe(each + each);
    expect(r.violations ?? []).toEqual([]);
    for (const g of Object.values(gitDirs())) {
      expect(fs.existsSync(path.join(g, 'rebase-merge')), g).toBe(false);
      expect(fs.existsSync(path.join(g, 'sequencer')), g).toBe(false);
    }
  });

  it('a stopped rebase: no exec line or strategy gets into its to-do list, by any call, found or not; git --continue outside runs nothing planted', async () => {
    // Stopped at an `edit`, its to-do list holds the other two picks.
    for (const dir of [R, V]) git(dir, ['rebase', '-q', '-i', 'HEAD~3'], { GIT_SEQUENCE_EDITOR: 'sed -i 1s/^pick/edit/' });
    const before = Object.fromEntries(Object.entries(gitDirs()).map(([k, g]) => [k, files(g, 'rebase-merge')]));
    for (const b of Object.values(before)) expect(b['git-rebase-todo']).toMatch(/^pick .*\npick /);
    const exec = `exec touch ${pwned}\n`;
    const out = await py(
      `
NR.update(json.loads(${j(j(SUPERVISED_NR[arch]))}))
R = ${j(R)}
for name, g in json.loads(${j(j(gitDirs()))}).items():
    d = g + '/rebase-merge'
    todo = d + '/git-rebase-todo'
    orig = open(todo).read()
    def planted(text, at=d + '/new'):
        open(at, 'w').write(text)
        return at
    out[name + ' append'] = attempt(lambda: os.write(os.open(todo, os.O_WRONLY | os.O_APPEND), ${j(exec)}.encode()))
    out[name + ' O_RDWR'] = attempt(lambda: os.open(todo, os.O_RDWR))
    out[name + ' truncate-open'] = attempt(lambda: os.open(todo, os.O_WRONLY | os.O_TRUNC))
    out[name + ' O_CREAT'] = attempt(lambda: open(todo, 'a'))
    for label, text in (('exec', ${j(exec)}), ('x', 'x touch ${pwned}\\n'), ('indented', '\\t  exec touch ${pwned}\\n'),
                        ('after a NUL', 'pick\\0exec touch ${pwned}\\n'), ('unknown word', 'run touch ${pwned}\\n')):
        out[name + ' rename ' + label] = attempt(lambda: os.rename(planted(orig + text), todo))
        os.unlink(d + '/new')
    out[name + ' rename a symlink'] = attempt(lambda: (os.symlink(R + '/elsewhere', d + '/new'), os.rename(d + '/new', todo)))
    os.unlink(d + '/new')
    out[name + ' exchange'] = sc('renameat2', -100, ctypes.c_char_p(planted(orig + ${j(exec)}).encode()), -100, ctypes.c_char_p(todo.encode()), 2)
    out[name + ' exchange from'] = sc('renameat2', -100, ctypes.c_char_p(todo.encode()), -100, ctypes.c_char_p((d + '/new').encode()), 2)
    out[name + ' hard link onto'] = attempt(lambda: os.link(d + '/new', todo))
    out[name + ' symlink onto'] = attempt(lambda: os.symlink(d + '/new', todo))
    out[name + ' hard link from'] = attempt(lambda: os.link(todo, d + '/second'))
    os.unlink(d + '/new')
    out[name + ' strategy'] = attempt(lambda: os.rename(planted('../../evil\\n'), d + '/strategy'))
    out[name + ' strategy in place'] = attempt(lambda: open(d + '/strategy', 'w'))
    os.unlink(d + '/new')
    os.mkdir(R + '/other')
    open(R + '/other/git-rebase-todo', 'w').write(orig + ${j(exec)})
    out[name + ' a directory onto it'] = attempt(lambda: os.rename(R + '/other', d))
    out[name + ' a symlink for sequencer/'] = attempt(lambda: os.symlink(R + '/other', g + '/sequencer'))
    out[name + ' a directory for sequencer/'] = attempt(lambda: os.rename(R + '/other', g + '/sequencer'))
    os.unlink(R + '/other/git-rebase-todo'); os.rmdir(R + '/other')
    # Checked and copied: the fd kept to what was renamed writes to no file git reads.
    kept = os.open(planted(orig), os.O_RDWR | os.O_APPEND)
    out[name + ' rename a clean list'] = attempt(lambda: os.rename(d + '/new', todo))
    out[name + ' write the kept fd'] = attempt(lambda: os.write(kept, ${j(exec)}.encode()))
    os.close(kept)`,
      sandbox(),
      { cwd: R },
    );
    const expected: Record<string, string> = {};
    for (const name of Object.keys(gitDirs())) {
      for (const a of [
        'append',
        'O_RDWR',
        'truncate-open',
        'O_CREAT',
        'exchange',
        'exchange from',
        'hard link onto',
        'symlink onto',
        'hard link from',
      ])
        expected[`${name} ${a}`] = 'EROFS';
      for (const a of ['exec', 'x', 'indented', 'after a NUL', 'unknown word']) expected[`${name} rename ${a}`] = 'EPERM';
      Object.assign(expected, {
        [`${name} rename a symlink`]: 'EPERM',
        [`${name} strategy`]: 'EPERM',
        [`${name} strategy in place`]: 'EROFS',
        [`${name} a directory onto it`]: 'EROFS',
        [`${name} a symlink for sequencer/`]: 'EROFS',
        [`${name} a directory for sequencer/`]: 'EROFS',
        [`${name} rename a clean list`]: 'ok',
        [`${name} write the kept fd`]: 'ok',
      });
    }
    expect(out).toEqual(expected);
    for (const [k, g] of Object.entries(gitDirs())) {
      expect(files(g, 'rebase-merge'), k).toEqual(before[k as keyof typeof before]);
      expect(fs.existsSync(path.join(g, 'sequencer')), k).toBe(false);
    }
    // Outside: the rebase goes on with the user's list, and nothing planted runs.
    // Amended, so the picks after it are merges (a fast-forward would run no strategy).
    for (const dir of [R, V]) {
      git(dir, ['commit', '-q', '--amend', '-m', 'a2']);
      git(dir, ['rebase', '--continue'], { GIT_EDITOR: 'true' });
      expect(git(dir, ['log', '--format=%s']).split('\n').slice(0, 3)).toEqual(['c', 'b', 'a2']);
    }
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it("a found repository's sequencer files stay kept while its HEAD is gone (which it could make again there)", async () => {
    const g = path.join(R, '.git');
    git(R, ['rebase', '-q', '-i', 'HEAD~3'], { GIT_SEQUENCE_EDITOR: 'sed -i 1s/^pick/edit/' });
    const before = [files(g, 'rebase-merge'), fs.readFileSync(path.join(g, 'HEAD'), 'utf8')];
    const out = await py(
      `
g = ${j(g)}
head = open(g + '/HEAD').read()
os.unlink(g + '/HEAD')
out['append'] = attempt(lambda: os.write(os.open(g + '/rebase-merge/git-rebase-todo', os.O_WRONLY | os.O_APPEND), b'exec touch ${pwned}\\n'))
os.mkdir(g + '/other')
open(g + '/other/git-rebase-todo', 'w').write('exec touch ${pwned}\\n')
out['a directory for sequencer/'] = attempt(lambda: os.rename(g + '/other', g + '/sequencer'))
os.unlink(g + '/other/git-rebase-todo'); os.rmdir(g + '/other')
out['its HEAD again'] = attempt(lambda: open(g + '/HEAD', 'w').write(head))`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({ append: 'EROFS', 'a directory for sequencer/': 'EROFS', 'its HEAD again': 'ok' });
    expect([files(g, 'rebase-merge'), fs.readFileSync(path.join(g, 'HEAD'), 'utf8')]).toEqual(before);
    expect(fs.existsSync(path.join(g, 'sequencer'))).toBe(false);
    git(R, ['commit', '-q', '--amend', '-m', 'a2']);
    git(R, ['rebase', '--continue'], { GIT_EDITOR: 'true' });
    expect(git(R, ['log', '--format=%s']).split('\n').slice(0, 3)).toEqual(['c', 'b', 'a2']);
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it('the strategy, which git writes in place: only while no to-do list is beside it, and a list put there takes it checked', async () => {
    // Stopped at an `edit` of a rebase with -X theirs (strategy ort); the
    // strategy below would run R/evil, through a directory R/git-merge-..
    for (const dir of [R, V]) git(dir, ['rebase', '-q', '-i', '-X', 'theirs', 'HEAD~3'], { GIT_SEQUENCE_EDITOR: 'sed -i 1s/^pick/edit/' });
    const before = Object.fromEntries(Object.entries(gitDirs()).map(([k, g]) => [k, files(g, 'rebase-merge')]));
    for (const b of Object.values(before)) expect(b.strategy).toBe('ort\n');
    const out = await py(
      `
for name, g in json.loads(${j(j(gitDirs()))}).items():
    work = os.path.dirname(g)
    os.mkdir(work + '/git-merge-..')
    open(work + '/evil', 'w').write('#!/bin/sh\\ntouch ${pwned}\\n')
    os.chmod(work + '/evil', 0o755)
    d = g + '/rebase-merge'
    orig = open(d + '/git-rebase-todo').read()
    def planted(text):
        open(d + '/new', 'w').write(text)
        return d + '/new'
    out[name + ' in place beside the list'] = attempt(lambda: open(d + '/strategy', 'w'))
    os.unlink(d + '/git-rebase-todo')
    kept = os.open(d + '/strategy', os.O_WRONLY | os.O_TRUNC)
    out[name + ' in place without a list'] = attempt(lambda: os.write(kept, b'../../evil\\n'))
    out[name + ' a list beside a strategy program'] = attempt(lambda: os.rename(planted(orig), d + '/git-rebase-todo'))
    os.ftruncate(kept, 0); os.lseek(kept, 0, 0); os.write(kept, b'ort\\n')
    out[name + ' a list beside ort'] = attempt(lambda: os.rename(planted(orig), d + '/git-rebase-todo'))
    os.ftruncate(kept, 0); os.lseek(kept, 0, 0)
    out[name + ' the kept fd after'] = attempt(lambda: os.write(kept, b'../../evil\\n'))
    out[name + ' in place after'] = attempt(lambda: os.open(d + '/strategy', os.O_WRONLY | os.O_APPEND))
    os.close(kept)`,
      sandbox(),
      { cwd: R },
    );
    const expected: Record<string, string> = {};
    for (const name of Object.keys(gitDirs()))
      Object.assign(expected, {
        [`${name} in place beside the list`]: 'EROFS',
        [`${name} in place without a list`]: 'ok',
        [`${name} a list beside a strategy program`]: 'EPERM',
        [`${name} a list beside ort`]: 'ok',
        [`${name} the kept fd after`]: 'ok',
        [`${name} in place after`]: 'EROFS',
      });
    expect(out).toEqual(expected);
    for (const [k, g] of Object.entries(gitDirs())) expect(files(g, 'rebase-merge'), k).toEqual(before[k as keyof typeof before]);
    // Amended, so the picks after it are merges (a fast-forward would run no strategy).
    for (const dir of [R, V]) {
      git(dir, ['commit', '-q', '--amend', '-m', 'a2']);
      git(dir, ['rebase', '--continue'], { GIT_EDITOR: 'true' });
      expect(git(dir, ['log', '--format=%s']).split('\n').slice(0, 3)).toEqual(['c', 'b', 'a2']);
    }
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it('a stopped cherry-pick: its to-do list and options take no exec line or strategy program; git --continue outside runs nothing planted', async () => {
    for (const dir of [R, V]) {
      git(dir, ['checkout', '-q', 'side']);
      try {
        git(dir, ['cherry-pick', 'main~2..main']);
      } catch {
        /* stops at b's conflict */
      }
    }
    const before = Object.fromEntries(Object.entries(gitDirs()).map(([k, g]) => [k, files(g, 'sequencer')]));
    for (const b of Object.values(before)) expect(b.todo).toMatch(/^pick /);
    const out = await py(
      `
for name, g in json.loads(${j(j(gitDirs()))}).items():
    d = g + '/sequencer'
    orig = open(d + '/todo').read()
    def planted(text):
        open(d + '/new', 'w').write(text)
        return d + '/new'
    out[name + ' todo exec'] = attempt(lambda: os.rename(planted(orig + 'exec touch ${pwned}\\n'), d + '/todo'))
    out[name + ' todo in place'] = attempt(lambda: os.open(d + '/todo', os.O_WRONLY | os.O_APPEND))
    for label, text in (('strategy', '[options]\\n\\tstrategy = ../../evil\\n'), ('on the section line', '[options] strategy = ort\\n'),
                        ('quoted', '[options]\\n\\tstrategy = "../evil"\\n'), ('upper case', '[options]\\n\\tStrategy = evil\\n')):
        out[name + ' opts ' + label] = attempt(lambda: os.rename(planted(text), d + '/opts'))
    out[name + ' opts in place'] = attempt(lambda: open(d + '/opts', 'a'))
    os.unlink(d + '/new')`,
      sandbox(),
      { cwd: R },
    );
    const expected: Record<string, string> = {};
    for (const name of Object.keys(gitDirs()))
      Object.assign(expected, {
        [`${name} todo exec`]: 'EPERM',
        [`${name} todo in place`]: 'EROFS',
        [`${name} opts strategy`]: 'EPERM',
        [`${name} opts on the section line`]: 'EPERM',
        [`${name} opts quoted`]: 'EPERM',
        [`${name} opts upper case`]: 'EPERM',
        [`${name} opts in place`]: 'EROFS',
      });
    expect(out).toEqual(expected);
    for (const [k, g] of Object.entries(gitDirs())) expect(files(g, 'sequencer'), k).toEqual(before[k as keyof typeof before]);
    for (const dir of [R, V]) {
      fs.writeFileSync(path.join(dir, 'b'), 'resolved\n');
      git(dir, ['add', 'b']);
      git(dir, ['cherry-pick', '--continue'], { GIT_EDITOR: 'true' });
      expect(git(dir, ['log', '--format=%s']).split('\n').slice(0, 2)).toEqual(['c', 'b']);
    }
    expect(fs.existsSync(pwned)).toBe(false);
  });
});
